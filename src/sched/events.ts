// Event ids for the per-task flight recorder. A watchdog report prints each worker's last
// events by these names. Subsystems add their events here, in their own block of ids.

export const EV = {
  NONE: 0,
  // sched/task (1..19)
  PARK: 1,
  UNPARK: 2,
  WAKE_TIMEOUT: 3,
  KILLED: 4,
  /** a wait slice timed out with its condition already true and no wake-up came: a = WAIT_SITE, b = word */
  LOST_WAKEUP: 5,
  /** the same, but the wake-up came during the grace wait: a = WAIT_SITE, b = word */
  LATE_WAKEUP: 6,
  // sync: rwsem (20..39)
  RWSEM_DOWN_READ: 20,
  RWSEM_DOWN_READ_SLOW: 21,
  RWSEM_DOWN_WRITE: 22,
  RWSEM_DOWN_WRITE_SLOW: 23,
  RWSEM_UP_READ: 24,
  RWSEM_UP_WRITE: 25,
  RWSEM_HANDOFF: 26,
  RWSEM_EINTR: 27,
  RWSEM_DOWNGRADE: 28,
  RWSEM_WAKE: 29,
  RWSEM_STEAL: 30,
  RWSEM_ACQUIRED: 31,
  /** a queued task unwound (an exception) and left the wait list: a = sem, b = waiter type */
  RWSEM_UNWIND: 32,
  /** the handoff was decided for the first waiter (a writer): a = sem, b = waiter node */
  RWSEM_HANDOFF_OWED: 33,
  /** this task took the lock past the first waiter owed the handoff: a = sem, b = its serial */
  RWSEM_HANDOFF_BYPASS: 34,
  // sync: rcuwait, completion, spinlock (40..59)
  RCUWAIT_WAIT: 40,
  RCUWAIT_WOKEN: 41,
  RCUWAIT_WAKE: 42,
  COMPLETION_WAIT: 43,
  COMPLETION_DONE: 44,
  SPIN_CONTENDED: 45,
  SEQCOUNT_READ_WAIT: 46,
  REFCOUNT_WARN: 47,
  // sync: rcu, srcu (60..79)
  RCU_READ_LOCK: 60,
  RCU_READ_UNLOCK: 61,
  RCU_SYNC_BEGIN: 62,
  RCU_SYNC_END: 63,
  SRCU_READ_LOCK: 64,
  SRCU_READ_UNLOCK: 65,
  SRCU_SYNC_BEGIN: 66,
  SRCU_SYNC_END: 67,
  /** qsbr: the task went offline (a = its old slot) */
  RCU_OFFLINE: 68,
  // mm and schemes (100..159)
  VMA_START_READ: 100,
  VMA_END_READ: 101,
  VMA_START_WRITE: 102,
  VMA_MARK_DETACHED: 103,
  VMA_MARK_ATTACHED: 104,
  MMAP_READ_LOCK: 105,
  MMAP_READ_UNLOCK: 106,
  MMAP_WRITE_LOCK: 107,
  MMAP_WRITE_UNLOCK: 108,
  FAULT_BEGIN: 110,
  FAULT_END: 111,
  MUNMAP_BEGIN: 112,
  MUNMAP_END: 113,
  MMAP_BEGIN: 114,
  MMAP_END: 115,
  MPROTECT_BEGIN: 116,
  MPROTECT_END: 117,
  /** vm_area_free of a batch: a = the first VMA, b = how many */
  VMA_FREE: 118,
  // mm: slab, frames, page tables (160..179)
  SLAB_EXHAUSTED: 160,
  SLAB_STEAL: 161,
  PTE_PAGE_ALLOC: 162,
  PTE_PAGE_FREE: 163,
  PTL_RETRY: 164,
  // mm: out of memory (170..179)
  /** a = victim mm, b = tasks killed */
  OOM_KILL: 170,
  /** an allocation found the frame pool empty and waits: a = attempt */
  OOM_ALLOC_STALL: 171,
  /** the reaper could not take the victim's mmap lock: a = mm */
  OOM_REAP_RETRY: 172,
  /** a = mm, b = pages reaped */
  OOM_REAPED: 173,
  // mm: the VMA index (180..189)
  /** a = new root node, b = nodes handed to call_rcu */
  VMA_TREE_COMMIT: 180,
  /** a = root word */
  VMA_TREE_ABORT: 181,
  // mm: srcu_spf's SRCU work queue (190..199)
  /** a = SRCU_WORK_* kind, b = object */
  SRCU_WORK_QUEUE: 190,
  /** a = frees run, b = entries left */
  SRCU_WORK_RUN: 191,
  /** a = the wake word, b = its value: the kworker goes to sleep */
  SRCU_WORK_IDLE: 192,
  // harness (200..)
  WORKER_START: 200,
  WORKER_STOP: 201,
  OP_BEGIN: 202,
  OP_END: 203,
} as const;

const names = new Map<number, string>(Object.entries(EV).map(([k, v]) => [v, k]));

export function event_name(id: number): string {
  return names.get(id) ?? `EV_${id}`;
}
