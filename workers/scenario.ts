// A piscina task module for tests, litmus and race scripts: attach to the buffer, become task
// `taskId`, run one exported function of a compiled scenario module, return its result.

import type { ScenarioTask } from '../src/harness/tasks.js';
import { atomic_fetch_add, atomic_read, atomic_wait, cpu_relax } from '../src/sched/atomics.js';
import { check_abort, task_attach } from '../src/sched/task.js';
import { attachArena } from '../src/shm/arena.js';
import { rcu_thread_exit } from '../src/sync/rcu.js';

/** Wait (bounded slices, abort-checked) until every party has arrived. */
function start_barrier(p: number, parties: number): void {
  atomic_fetch_add(p, 1);
  for (let spins = 0; atomic_read(p) < parties; spins++) {
    if (spins < 10_000) cpu_relax();
    else {
      atomic_wait(p, atomic_read(p), 1);
      check_abort();
    }
  }
}

export default async function runScenario(task: ScenarioTask): Promise<unknown> {
  attachArena(task.sab);
  task_attach(task.taskId);
  const mod = (await import(task.module)) as Record<string, unknown>;
  const f = mod[task.fn];
  if (typeof f !== 'function') throw new Error(`scenario ${task.module}: no function ${task.fn}`);
  if (task.barrier !== undefined && task.parties !== undefined) {
    start_barrier(task.barrier, task.parties);
  }
  try {
    return await (f as (a: unknown) => unknown)(task.args);
  } finally {
    // A body that went online (qsbr) or threw inside a read section must not hold up the grace
    // periods of the tasks still running, nor of the next body this thread runs.
    rcu_thread_exit();
  }
}
