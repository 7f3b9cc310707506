// The piscina task module for bench runs: attach to the buffer as the planned task, pin if
// asked, build the job, run the per-worker loop, send the histograms back. Thin on purpose:
// the loop is src/workload/loop.ts, the jobs are src/workload/jobs.ts (or a test's module), the
// task and result types are src/harness/tasks.ts.

import { lastCpu, pinThisThread, threadId } from '../src/harness/pin.js';
import type { BenchTask, BenchTaskResult } from '../src/harness/tasks.js';
import { atomic_set } from '../src/sched/atomics.js';
import { current, set_tracing, task_attach } from '../src/sched/task.js';
import { attachArena, get_root } from '../src/shm/arena.js';
import { ROOT, TASK } from '../src/shm/layout/index.js';
import type { JobModule } from '../src/workload/job.js';
import { failRun, runLoop } from '../src/workload/loop.js';

/**
 * When this thread had loaded every module of the worker (ms since the epoch, comparable across
 * threads): the end of the thread's start, which the runner reports apart from a run's set-up.
 */
const loadedAt = performance.timeOrigin + performance.now();

/**
 * The job modules bundled with this worker, by file URL (set by dist/bundle/bench.js, which the
 * build makes: src/harness/bundle.ts); null when loaded as separate modules.
 */
let bundled: ReadonlyMap<string, JobModule> | null = null;

export function setBundledJobs(jobs: ReadonlyMap<string, JobModule>): void {
  bundled = jobs;
}

async function jobModule(url: string): Promise<JobModule> {
  if (bundled === null) return (await import(url)) as JobModule;
  // A job module imported beside the bundle would have its own copies of the per-thread state
  // (the arena, the current task): never mix them.
  const mod = bundled.get(url);
  if (mod === undefined) throw new Error(`the bench worker bundle does not carry ${url}`);
  return mod;
}

export default async function runBenchTask(task: BenchTask): Promise<BenchTaskResult> {
  let run = 0;
  try {
    const mod = await jobModule(task.jobModule);
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
      loadedAt,
      pinWarning: pin?.warning ?? null,
    };
  } catch (err) {
    if (run !== 0) failRun(run, task.workerIndex);
    const e = err instanceof Error ? err : new Error(String(err));
    return { ok: false, name: e.name, message: e.message, stack: e.stack ?? '' };
  }
}
