// A piscina task module for tests, litmus and race scripts: attach to the buffer, become task
// `taskId`, run one exported function of a compiled scenario module, return its result.

import { task_attach } from '../sched/task.js';
import { attachArena } from '../shm/arena.js';

export interface ScenarioTask {
  readonly sab: SharedArrayBuffer;
  readonly taskId: number;
  /** absolute path or file URL of a compiled module */
  readonly module: string;
  /** name of an exported function (args) => result | Promise<result> */
  readonly fn: string;
  readonly args: unknown;
}

export default async function runScenario(task: ScenarioTask): Promise<unknown> {
  attachArena(task.sab);
  task_attach(task.taskId);
  const mod = (await import(task.module)) as Record<string, unknown>;
  const f = mod[task.fn];
  if (typeof f !== 'function') throw new Error(`scenario ${task.module}: no function ${task.fn}`);
  return await (f as (a: unknown) => unknown)(task.args);
}
