// Concurrent alloc/free from every task on a small cache, so the per-task caches flush, refill
// and steal from one another and the cache runs dry now and then. Each object must be owned by
// exactly one task at a time, and the books must balance exactly at the end.

import { describe, expect, it } from 'vitest';
import { atomic_read } from '../../src/sched/atomics.js';
import { CNT } from '../../src/sched/counters.js';
import { sum_counter, task_attach } from '../../src/sched/task.js';
import { arena_alloc, createArena } from '../../src/shm/arena.js';
import { KMEM_PCP_BATCH, KMEM_PCP_MAX } from '../../src/shm/layout/index.js';
import { kmem_cache_create, kmem_cache_free } from '../../src/shm/slab.js';
import { kmem_cache_verify } from '../../src/shm/slab_check.js';
import { runThreads } from '../helpers/threads.js';
import type { ChurnResult } from '../threads/slab.js';

const WORKERS = 5;

async function hammer(opts: {
  typesafe: boolean;
  poison: boolean;
  capacity: number;
  /** objects one task may hold at once (above KMEM_PCP_MAX forces flushes) */
  maxHold?: number;
}): Promise<ChurnResult[]> {
  const a = createArena({ sizeMiB: 8, maxTasks: WORKERS + 1 });
  task_attach(0);
  const words = 6;
  const fp = 0;
  const c = kmem_cache_create('churn', words, opts.capacity, {
    typesafeByRcu: opts.typesafe,
    poison: opts.poison,
    freeptrOffset: fp,
    knob: '--churn',
  });
  const slots = 8;
  const mailbox = arena_alloc(slots, 16);
  const sync = arena_alloc(1, 16);
  const results = (await runThreads(
    a.sab,
    'test/threads/slab',
    Array.from({ length: WORKERS }, (_, i) => ({
      taskId: i + 1,
      fn: 'churn',
      args: {
        c,
        rounds: 150_000,
        maxHold: opts.maxHold ?? 48,
        seed: 0x9e3779b9 * (i + 1),
        mailbox,
        slots,
        ownerWord: 2,
        tokenWord: 4,
        sync,
        parties: WORKERS,
      },
    })),
  )) as ChurnResult[];
  // Drain the mailbox: objects handed off and never taken are still allocated.
  let left = 0;
  for (let i = 0; i < slots; i++) {
    const p = atomic_read(mailbox + i);
    if (p !== 0) {
      kmem_cache_free(c, p);
      left++;
    }
  }
  const allocs = results.reduce((s, r) => s + r.allocs, 0);
  const frees = results.reduce((s, r) => s + r.frees, 0);
  const handed = results.reduce((s, r) => s + r.handedOff, 0);
  const taken = results.reduce((s, r) => s + r.taken, 0);
  expect(handed - taken).toBe(left);
  expect(frees + left).toBe(allocs);
  expect(kmem_cache_verify(c)).toMatchObject({
    capacity: opts.capacity,
    allocated: 0,
    free: opts.capacity,
  });
  return results;
}

describe('kmem_cache under concurrent alloc/free (5 workers)', () => {
  it('typesafe cache: every object has one owner, books exact, runs dry and steals', async () => {
    const results = await hammer({ typesafe: true, poison: false, capacity: 160 });
    expect(results.reduce((s, r) => s + r.exhausted, 0)).toBeGreaterThan(0);
    expect(results.reduce((s, r) => s + r.taken, 0)).toBeGreaterThan(0);
    expect(sum_counter(CNT.SLAB_STEAL, WORKERS + 1)).toBeGreaterThan(0);
  });

  it('poisoned cache with room to spare: no use-after-free, books exact', async () => {
    const results = await hammer({
      typesafe: false,
      poison: true,
      capacity: WORKERS * (KMEM_PCP_MAX + KMEM_PCP_BATCH) * 2,
      maxHold: KMEM_PCP_MAX + KMEM_PCP_BATCH,
    });
    expect(results.reduce((s, r) => s + r.exhausted, 0)).toBe(0);
    expect(sum_counter(CNT.SLAB_FLUSH, WORKERS + 1)).toBeGreaterThan(0);
  });
});
