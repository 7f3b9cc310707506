// The piscina task module for bench runs: attach to the buffer as the planned task, pin if
// asked, build the job, run the per-worker loop, send the histograms back. Thin on purpose:
// the loop is src/workload/loop.ts, the jobs are src/workload/jobs.ts (or a test's module).

import type { HistogramSnapshot } from '../harness/histogram.js';
import { lastCpu, pinThisThread, threadId } from '../harness/pin.js';
import { atomic_set } from '../sched/atomics.js';
import { current, set_tracing, task_attach } from '../sched/task.js';
import { attachArena, get_root } from '../shm/arena.js';
import { ROOT, TASK } from '../shm/layout/index.js';
import type { JobModule, WorkerPlan } from '../workload/job.js';
import { failRun, runLoop } from '../workload/loop.js';

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
}

export type BenchTaskResult =
  | (WorkerMeasurement & { readonly ok: true; readonly pinWarning: string | null })
  | {
      readonly ok: false;
      readonly name: string;
      readonly message: string;
      readonly stack: string;
    };

export default async function runBenchTask(task: BenchTask): Promise<BenchTaskResult> {
  let run = 0;
  try {
    const mod = (await import(task.jobModule)) as JobModule;
    if (mod.attach !== undefined) mod.attach(task.sab, task.plan.taskId);
    else {
      attachArena(task.sab);
      task_attach(task.plan.taskId);
    }
    set_tracing(task.tracing);
    run = get_root(ROOT.RUN);
    const pin = task.pinCpu >= 0 ? pinThisThread(task.pinCpu) : null;
    const tid = pin?.tid ?? threadId();
    atomic_set(current() + TASK.tid, tid);
    atomic_set(current() + TASK.cpu, pin?.cpu ?? -1);
    const job = mod.createJob({
      taskId: task.plan.taskId,
      workerIndex: task.workerIndex,
      role: task.plan.role,
      args: task.plan.args,
      run,
    });
    const r = runLoop(job, run, task.workerIndex, task.plan.budget);
    return {
      ok: true,
      ...r,
      tid,
      cpu: pin?.cpu ?? -1,
      lastCpu: lastCpu(),
      pinWarning: pin?.warning ?? null,
    };
  } catch (err) {
    if (run !== 0) failRun(run, task.workerIndex);
    const e = err instanceof Error ? err : new Error(String(err));
    return { ok: false, name: e.name, message: e.message, stack: e.stack ?? '' };
  }
}
