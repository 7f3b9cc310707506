// The bug catalogue: known-broken variants of faultline's kernel code, each a named switch that
// puts the broken code in place of the fixed code *in the place it breaks* (a `bug_on(BUG.X)`
// branch in the primitive, scheme or operation). `faultline stress --inject-bug`, `faultline
// race --variant broken` and the litmus catalogue all use these switches, so this one list says
// what faultline can demonstrate.
//
// How a switch reaches every thread: the set of injected bugs is a word in the buffer header
// (HEADER.bugs), written by createArena and read by attachArena, which call set_injected_bugs().
// So every task attached to a buffer runs the same variant, with no plumbing through configs.
// Off, a switch costs nothing: the mask is a global the JIT folds to a constant while it never
// changes in the thread (flags.ts), so `bug_on(X)` compiles to nothing (bench:primitives and
// bench:sched-point measure the same mechanism on the schedule hook).

import { set_folded } from './flags.js';

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
  /** srcu_spf: a speculative fault that installs its PTE without validating its snapshot */
  SPF_NO_VALIDATION: 1 << 15,
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
  | 'refcount-unlimited'
  | 'spf-no-validation';

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
      "per-VMA locks v6 10/16 and the Dec 2024 refcount series (Peter Zijlstra, Suren Baghdasaryan): a reader that incremented vm_refcnt after vma_start_write but before vma_mark_detached is not waited for, so munmap frees a VMA still referenced; with SLAB_TYPESAFE_BY_RCU the slot may be reused and the late put corrupts the new VMA. vm_area_free's detached check catches it (faultline litmus vma-detach+detach-no-wait)",
  },
  {
    name: 'detach-before-write-lock',
    bit: BUG.DETACH_BEFORE_WRITE_LOCK,
    where: 'src/ops/munmap.ts: do_munmap (the gather loop)',
    story:
      "Dec 2024 refcount series review: munmap must vma_start_write() a VMA before vma_mark_detached(); detaching first drops vm_refcnt while readers may still lock the VMA through a stale lookup and the writer no longer excludes them. Caught by vma_mark_detached's vma_assert_write_locked (live in tests and stress)",
  },
  {
    name: 'no-mm-recheck',
    bit: BUG.NO_MM_RECHECK,
    where: 'src/schemes/vma_refcnt.ts: vma_start_read',
    story:
      "v6.15 SLAB_TYPESAFE_BY_RCU VMAs (Dec 2024, v5 4/6): without re-checking vm_mm after the increment, a reader of mm A locks a slot reused by mm B and compares its vm_lock_seq with A's sequence: it enters a VMA that B's writer holds write-locked (the shadow exclusion check catches it)",
  },
  {
    name: 'no-seq-recheck',
    bit: BUG.NO_SEQ_RECHECK,
    where: 'src/schemes/vma_refcnt.ts: vma_start_read',
    story:
      'v6.15 vma_start_read: the early vm_lock_seq check is lockless; without re-reading vm_lock_seq against mm_lock_seq (ACQUIRE) after the increment, a reader that passed the early check before vma_start_write enters the VMA the writer now holds (the shadow exclusion check catches it)',
  },
  {
    name: 'put-no-mmgrab',
    bit: BUG.PUT_NO_MMGRAB,
    where:
      'src/schemes/vma_refcnt.ts: vma_start_read (the foreign-mm branch: vma_refcount_put without mmgrab/mmdrop)',
    story:
      "2025 (Jann Horn): a reader that took a reference on a VMA slot reused by another mm drops it with vma_refcount_put(), which may wake that mm's writer; the writer (exit_mmap write-locking the VMA) can see the count drop without the wake-up, finish, and the mm be freed, maybe handed out again, before the wake-up touches mm->vma_writer_wait. The fix pins the mm with mmgrab()/mmdrop() around the put. The put's mm_assert_alive catches it: the mm is free, or its mm_id (read before the decrement, while the reference kept the mm from exiting) changed: freed and reallocated",
  },
  {
    name: 'rcuwait-check-before-publish',
    bit: BUG.RCUWAIT_CHECK_BEFORE_PUBLISH,
    where: 'src/sync/rcuwait.ts: rcuwait_wait_event',
    story:
      'an rcuwait waiter that checks its condition before publishing itself in w.task misses a wake-up sent in between (the waker loads NULL): the waiter sleeps with the condition true, a hung task (counted as a lost wake-up; a deadlock under the controlled scheduler)',
  },
  {
    name: 'rcuwait-plain-ordering',
    bit: BUG.RCUWAIT_PLAIN_ORDERING,
    where:
      'src/sync/rcuwait.ts: rcuwait_wait_event — prepare_to_rcuwait publishes w.task with a plain TypedArray store (plain_set, a plain mov on x86) and the loop sets its state with __set_current_state (another plain store) instead of set_current_state, so nothing orders the store of w.task before the Atomics.load of the condition: no (A). The waker (vma_refcount_put: a locked decrement of vm_refcnt, then rcuwait_wake_up’s load of w.task) keeps its (B)',
    story:
      'rcuwait’s (A) done with plain accesses: the waiter’s plain store of w.task waits in the store buffer while its load of the condition (vm_refcnt: readers still inside) goes ahead; on x86 that one-sided store→load reordering is enough: the last reader’s locked decrement and its load of w.task both land before the store drains, so the reader sees NULL and wakes nobody, the writer sleeps with the condition true: a lost wake-up, a hung task in the kernel (faultline litmus rcuwait+rcuwait-plain-ordering shows it; stress rarely, the window being tens of ns)',
  },
  {
    name: 'rwsem-no-handoff',
    bit: BUG.RWSEM_NO_HANDOFF,
    where:
      'src/sync/rwsem_wait.ts: rwsem_try_write_lock (a queued writer past RWSEM_WAIT_TIMEOUT that finds the lock held does not set HANDOFF) and rwsem_mark_wake (nor does the waker of a timed-out first reader)',
    story:
      "faultline's ablation of HANDOFF (added in v5.3, 2019): today's rwsem, reader stealing (v5.11) included, with neither a timed-out writer nor the waker of a timed-out first reader setting it, so lock stealers (spinning writers, reader steals, queued writers behind the head) keep taking the lock from a woken first waiter: writer starvation. The stress check rwsem-handoff catches the first acquisition past a writer owed the handoff; no kernel shipped exactly this mix",
  },
  {
    name: 'rwsem-killed-no-wake',
    bit: BUG.RWSEM_KILLED_NO_WAKE,
    where: 'src/sync/rwsem_wait.ts: rwsem_del_wake_waiter',
    story:
      "faultline's ablation of the out_nolock wake-up: a killed first waiter (reader or writer) leaves without rwsem_mark_wake, so a reader behind it that could run (the lock is only read-held) sleeps on until the next unlock. Before 1ee326196c66 (2022) only a killed reader skipped the wake-up (a writer always woke the queue), where the omission delayed a HANDOFF heir rather than stranding anyone",
  },
  {
    name: 'mmap-write-uninterruptible',
    bit: BUG.MMAP_WRITE_UNINTERRUPTIBLE,
    where: 'src/schemes/mmap.ts: mmap_write_lock_killable (with src/ops/oom.ts)',
    story:
      "2016 (Michal Hocko, mm: make mmap_sem for write waits killable for mm users): a remote reader holds the victim's mmap_lock for read and waits for memory; the victim's munmap queues an uninterruptible down_write behind it and ignores the OOM killer's SIGKILL; the OOM reaper's mmap_read_trylock fails while that writer waits: nothing moves. The watchdog reports the hang; the killable write lock lets the victim go",
  },
  {
    name: 'srcu-skip-first-index',
    bit: BUG.SRCU_SKIP_FIRST_INDEX,
    where: 'src/sync/srcu.ts: srcu_gp_step (scan 1, GP_WAIT_STALE)',
    story:
      "classic SRCU without the first scan (the double scan of srcu_readers_active_idx_check): a reader that loaded srcu_idx before a grace period's flip and incremented that (old) index after the grace period's scan drained it sits on the non-current index; the next grace period flips back to it and scans only the other, so it ends while the reader is still inside its section and what the updater frees (an srcu_spf VMA) is freed under it: vma_fault_still_valid finds the slot free (faultline litmus srcu+srcu-skip-first-index, race srcu-late-reader)",
  },
  {
    name: 'index-free-no-rcu',
    bit: BUG.INDEX_FREE_NO_RCU,
    where: 'src/mm/vma_tree_txn.ts: vt_txn_commit',
    story:
      "RCU-safe index (maple tree rule): nodes a transaction replaced are freed at once instead of after a grace period, so a lockless walker inside rcu_read_lock() reads a freed (poisoned) or reused node; the walker's node check catches it",
  },
  {
    name: 'no-range-recheck',
    bit: BUG.NO_RANGE_RECHECK,
    where: 'src/schemes/lock_vma.ts: lock_vma_under_rcu',
    story:
      "lock_vma_under_rcu (6.4+): without re-checking addr against [vm_start, vm_end) after locking, a VMA split or shrunk between the lookup and the lock is returned for an address it no longer covers, and the fault installs a page outside it (handle_mm_fault's range assertion catches it)",
  },
  {
    name: 'maps-no-gap-check',
    bit: BUG.MAPS_NO_GAP_CHECK,
    where: 'src/ops/maps.ts: lock_next_vma',
    story:
      '2025 per-VMA /proc/pid/maps walk (v6.17) without the check after locking that nothing lies between the last address and the locked VMA: a VMA split off below it while the reader locked it is never reported, a false gap',
  },
  {
    name: 'refcount-unlimited',
    bit: BUG.REFCOUNT_UNLIMITED,
    where: 'src/schemes/vma_refcnt.ts: __vma_refcount_get (vma_start_read, vma_start_read_locked)',
    story:
      'the reader’s increment of vm_refcnt without VMA_REF_LIMIT: a reader gets in after a writer added VMA_LOCK_OFFSET, while the writer believes it excluded every reader (faultline litmus refcount-limited+refcount-unlimited)',
  },
  {
    name: 'spf-no-validation',
    bit: BUG.SPF_NO_VALIDATION,
    where: 'src/schemes/srcu_spf.ts: vma_fault_still_valid',
    story:
      '2020 "Splitting the mmap_sem" (speculative faults under SRCU; the SPF series\' vma_has_changed): without re-checking, under the page-table lock, that the VMA is not dead and its sequence count unchanged, a fault that took its snapshot before an munmap installs a page in the range munmap has already unmapped',
  },
];

/**
 * True when the named broken variant is switched on for this thread's buffer. The mask is a
 * global the JIT folds (flags.ts): with no bug injected, a test of it costs nothing.
 */
export function bug_on(bit: number): boolean {
  return (__faultline_bugs & bit) !== 0;
}

/** The injected mask (for reports). */
export function injected_bugs(): number {
  return __faultline_bugs;
}

/** Called by createArena/attachArena with the header's mask; tests may call it directly. */
export function set_injected_bugs(mask: number): void {
  set_folded('__faultline_bugs', mask | 0);
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
