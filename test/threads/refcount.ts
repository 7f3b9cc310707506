// Thread bodies for test/unit/refcount.test.ts.

import { atomic_fetch_add, atomic_read, cpu_relax } from '../../src/sched/atomics.js';
import { check_abort, current_id } from '../../src/sched/task.js';
import {
  __refcount_inc_not_zero_limited_acquire,
  refcount_add,
  refcount_dec_and_test,
  refcount_inc,
  refcount_inc_limited_ok,
  refcount_inc_not_zero,
  refcount_sub_and_test,
} from '../../src/sync/refcount.js';

export interface LimitResult {
  readonly ok: number;
  readonly failed: number;
  readonly failedAtZero: number;
  /** the largest old value seen by a successful increment: must stay below the limit */
  readonly maxOkOld: number;
  /** successful increments whose old value was already at or over the limit: must be 0 */
  readonly overLimit: number;
  /** puts that returned true (the count hit 0): must be 0, main holds the base reference */
  readonly hitZero: number;
}

/**
 * Take and drop limited references `iters` times while the others do the same. A reference is
 * held for a few spins so the count really climbs to the limit.
 */
export function limitedIncDec(args: { r: number; limit: number; iters: number }): LimitResult {
  const { r, limit, iters } = args;
  let ok = 0;
  let failed = 0;
  let failedAtZero = 0;
  let maxOkOld = 0;
  let overLimit = 0;
  let hitZero = 0;
  let x = 0x9e3779b9 ^ Math.imul(current_id() + 1, 0x85ebca6b);
  for (let i = 0; i < iters; i++) {
    const old = __refcount_inc_not_zero_limited_acquire(r, limit);
    if (refcount_inc_limited_ok(old, limit)) {
      ok++;
      if (old > maxOkOld) maxOkOld = old;
      if (old >= limit) overLimit++;
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      for (let s = x & 63; s > 0; s--) cpu_relax();
      if (refcount_dec_and_test(r)) hitZero++;
    } else {
      failed++;
      if (old === 0) failedAtZero++;
    }
    if ((i & 4095) === 0) check_abort();
  }
  return { ok, failed, failedAtZero, maxOkOld, overLimit, hitZero };
}

/** Plain get/put pairs with inc/add/sub: the count must come back exactly. */
export function incAddSub(args: { r: number; iters: number }): number {
  let hitZero = 0;
  for (let i = 0; i < args.iters; i++) {
    refcount_inc(args.r);
    refcount_add(args.r, 3);
    if (refcount_sub_and_test(args.r, 2)) hitZero++;
    if (refcount_dec_and_test(args.r)) hitZero++;
    if (refcount_dec_and_test(args.r)) hitZero++;
  }
  return hitZero;
}

export interface LastPutResult {
  readonly gets: number;
  /** puts that returned true: summed over all tasks it must be exactly 1 */
  readonly freed: number;
}

/**
 * Readers: take a reference with inc_not_zero and drop it, until the count is 0 and stays 0.
 * The owner (owner: true) drops the base reference once the readers made `before` gets in all.
 * Exactly one put in the whole run sees the count reach 0.
 */
export function lastPut(args: {
  r: number;
  /** a shared word counting every reader's gets */
  counter: number;
  before: number;
  owner: boolean;
}): LastPutResult {
  let gets = 0;
  let freed = 0;
  if (args.owner) {
    for (let i = 0; atomic_read(args.counter) < args.before; i++) {
      cpu_relax();
      if ((i & 4095) === 0) check_abort();
    }
    if (refcount_dec_and_test(args.r)) freed++;
    return { gets, freed };
  }
  for (let i = 0; ; i++) {
    if (!refcount_inc_not_zero(args.r)) break;
    gets++;
    atomic_fetch_add(args.counter, 1);
    if (refcount_dec_and_test(args.r)) freed++;
    if ((i & 4095) === 0) check_abort();
  }
  return { gets, freed };
}
