// Run functions of a user's module on real worker threads, each as a task on one shared buffer:
// the public way to drive faultline's primitives from one's own tests, and a free-running stress
// entry point (each function loops for as long as it likes; a watchdog bounds the whole run).
//
// The caller has created the buffer (createArena) and attached the main thread (task_attach(0));
// task i of `tasks` runs as task slot `taskId` (default i + 1). All tasks start their function
// together behind a start barrier. The first task to throw aborts the others (every bounded wait
// in faultline checks the abort flag), and runThreads rejects with that task's error; a run still
// going after `timeoutMs` is aborted and rejects naming each task's last events.

import { Piscina } from 'piscina';
import { event_name } from '../sched/events.js';
import { abort_all, clear_abort, read_ring } from '../sched/task.js';
import { arena_alloc, max_tasks } from '../shm/arena.js';
import { LINE_WORDS } from '../shm/layout/index.js';
import { workerModule } from './paths.js';

export interface ThreadTask {
  /** the name of a function the module exports: (args) => result | Promise<result> */
  readonly fn: string;
  /** structured-cloneable arguments (word indexes, numbers, plain objects) */
  readonly args?: unknown;
  /** the task slot (1 .. maxTasks - 1; default: the task's index + 1) */
  readonly taskId?: number;
}

export interface RunThreadsOptions {
  readonly sab: SharedArrayBuffer;
  /** file URL of the module whose functions run (JavaScript a worker can import) */
  readonly module: string;
  readonly tasks: readonly ThreadTask[];
  /** abort the run after this long (default 60 s) */
  readonly timeoutMs?: number;
}

/** Start one worker thread per task; resolves with their results, in order. */
export async function runThreads(o: RunThreadsOptions): Promise<unknown[]> {
  const n = o.tasks.length;
  if (n < 1) throw new RangeError('runThreads: no tasks; allowed 1 or more');
  const ids = o.tasks.map((t, i) => t.taskId ?? i + 1);
  const slots = max_tasks();
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 1 || id >= slots) {
      throw new RangeError(
        `runThreads: task id ${id}; allowed 1..${slots - 1} (slot 0 is the main thread)`,
      );
    }
  }
  if (new Set(ids).size !== n) throw new RangeError(`runThreads: task ids ${ids.join(',')} repeat`);
  const pool = new Piscina({
    filename: workerModule('scenario'),
    minThreads: n,
    maxThreads: n,
    idleTimeout: 1000,
    concurrentTasksPerWorker: 1,
  });
  const barrier = arena_alloc(1, LINE_WORDS, 'runThreads start barrier');
  const timeoutMs = o.timeoutMs ?? 60_000;
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  try {
    const runs = o.tasks.map((t, i) =>
      pool
        .run({
          sab: o.sab,
          taskId: ids[i],
          module: o.module,
          fn: t.fn,
          args: t.args ?? null,
          barrier,
          parties: n,
        })
        .catch((e: unknown) => {
          abort_all();
          throw e;
        }),
    );
    const all = Promise.allSettled(runs);
    const watchdog = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        timedOut = true;
        abort_all();
        resolve();
      }, timeoutMs);
    });
    await Promise.race([all, watchdog]);
    const settled = await all;
    if (timedOut) {
      const dump = o.tasks
        .map((t, i) => {
          const ring = read_ring(ids[i]!)
            .slice(-12)
            .map((e) => `${event_name(e.event)}(${e.a},${e.b})`)
            .join(' ');
          return `  task ${ids[i]} ${t.fn}: ${ring}`;
        })
        .join('\n');
      throw new Error(`runThreads: not finished within ${timeoutMs} ms; last events:\n${dump}`);
    }
    const failed = settled.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    const root = failed.find((r) => !String(r.reason).includes('HarnessAbort')) ?? failed[0];
    if (root !== undefined) throw root.reason;
    return settled.map((r) => (r as PromiseFulfilledResult<unknown>).value);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    clear_abort();
    await pool.destroy();
  }
}
