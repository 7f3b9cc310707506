// Store-buffer litmus tests: the shape of rcuwait's (A)/(B) barrier pair.
//
//     waiter                      waker
//     [S] w.task = me             [S] cond = true
//     (A)                         (B)
//     [L] cond      -> r0         [L] w.task     -> r1
//
// Forbidden: r0 = 0 and r1 = 0 (the waiter missed the condition and the waker missed the
// waiter: a lost wake-up). Each round both sides start together from a barrier, after a small
// random delay each, and the outcome histogram over all rounds is printed and kept.

import { describe, expect, it } from 'vitest';
import { atomic_read } from '../../src/sched/atomics.js';
import { task_attach } from '../../src/sched/task.js';
import { arena_alloc, createArena } from '../../src/shm/arena.js';
import { LINE_WORDS, RCUWAIT } from '../../src/shm/layout/index.js';
import { rcuwait_active, rcuwait_init } from '../../src/sync/rcuwait.js';
import { runThreads } from '../helpers/threads.js';
import { SAW_COND, WAKER_STALLED } from '../threads/rcuwait.js';

const ROUNDS = 20_000;

/** Outcome histogram keyed "r0 r1". */
function histogram(r0: Uint8Array, r1: Uint8Array): Record<string, number> {
  const h: Record<string, number> = { '0 0': 0, '0 1': 0, '1 0': 0, '1 1': 0 };
  for (let i = 0; i < r0.length; i++) {
    const k = `${r0[i]} ${r1[i]}`;
    h[k] = (h[k] ?? 0) + 1;
  }
  return h;
}

describe('store-buffer litmus', () => {
  it('bare Atomics store/load on two words: r0 = r1 = 0 never happens', async () => {
    const a = createArena({ sizeMiB: 4, maxTasks: 4 });
    task_attach(0);
    const x = arena_alloc(1, LINE_WORDS);
    const y = arena_alloc(1, LINE_WORDS);
    const barrier = arena_alloc(1, LINE_WORDS);
    const common = { barrier, rounds: ROUNDS };
    const [r0, r1] = (await runThreads(a.sab, 'test/threads/rcuwait', [
      { taskId: 1, fn: 'litmusStoreBuffer', args: { ...common, mine: x, theirs: y, seed: 11 } },
      { taskId: 2, fn: 'litmusStoreBuffer', args: { ...common, mine: y, theirs: x, seed: 23 } },
    ])) as [Uint8Array, Uint8Array];
    const h = histogram(r0, r1);
    console.log(`SB on Atomics, ${ROUNDS} rounds, "r0 r1": ${JSON.stringify(h)}`);
    expect(h['0 0']).toBe(0);
    expect(Object.values(h).reduce((s, n) => s + n, 0)).toBe(ROUNDS);
  });

  it('rcuwait (A)/(B): the waiter misses the condition only if the waker finds the waiter', async () => {
    const a = createArena({ sizeMiB: 4, maxTasks: 4 });
    task_attach(0);
    const w = arena_alloc(RCUWAIT.SIZE, LINE_WORDS);
    const cond = arena_alloc(1, LINE_WORDS);
    const returned = arena_alloc(1, LINE_WORDS);
    const barrier = arena_alloc(1, LINE_WORDS);
    const stop = arena_alloc(1, LINE_WORDS);
    rcuwait_init(w);
    const common = { w, cond, returned, barrier, stop, maxLost: 50, rounds: ROUNDS };
    const [waiter, found] = (await runThreads(a.sab, 'test/threads/rcuwait', [
      { taskId: 1, fn: 'litmusWaiter', args: { ...common, seed: 5 } },
      { taskId: 2, fn: 'litmusWaker', args: { ...common, seed: 17 } },
    ])) as [Uint8Array, Uint8Array];
    const saw = waiter.map((x) => x & SAW_COND);
    const stalled = waiter.reduce(
      (n, x, i) => n + ((x & WAKER_STALLED) !== 0 && found[i] === 0 ? 1 : 0),
      0,
    );
    const h = histogram(saw, found);
    const forbidden = h['0 0']! - stalled;
    console.log(
      `rcuwait A/B, ${waiter.length} of ${ROUNDS} rounds, "waiter saw cond, waker found task": ${JSON.stringify(h)}` +
        ` (of "0 0": ${stalled} after a stalled waker, ${forbidden} forbidden)`,
    );
    expect(forbidden).toBe(0);
    expect(waiter.length).toBe(ROUNDS);
    expect(Object.values(h).reduce((s, n) => s + n, 0)).toBe(ROUNDS);
    expect(atomic_read(cond)).toBe(ROUNDS);
    expect(rcuwait_active(w)).toBe(false);
  });
});
