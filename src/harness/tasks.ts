// What the runner sends to a worker module (workers/*.ts) and what comes back. The types live
// here, not beside the worker modules, so that src/ never imports workers/: the workers import
// src/, and the runner finds them by the path src/harness/paths.ts gives (workerModule).

import type { WorkerPlan } from '../workload/job.js';
import type { HistogramSnapshot } from './histogram.js';

/** One bench worker's task (workers/bench.ts). */
export interface BenchTask {
  readonly sab: SharedArrayBuffer;
  /** file URL of a compiled job module */
  readonly jobModule: string;
  readonly plan: WorkerPlan;
  readonly workerIndex: number;
  /** the CPU to pin this thread to, or -1 */
  readonly pinCpu: number;
  readonly tracing: boolean;
}

/** What one worker measured: shared by the task's result and the runner's outcome. */
export interface WorkerMeasurement {
  readonly ops: number;
  readonly elapsedNs: number;
  readonly kinds: readonly string[];
  readonly histograms: readonly HistogramSnapshot[];
  readonly tid: number;
  /** pinned CPU, or -1 */
  readonly cpu: number;
  /** the CPU the thread last ran on, or -1 */
  readonly lastCpu: number;
  /**
   * when the worker's thread had loaded its modules (performance.timeOrigin + performance.now()
   * in that thread: ms since the epoch); a thread reused from an earlier run reports its start
   */
  readonly loadedAt: number;
}

export type BenchTaskResult =
  | (WorkerMeasurement & { readonly ok: true; readonly pinWarning: string | null })
  | {
      readonly ok: false;
      readonly name: string;
      readonly message: string;
      readonly stack: string;
    };

/** One scenario worker's task (workers/scenario.ts), for tests, litmus and race scripts. */
export interface ScenarioTask {
  readonly sab: SharedArrayBuffer;
  readonly taskId: number;
  /** absolute path or file URL of a compiled module */
  readonly module: string;
  /** name of an exported function (args) => result | Promise<result> */
  readonly fn: string;
  readonly args: unknown;
  /** a start barrier: a word every task of the run increments, then waits to reach `parties` */
  readonly barrier?: number;
  readonly parties?: number;
}
