// Layout of the run control block: what the benchmark runner (src/harness/runner.ts) shares
// with its workers. One RUN header, followed by one RUN_WORKER slot per worker. The runner
// allocates it from the arena and publishes it at ROOT.RUN before any worker starts.

import { defineStruct } from './struct.js';

export const RUN = defineStruct('run_control', {
  /** workers in this run (slots that follow the header) */
  nr_workers: 1,
  /** workers that must finish an operation budget before the run stops by itself; 0 = none */
  nr_budgeted: 1,
  /**
   * Start barrier, part 1: workers that have attached and are ready. Each worker adds 1; the
   * runner waits for nr_workers, then opens the gate.
   */
  arrived: { words: 1, hot: true },
  /**
   * Start barrier, part 2: the gate. 0 closed, 1 open. Set once by the runner (RELEASE, with a
   * notify of every sleeper); workers wait on it (ACQUIRE) in bounded Atomics.wait slices.
   */
  go: { words: 1, hot: true },
  /**
   * The stop flag: 0 run, 1 stop. Workers read it before every operation and finish the one
   * they are in. Set by the runner (duration over, a failure) or by the last budgeted worker.
   * Think-time sleeps wait on this word, so setting it (with a notify) ends them at once.
   */
  stop: { words: 1, hot: true },
  /**
   * Measurement gate: 0 while the workers warm up (their operations are not recorded), 1 from
   * the moment the runner starts measuring. Set once by the runner; each worker resets its
   * histograms, op count and counters when it first sees 1.
   */
  measure: { words: 1, hot: true },
  /** budgeted workers that have finished their budget; the one that makes it nr_budgeted stops */
  done: { words: 1, hot: true },
  /** 1 + the worker index of the first worker that failed; 0 none */
  failed: { words: 1, hot: true },
});

export const RUN_WORKER = defineStruct('run_worker', {
  /**
   * Operations this worker has completed. Only the worker writes it (an atomic store after each
   * operation); the runner reads it for the progress bar and for the op-budget mode. Its own
   * cache line, so that workers counting never bounce each other's lines.
   */
  ops: { words: 1, hot: true },
  /** 1 once the worker has left its loop (stopped, finished or failed) */
  exited: 1,
});

/** Word index of worker `i`'s slot in the run block at `run`. */
export function run_worker_ptr(run: number, i: number): number {
  return run + RUN.SIZE + i * RUN_WORKER.SIZE;
}

/** Words a run block for n workers takes. */
export function run_block_words(n: number): number {
  return RUN.SIZE + n * RUN_WORKER.SIZE;
}
