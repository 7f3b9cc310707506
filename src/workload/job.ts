// The contract between the per-worker loop and what a worker does per step (a "job").
//
// A job module (compiled, loaded by the bench worker by URL) exports createJob() and may export
// attach(). The loop calls job.step() once per operation: the job performs exactly one
// operation and returns the index (into job.kinds) of the kind it performed, so the loop can
// time it and count it under that kind. Nothing here touches shared memory.

/** Plain, cloneable description of one worker: what the runner sends to the worker thread. */
export interface WorkerPlan {
  /** task slot (1..): the main thread is task 0 */
  readonly taskId: number;
  /** a name the job module understands, e.g. 'faulter', 'writer' */
  readonly role: string;
  /** role arguments: plain data only */
  readonly args: unknown;
  /** stop after this many operations (0: run until the stop flag) */
  readonly budget: number;
}

export interface JobInit {
  readonly taskId: number;
  /** 0-based position of this worker in the run (its RUN_WORKER slot) */
  readonly workerIndex: number;
  readonly role: string;
  readonly args: unknown;
  /** word index of the run control block (RUN), for jobs that sleep on its stop word */
  readonly run: number;
}

export interface Job {
  /** the operation kinds this job reports, e.g. ['fault', 'madvise'] */
  readonly kinds: readonly string[];
  /** Perform one operation; return its index in kinds. */
  step(): number;
  /** Called after each step, outside the timing (think time); optional. */
  between?(): void;
  /** Called once after the loop ends (also after a failure); optional clean-up. */
  finish?(): void;
}

export interface JobModule {
  /** Attach this thread to the buffer as task `taskId` (default: attachArena + task_attach). */
  attach?(sab: SharedArrayBuffer, taskId: number): void;
  createJob(init: JobInit): Job;
}
