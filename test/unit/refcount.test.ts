import { beforeEach, describe, expect, it } from 'vitest';
import { task_attach } from '../../src/sched/task.js';
import { arena_alloc, createArena, get_root } from '../../src/shm/arena.js';
import { LINE_WORDS, REFCOUNT, ROOT } from '../../src/shm/layout/index.js';
import {
  __refcount_add_not_zero,
  __refcount_inc_not_zero_limited_acquire,
  REFCOUNT_MAX,
  REFCOUNT_SATURATED,
  REFCOUNT_WARN_NAMES,
  refcount_add,
  refcount_add_not_zero,
  refcount_add_not_zero_acquire,
  refcount_dec,
  refcount_dec_and_test,
  refcount_inc,
  refcount_inc_limited_ok,
  refcount_inc_not_zero,
  refcount_inc_not_zero_acquire,
  refcount_inc_not_zero_limited_acquire,
  refcount_read,
  refcount_set,
  refcount_set_release,
  refcount_sub_and_test,
  refcount_warn_init,
  refcount_warn_saturate,
  refcount_warnings,
  refcount_warnings_reset,
  refcount_warnings_total,
} from '../../src/sync/refcount.js';
import { runThreads } from '../helpers/threads.js';
import type { LastPutResult, LimitResult } from '../threads/refcount.js';

/** vm_refcnt's numbers (KERNEL.md §1): the limit is one below the flag bit. */
const VMA_LOCK_OFFSET = 1 << 30;
const VMA_REF_LIMIT = VMA_LOCK_OFFSET - 1;

let r = 0;

function warned(): Record<string, number> {
  return Object.fromEntries(Object.entries(refcount_warnings()).filter(([, n]) => n !== 0));
}

beforeEach(() => {
  createArena({ sizeMiB: 1, maxTasks: 2 });
  task_attach(0);
  refcount_warn_init();
  r = arena_alloc(REFCOUNT.SIZE, LINE_WORDS);
});

describe('refcount_t constants', () => {
  it('saturates at INT_MIN / 2, halfway into the negative range', () => {
    expect(REFCOUNT_SATURATED).toBe(-0x40000000);
    expect(REFCOUNT_MAX).toBe(0x7fffffff);
    expect(REFCOUNT_WARN_NAMES).toEqual([
      'REFCOUNT_ADD_NOT_ZERO_OVF',
      'REFCOUNT_ADD_OVF',
      'REFCOUNT_ADD_UAF',
      'REFCOUNT_SUB_UAF',
      'REFCOUNT_DEC_LEAK',
    ]);
  });

  it('publishes its warning counters at ROOT.REFCOUNT_WARN, all zero', () => {
    expect(get_root(ROOT.REFCOUNT_WARN)).not.toBe(0);
    expect(refcount_warnings_total()).toBe(0);
    expect(Object.keys(refcount_warnings())).toEqual(REFCOUNT_WARN_NAMES);
  });
});

describe('refcount_t operations', () => {
  it('set, read, inc, add, dec, dec_and_test, sub_and_test', () => {
    refcount_set(r, 1);
    expect(refcount_read(r)).toBe(1);
    refcount_inc(r);
    refcount_add(r, 5);
    expect(refcount_read(r)).toBe(7);
    refcount_dec(r);
    expect(refcount_read(r)).toBe(6);
    expect(refcount_sub_and_test(r, 4)).toBe(false);
    expect(refcount_dec_and_test(r)).toBe(false);
    expect(refcount_dec_and_test(r)).toBe(true);
    expect(refcount_read(r)).toBe(0);
    refcount_set_release(r, 3);
    expect(refcount_sub_and_test(r, 3)).toBe(true);
    expect(refcount_read(r)).toBe(0);
    expect(warned()).toEqual({});
  });

  it('inc_not_zero and add_not_zero never raise a count from 0', () => {
    refcount_set(r, 0);
    expect(refcount_inc_not_zero(r)).toBe(false);
    expect(refcount_add_not_zero(r, VMA_LOCK_OFFSET)).toBe(false);
    expect(refcount_inc_not_zero_acquire(r)).toBe(false);
    expect(__refcount_add_not_zero(r, 2)).toBe(0);
    expect(refcount_read(r)).toBe(0);
    refcount_set(r, 1);
    expect(refcount_inc_not_zero(r)).toBe(true);
    expect(refcount_add_not_zero(r, VMA_LOCK_OFFSET)).toBe(true);
    expect(refcount_read(r)).toBe(VMA_LOCK_OFFSET + 2);
    expect(refcount_inc_not_zero_acquire(r)).toBe(true);
    expect(refcount_read(r)).toBe(VMA_LOCK_OFFSET + 3);
    expect(warned()).toEqual({});
  });

  it('inc_not_zero_acquire refuses at INT_MAX and on a saturated count: no reference, no warning', () => {
    for (const v of [REFCOUNT_MAX, REFCOUNT_SATURATED, -1, -0x80000000, REFCOUNT_SATURATED + 5]) {
      refcount_set(r, v);
      expect(refcount_inc_not_zero_acquire(r)).toBe(false);
      expect(refcount_read(r)).toBe(v);
      expect(refcount_add_not_zero_acquire(r, 1)).toBe(false);
      expect(refcount_read(r)).toBe(v);
    }
    refcount_set(r, REFCOUNT_MAX - 1);
    expect(refcount_inc_not_zero_acquire(r)).toBe(true);
    expect(refcount_read(r)).toBe(REFCOUNT_MAX);
    refcount_set(r, REFCOUNT_MAX - 3);
    expect(refcount_add_not_zero_acquire(r, 4)).toBe(false);
    expect(refcount_add_not_zero_acquire(r, 3)).toBe(true);
    expect(refcount_read(r)).toBe(REFCOUNT_MAX);
    expect(warned()).toEqual({});
  });
});

describe('refcount_inc_not_zero_limited_acquire', () => {
  it('succeeds one below the limit and returns the old value', () => {
    const limit = 5;
    refcount_set(r, limit - 1);
    const old = __refcount_inc_not_zero_limited_acquire(r, limit);
    expect(old).toBe(limit - 1);
    expect(refcount_inc_limited_ok(old, limit)).toBe(true);
    expect(refcount_read(r)).toBe(limit);
  });

  it('fails at the limit, leaving the count alone', () => {
    const limit = 5;
    refcount_set(r, limit);
    const old = __refcount_inc_not_zero_limited_acquire(r, limit);
    expect(old).toBe(limit);
    expect(refcount_inc_limited_ok(old, limit)).toBe(false);
    expect(refcount_inc_not_zero_limited_acquire(r, limit)).toBe(false);
    expect(refcount_read(r)).toBe(limit);
  });

  it('fails at 0 with old 0 (detached: retry the lookup)', () => {
    refcount_set(r, 0);
    const old = __refcount_inc_not_zero_limited_acquire(r, VMA_REF_LIMIT);
    expect(old).toBe(0);
    expect(refcount_inc_limited_ok(old, VMA_REF_LIMIT)).toBe(false);
    expect(refcount_read(r)).toBe(0);
  });

  it('fails whenever bit 30 is set (a writer excludes readers)', () => {
    for (const v of [VMA_LOCK_OFFSET, VMA_LOCK_OFFSET + 1, VMA_LOCK_OFFSET + 7, 0x7fffffff]) {
      refcount_set(r, v);
      const old = __refcount_inc_not_zero_limited_acquire(r, VMA_REF_LIMIT);
      expect(old).toBe(v);
      expect(refcount_inc_limited_ok(old, VMA_REF_LIMIT)).toBe(false);
      expect(refcount_read(r)).toBe(v);
    }
    expect(warned()).toEqual({});
  });

  it('works right up to VMA_REF_LIMIT', () => {
    refcount_set(r, VMA_REF_LIMIT - 1);
    expect(refcount_inc_not_zero_limited_acquire(r, VMA_REF_LIMIT)).toBe(true);
    expect(refcount_read(r)).toBe(VMA_REF_LIMIT);
    expect(refcount_inc_not_zero_limited_acquire(r, VMA_REF_LIMIT)).toBe(false);
    expect(refcount_read(r)).toBe(VMA_REF_LIMIT);
    expect(warned()).toEqual({});
  });

  it('the ok predicate matches the kernel formula at the edges', () => {
    expect(refcount_inc_limited_ok(1, 1)).toBe(false);
    expect(refcount_inc_limited_ok(1, 2)).toBe(true);
    expect(refcount_inc_limited_ok(0, 100)).toBe(false);
    // A saturated count passes the limit check (limit - old wraps positive) and then warns.
    expect(refcount_inc_limited_ok(REFCOUNT_SATURATED, VMA_REF_LIMIT)).toBe(true);
  });
});

describe('saturation: each named warning', () => {
  it('REFCOUNT_ADD_OVF: an increment past INT_MAX saturates', () => {
    refcount_set(r, REFCOUNT_MAX);
    refcount_inc(r);
    expect(refcount_read(r)).toBe(REFCOUNT_SATURATED);
    expect(warned()).toEqual({ REFCOUNT_ADD_OVF: 1 });
    // Saturated stays saturated: further gets and puts warn and leave it there.
    refcount_add(r, 10);
    expect(refcount_read(r)).toBe(REFCOUNT_SATURATED);
    expect(warned()).toEqual({ REFCOUNT_ADD_OVF: 2 });
  });

  it('REFCOUNT_ADD_UAF: an increment from 0', () => {
    refcount_set(r, 0);
    refcount_inc(r);
    expect(refcount_read(r)).toBe(REFCOUNT_SATURATED);
    expect(warned()).toEqual({ REFCOUNT_ADD_UAF: 1 });
  });

  it('REFCOUNT_ADD_NOT_ZERO_OVF: inc_not_zero past INT_MAX or on a saturated count', () => {
    refcount_set(r, REFCOUNT_MAX);
    expect(refcount_inc_not_zero(r)).toBe(true);
    expect(refcount_read(r)).toBe(REFCOUNT_SATURATED);
    expect(refcount_add_not_zero(r, 5)).toBe(true);
    expect(refcount_read(r)).toBe(REFCOUNT_SATURATED);
    expect(refcount_inc_not_zero_limited_acquire(r, VMA_REF_LIMIT)).toBe(true);
    expect(refcount_read(r)).toBe(REFCOUNT_SATURATED);
    expect(warned()).toEqual({ REFCOUNT_ADD_NOT_ZERO_OVF: 3 });
  });

  it('REFCOUNT_SUB_UAF: sub_and_test from 0, below 0, or past 0', () => {
    refcount_set(r, 0);
    expect(refcount_dec_and_test(r)).toBe(false);
    expect(refcount_read(r)).toBe(REFCOUNT_SATURATED);
    refcount_set(r, 2);
    expect(refcount_sub_and_test(r, 3)).toBe(false);
    expect(refcount_read(r)).toBe(REFCOUNT_SATURATED);
    expect(refcount_sub_and_test(r, 1)).toBe(false);
    expect(refcount_read(r)).toBe(REFCOUNT_SATURATED);
    expect(warned()).toEqual({ REFCOUNT_SUB_UAF: 3 });
  });

  it('REFCOUNT_DEC_LEAK: refcount_dec dropping the last reference, or from 0', () => {
    refcount_set(r, 1);
    refcount_dec(r);
    expect(refcount_read(r)).toBe(REFCOUNT_SATURATED);
    refcount_set(r, 0);
    refcount_dec(r);
    expect(refcount_read(r)).toBe(REFCOUNT_SATURATED);
    expect(warned()).toEqual({ REFCOUNT_DEC_LEAK: 2 });
  });

  it('sub_and_test to exactly 0 is a success, not a warning', () => {
    refcount_set(r, 1 << 20);
    expect(refcount_sub_and_test(r, 1 << 20)).toBe(true);
    expect(refcount_read(r)).toBe(0);
    expect(warned()).toEqual({});
  });

  it('counts warnings even if no one published the counters, and resets them', () => {
    createArena({ sizeMiB: 1, maxTasks: 2 });
    task_attach(0);
    const q = arena_alloc(REFCOUNT.SIZE, LINE_WORDS);
    expect(get_root(ROOT.REFCOUNT_WARN)).toBe(0);
    expect(refcount_warnings_total()).toBe(0);
    refcount_set(q, 0);
    refcount_inc(q);
    expect(get_root(ROOT.REFCOUNT_WARN)).not.toBe(0);
    expect(warned()).toEqual({ REFCOUNT_ADD_UAF: 1 });
    refcount_warnings_reset();
    expect(refcount_warnings_total()).toBe(0);
    expect(() => refcount_warn_saturate(q, 5)).toThrow(RangeError);
  });
});

describe('refcount_t on real threads', () => {
  it('inc_not_zero_limited never passes the limit under contention; counts end exact', async () => {
    const a = createArena({ sizeMiB: 4, maxTasks: 8 });
    task_attach(0);
    refcount_warn_init();
    const rc = arena_alloc(REFCOUNT.SIZE, LINE_WORDS);
    const limit = 4;
    const iters = 40_000;
    refcount_set(rc, 1); // the base reference, held by the main thread throughout
    const res = (await runThreads(
      a.sab,
      'test/threads/refcount',
      [1, 2, 3, 4, 5, 6].map((taskId) => ({
        taskId,
        fn: 'limitedIncDec',
        args: { r: rc, limit, iters },
      })),
    )) as LimitResult[];
    const sum = (f: (x: LimitResult) => number): number => res.reduce((s, x) => s + f(x), 0);
    console.log(
      `limited refcount: ok ${sum((x) => x.ok)}, failed ${sum((x) => x.failed)}, max old ${Math.max(...res.map((x) => x.maxOkOld))} (limit ${limit})`,
    );
    expect(sum((x) => x.ok) + sum((x) => x.failed)).toBe(6 * iters);
    expect(sum((x) => x.overLimit)).toBe(0);
    expect(Math.max(...res.map((x) => x.maxOkOld))).toBeLessThanOrEqual(limit - 1);
    expect(sum((x) => x.failedAtZero)).toBe(0);
    expect(sum((x) => x.hitZero)).toBe(0);
    expect(refcount_read(rc)).toBe(1);
    expect(refcount_warnings_total()).toBe(0);
  });

  it('inc/add/sub_and_test/dec_and_test from four workers come back to exactly 1', async () => {
    const a = createArena({ sizeMiB: 4, maxTasks: 8 });
    task_attach(0);
    refcount_warn_init();
    const rc = arena_alloc(REFCOUNT.SIZE, LINE_WORDS);
    refcount_set(rc, 1);
    const hits = (await runThreads(
      a.sab,
      'test/threads/refcount',
      [1, 2, 3, 4].map((taskId) => ({ taskId, fn: 'incAddSub', args: { r: rc, iters: 50_000 } })),
    )) as number[];
    expect(hits).toEqual([0, 0, 0, 0]);
    expect(refcount_read(rc)).toBe(1);
    expect(refcount_warnings_total()).toBe(0);
  });

  it('exactly one put sees 0, and no get succeeds after it', async () => {
    const a = createArena({ sizeMiB: 4, maxTasks: 8 });
    task_attach(0);
    refcount_warn_init();
    const rc = arena_alloc(REFCOUNT.SIZE, LINE_WORDS);
    const counter = arena_alloc(1, LINE_WORDS);
    refcount_set(rc, 1);
    const res = (await runThreads(a.sab, 'test/threads/refcount', [
      { taskId: 1, fn: 'lastPut', args: { r: rc, counter, before: 20_000, owner: true } },
      ...[2, 3, 4, 5].map((taskId) => ({
        taskId,
        fn: 'lastPut',
        args: { r: rc, counter, before: 0, owner: false },
      })),
    ])) as LastPutResult[];
    expect(res.reduce((s, x) => s + x.freed, 0)).toBe(1);
    expect(res.reduce((s, x) => s + x.gets, 0)).toBeGreaterThanOrEqual(20_000);
    expect(refcount_read(rc)).toBe(0);
    expect(refcount_warnings_total()).toBe(0);
  });
});
