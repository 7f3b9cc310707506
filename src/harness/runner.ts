// The runner: exactly N worker threads (a piscina pool with minThreads = maxThreads = N), one
// long task each, all released together by a start barrier in shared memory, stopped by a
// stop flag (each finishes the operation it is in), watched by a watchdog.
//
// The caller has created the buffer and attached the main thread as task 0 (createArena or
// world_create). The runner allocates a fresh run control block from the arena for each run and
// publishes it at ROOT.RUN before any worker starts.
//
// Memory ordering: every RUN field is initialised before the pool starts (the structured clone
// of the task message orders them before the worker's first read); RUN.go is then set with an
// atomic store (RELEASE, pairs with the workers' ACQUIRE load in waitAtBarrier()), so set-up
// done by the main thread after the workers attached is visible to their first operation.
//
// Failures: a worker that throws records itself in RUN.failed and sets the stop flag; the
// runner then calls abort_all() so workers blocked on a lock the failed one held unwind with
// HarnessAbort, waits for all, and throws a RunFailure naming the first failure with that
// task's last events. No-progress for watchdogMs does the same with every worker's events.

import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { FaultlineError } from '../errors.js';
import { atomic_notify, atomic_read, atomic_set } from '../sched/atomics.js';
import {
  abort_all,
  clear_abort,
  type LostWakeup,
  lost_wakeups,
  reset_lost_wakeups,
} from '../sched/task.js';
import { arena_alloc, set_root } from '../shm/arena.js';
import {
  LINE_WORDS,
  ROOT,
  RUN,
  RUN_WORKER,
  run_block_words,
  run_worker_ptr,
} from '../shm/layout/index.js';
import type { WorkerPlan } from '../workload/job.js';
import { stopRun } from '../workload/loop.js';
import { describeLockState } from './lockdump.js';
import { benchWorkerFor } from './paths.js';
import type { BenchTask, BenchTaskResult, WorkerMeasurement } from './tasks.js';
import { describeTask, describeWorkers, Watchdog, type WatchedWorker } from './watchdog.js';

export interface RunRequest {
  readonly sab: SharedArrayBuffer;
  /** file URL of the compiled job module (see src/workload/job.ts) */
  readonly jobModule: string;
  readonly workers: readonly WorkerPlan[];
  /** stop after measuring this long; 0: only when the budgets are done */
  readonly durationMs: number;
  /**
   * Run this long after the gate opens before measuring starts (JIT warm-up): workers run
   * their jobs, then reset their histograms, op counts and counters. Default 0.
   */
  readonly warmupMs?: number;
  /** pin worker i to CPU i mod cores */
  readonly pin?: boolean;
  /** the number of CPUs to pin across (default: all) */
  readonly cores?: number;
  /** flight-recorder tracing in the workers (default on) */
  readonly tracing?: boolean;
  /** no progress from a worker for this long aborts the run (default 10 s) */
  readonly watchdogMs?: number;
  /** workers not all at the barrier after this long aborts the run (default 30 s + 1 s a worker) */
  readonly startTimeoutMs?: number;
  /**
   * A pool to run on (a WorkerPool of at least this many threads), kept for the next run: a
   * sweep starts its threads and loads their modules once. Without one, the run makes its own.
   */
  readonly pool?: WorkerPool;
  /** called about every 50 ms while the run goes, with the ms since the gate opened */
  readonly onTick?: (elapsedMs: number) => void;
}

export interface WorkerOutcome extends WorkerMeasurement {
  readonly index: number;
  readonly taskId: number;
  readonly role: string;
}

export interface RunOutcome {
  readonly workers: readonly WorkerOutcome[];
  /** wall time from the gate opening until every worker returned, in ns */
  readonly wallNs: number;
  /** wall time from creating the worker pool until every worker waited at the gate, in ns */
  readonly startNs: number;
  /** when the gate opened (performance.now() of the calling thread) */
  readonly gateAt: number;
  /** one line if pinning failed anywhere, else null */
  readonly pinWarning: string | null;
  /**
   * Lost wake-ups during the run, by worker task and wait site (empty when none): each one a
   * wait that would have hung in the kernel. Callers that check correctness fail on any.
   */
  readonly lostWakeups: readonly LostWakeup[];
}

/** A run that ended in a worker failure or a watchdog abort. The message is the report. */
export class RunFailure extends FaultlineError {
  override name = 'RunFailure';
  constructor(
    message: string,
    /** the name of the first worker error (LockStateError, ...), or Watchdog, StartTimeout */
    readonly kind: string,
  ) {
    super(message);
  }
}

const POLL_MS = 50;
/** How long aborted workers get to unwind before the pool terminates them. */
const ABORT_GRACE_MS = 5_000;

function newPiscina(n: number, filename: string): Piscina {
  return new Piscina({
    filename,
    minThreads: n,
    maxThreads: n,
    concurrentTasksPerWorker: 1,
    idleTimeout: 600_000,
  });
}

/**
 * Bench worker threads kept across runs (runBench keeps one per sweep). It grows by adding a
 * segment of just the missing threads, never by replacing the threads it has: a sweep over
 * 1, 2, 4, ..., 64 workers starts 64 threads in all, each loading the bench worker's modules
 * once (about 140 ms of CPU each), not 127. Worker i of a run goes to the segment holding slot
 * i, and each segment runs one task per thread, so a run of n ≤ threads workers has a thread for
 * each.
 */
export class WorkerPool {
  #segments: Piscina[] = [];
  #sizes: number[] = [];
  #threads = 0;
  /** threads started by the last grow() (0 when the pool was already big enough) */
  #started = 0;
  /** the module each thread loads: the bench worker, bundled when it carries the job module */
  readonly #filename: string;
  /** `jobModule`: the file URL of the job module every run on this pool uses */
  constructor(
    threads: number,
    readonly jobModule: string,
  ) {
    this.#filename = benchWorkerFor(jobModule);
    this.grow(threads);
  }
  get threads(): number {
    return this.#threads;
  }
  /** How many threads the last grow() started. */
  get lastStarted(): number {
    return this.#started;
  }
  /** Make the pool at least n threads, starting only the missing ones. */
  grow(n: number): void {
    this.#started = 0;
    if (n <= this.#threads) return;
    const add = n - this.#threads;
    this.#segments.push(newPiscina(add, this.#filename));
    this.#sizes.push(add);
    this.#threads = n;
    this.#started = add;
  }
  /** Run a run's worker i (0 ≤ i < threads) on the segment that holds slot i. */
  run(task: BenchTask, i: number): Promise<unknown> {
    let at = i;
    for (let k = 0; k < this.#segments.length; k++) {
      const size = this.#sizes[k]!;
      if (at < size) return this.#segments[k]!.run(task);
      at -= size;
    }
    throw new RangeError(`WorkerPool: worker ${i} of a pool of ${this.#threads} threads`);
  }
  /** Replace the threads (after an aborted run): one segment of the same size. */
  async reset(): Promise<void> {
    const n = this.#threads;
    await this.destroy();
    this.grow(n);
  }
  async destroy(): Promise<void> {
    const segs = this.#segments;
    this.#segments = [];
    this.#sizes = [];
    this.#threads = 0;
    await Promise.all(segs.map((p) => p.destroy()));
  }
}
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function runWorkers(req: RunRequest): Promise<RunOutcome> {
  const n = req.workers.length;
  if (n < 1) throw new RangeError('runWorkers: no workers');
  const budgeted = req.workers.filter((w) => w.budget > 0).length;
  if (req.durationMs <= 0 && budgeted === 0) {
    throw new RangeError('runWorkers: neither a duration nor an operation budget');
  }
  const watchdogMs = req.watchdogMs ?? 10_000;
  // Starting a thread loads every module of the bench worker (about 150 ms of CPU each on the
  // 2-core reference machine): an oversubscribed start takes time in proportion to n.
  const startTimeoutMs = req.startTimeoutMs ?? 30_000 + 1_000 * n;
  const cores = req.cores ?? availableParallelism();

  const run = arena_alloc(run_block_words(n), LINE_WORDS, 'run control block');
  atomic_set(run + RUN.nr_workers, n);
  atomic_set(run + RUN.nr_budgeted, budgeted);
  for (let i = 0; i < n; i++) {
    atomic_set(run_worker_ptr(run, i) + RUN_WORKER.ops, 0);
    atomic_set(run_worker_ptr(run, i) + RUN_WORKER.exited, 0);
  }
  set_root(ROOT.RUN, run);
  const maxTaskId = Math.max(...req.workers.map((w) => w.taskId)) + 1;
  reset_lost_wakeups(maxTaskId);

  const watched: WatchedWorker[] = req.workers.map((w, i) => ({
    taskId: w.taskId,
    role: w.role,
    slot: run_worker_ptr(run, i),
  }));

  const tPool = performance.now();
  if (req.pool !== undefined && req.pool.threads < n) {
    throw new RangeError(`runWorkers: a pool of ${req.pool.threads} threads for ${n} workers`);
  }
  if (req.pool !== undefined && req.pool.jobModule !== req.jobModule) {
    throw new RangeError(
      `runWorkers: a pool for ${req.pool.jobModule} asked to run ${req.jobModule}`,
    );
  }
  const pool = req.pool ?? new WorkerPool(n, req.jobModule);
  const results: Array<BenchTaskResult | undefined> = new Array(n).fill(undefined);
  let settledCount = 0;
  let firstFailure = -1;
  let aborted = false;
  const abortRun = (): void => {
    if (aborted) return;
    aborted = true;
    stopRun(run);
    abort_all();
  };
  const all = Promise.all(
    req.workers.map((plan, i) => {
      const task: BenchTask = {
        sab: req.sab,
        jobModule: req.jobModule,
        plan,
        workerIndex: i,
        pinCpu: req.pin === true ? i % cores : -1,
        tracing: req.tracing ?? true,
      };
      return (pool.run(task, i) as Promise<BenchTaskResult>)
        .catch(
          (err: unknown): BenchTaskResult => ({
            ok: false,
            name: err instanceof Error ? err.name : 'Error',
            message: err instanceof Error ? err.message : String(err),
            stack: err instanceof Error ? (err.stack ?? '') : '',
          }),
        )
        .then((r) => {
          results[i] = r;
          settledCount++;
          if (!r.ok) {
            if (firstFailure < 0 && r.name !== 'HarnessAbort') firstFailure = i;
            abortRun();
          }
        });
    }),
  );

  let report: RunFailure | null = null;
  let t0 = performance.now();
  let wallNs = 0;
  let startNs = 0;
  try {
    // The start barrier: wait for every worker to arrive, then open the gate.
    const startBy = t0 + startTimeoutMs;
    while (atomic_read(run + RUN.arrived) < n && !aborted) {
      if (performance.now() > startBy) {
        report = new RunFailure(
          `only ${atomic_read(run + RUN.arrived)} of ${n} workers reached the start barrier within ${startTimeoutMs} ms; run aborted\n${describeWorkers(watched)}`,
          'StartTimeout',
        );
        abortRun();
        break;
      }
      await sleep(1);
    }
    const warmupMs = req.warmupMs ?? 0;
    if (warmupMs <= 0) atomic_set(run + RUN.measure, 1);
    t0 = performance.now();
    startNs = (t0 - tPool) * 1e6;
    atomic_set(run + RUN.go, 1); // RELEASE: pairs with the ACQUIRE in waitAtBarrier()
    atomic_notify(run + RUN.go, n);
    let measuring = warmupMs <= 0;
    let tMeasure = t0;
    let stopped = false;

    const dog = new Watchdog(watched, watchdogMs, t0);
    let abortedAt = 0;
    while (settledCount < n) {
      // Wake at the next deadline (end of warm-up, end of run) or after one poll period.
      const t = performance.now();
      const next = !measuring
        ? t0 + warmupMs
        : req.durationMs > 0 && !stopped
          ? tMeasure + req.durationMs
          : t + POLL_MS;
      await Promise.race([all, sleep(Math.max(1, Math.min(POLL_MS, next - t)))]);
      const now = performance.now();
      if (!measuring && now - t0 >= warmupMs) {
        measuring = true;
        tMeasure = now;
        atomic_set(run + RUN.measure, 1);
      }
      if (measuring && !stopped && req.durationMs > 0 && now - tMeasure >= req.durationMs) {
        stopped = true;
        stopRun(run);
      }
      req.onTick?.(now - t0);
      if (aborted) {
        // Every wait is bounded and abort-checked, so workers unwind within a slice or two;
        // one that does not (a bug) is terminated with the pool below.
        if (abortedAt === 0) abortedAt = now;
        else if (now - abortedAt > ABORT_GRACE_MS) break;
        continue;
      }
      const stalled = dog.check(now);
      if (stalled.length > 0) {
        const who = stalled.map((i) => `worker ${i} (task ${watched[i]!.taskId})`).join(', ');
        report = new RunFailure(
          `watchdog: no progress from ${who} for ${watchdogMs} ms; run aborted. Every worker:\n${describeWorkers(watched)}\n${describeLockState(watched.map((w) => w.taskId))}`,
          'Watchdog',
        );
        abortRun();
      }
    }
    wallNs = (performance.now() - t0) * 1e6;
  } finally {
    // A shared pool survives a clean run; after an abort its threads may still unwind.
    if (req.pool === undefined) await pool.destroy();
    else if (aborted) await req.pool.reset();
    clear_abort();
  }
  if (report === null && aborted) {
    // The first worker to fail recorded itself in RUN.failed; settle order may differ.
    const recorded = atomic_read(run + RUN.failed) - 1;
    const rec = recorded >= 0 ? results[recorded] : undefined;
    const i =
      rec !== undefined && !rec.ok && rec.name !== 'HarnessAbort'
        ? recorded
        : firstFailure >= 0
          ? firstFailure
          : results.findIndex((r) => r !== undefined && !r.ok);
    const r = i >= 0 ? results[i] : undefined;
    report =
      r !== undefined && !r.ok
        ? new RunFailure(
            `worker ${i} failed: ${r.name}: ${r.message}\n  ${describeTask(i, watched[i]!)}\n${firstStackLines(r.stack)}`,
            r.name,
          )
        : new RunFailure('run aborted without a worker error', 'Abort');
  }
  if (report !== null) throw report;
  const ids = new Set(req.workers.map((w) => w.taskId));
  const lost = lost_wakeups(maxTaskId).filter((l) => ids.has(l.taskId));
  return collect(req, results, wallNs, startNs, tPool + startNs / 1e6, lost);
}

function firstStackLines(stack: string): string {
  return stack
    .split('\n')
    .slice(1, 6)
    .map((l) => `  ${l.trim()}`)
    .join('\n');
}

function collect(
  req: RunRequest,
  results: ReadonlyArray<BenchTaskResult | undefined>,
  wallNs: number,
  startNs: number,
  gateAt: number,
  lostWakeups: readonly LostWakeup[],
): RunOutcome {
  const workers: WorkerOutcome[] = [];
  let pinWarning: string | null = null;
  results.forEach((r, i) => {
    if (r === undefined || !r.ok) throw new Error(`worker ${i} returned no result`);
    const plan = req.workers[i]!;
    pinWarning ??= r.pinWarning;
    workers.push({
      index: i,
      taskId: plan.taskId,
      role: plan.role,
      ops: r.ops,
      elapsedNs: r.elapsedNs,
      kinds: r.kinds,
      histograms: r.histograms,
      tid: r.tid,
      cpu: r.cpu,
      lastCpu: r.lastCpu,
      loadedAt: r.loadedAt,
    });
  });
  return { workers, wallNs, startNs, gateAt, pinWarning, lostWakeups };
}
