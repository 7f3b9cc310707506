// Main-thread helpers for the rwsem tests: test/unit/rwsem.test.ts,
// test/litmus/rwsem_queue.test.ts and test/stress/rwsem.test.ts. Thread bodies are in
// test/threads/rwsem.ts.

import { atomic_read, atomic_set } from '../../src/sched/atomics.js';
import { abort_all, task_attach } from '../../src/sched/task.js';
import { type Arena, arena_alloc, createArena } from '../../src/shm/arena.js';
import {
  LINE_WORDS,
  RWSEM,
  RWSEM_FLAG_HANDOFF,
  RWSEM_FLAG_WAITERS,
  RWSEM_READER_BIAS,
  RWSEM_WRITER_LOCKED,
} from '../../src/shm/layout/index.js';
import { init_rwsem, rwsem_wait_list } from '../../src/sync/rwsem.js';
import type { HoldArgs } from '../threads/rwsem.js';
import { runThreads, sleep, type ThreadSpec, until } from './threads.js';

export const THREADS = 'test/threads/rwsem';
export const W = RWSEM_WRITER_LOCKED;
export const WAITERS = RWSEM_FLAG_WAITERS;
export const HANDOFF = RWSEM_FLAG_HANDOFF;
export const BIAS = RWSEM_READER_BIAS;

export interface Fixture {
  readonly arena: Arena;
  readonly sem: number;
  /** scratch words for the thread bodies: got, release, order, gate */
  readonly got: number;
  readonly release: number;
  readonly order: number;
  readonly gate: number;
}

/**
 * A fresh arena with one rwsem; `bugs` switches on catalogue variants (src/sched/bugs.ts),
 * `rwsemSpin` false makes writers queue without spinning.
 */
export function setup(maxTasks = 8, bugs = 0, rwsemSpin = true): Fixture {
  const arena = createArena({ sizeMiB: 4, maxTasks, bugs, rwsemSpin });
  task_attach(0);
  const sem = arena_alloc(RWSEM.SIZE, LINE_WORDS);
  init_rwsem(sem);
  const words = arena_alloc(4 * LINE_WORDS, LINE_WORDS);
  return {
    arena,
    sem,
    got: words,
    release: words + LINE_WORDS,
    order: words + 2 * LINE_WORDS,
    gate: words + 3 * LINE_WORDS,
  };
}

export const countOf = (sem: number): number => atomic_read(sem + RWSEM.count);
export { sleep, until };

/** Run threads while the main thread scripts the scenario; on failure abort the workers. */
export async function scenario(
  f: Fixture,
  specs: readonly ThreadSpec[],
  body: () => Promise<void>,
): Promise<unknown[]> {
  const run = runThreads(f.arena.sab, THREADS, specs, 20_000);
  try {
    await body();
  } catch (e) {
    abort_all();
    await run.catch(() => {});
    throw e;
  }
  return run;
}

export type Mode = HoldArgs['mode'];

/** One hold() thread per entry; entry i starts (and so queues) only when gate reaches i + 1. */
export function holders(f: Fixture, modes: readonly Mode[], firstTask = 1): ThreadSpec[] {
  return modes.map((mode, i) => ({
    taskId: firstTask + i,
    fn: 'hold',
    args: {
      sem: f.sem,
      mode,
      got: f.got,
      release: f.release,
      order: f.order,
      gate: f.gate,
      gateValue: i + 1,
    } satisfies HoldArgs,
  }));
}

/** Open the gate one thread at a time, waiting for each to be queued. */
export async function queueInOrder(f: Fixture, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    atomic_set(f.gate, i + 1);
    await until(() => rwsem_wait_list(f.sem).length === i + 1, `waiter ${i + 1} is queued`);
  }
}

export const queue = (sem: number): string[] =>
  rwsem_wait_list(sem).map((w) => `${w.type[0]}${w.task}${w.handoffSet ? '!' : ''}`);
