// The one interface every locking design implements. Operations (src/ops) are written once
// against it; a workload never knows which scheme it runs on.
//
// How the four differ (KERNEL.md §4, §5):
//   mmap_lock   no per-VMA lock: every fault takes the mmap_lock for read.
//   vma_rwsem   a per-VMA rw_semaphore + vm_lock_seq + detached flag; VMAs freed after RCU.
//   vma_refcnt  vm_refcnt with VMA_LOCK_OFFSET, rcuwait for the writer, type-safe VMA reuse.
//   srcu_spf    no VMA lock at all: an SRCU read section, a seqcount snapshot, validation
//               under the page-table lock; VMAs freed after an SRCU grace period.

/** lock_vma_under_rcu()'s "the VMA was detached under us: look it up again" (-EAGAIN). */
export const VMA_LOOKUP_AGAIN = -11;

export interface Scheme {
  readonly name: string;
  /** one line for reports and --help */
  readonly summary: string;
  /** the kernel versions this scheme mirrors */
  readonly kernel: string;
  /**
   * v6.15+: mm_lock_seq is odd while the mmap write lock is held (bumped at lock and at unlock).
   * vma_rwsem: bumped only in vma_end_write_all().
   */
  readonly seqOddWhileWriteLocked: boolean;
  /** VMAs come from a SLAB_TYPESAFE_BY_RCU cache (freed slots reused at once). */
  readonly typesafeVmas: boolean;
  /**
   * The fault's classic path after a failed mmap_read_trylock: mmap_read_lock_killable, as
   * lock_mm_and_find_vma does since v6.5 (true), or the non-killable mmap_read_lock x86 took
   * before (false): a killed faulter then waits for the lock like any other.
   */
  readonly faultFallbackKillable: boolean;
  /** Has a per-VMA read lock (maps reading can use the lock_next_vma walk). */
  readonly perVmaReadLock: boolean;
  /**
   * Its kernel reads /proc/pid/maps with the per-VMA walk (v6.17) and zaps a MADV_DONTNEED
   * range inside one VMA under that VMA's lock (v6.16). Otherwise both take the mmap read lock,
   * unless a backport asks for them (WorldConfig backports).
   */
  readonly perVmaMaps: boolean;
  readonly perVmaMadvise: boolean;
  /**
   * The fast path holds no lock at all (srcu_spf): what it reads of the VMA may be changing, so
   * it must not act on it (no SIGSEGV, no page-table allocation) before validating.
   */
  readonly speculative: boolean;
  /**
   * A fast-path fault on a VMA that has no anon_vma yet: 'abort' — the fast path refuses it
   * (lock_vma_under_rcu of v6.4-v6.9, after locking; the SPF series, which could not prepare
   * one speculatively) and the mmap lock path prepares it; 'trylock' — vmf_anon_prepare (v6.10+)
   * prepares it under a trylocked mmap lock, or drops the VMA lock and returns RETRY.
   */
  readonly anonVmaFastPath: 'abort' | 'trylock';
  /**
   * A fast-path fault that must wait for I/O (fault cost `sleep` in `retry` mode): 'drop' — it
   * drops the VMA lock, waits, and returns RETRY | MAJOR, retried under the mmap lock with
   * FAULT_FLAG_TRIED (v6.7+); 'bail' — it drops the VMA lock and returns RETRY at once, and the
   * mmap lock path waits (dropping the mmap lock) as before 6.7.
   */
  readonly ioWaitFastPath: 'drop' | 'bail';

  /**
   * The fault fast path: find the VMA containing addr and lock it for read, without the mmap
   * lock. Returns the VMA, or 0: the caller takes the mmap_lock path. Counts VMA_LOCK_ABORT and
   * VMA_LOCK_MISS (the fault handler counts SUCCESS and RETRY, as the kernel's does).
   */
  lock_vma_under_rcu(mm: number, addr: number): number;
  /** Drop what lock_vma_under_rcu() returned. */
  vma_end_read(vma: number): void;
  /**
   * Under the page-table lock, just before a fault installs a PTE found through
   * lock_vma_under_rcu(): true if the VMA is still what the fault saw. Lock-based schemes hold
   * the VMA stable and return true; srcu_spf validates its seqcount snapshot.
   */
  vma_fault_still_valid(vma: number): boolean;

  /**
   * vma_start_read(mm, vma) for the lock_next_vma walk, inside rcu_read_lock: the VMA read-locked,
   * 0 (false "locked": fall back), or VMA_LOOKUP_AGAIN (detached: look up again).
   */
  vma_start_read(mm: number, vma: number): number;
  /** Under the mmap read lock: read-lock a VMA; fails (false) only at the reader limit. */
  vma_start_read_locked(vma: number): boolean;

  /** Mmap write lock held: exclude this VMA's readers until the write lock is dropped. */
  vma_start_write(vma: number): void;
  /** As vma_start_write(); 0, or EINTR with vm_lock_seq unchanged and no exclusion left. */
  vma_start_write_killable(vma: number): number;
  /**
   * vm_write_begin()/vm_write_end() of the SPF series: bracket one modification of an attached
   * VMA's fields (range, flags) or of its page tables (munmap's zap), under the mmap write lock
   * (or, for munmap's zap of VMAs already out of the index, the downgraded lock). Only srcu_spf
   * has a per-VMA sequence count to bump; the lock-based schemes do nothing here.
   */
  vm_write_begin(vma: number): void;
  vm_write_end(vma: number): void;
  /** A new (or re-attached) VMA enters the index. Write-locked, detached. */
  vma_mark_attached(vma: number): void;
  /** A VMA leaves the index. Write-locked, attached. Waits out stray readers. */
  vma_mark_detached(vma: number): void;
  /** mmap_write_unlock()/mmap_write_downgrade(): release every VMA write lock of this cycle. */
  vma_end_write_all(mm: number): void;
  /**
   * Detached VMAs, out of the index, are done with: free them once no lockless reader can still
   * reach them. A batch, so that a scheme that waits for a grace period waits once.
   */
  vmas_free(vmas: readonly number[]): void;
  /**
   * How a freed page-table page is given back: at once (null), or deferred until lockless
   * walkers are gone (srcu_spf passes call_srcu).
   */
  pgtable_free_deferred(): ((free: () => void, pt: number) => void) | null;
  /** Run this thread's deferred frees whose grace period has passed. Cheap when none. */
  process_deferred(): void;
  /** Wait for and run all of this thread's deferred frees (end of a run, tests). */
  barrier(): void;

  /** vma_assert_write_locked(): live when assertions are on. */
  vma_assert_write_locked(vma: number): void;
  /** vma_assert_locked(): the caller holds a read or write lock on the VMA. */
  vma_assert_locked(vma: number): void;
}
