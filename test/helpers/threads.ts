// Run real worker threads on one shared buffer, with a watchdog: if the workers are not done
// within the bound, every task is told to abort, and the test fails with each task's last
// events instead of hanging.

import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import { workerModule } from '../../src/harness/paths.js';
import { event_name } from '../../src/sched/events.js';
import { abort_all, clear_abort, read_ring } from '../../src/sched/task.js';
import { arena_alloc } from '../../src/shm/arena.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The compiled (dist) file URL of a project module given as 'test/threads/rwsem'. */
export function distModule(rel: string): string {
  const f = join(root, 'dist', `${rel}.js`);
  if (!existsSync(f)) throw new Error(`${f} is missing: run npm run build (npm test does)`);
  return pathToFileURL(f).href;
}

export interface ThreadSpec {
  readonly taskId: number;
  readonly fn: string;
  readonly args?: unknown;
}

/**
 * Start one worker per spec, all at once, each running `fn` of module `rel` as its task.
 * Resolves with their results in order. Rejects with the flight recorders if they take longer
 * than timeoutMs (the run is aborted, not abandoned).
 */
export async function runThreads(
  sab: SharedArrayBuffer,
  rel: string,
  specs: readonly ThreadSpec[],
  timeoutMs = 30_000,
): Promise<unknown[]> {
  const pool = new Piscina({
    filename: workerModule('scenario'),
    minThreads: specs.length,
    maxThreads: specs.length,
    idleTimeout: 1000,
    concurrentTasksPerWorker: 1,
  });
  const module = distModule(rel);
  // All workers start their bodies together, so that they really overlap.
  const barrier = arena_alloc(1, 16, 'start barrier');
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  const watchdog = new Promise<void>((resolveWd) => {
    timer = setTimeout(() => {
      timedOut = true;
      abort_all();
      resolveWd();
    }, timeoutMs);
  });
  try {
    // The first worker to fail stops the others: they may be waiting for what it held.
    const runs = specs.map((s) =>
      pool
        .run({
          sab,
          taskId: s.taskId,
          module,
          fn: s.fn,
          args: s.args ?? null,
          barrier,
          parties: specs.length,
        })
        .catch((e: unknown) => {
          abort_all();
          throw e;
        }),
    );
    const all = Promise.allSettled(runs);
    await Promise.race([all, watchdog]);
    const settled = await all;
    if (timedOut) {
      const dump = specs
        .map((s) => {
          const ring = read_ring(s.taskId)
            .slice(-12)
            .map((e) => `${event_name(e.event)}(${e.a},${e.b})`)
            .join(' ');
          return `  task ${s.taskId} ${s.fn}: ${ring}`;
        })
        .join('\n');
      throw new Error(`workers did not finish within ${timeoutMs} ms; last events:\n${dump}`);
    }
    // Report the root cause, not the aborts it caused in the others.
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

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Poll (never assert a time) until cond holds; the bound only turns a hang into a failure. */
export async function until(cond: () => boolean, what: string, boundMs = 15_000): Promise<void> {
  const end = Date.now() + boundMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`gave up waiting until ${what}`);
    await sleep(1);
  }
}
