// The bug catalogue: known-broken variants of faultline's kernel code, each a named switch that
// puts the broken code in place of the fixed code *in the place it breaks* (a `bug_on(BUG.X)`
// branch in the primitive, scheme or operation). `faultline stress --inject-bug`, `faultline
// race --variant broken` and the litmus catalogue all use these switches, so this one list says
// what faultline can demonstrate.
//
// How a switch reaches every thread: the set of injected bugs is a word in the buffer header
// (HEADER.bugs), written by createArena and read by attachArena, which call set_injected_bugs().
// So every task attached to a buffer runs the same variant, with no plumbing through configs.
// Off, a switch is one load of a module-level number and a bit test: the JIT keeps it in a
// register across a hot loop (bench:primitives measures it).

/** One catalogue entry. */
export interface BugInfo {
  /** the name users type: `--inject-bug NAME` */
  readonly name: string;
  /** one bit of the injected mask */
  readonly bit: number;
  /** where the broken code lives (file: function) */
  readonly where: string;
  /** the story in one line: which thread or commit, what breaks */
  readonly story: string;
}

// Bits. Keep them stable: they are stored in the buffer header and in replay strings.
export const BUG = {
  /** v6 10/16 (Peter Zijlstra): vma_mark_detached without the second wait for a stray reader */
  DETACH_NO_WAIT: 1 << 0,
  /** Dec 2024 ordering thread: detach the VMA before write-locking it */
  DETACH_BEFORE_WRITE_LOCK: 1 << 1,
  /** no vm_mm re-check after the increment (type-safe reuse across mms) */
  NO_MM_RECHECK: 1 << 2,
  /** no vm_lock_seq re-check after the increment */
  NO_SEQ_RECHECK: 1 << 3,
  /** 2025 foreign-mm wake-up UAF: the put without mmgrab/mmdrop around it */
  PUT_NO_MMGRAB: 1 << 4,
  /** rcuwait that checks its condition before publishing the waiter */
  RCUWAIT_CHECK_BEFORE_PUBLISH: 1 << 5,
  /** rcuwait (A)/(B) ordering with plain accesses: a store-buffer window */
  RCUWAIT_PLAIN_ORDERING: 1 << 6,
  /** rwsem that never sets HANDOFF: writer starvation under a reader stream */
  RWSEM_NO_HANDOFF: 1 << 7,
  /** 2022 out_nolock fix: a killed first rwsem waiter leaves without waking those behind it */
  RWSEM_KILLED_NO_WAKE: 1 << 8,
  /** 2016: uninterruptible mmap_write_lock while a reader waits for the OOM reaper */
  MMAP_WRITE_UNINTERRUPTIBLE: 1 << 9,
  /** SRCU grace period that skips the first index */
  SRCU_SKIP_FIRST_INDEX: 1 << 10,
  /** index nodes freed without waiting for RCU */
  INDEX_FREE_NO_RCU: 1 << 11,
  /** lock_vma_under_rcu without the range re-check */
  NO_RANGE_RECHECK: 1 << 12,
  /** the per-VMA maps walk without its gap check (false gaps) */
  MAPS_NO_GAP_CHECK: 1 << 13,
  /** refcount_inc_not_zero without the limit: a reader enters past VMA_LOCK_OFFSET */
  REFCOUNT_UNLIMITED: 1 << 14,
} as const;

export type BugName =
  | 'detach-no-wait'
  | 'detach-before-write-lock'
  | 'no-mm-recheck'
  | 'no-seq-recheck'
  | 'put-no-mmgrab'
  | 'rcuwait-check-before-publish'
  | 'rcuwait-plain-ordering'
  | 'rwsem-no-handoff'
  | 'rwsem-killed-no-wake'
  | 'mmap-write-uninterruptible'
  | 'srcu-skip-first-index'
  | 'index-free-no-rcu'
  | 'no-range-recheck'
  | 'maps-no-gap-check'
  | 'refcount-unlimited';

/**
 * The catalogue, in the order `--list-bugs` prints it. `where` and `story` are filled in by
 * whoever implements the variant; an entry whose switch is not yet read anywhere in src/ is a
 * bug in faultline (test/unit/bugs.test.ts checks each bit is used).
 */
export const BUGS: readonly BugInfo[] = [
  {
    name: 'detach-no-wait',
    bit: BUG.DETACH_NO_WAIT,
    where: 'src/schemes/vma_refcnt.ts: vma_mark_detached',
    story:
      'per-VMA locks v6 10/16 (Peter Zijlstra): a reader that incremented between vma_start_write and vma_mark_detached is not waited for; the VMA is freed while referenced',
  },
  {
    name: 'detach-before-write-lock',
    bit: BUG.DETACH_BEFORE_WRITE_LOCK,
    where: 'src/ops/munmap.ts',
    story:
      'Dec 2024 ordering thread: detaching before vma_start_write lets a reader lock a VMA that is already out of the tree',
  },
  {
    name: 'no-mm-recheck',
    bit: BUG.NO_MM_RECHECK,
    where: 'src/schemes/vma_refcnt.ts: vma_start_read',
    story:
      'v6.15 type-safe reuse: without re-checking vm_mm after the increment, a reader locks a VMA slot reused by another mm',
  },
  {
    name: 'no-seq-recheck',
    bit: BUG.NO_SEQ_RECHECK,
    where: 'src/schemes/vma_refcnt.ts: vma_start_read',
    story:
      'without re-reading vm_lock_seq against mm_lock_seq after the increment, a reader enters a VMA that a writer already write-locked',
  },
  {
    name: 'put-no-mmgrab',
    bit: BUG.PUT_NO_MMGRAB,
    where: 'src/schemes/vma_refcnt.ts: vma_start_read',
    story:
      "2025 (Jann Horn): the put on a VMA reused by another mm may wake that mm's writer after the mm is freed; mmgrab/mmdrop around the put is the fix",
  },
  {
    name: 'rcuwait-check-before-publish',
    bit: BUG.RCUWAIT_CHECK_BEFORE_PUBLISH,
    where: 'src/sync/rcuwait.ts: rcuwait_wait_event',
    story:
      'an rcuwait waiter that checks its condition before publishing itself misses the wake-up sent in between: a lost wake-up (a hung task)',
  },
  {
    name: 'rcuwait-plain-ordering',
    bit: BUG.RCUWAIT_PLAIN_ORDERING,
    where:
      'src/sync/rcuwait.ts: rcuwait_wait_event (plain publish of w.task, __set_current_state: no barrier (A))',
    story:
      'rcuwait’s (A) done with plain accesses: the waiter’s plain store of w.task waits in the store buffer while its load of the condition goes ahead (store buffering on x86), so waiter and waker both miss: a lost wake-up (faultline litmus rcuwait+rcuwait-plain-ordering)',
  },
  {
    name: 'rwsem-no-handoff',
    bit: BUG.RWSEM_NO_HANDOFF,
    where: 'src/sync/rwsem_wait.ts',
    story:
      'rwsem without HANDOFF (before the 2019-2020 handoff work): a stream of readers starves a waiting writer',
  },
  {
    name: 'rwsem-killed-no-wake',
    bit: BUG.RWSEM_KILLED_NO_WAKE,
    where: 'src/sync/rwsem_wait.ts',
    story:
      '2022 out_nolock fix: a killed first waiter that leaves without waking the waiters behind it strands them',
  },
  {
    name: 'mmap-write-uninterruptible',
    bit: BUG.MMAP_WRITE_UNINTERRUPTIBLE,
    where: 'src/schemes/mmap.ts',
    story:
      '2016 down_write_killable thread: an uninterruptible mmap_write_lock queued behind a reader that waits for the OOM reaper, which queues behind the writer: deadlock',
  },
  {
    name: 'srcu-skip-first-index',
    bit: BUG.SRCU_SKIP_FIRST_INDEX,
    where: 'src/sync/srcu.ts',
    story:
      'an SRCU grace period that flips and waits for one index only: readers of the other index are not waited for',
  },
  {
    name: 'index-free-no-rcu',
    bit: BUG.INDEX_FREE_NO_RCU,
    where: 'src/mm/vma_tree_txn.ts',
    story:
      'replaced index nodes freed at once instead of after an RCU grace period: a lockless walker reads a reused node',
  },
  {
    name: 'no-range-recheck',
    bit: BUG.NO_RANGE_RECHECK,
    where: 'src/schemes/lock_vma.ts: lock_vma_under_rcu',
    story:
      'lock_vma_under_rcu without re-checking the address against [vm_start, vm_end) after locking: a fault lands in a VMA that moved or shrank',
  },
  {
    name: 'maps-no-gap-check',
    bit: BUG.MAPS_NO_GAP_CHECK,
    where: 'src/ops/maps.ts',
    story:
      '2025 per-VMA /proc/pid/maps walk without checking that nothing lies between the last address and the locked VMA: false gaps',
  },
  {
    name: 'refcount-unlimited',
    bit: BUG.REFCOUNT_UNLIMITED,
    where: 'src/schemes/vma_refcnt.ts: __vma_refcount_get (vma_start_read, vma_start_read_locked)',
    story:
      'the reader’s increment of vm_refcnt without VMA_REF_LIMIT: a reader gets in after a writer added VMA_LOCK_OFFSET, while the writer believes it excluded every reader (faultline litmus refcount-limited+refcount-unlimited)',
  },
];

let injected = 0;

/** True when the named broken variant is switched on for this thread's buffer. */
export function bug_on(bit: number): boolean {
  return (injected & bit) !== 0;
}

/** The injected mask (for reports). */
export function injected_bugs(): number {
  return injected;
}

/** Called by createArena/attachArena with the header's mask; tests may call it directly. */
export function set_injected_bugs(mask: number): void {
  injected = mask | 0;
}

/** Look a bug up by name; null when there is none. */
export function bug_by_name(name: string): BugInfo | null {
  return BUGS.find((b) => b.name === name) ?? null;
}

/** The mask for a list of names; throws a RangeError naming the first unknown one. */
export function bug_mask(names: readonly string[]): number {
  let m = 0;
  for (const n of names) {
    const b = bug_by_name(n);
    if (b === null) {
      throw new RangeError(
        `unknown bug ${JSON.stringify(n.slice(0, 60))}: allowed ${BUGS.map((x) => x.name).join(', ')}`,
      );
    }
    m |= b.bit;
  }
  return m;
}

/** Names of the bugs in a mask. */
export function bug_names(mask: number): string[] {
  return BUGS.filter((b) => (mask & b.bit) !== 0).map((b) => b.name);
}
