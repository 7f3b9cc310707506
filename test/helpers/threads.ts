// Run real worker threads on one shared buffer, with a watchdog: if the workers are not done
// within the bound (20 s by default, well inside vitest's 60 s), every task is told to abort,
// and the test fails with the lock state and each task's last events instead of hanging.
// Every run also asserts that no wait lost a wake-up (src/sched/task.ts: wake_overdue): a
// threaded test that passes with a lost wake-up would hide a hang the kernel would have.

import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import { describeLockState } from '../../src/harness/lockdump.js';
import { workerModule } from '../../src/harness/paths.js';
import { atomic_read } from '../../src/sched/atomics.js';
import { event_name } from '../../src/sched/events.js';
import {
  abort_all,
  clear_abort,
  describe_lost_wakeups,
  type LostWakeup,
  lost_wakeups,
  read_ring,
  reset_lost_wakeups,
} from '../../src/sched/task.js';
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

export interface RunThreadsOptions {
  /**
   * Called with the lost wake-ups of the run instead of failing on them: only for a test that
   * breaks a wake-up on purpose and asserts they are counted.
   */
  readonly onLostWakeups?: (lost: readonly LostWakeup[]) => void;
}

/** The watchdog's default bound, from the start barrier on: well inside vitest's 60 s. */
export const THREADS_TIMEOUT_MS = 20_000;
/** How long the threads may take to reach the start barrier. */
const START_TIMEOUT_MS = 20_000;

/**
 * Start one worker per spec, all at once, each running `fn` of module `rel` as its task.
 * Resolves with their results in order. Rejects with the lock state and the flight recorders
 * if they take longer than timeoutMs (the run is aborted, not abandoned), and rejects if any
 * task lost a wake-up (unless opts.onLostWakeups takes them).
 */
export async function runThreads(
  sab: SharedArrayBuffer,
  rel: string,
  specs: readonly ThreadSpec[],
  timeoutMs = THREADS_TIMEOUT_MS,
  opts: RunThreadsOptions = {},
): Promise<unknown[]> {
  const nTasks = Math.max(0, ...specs.map((s) => s.taskId)) + 1;
  reset_lost_wakeups(nTasks);
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
  let lockState = '';
  let settled = false;
  const fire = (resolveWd: () => void): void => {
    timedOut = true;
    // The snapshot comes before the abort: unwinding changes what it shows.
    lockState = describeLockState(specs.map((s) => s.taskId));
    abort_all();
    resolveWd();
  };
  // The bound counts from the start barrier, so that starting the threads on a loaded machine
  // does not eat it; starting itself gets its own bound.
  const watchdog = new Promise<void>((resolveWd) => {
    const startBy = Date.now() + START_TIMEOUT_MS;
    const poll = (): void => {
      if (settled) return;
      if (atomic_read(barrier) >= specs.length)
        timer = setTimeout(() => fire(resolveWd), timeoutMs);
      else if (Date.now() > startBy) fire(resolveWd);
      else timer = setTimeout(poll, 5);
    };
    poll();
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
    const results = await all;
    settled = true;
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
      throw new Error(
        `watchdog: workers did not finish within ${timeoutMs} ms of starting; run aborted\n${lockState}\nlast events:\n${dump}`,
      );
    }
    // Report the root cause, not the aborts it caused in the others.
    const failed = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    // An error's class name may not survive the trip from a worker; its message does.
    const aborted = (e: unknown): boolean =>
      /HarnessAbort|run aborted by the harness/.test(String(e)) ||
      (e instanceof Error && e.name === 'HarnessAbort');
    const root = failed.find((r) => !aborted(r.reason)) ?? failed[0];
    if (root !== undefined) throw root.reason;
    const ids = new Set(specs.map((s) => s.taskId));
    const lost = lost_wakeups(nTasks).filter((l) => ids.has(l.taskId));
    if (opts.onLostWakeups !== undefined) opts.onLostWakeups(lost);
    else if (lost.length > 0) {
      throw new Error(
        `lost wake-ups (each a hang in the kernel):\n${describe_lost_wakeups(lost)}\n${describeLockState(specs.map((s) => s.taskId))}`,
      );
    }
    return results.map((r) => (r as PromiseFulfilledResult<unknown>).value);
  } finally {
    settled = true;
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
