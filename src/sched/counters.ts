// Per-task event counters, like the kernel's vm_event counters (VMA_LOCK_SUCCESS, ...). Each
// task increments only its own slots, with plain stores; the harness sums them after a run.

export const CNT = {
  // rwsem
  RWSEM_READ_FAST: 0,
  RWSEM_READ_SLOW: 1,
  RWSEM_READ_STEAL: 2,
  RWSEM_WRITE_FAST: 3,
  RWSEM_WRITE_SLOW: 4,
  RWSEM_HANDOFF_SET: 5,
  RWSEM_EINTR: 6,
  // parking
  PARK_SPIN_HIT: 7,
  PARK_SLEEP: 8,
  PARK_TIMEOUT: 9,
  // rcu / srcu
  RCU_SYNC: 10,
  RCU_CALLBACKS: 11,
  SRCU_SYNC: 12,
  SRCU_CALLBACKS: 13,
  // rwsem (continued)
  /** a writer took the lock by optimistic spinning, without queueing */
  RWSEM_OPT_LOCK: 14,
  /** readers granted the lock by rwsem_mark_wake() (counted by the waking task) */
  RWSEM_READ_WOKEN: 15,
  // per-VMA locking, named as in the kernel's vm_event_item
  VMA_LOCK_SUCCESS: 16,
  VMA_LOCK_ABORT: 17,
  VMA_LOCK_RETRY: 18,
  VMA_LOCK_MISS: 19,
  /** fault fell back to the mmap_lock path */
  MMAP_LOCK_FALLBACK: 20,
  /** srcu_spf: speculative fault validated and installed */
  SPF_SUCCESS: 21,
  /** srcu_spf: validation failed, fell back */
  SPF_ABORT: 22,
  /** vma_refcnt: reference taken on a VMA reused by another mm */
  VMA_FOREIGN_MM: 23,
  // small sync primitives (src/sync/{seqcount,rcuwait,completion,spinlock}.ts)
  /** read_seqcount_retry() said the snapshot was torn */
  SEQCOUNT_RETRY: 24,
  /** read_seqcount_begin() found a writer inside and had to wait for an even sequence */
  SEQCOUNT_READ_WAIT: 25,
  /** rcuwait_wait_event() went to sleep (its condition was false) */
  RCUWAIT_SLEEP: 26,
  /** a completion waiter went to sleep */
  COMPLETION_SLEEP: 27,
  /** spin_lock() found the lock held and took the slow path */
  SPIN_CONTENDED: 28,
  // anon_vma preparation (29..31): a first anonymous fault in a VMA without an anon_vma
  /** an anon_vma was attached to a VMA (__anon_vma_prepare, under the mmap lock) */
  ANON_VMA_PREPARE: 29,
  /**
   * vmf_anon_prepare() under a VMA lock found the mmap lock taken (trylock failed): it dropped
   * the VMA lock and returned VM_FAULT_RETRY (v6.10+)
   */
  ANON_VMA_RETRY: 30,
  /**
   * the fault fast path refused a VMA for having no anon_vma (lock_vma_under_rcu in 6.4-6.9;
   * the speculative fault, which may not prepare one): the mmap lock path prepared it
   */
  ANON_VMA_ABORT: 31,
  // operations
  FAULTS: 32,
  FAULT_PAGES_INSTALLED: 33,
  FAULT_SEGV: 34,
  MMAP_OPS: 35,
  MUNMAP_OPS: 36,
  MPROTECT_OPS: 37,
  MADVISE_OPS: 38,
  MAPS_READS: 39,
  MAPS_VMAS_REPORTED: 40,
  WRITER_EINTR: 41,
  // stress chaos (src/harness/stress) (42..45)
  /** a chaos delay (spin, yield or sleep) was injected at a schedule point */
  CHAOS_DELAY: 42,
  /** the killer sent SIGKILL to a task */
  CHAOS_KILL: 43,
  /** the killer woke a task for no reason (a spurious wake-up every wait loop must survive) */
  CHAOS_SPURIOUS_WAKE: 44,
  /** an operation returned -EINTR (or VM_FAULT_RETRY) because its task was killed */
  CHAOS_KILL_EINTR: 45,
  // maps reading (46)
  /** the per-VMA maps walk locked a VMA under the mmap read lock (lock_next_vma's fallback) */
  MAPS_LOCK_FALLBACK: 46,
  /**
   * a fault that had to wait for I/O dropped its lock (mmap lock, or the VMA lock where its era
   * does), waited, and returned VM_FAULT_RETRY; the retry runs with FAULT_FLAG_TRIED
   */
  FAULT_IO_RETRY: 47,
  // slab, frames, page tables (48..55)
  /** a per-task object cache refilled from the global free list */
  SLAB_REFILL: 48,
  /** a per-task object cache flushed a batch to the global free list */
  SLAB_FLUSH: 49,
  /** the global list was empty: took another task's cached objects */
  SLAB_STEAL: 50,
  /** kmem_cache_alloc found no free object anywhere */
  SLAB_EXHAUSTED: 51,
  /** a pte page was allocated and installed in a pgd */
  PTE_PAGE_ALLOC: 52,
  /** a pte page was unlinked from its pgd (freed now or after a grace period) */
  PTE_PAGE_FREE: 53,
  /** pte_offset_map_lock found its pte page replaced after taking the ptl, and retried */
  PTL_RETRY: 54,
  /**
   * a task took an rwsem while its first waiter, a writer, was owed the handoff (it had timed
   * out and been refused): the starvation HANDOFF exists to prevent (KERNEL.md §7.7)
   */
  RWSEM_HANDOFF_BYPASS: 55,
  // lost wake-ups (56..57); per wait site in TASK.lost_wake (src/shm/layout/task.ts)
  /** a wait slice timed out while its condition held and no wake-up came in the grace */
  LOST_WAKEUP: 56,
  /** a slice timed out while its condition held, and the wake-up came in the grace wait */
  LATE_WAKEUP: 57,
  // out of memory (58..61)
  /** the OOM killer chose a victim and sent it SIGKILL */
  OOM_KILL: 58,
  /** an allocation found the frame pool empty and slept for memory */
  OOM_ALLOC_STALL: 59,
  /** the OOM reaper failed to take the victim's mmap lock and will retry */
  OOM_REAP_RETRY: 60,
  /** pages the OOM reaper zapped */
  OOM_REAPED: 61,
  // rwsem optimistic spinning (62..63)
  /** a writer that could spin gave up spinning and queued (the kernel's rwsem_opt_fail) */
  RWSEM_OPT_FAIL: 62,
  /** a writer spun on a reader-owned lock past its time limit and set NONSPINNABLE */
  RWSEM_OPT_NOSPIN: 63,
} as const;

export type CounterName = keyof typeof CNT;

export const COUNTER_NAMES: readonly CounterName[] = Object.keys(CNT) as CounterName[];
