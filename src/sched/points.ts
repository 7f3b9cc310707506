// Named schedule points: the places in the kernel code where a harness may preempt a task on
// purpose. Each is one sched_point(SP.X) call in the code, free when no hook is installed
// (src/sched/atomics.ts). `faultline stress --chaos` delays tasks at these points with a seeded
// probability; race scripts may stop a task at them. Keep the ids stable: they appear in
// reports and replay strings.

export const SP = {
  /** lock_vma_under_rcu / lock_next_vma: the VMA was found in the index, not yet locked */
  LOOKUP_TO_LOCK: 1,
  /** vma_start_read: the reference (or the vm_lock read lock) is taken, the re-checks not yet run */
  AFTER_REF_INC: 2,
  /** lock_vma_under_rcu: vma_start_read succeeded, the range re-check not yet run */
  BEFORE_RANGE_CHECK: 3,
  /** inside an RCU read section, just after rcu_read_lock */
  RCU_SECTION: 4,
  /** inside an SRCU read section, just after srcu_read_lock */
  SRCU_SECTION: 5,
  /** handle_mm_fault: the VMA (or the mmap lock) is held, the fault not yet done */
  FAULT_LOCKED: 6,
  /** vma_start_write: readers excluded, vm_lock_seq about to change */
  WRITE_EXCLUDED: 7,
  /** munmap / exit: a VMA is write-locked, not yet detached */
  WRITE_BEFORE_DETACH: 8,
  /** the mmap write lock is held (after mmap_write_lock*) */
  MMAP_WRITE_LOCKED: 9,
  /** vma_refcount_put / vma_end_read: the reference is dropped, the wake-up not yet sent */
  PUT_BEFORE_WAKE: 10,
  /** vma_start_read: the early sequence check passed, the reference not yet taken */
  BEFORE_REF_INC: 11,
  /** vma_start_write done: the writer holds the VMA write-locked (its write section) */
  WRITE_LOCKED: 12,
  /**
   * rwsem slow paths: a killed waiter is about to leave the queue (rwsem_del_wake_waiter), its
   * last try failed: the holders may leave meanwhile, their wake-up going to it
   */
  RWSEM_KILLED: 13,
  /**
   * vma_refcount_put on a VMA another mm reused (vma_start_read's foreign-mm put): the reference
   * is dropped, the wake-up of that mm's writer not yet sent — the window in which the other
   * mm's writer may finish and the mm be freed unless the reader pinned it (mmgrab)
   */
  FOREIGN_PUT_BEFORE_WAKE: 14,
  /** exit_mmap: the address space torn down and the mm dropped; the exiting task goes on */
  MM_EXITED: 15,
} as const;

export type PointName = keyof typeof SP;

export const POINT_NAMES: readonly PointName[] = Object.keys(SP) as PointName[];

/** Largest id in use (chaos sizes its tables by it). */
export const SP_MAX = Math.max(...Object.values(SP));

export function point_name(id: number): string {
  return POINT_NAMES.find((n) => SP[n] === id) ?? `SP_${id}`;
}
