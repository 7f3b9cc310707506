// refcount_t: a saturating reference count (include/linux/refcount.h, lib/refcount.c).
//
// Memory ordering: every Atomics operation is sequentially consistent, so each function is at
// least as strong as the kernel's. The kernel's words, kept so the code can be checked against
// it line by line:
// - increments (refcount_inc/add, *_not_zero) are relaxed: whatever gave the caller the object
//   (a lock, an RCU-protected pointer) orders them; *_not_zero gives a control dependency.
// - *_acquire variants (refcount_inc_not_zero_limited_acquire, refcount_inc_not_zero_acquire):
//   ACQUIRE on success, for SLAB_TYPESAFE_BY_RCU objects whose slot can be reused: the checks a
//   caller makes after taking the reference (vm_mm, vm_lock_seq, the range) must not move before
//   the increment. Pairs with the RELEASE of refcount_set_release() when the slot is reused.
// - decrements are RELEASE (everything the holder did happens before the drop); dec_and_test
//   and sub_and_test are also ACQUIRE when they return true, so the free comes after every other
//   holder's RELEASE.
// - refcount_set_release(): RELEASE, only after the object is fully initialised.
//
// Saturation: as in the kernel, an operation that detects overflow or underflow after the fact
// sets the word to REFCOUNT_SATURATED (INT_MIN / 2), halfway into the negative range, so racing
// increments or decrements cannot walk it back to a valid count, and records a named warning in
// the global counters at ROOT.REFCOUNT_WARN. The object is then leaked, never freed.

import {
  atomic_cmpxchg,
  atomic_fetch_add,
  atomic_fetch_sub,
  atomic_read,
  atomic_read_once,
  atomic_set,
} from '../sched/atomics.js';
import { EV } from '../sched/events.js';
import { trace } from '../sched/task.js';
import { arena_alloc } from '../shm/arena.js';
import { HEADER, REFCOUNT, REFCOUNT_WARN, ROOT } from '../shm/layout/index.js';

const INT_MAX = 0x7fffffff;
const INT_MIN = -INT_MAX - 1;

/** The largest count a refcount_t holds before it saturates. */
export const REFCOUNT_MAX = INT_MAX;
/** Where a refcount_t stops once an overflow or underflow was caught: INT_MIN / 2. */
export const REFCOUNT_SATURATED = INT_MIN / 2;

/** enum refcount_saturation_type, in the kernel's order. */
export const REFCOUNT_ADD_NOT_ZERO_OVF = 0;
export const REFCOUNT_ADD_OVF = 1;
export const REFCOUNT_ADD_UAF = 2;
export const REFCOUNT_SUB_UAF = 3;
export const REFCOUNT_DEC_LEAK = 4;

/** The warning names, indexed by type, and the counter word each one bumps. */
const WARN = [
  ['REFCOUNT_ADD_NOT_ZERO_OVF', () => REFCOUNT_WARN.add_not_zero_ovf],
  ['REFCOUNT_ADD_OVF', () => REFCOUNT_WARN.add_ovf],
  ['REFCOUNT_ADD_UAF', () => REFCOUNT_WARN.add_uaf],
  ['REFCOUNT_SUB_UAF', () => REFCOUNT_WARN.sub_uaf],
  ['REFCOUNT_DEC_LEAK', () => REFCOUNT_WARN.dec_leak],
] as const;

export const REFCOUNT_WARN_NAMES: readonly string[] = WARN.map(([name]) => name);

// ---- the warning counters ------------------------------------------------------------------

const warnRoot = (): number => HEADER.roots + ROOT.REFCOUNT_WARN;

/** Allocate and publish the global warning counters (main thread, during set-up). */
export function refcount_warn_init(): number {
  const p = arena_alloc(REFCOUNT_WARN.SIZE, 1, 'refcount warning counters');
  for (let i = 0; i < REFCOUNT_WARN.SIZE; i++) atomic_set(p + i, 0);
  atomic_set(warnRoot(), p);
  return p;
}

/**
 * The counters, creating them if no one did: a warning is never dropped for want of set-up.
 * Two tasks racing here both allocate; the cmpxchg publishes one and the other's words leak.
 */
function warn_counters(): number {
  const p = atomic_read(warnRoot());
  if (p !== 0) return p;
  const q = arena_alloc(REFCOUNT_WARN.SIZE, 1, 'refcount warning counters');
  const seen = atomic_cmpxchg(warnRoot(), 0, q);
  return seen === 0 ? q : seen;
}

/**
 * refcount_warn_saturate(): pin the count at REFCOUNT_SATURATED and count the warning. The
 * kernel WARNs here; faultline counts, and a stress run fails on any non-zero count.
 */
export function refcount_warn_saturate(r: number, t: number): void {
  const w = WARN[t];
  if (w === undefined) {
    throw new RangeError(`refcount_warn_saturate: type ${t}; allowed 0..${WARN.length - 1}`);
  }
  atomic_set(r + REFCOUNT.refs, REFCOUNT_SATURATED);
  atomic_fetch_add(warn_counters() + w[1](), 1);
  trace(EV.REFCOUNT_WARN, r, t);
}

/** The warning counts by kernel name (all 0 when no counters were published yet). */
export function refcount_warnings(): Record<string, number> {
  const p = atomic_read(warnRoot());
  const out: Record<string, number> = {};
  for (const [name, off] of WARN) out[name] = p === 0 ? 0 : atomic_read(p + off());
  return out;
}

/** Sum of every warning count: what a stress run asserts to be 0. */
export function refcount_warnings_total(): number {
  let n = 0;
  for (const v of Object.values(refcount_warnings())) n += v;
  return n;
}

/** Zero the counters (between runs). */
export function refcount_warnings_reset(): void {
  const p = atomic_read(warnRoot());
  if (p === 0) return;
  for (const [, off] of WARN) atomic_set(p + off(), 0);
}

// ---- set and read --------------------------------------------------------------------------

export function refcount_set(r: number, n: number): void {
  atomic_set(r + REFCOUNT.refs, n);
}

/** RELEASE: every store that initialised the object is visible before the count. */
export function refcount_set_release(r: number, n: number): void {
  atomic_set(r + REFCOUNT.refs, n);
}

/** The count as a signed 32-bit value (the kernel returns it as unsigned; negative = saturated). */
export function refcount_read(r: number): number {
  return atomic_read(r + REFCOUNT.refs);
}

// ---- increments ----------------------------------------------------------------------------

/**
 * Add i unless the count is 0; returns the value seen before (0: nothing was added). Relaxed
 * in the kernel (cmpxchg_relaxed), with a control dependency on success.
 */
export function __refcount_add_not_zero(r: number, i: number): number {
  const p = r + REFCOUNT.refs;
  let old = atomic_read(p);
  while (old !== 0) {
    const seen = atomic_cmpxchg(p, old, (old + i) | 0);
    if (seen === old) break;
    old = seen;
  }
  if (old < 0 || ((old + i) | 0) < 0) refcount_warn_saturate(r, REFCOUNT_ADD_NOT_ZERO_OVF);
  return old;
}

/** false iff the count was 0. Saturates and warns on overflow. */
export function refcount_add_not_zero(r: number, i: number): boolean {
  return __refcount_add_not_zero(r, i) !== 0;
}

export function refcount_inc_not_zero(r: number): boolean {
  return __refcount_add_not_zero(r, 1) !== 0;
}

/**
 * Whether an add of i to a count seen at `old` is allowed under `limit`: old is not 0 and
 * old + i does not pass limit. Computed as the kernel does, i > limit - old with 32-bit
 * wrap-around, so a count with a high flag bit (vm_refcnt's bit 30) is always over the limit.
 */
function add_limited_ok(old: number, i: number, limit: number): boolean {
  return old !== 0 && i <= ((limit - old) | 0);
}

/**
 * Add i unless the count is 0 or the result would pass `limit`. Returns the value seen last:
 * the add happened iff add_limited_ok(old, i, limit). ACQUIRE on success (see the top).
 */
export function __refcount_add_not_zero_limited_acquire(
  r: number,
  i: number,
  limit: number,
): number {
  // The uncontended first attempt inline, the retries out of line: the fast path of every VMA
  // read lock stays small enough for the JIT to inline. Same steps as one loop.
  const p = r + REFCOUNT.refs;
  const old = atomic_read_once(p); // the kernel's atomic_read(); the cmpxchg validates it
  if (!add_limited_ok(old, i, limit)) return old;
  // ACQUIRE: the caller's later checks of the object stay after this increment. Pairs with
  // the RELEASE in refcount_set_release() of whoever (re)initialised the slot.
  const seen = atomic_cmpxchg(p, old, (old + i) | 0);
  if (seen !== old) return refcount_add_limited_retry(r, i, limit, seen);
  if (old < 0 || ((old + i) | 0) < 0) refcount_warn_saturate(r, REFCOUNT_ADD_NOT_ZERO_OVF);
  return old;
}

/** __refcount_add_not_zero_limited_acquire() after a failed cmpxchg that found `old`. */
function refcount_add_limited_retry(r: number, i: number, limit: number, old: number): number {
  const p = r + REFCOUNT.refs;
  for (;;) {
    if (!add_limited_ok(old, i, limit)) return old;
    // ACQUIRE, as above.
    const seen = atomic_cmpxchg(p, old, (old + i) | 0);
    if (seen === old) break;
    old = seen;
  }
  if (old < 0 || ((old + i) | 0) < 0) refcount_warn_saturate(r, REFCOUNT_ADD_NOT_ZERO_OVF);
  return old;
}

/**
 * Whether __refcount_inc_not_zero_limited_acquire() succeeded, given the old value it returned.
 * Fails at 0 (old is then 0), at or over the limit, and whenever bit 30 is set against a limit
 * below it.
 */
export function refcount_inc_limited_ok(old: number, limit: number): boolean {
  return add_limited_ok(old, 1, limit);
}

/** Increment unless 0 or at `limit`; returns the old value (see refcount_inc_limited_ok). */
export function __refcount_inc_not_zero_limited_acquire(r: number, limit: number): number {
  return __refcount_add_not_zero_limited_acquire(r, 1, limit);
}

export function refcount_inc_not_zero_limited_acquire(r: number, limit: number): boolean {
  return add_limited_ok(__refcount_add_not_zero_limited_acquire(r, 1, limit), 1, limit);
}

/**
 * Add i unless 0, ACQUIRE on success: the limited acquire add with limit INT_MAX, as the current
 * kernel defines it. INT_MAX - old wraps negative for any saturated (negative) count, and is 0
 * at INT_MAX, so both refuse: nothing is added and nothing warns. (v6.15's version was the plain
 * add_not_zero with acquire ordering, which saturated and warned there instead.)
 */
export function refcount_add_not_zero_acquire(r: number, i: number): boolean {
  return add_limited_ok(__refcount_add_not_zero_limited_acquire(r, i, INT_MAX), i, INT_MAX);
}

/** Increment unless 0, at INT_MAX or saturated; ACQUIRE on success (see above). */
export function refcount_inc_not_zero_acquire(r: number): boolean {
  return refcount_add_not_zero_acquire(r, 1);
}

/**
 * Add i; the caller must already hold a reference. From 0 it warns REFCOUNT_ADD_UAF (a
 * use-after-free), past INT_MAX or from saturation REFCOUNT_ADD_OVF. Returns the old value.
 */
export function __refcount_add(r: number, i: number): number {
  const old = atomic_fetch_add(r + REFCOUNT.refs, i);
  if (old === 0) refcount_warn_saturate(r, REFCOUNT_ADD_UAF);
  else if (old < 0 || ((old + i) | 0) < 0) refcount_warn_saturate(r, REFCOUNT_ADD_OVF);
  return old;
}

export function refcount_add(r: number, i: number): void {
  __refcount_add(r, i);
}

export function refcount_inc(r: number): void {
  __refcount_add(r, 1);
}

// ---- decrements ----------------------------------------------------------------------------

/**
 * Subtract i; true iff that made the count 0 (the caller now frees). RELEASE, and ACQUIRE when
 * it returns true. Underflow (from 0 or below, or past 0) warns REFCOUNT_SUB_UAF and leaks.
 */
export function refcount_sub_and_test(r: number, i: number): boolean {
  return __refcount_sub_and_test(r, i) === i;
}

/**
 * As refcount_sub_and_test, but returns the value before the subtraction (the kernel's oldp);
 * the count reached 0 iff it returns i.
 */
export function __refcount_sub_and_test(r: number, i: number): number {
  const old = atomic_fetch_sub(r + REFCOUNT.refs, i);
  // old === i: ACQUIRE (smp_acquire__after_ctrl_dep): the free orders after every RELEASE.
  if (old <= 0 || ((old - i) | 0) < 0) refcount_warn_saturate(r, REFCOUNT_SUB_UAF);
  return old;
}

export function refcount_dec_and_test(r: number): boolean {
  return refcount_sub_and_test(r, 1);
}

/** As refcount_dec_and_test, returning the old value: the count reached 0 iff it returns 1. */
export function __refcount_dec_and_test(r: number): number {
  return __refcount_sub_and_test(r, 1);
}

/**
 * Drop a reference that is known not to be the last. RELEASE. Hitting 0 here (or starting at 0
 * or below) warns REFCOUNT_DEC_LEAK: the object would never be freed.
 */
export function refcount_dec(r: number): void {
  const old = atomic_fetch_sub(r + REFCOUNT.refs, 1);
  if (old <= 1) refcount_warn_saturate(r, REFCOUNT_DEC_LEAK);
}
