// The poisoned-object torture (after liburcu's tests/regression/rcutorture.h): one writer
// replaces the object behind a shared pointer, waits for a grace period (or defers with call_*)
// and then poisons and reuses the old object; readers check, under the read lock, that the
// object they reached is whole and unchanged. Every bad observation is a reader that saw freed
// memory: the count must be exactly 0.

import { describe, expect, it } from 'vitest';
import { atomic_read, atomic_set } from '../../src/sched/atomics.js';
import { CNT } from '../../src/sched/counters.js';
import { sum_counter, task_attach } from '../../src/sched/task.js';
import { arena_alloc, createArena } from '../../src/shm/arena.js';
import { type RcuFlavor, rcu_init } from '../../src/sync/rcu.js';
import { init_srcu_struct } from '../../src/sync/srcu.js';
import { runThreads } from '../helpers/threads.js';
import {
  OBJ_WORDS,
  objWord,
  type PoisonReaderResult,
  type PoisonWriterResult,
} from '../threads/rcu.js';

const READERS = 4;
const READS = 20_000;
const POOL = 4;
const MIN_REPLACEMENTS = 200;

async function torture(flavor: 'rcu' | 'srcu', mode: 'sync' | 'call', rcu: RcuFlavor = 'memb') {
  const a = createArena({ sizeMiB: 8, maxTasks: READERS + 2 });
  task_attach(0);
  rcu_init({ flavor: rcu });
  const ssp = flavor === 'srcu' ? init_srcu_struct() : 0;
  const ptr = arena_alloc(1, 16);
  const done = arena_alloc(1, 16);
  const pool = Array.from({ length: POOL }, () => arena_alloc(OBJ_WORDS, 16));
  for (let i = 0; i < OBJ_WORDS; i++) atomic_set(pool[0]! + i, objWord(1, i));
  atomic_set(ptr, pool[0]!);
  const res = await runThreads(a.sab, 'test/threads/rcu', [
    {
      taskId: 1,
      fn: 'poisonWriter',
      args: {
        flavor,
        ssp,
        ptr,
        pool,
        done,
        nReaders: READERS,
        minReplacements: MIN_REPLACEMENTS,
        mode,
      },
    },
    ...Array.from({ length: READERS }, (_, i) => ({
      taskId: i + 2,
      fn: 'poisonReader',
      args: { flavor, ssp, ptr, reads: READS, done },
    })),
  ]);
  const w = res[0] as PoisonWriterResult;
  const readers = res.slice(1) as PoisonReaderResult[];
  return { w, readers, ptr, tasks: READERS + 2 };
}

function check(r: Awaited<ReturnType<typeof torture>>, syncCounter: number | null): void {
  const { w, readers, ptr, tasks } = r;
  expect(readers.map((x) => x.bad)).toEqual(readers.map(() => 0));
  expect(readers.reduce((n, x) => n + x.reads, 0)).toBe(READERS * READS);
  expect(w.replacements).toBeGreaterThanOrEqual(MIN_REPLACEMENTS);
  // Every replaced object was poisoned exactly once (rcu_barrier ran the last callbacks), and
  // the published object carries the last generation.
  expect(w.poisoned).toBe(w.replacements);
  expect(w.lastGen).toBe(w.replacements + 1);
  expect(atomic_read(atomic_read(ptr))).toBe(w.lastGen);
  if (syncCounter !== null) expect(sum_counter(syncCounter, tasks)).toBe(w.replacements);
  else {
    const cbs = sum_counter(CNT.RCU_CALLBACKS, tasks) + sum_counter(CNT.SRCU_CALLBACKS, tasks);
    expect(cbs).toBe(w.replacements);
  }
}

describe('poisoned-object torture', () => {
  it.each(['memb', 'qsbr'] as const)(
    'rcu %s, synchronize_rcu: no reader ever sees a freed object',
    async (rcu) => {
      check(await torture('rcu', 'sync', rcu), CNT.RCU_SYNC);
    },
  );

  it.each(['memb', 'qsbr'] as const)(
    'rcu %s, call_rcu: no reader ever sees a freed object',
    async (rcu) => {
      check(await torture('rcu', 'call', rcu), null);
    },
  );

  it('srcu, synchronize_srcu: no reader ever sees a freed object', async () => {
    check(await torture('srcu', 'sync'), CNT.SRCU_SYNC);
  });

  it('srcu, call_srcu: no reader ever sees a freed object', async () => {
    check(await torture('srcu', 'call'), null);
  });
});
