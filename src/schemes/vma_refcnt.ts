// vma_refcnt: per-VMA locks built on vm_refcnt, as in Linux v6.15+ (include/linux/mmap_lock.h,
// mm/mmap_lock.c). v7.0 renamed VMA_LOCK_OFFSET to VM_REFCNT_EXCLUDE_READERS_FLAG,
// VMA_REF_LIMIT to VM_REFCNT_LIMIT and __vma_enter_locked/__vma_exit_locked to
// __vma_start_exclude_readers/__vma_end_exclude_readers; faultline keeps the v6.15 names.
//
// Memory ordering:
// - A reader's increment is refcount_inc_not_zero_limited_ACQUIRE: the slot may be reused
//   (SLAB_TYPESAFE_BY_RCU), so the vm_mm, vm_lock_seq and range checks that follow must not be
//   satisfied by values from before the increment.
// - The reader's load of mm_lock_seq is an ACQUIRE (raw_read_seqcount) pairing with the RELEASE
//   increment in vma_end_write_all(): a reader that sees the new sequence sees every write the
//   writer made while it held the VMA.
// - vma_mark_attached() publishes the VMA with refcount_set_release(1): every field written
//   before is visible to a reader whose ACQUIRE increment succeeds.
// - The writer's wait for readers is rcuwait_wait_event() on mm->vma_writer_wait; readers'
//   vma_refcount_put() wakes it. The rcuwait's barrier pair guarantees no lost wake-up.
// - vm_lock_seq is written only while readers are excluded (VMA_LOCK_OFFSET set) or while the
//   VMA is detached, so a reader holding a reference reads it reliably.

import { EINTR, InvariantViolation } from '../errors.js';
import { mm_globals } from '../mm/globals.js';
import { mm_assert_alive, mmdrop, mmgrab } from '../mm/mm.js';
import { atomic_read, atomic_read_once, atomic_set, sched_point } from '../sched/atomics.js';
import { BUG, bug_on } from '../sched/bugs.js';
import { CNT } from '../sched/counters.js';
import { EV } from '../sched/events.js';
import { sched_label } from '../sched/labels.js';
import { SP } from '../sched/points.js';
import { count, set_wait_object, trace } from '../sched/task.js';
import { MM, TASK_KILLABLE, TASK_UNINTERRUPTIBLE, VMA } from '../shm/layout/index.js';
import { kmem_cache_free } from '../shm/slab.js';
import { rcu_read_lock, rcu_read_unlock } from '../sync/rcu.js';
import { rcuwait_wait_event, rcuwait_wake_up } from '../sync/rcuwait.js';
import {
  __refcount_dec_and_test,
  __refcount_inc_not_zero_limited_acquire,
  REFCOUNT_MAX,
  refcount_add_not_zero,
  refcount_dec_and_test,
  refcount_inc_limited_ok,
  refcount_read,
  refcount_set_release,
  refcount_sub_and_test,
} from '../sync/refcount.js';
import { raw_read_seqcount, write_seqcount_end } from '../sync/seqcount.js';
import { lock_vma_under_rcu, rcu_deferred, vma_assert_write_locked_seq } from './lock_vma.js';
import { mm_lock_seq } from './mmap.js';
import { type Scheme, VMA_LOOKUP_AGAIN } from './scheme.js';
import {
  shadow_reader_enter,
  shadow_reader_exit,
  shadow_writer_begin,
  shadow_writer_end_all,
} from './shadow.js';

/** Set in vm_refcnt while a writer excludes readers (bit 30). */
export const VMA_LOCK_OFFSET = 0x40000000;
/** Readers fail at this count, so with the offset set they always fail (LIMIT < OFFSET). */
export const VMA_REF_LIMIT = VMA_LOCK_OFFSET - 1;

/** A value with the offset set and at most one other reference: the waiting writer may go. */
function is_vma_writer_only(cnt: number): boolean {
  return (cnt & VMA_LOCK_OFFSET) !== 0 && cnt <= VMA_LOCK_OFFSET + 1;
}

/** vma_start_read's foreign-mm branch: out of the RCU section, the put not yet begun. */
const SP_FOREIGN = sched_label('vma_start_read:foreign');

/** KERNEL.md §7.2: vm_refcnt ∈ {0} ∪ [1, LIMIT] ∪ [OFFSET, OFFSET + LIMIT]. */
export function vm_refcnt_legal(c: number): boolean {
  return (
    c >= 0 && (c <= VMA_REF_LIMIT || (c >= VMA_LOCK_OFFSET && c - VMA_LOCK_OFFSET <= VMA_REF_LIMIT))
  );
}

/**
 * The limit a reader's increment of vm_refcnt respects: VMA_REF_LIMIT, below VMA_LOCK_OFFSET, so
 * no reader gets in while a writer has the offset added. The broken variant REFCOUNT_UNLIMITED
 * drops it (any count but 0 and INT_MAX admits a reader). Read once per vma_start_read().
 */
function vma_read_limit(): number {
  return bug_on(BUG.REFCOUNT_UNLIMITED) ? REFCOUNT_MAX : VMA_REF_LIMIT;
}

/**
 * A reader's increment of vm_refcnt: refcount_inc_not_zero_limited_acquire() with the reader's
 * limit. Returns the count it saw; the reference was taken iff vma_refcount_got(old). ACQUIRE on
 * success (the checks that follow stay after it). For litmus tests of the increment alone.
 */
export function __vma_refcount_get(vma: number): number {
  return __refcount_inc_not_zero_limited_acquire(vma + VMA.vm_refcnt, vma_read_limit());
}

/** Whether __vma_refcount_get() took a reference, given the count it returned. */
export function vma_refcount_got(old: number): boolean {
  return refcount_inc_limited_ok(old, vma_read_limit());
}

/**
 * vma_refcount_put(): drop a read reference. vm_mm is read BEFORE the decrement: after it, the
 * VMA may be freed and reused at once. The fast path of every fault: small, so the JIT inlines
 * it; the wake-up and the assertions are out of line.
 */
function vma_refcount_put(vma: number): void {
  const mm = atomic_read_once(vma + VMA.vm_mm); // stable while our reference holds the slot
  // RELEASE: our reads of the VMA happen before a writer sees the count drop.
  const now = (__refcount_dec_and_test(vma + VMA.vm_refcnt) - 1) | 0;
  if (__faultline_assertions) vma_refcount_put_check(vma, now);
  sched_point(SP.PUT_BEFORE_WAKE);
  // As in the kernel, nothing but the test stands between the decrement and rcuwait_wake_up()'s
  // load of w.task (the trace comes after it): that is the waker's side of the (A)/(B) pair,
  // and its length is the width of rcuwait-plain-ordering's store-buffer window.
  if (now !== 0 && is_vma_writer_only(now)) rcuwait_wake_up(mm + MM.vma_writer_wait);
  trace(EV.VMA_END_READ, vma, now);
}

/** The assertion after a put: the count left is in one of vm_refcnt's legal ranges. */
function vma_refcount_put_check(vma: number, now: number): void {
  if (!vm_refcnt_legal(now)) {
    throw new InvariantViolation(
      `vma_refcount_put: vma ${vma} vm_refcnt now 0x${(now >>> 0).toString(16)}, outside its legal ranges`,
    );
  }
}

/**
 * vma_refcount_put() of a VMA that vma_start_read() found reused by another mm, whose writer
 * the wake-up may be for. The caller pins that mm (mmgrab) unless the broken variant runs.
 */
function vma_refcount_put_foreign(vma: number): void {
  const mm = atomic_read_once(vma + VMA.vm_mm); // stable while our reference holds the slot
  // The other mm's identity, for the use-after-free check below: read while our reference still
  // keeps the VMA attached, and so keeps that mm from exiting. (The caller's own mm is pinned by
  // the caller; only the foreign put can outlive its mm.)
  const id = __faultline_assertions ? atomic_read_once(mm + MM.mm_id) : 0;
  // RELEASE: our reads of the VMA happen before a writer sees the count drop.
  const now = (__refcount_dec_and_test(vma + VMA.vm_refcnt) - 1) | 0;
  if (__faultline_assertions) vma_refcount_put_check(vma, now);
  sched_point(SP.FOREIGN_PUT_BEFORE_WAKE);
  if (now !== 0 && is_vma_writer_only(now)) {
    if (__faultline_assertions) {
      mm_assert_alive(mm, 'vma_refcount_put wakes the writer of a freed mm', id);
    }
    rcuwait_wake_up(mm + MM.vma_writer_wait);
  }
  trace(EV.VMA_END_READ, vma, now);
}

/**
 * vma_start_read(): the VMA read-locked, NULL (0: a writer holds it, the limit was hit, the
 * slot belongs to another mm — a false "locked" is fine, the caller falls back), or
 * VMA_LOOKUP_AGAIN (-EAGAIN: detached; the caller looks it up again). Never a false "unlocked".
 * Called inside rcu_read_lock(); on a foreign mm it drops and retakes it, so the VMA must not be
 * used after a failure.
 *
 * Shared accesses, and why each is what it is (mm/mmap_lock.c):
 * - vm_lock_seq, mm_lock_seq (early check): plain, READ_ONCE in the kernel; a stale value only
 *   gives a false "locked" or a false "unlocked" that the ACQUIRE re-check below corrects.
 * - vm_refcnt: the first load is plain (the kernel's atomic_read; the cmpxchg validates it),
 *   the cmpxchg is the ACQUIRE increment.
 * - vm_mm, vm_lock_seq (after the increment): plain, ordered after the increment by it; a
 *   writer changes them only with readers excluded or the VMA detached, which our reference
 *   rules out (vm_lock_seq: the writer's store happens before its sub of VMA_LOCK_OFFSET,
 *   which our cmpxchg reads or follows).
 * - mm_lock_seq (the re-check): stays an Atomics.load, the kernel's raw_read_seqcount ACQUIRE
 *   pairing with the RELEASE increment in vma_end_write_all(). It is what orders the caller's
 *   later reads of the VMA (the range, anon_vma, the fault itself) after the writer's changes
 *   when it sees the writer's cycle ended. A plain load would not: in the JS memory model only
 *   an Atomics access synchronises with the writer's store, and on arm64 two plain loads with no
 *   dependency between them may be performed out of order, so the range check could read the
 *   VMA as it was before the write cycle that this load saw end.
 */
function vma_start_read(mm: number, vma: number): number {
  // Early pessimistic check, two plain loads as in the kernel: stale values can only give a
  // false "locked" (harmless) or a false "unlocked" that the ACQUIRE check below corrects.
  if (atomic_read_once(vma + VMA.vm_lock_seq) === atomic_read_once(mm + MM.mm_lock_seq)) return 0;
  sched_point(SP.BEFORE_REF_INC);
  const limit = vma_read_limit();
  const old = __refcount_inc_not_zero_limited_acquire(vma + VMA.vm_refcnt, limit);
  if (!refcount_inc_limited_ok(old, limit)) {
    return old === 0 ? VMA_LOOKUP_AGAIN : 0;
  }
  sched_point(SP.AFTER_REF_INC);

  // The slot may have been freed and reused by another mm between lookup and increment.
  // Relaxed loads from here on: after the ACQUIRE increment, the fields a writer may change
  // (only with readers excluded) are stable while we hold the reference.
  const other = atomic_read_once(vma + VMA.vm_mm);
  if (other !== mm && !bug_on(BUG.NO_MM_RECHECK)) return vma_start_read_foreign(vma, other);

  // ACQUIRE load of mm_lock_seq: pairs with the RELEASE in vma_end_write_all(). A writer that
  // write-locked the VMA between the early check and our increment is seen here.
  // (The switch is tested only on a match, so the fixed path pays nothing for it.)
  if (
    atomic_read_once(vma + VMA.vm_lock_seq) === raw_read_seqcount(mm + MM.mm_lock_seq) &&
    !bug_on(BUG.NO_SEQ_RECHECK)
  ) {
    vma_refcount_put(vma);
    return 0;
  }
  trace(EV.VMA_START_READ, vma, old + 1);
  return vma;
}

/**
 * vma_start_read() found the VMA reused by another mm, and holds a reference that may be what a
 * writer in THAT mm waits for; that mm may be freed as soon as the reference drops: pin it
 * across the put (Jann Horn's 2025 fix). Returns 0 (NULL), inside rcu_read_lock() again.
 */
function vma_start_read_foreign(vma: number, other: number): number {
  count(CNT.VMA_FOREIGN_MM);
  rcu_read_unlock();
  sched_point(SP_FOREIGN); // still holding the reference that the other mm's writer waits for
  if (bug_on(BUG.PUT_NO_MMGRAB)) {
    // Before the fix: nothing keeps `other` alive while the put may wake its writer.
    vma_refcount_put_foreign(vma);
  } else {
    mmgrab(other);
    vma_refcount_put_foreign(vma);
    mmdrop(other);
  }
  rcu_read_lock();
  return 0;
}

/**
 * __vma_enter_locked(): add the offset and wait until only we (and, when not detaching, the
 * attach reference) remain. false if the VMA was detached (count 0: nothing to exclude).
 */
function vma_enter_locked(vma: number, detaching: boolean, state: number): number | boolean {
  const target = detaching ? VMA_LOCK_OFFSET : VMA_LOCK_OFFSET + 1;
  // Only vma_mark_attached() raises a detached count, and the mmap write lock excludes it.
  if (!refcount_add_not_zero(vma + VMA.vm_refcnt, VMA_LOCK_OFFSET)) return false;
  const mm = atomic_read(vma + VMA.vm_mm);
  set_wait_object(vma);
  const err = rcuwait_wait_event(
    mm + MM.vma_writer_wait,
    () => refcount_read(vma + VMA.vm_refcnt) === target,
    state,
  );
  set_wait_object(0);
  if (err !== 0) {
    vma_exit_locked(vma);
    return err;
  }
  return true;
}

/** __vma_exit_locked(): drop the offset; true if that detached the VMA (count 0). */
function vma_exit_locked(vma: number): boolean {
  return refcount_sub_and_test(vma + VMA.vm_refcnt, VMA_LOCK_OFFSET);
}

function vma_start_write_state(vma: number, state: number): number {
  const mm = atomic_read(vma + VMA.vm_mm);
  const seq = mm_lock_seq(mm);
  if (atomic_read(vma + VMA.vm_lock_seq) === seq) return 0; // already locked this cycle
  const locked = vma_enter_locked(vma, false, state);
  if (typeof locked === 'number') return locked; // EINTR: vm_lock_seq untouched
  // Readers are excluded (or the VMA is detached): vm_lock_seq may change.
  sched_point(SP.WRITE_EXCLUDED);
  atomic_set(vma + VMA.vm_lock_seq, seq);
  if (locked && vma_exit_locked(vma)) {
    throw new InvariantViolation(`vma_start_write: vma ${vma} detached while write-locking it`);
  }
  if (__faultline_assertions) shadow_writer_begin(vma, 'vma_start_write');
  trace(EV.VMA_START_WRITE, vma, seq);
  sched_point(SP.WRITE_LOCKED);
  return 0;
}

const vma_assert_write_locked = vma_assert_write_locked_seq;

export const vma_refcnt: Scheme = {
  name: 'vma_refcnt',
  summary: 'per-VMA locks on vm_refcnt + rcuwait, type-safe VMA reuse (Linux 6.15+)',
  kernel: 'v6.15+, with v6.16 per-VMA MADV_DONTNEED and the v6.17 per-VMA maps walk',
  seqOddWhileWriteLocked: true,
  faultFallbackKillable: true,
  typesafeVmas: true,
  perVmaReadLock: true,
  perVmaMaps: true,
  perVmaMadvise: true,
  speculative: false,
  anonVmaFastPath: 'trylock',
  ioWaitFastPath: 'drop',

  lock_vma_under_rcu(mm: number, addr: number): number {
    return lock_vma_under_rcu(vma_refcnt, mm, addr);
  },

  vma_end_read(vma: number): void {
    if (__faultline_assertions) shadow_reader_exit(vma);
    vma_refcount_put(vma);
  },

  vma_fault_still_valid(): boolean {
    return true;
  },

  vma_start_read(mm: number, vma: number): number {
    const got = vma_start_read(mm, vma);
    if (got > 0 && __faultline_assertions) shadow_reader_enter(vma);
    return got;
  },

  vma_start_read_locked(vma: number): boolean {
    const limit = vma_read_limit();
    const old = __refcount_inc_not_zero_limited_acquire(vma + VMA.vm_refcnt, limit);
    const ok = refcount_inc_limited_ok(old, limit);
    if (ok && __faultline_assertions) shadow_reader_enter(vma);
    return ok;
  },

  vma_start_write(vma: number): void {
    vma_start_write_state(vma, TASK_UNINTERRUPTIBLE);
  },

  vm_write_begin(): void {},
  vm_write_end(): void {},
  vma_start_write_killable(vma: number): number {
    return vma_start_write_state(vma, TASK_KILLABLE) === 0 ? 0 : EINTR;
  },

  vma_mark_attached(vma: number): void {
    if (__faultline_assertions) vma_assert_write_locked(vma);
    if (refcount_read(vma + VMA.vm_refcnt) !== 0) {
      throw new InvariantViolation(`vma_mark_attached: vma ${vma} is already attached`);
    }
    refcount_set_release(vma + VMA.vm_refcnt, 1);
    trace(EV.VMA_MARK_ATTACHED, vma, 0);
  },

  vma_mark_detached(vma: number): void {
    if (__faultline_assertions) vma_assert_write_locked(vma);
    // We are the only writer; a reader can hold the count up only briefly (it sees the
    // sequence match and drops it), so this usually goes 1 → 0 at once.
    if (!refcount_dec_and_test(vma + VMA.vm_refcnt) && !bug_on(BUG.DETACH_NO_WAIT)) {
      // The detach race (Peter Zijlstra on v6 10/16): wait for the stray reader. The broken
      // variant (v6) goes on with the reader's reference still counted.
      const locked = vma_enter_locked(vma, true, TASK_UNINTERRUPTIBLE);
      if (locked === true && !vma_exit_locked(vma)) {
        throw new InvariantViolation(`vma_mark_detached: vma ${vma} still referenced`);
      }
    }
    trace(EV.VMA_MARK_DETACHED, vma, 0);
  },

  vma_end_write_all(mm: number): void {
    if (__faultline_assertions) shadow_writer_end_all();
    // RELEASE: every VMA locked with this sequence reads unlocked from here on.
    write_seqcount_end(mm + MM.mm_lock_seq);
  },

  vmas_free(vmas: readonly number[]): void {
    const cache = mm_globals().vmaCache;
    for (const vma of vmas) {
      if (refcount_read(vma + VMA.vm_refcnt) !== 0) {
        throw new InvariantViolation(`vm_area_free: vma ${vma} is not detached`);
      }
      // SLAB_TYPESAFE_BY_RCU: the slot is reusable at once; readers re-check what they locked.
      kmem_cache_free(cache, vma);
    }
  },

  pgtable_free_deferred() {
    return null;
  },

  ...rcu_deferred,

  vma_assert_write_locked,

  vma_assert_locked(vma: number): void {
    // A count above 1 means a reader holds it (perhaps us, with a writer waiting); at 1 or
    // below only the mmap-lock writer can hold it.
    if (refcount_read(vma + VMA.vm_refcnt) <= 1) vma_assert_write_locked(vma);
  },
};
