// The per-worker loop: wait at the start barrier, then run job steps until the stop flag (or
// this worker's operation budget), timing each step into a histogram of its kind.
//
// Memory ordering: the runner opens the gate with a store to RUN.go (RELEASE: every set-up
// write of the main thread happens before it) and workers read it with an atomic load
// (ACQUIRE, pairs with that store). RUN.stop is read before each operation; a worker that sees
// it finishes nothing more. The op count in RUN_WORKER.ops is published with an atomic store
// after each operation; only its worker writes it.
//
// Timing: performance.now() around each step (a double in ms with sub-µs resolution; about
// 57 ns per call on the 2-core reference machine, so about 115 ns per operation goes to
// timing). Both calls bracket only job.step().

import { Histogram, type HistogramSnapshot } from '../harness/histogram.js';
import {
  atomic_add_return,
  atomic_cmpxchg,
  atomic_notify,
  atomic_read,
  atomic_set,
  atomic_wait,
} from '../sched/atomics.js';
import { EV } from '../sched/events.js';
import { check_abort, current, SCHED_SLICE_MS, tick, trace } from '../sched/task.js';
import { NR_TASK_COUNTERS, RUN, RUN_WORKER, run_worker_ptr, TASK } from '../shm/layout/index.js';
import { rcu_quiescent_state, rcu_thread_exit, rcu_thread_online } from '../sync/rcu.js';
import type { Job } from './job.js';

export interface LoopResult {
  /** operations completed */
  readonly ops: number;
  /** from the start of measurement (the gate, or the end of warm-up) to leaving the loop, ns */
  readonly elapsedNs: number;
  readonly kinds: readonly string[];
  /** one per kind, in the order of kinds */
  readonly histograms: readonly HistogramSnapshot[];
}

/** Arrive at the start barrier and wait (bounded slices, abort-checked) for the gate. */
export function waitAtBarrier(run: number): void {
  atomic_add_return(run + RUN.arrived, 1);
  // ACQUIRE: pairs with the runner's store of RUN.go.
  while (atomic_read(run + RUN.go) === 0) {
    atomic_wait(run + RUN.go, 0, SCHED_SLICE_MS);
    check_abort();
  }
}

/** Stop every worker of the run: set the stop flag and wake think-time sleepers. */
export function stopRun(run: number): void {
  atomic_set(run + RUN.stop, 1);
  atomic_notify(run + RUN.stop, Number.POSITIVE_INFINITY);
}

/** Record worker `index` as the run's first failure (if none yet) and stop the run. */
export function failRun(run: number, index: number): void {
  atomic_cmpxchg(run + RUN.failed, 0, index + 1);
  stopRun(run);
}

/** Zero this task's own counters (only the owner writes them). */
function resetOwnCounters(): void {
  const t = current();
  for (let c = 0; c < NR_TASK_COUNTERS; c++) atomic_set(t + TASK.counters + c, 0);
}

export function runLoop(job: Job, run: number, index: number, budget: number): LoopResult {
  const slot = run_worker_ptr(run, index);
  let hist = job.kinds.map(() => new Histogram());
  const nKinds = hist.length;
  let ops = 0;
  trace(EV.WORKER_START, index, budget);
  waitAtBarrier(run);
  // qsbr RCU: from here this task reports a quiescent state after every operation (the
  // kernel's context switch) and is offline while it sleeps; memb: both are no-ops.
  rcu_thread_online();
  let t0 = performance.now();
  let measuring = atomic_read(run + RUN.measure) !== 0;
  if (measuring) resetOwnCounters();
  try {
    while (atomic_read(run + RUN.stop) === 0) {
      if (!measuring && atomic_read(run + RUN.measure) !== 0) {
        // Warm-up over: start counting from here.
        measuring = true;
        hist = job.kinds.map(() => new Histogram());
        ops = 0;
        resetOwnCounters();
        t0 = performance.now();
      }
      trace(EV.OP_BEGIN, index, ops);
      const s = performance.now();
      const k = job.step();
      const e = performance.now();
      if (!(k >= 0 && k < nKinds)) {
        throw new RangeError(`job step returned kind ${k}; allowed 0..${nKinds - 1}`);
      }
      hist[k]!.record((e - s) * 1e6);
      ops++;
      atomic_set(slot + RUN_WORKER.ops, ops);
      tick();
      rcu_quiescent_state();
      job.between?.();
      if (measuring && ops === budget) {
        // The last budgeted worker to finish stops the others (writers have no budget).
        if (atomic_add_return(run + RUN.done, 1) === atomic_read(run + RUN.nr_budgeted)) {
          stopRun(run);
        }
        break;
      }
    }
    if (!measuring && atomic_read(run + RUN.measure) !== 0) {
      // One operation spanned the end of the warm-up and the whole measured period: nothing
      // this worker did was measured, so report nothing rather than its warm-up.
      hist = job.kinds.map(() => new Histogram());
      ops = 0;
      atomic_set(slot + RUN_WORKER.ops, 0);
      resetOwnCounters();
    }
  } catch (err) {
    failRun(run, index);
    throw err;
  } finally {
    trace(EV.WORKER_STOP, index, ops);
    try {
      job.finish?.();
    } finally {
      // No grace period may wait for a task that has left (even one that threw mid-section).
      rcu_thread_exit();
      // Only now: the watchdog keeps watching a worker until its finish() is done too.
      atomic_set(slot + RUN_WORKER.exited, 1);
    }
  }
  const t1 = performance.now();
  return {
    ops,
    elapsedNs: (t1 - t0) * 1e6,
    kinds: job.kinds,
    histograms: hist.map((h) => h.snapshot()),
  };
}

/**
 * Think time: sleep about `us` microseconds, or less if the run stops. Short waits spin on the
 * clock (Atomics.wait cannot sleep that briefly); longer ones sleep on the stop word, which
 * stopRun() notifies.
 */
export function thinkTime(run: number, us: number): void {
  if (us <= 0) return;
  const end = performance.now() + us / 1000;
  if (us < 100) {
    while (performance.now() < end) {
      /* spin: a few µs */
    }
    return;
  }
  for (;;) {
    const left = end - performance.now();
    if (left <= 0 || atomic_read(run + RUN.stop) !== 0) return;
    atomic_wait(run + RUN.stop, 0, Math.min(left, SCHED_SLICE_MS));
    check_abort();
  }
}
