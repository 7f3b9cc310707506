// The quiescent-point barrier of a stress run, in shared memory (STRESS in src/shm/layout).
//
// The checker (the main thread) asks for pause generation g: it zeroes STRESS.arrived, then
// stores g in STRESS.pause (RELEASE). Each worker, between two operations (holding no lock, no
// reference, no RCU section), sees the new generation (ACQUIRE), runs its deferred frees (so the
// world is at rest: RCU- and SRCU-deferred VMAs and page tables are gone), arrives, and sleeps on
// STRESS.resume in bounded slices until the checker stores g there (RELEASE, with a notify).
// While every participant sleeps at the barrier, the checker validates the whole world.
//
// A worker that sees the run's stop flag leaves the barrier at once (the run is ending), and the
// checker's wait is bounded: participants that never arrive are reported as a hang by the caller.

import {
  atomic_add_return,
  atomic_notify,
  atomic_read,
  atomic_set,
  atomic_wait,
} from '../../sched/atomics.js';
import { check_abort, SCHED_SLICE_MS } from '../../sched/task.js';
import { scheme } from '../../schemes/active.js';
import { RUN, STRESS } from '../../shm/layout/index.js';

let served = 0;

/** Worker side: serve a pending pause, if any. Cheap when none: one load. */
export function pause_point(stress: number, run: number): void {
  const g = atomic_read(stress + STRESS.pause); // ACQUIRE: pairs with request_pause()
  if (g === served) return;
  served = g;
  scheme().barrier();
  atomic_add_return(stress + STRESS.arrived, 1);
  atomic_notify(stress + STRESS.arrived, 1);
  for (;;) {
    const r = atomic_read(stress + STRESS.resume);
    if (r >= g || atomic_read(run + RUN.stop) !== 0) return;
    atomic_wait(stress + STRESS.resume, r, SCHED_SLICE_MS);
    check_abort();
  }
}

/** Worker side, on leaving the loop: this worker takes part in no further pause. */
export function pause_leave(stress: number): void {
  atomic_add_return(stress + STRESS.participants, -1);
  atomic_notify(stress + STRESS.arrived, 1);
}

/** Forget the generation served (a new run in this thread). */
export function pause_reset(): void {
  served = 0;
}

/**
 * Checker side: ask for pause `g` and wait up to `boundMs` for every participant. Returns the
 * number that arrived (all of them: the world is quiet).
 */
export function request_pause(stress: number, run: number, g: number, boundMs: number): number {
  atomic_set(stress + STRESS.arrived, 0);
  atomic_set(stress + STRESS.pause, g); // RELEASE: pairs with pause_point()'s load
  const until = performance.now() + boundMs;
  for (;;) {
    const a = atomic_read(stress + STRESS.arrived);
    // Re-read: a worker that leaves its loop (an operation budget done) stops taking part.
    if (a >= atomic_read(stress + STRESS.participants) || atomic_read(run + RUN.stop) !== 0)
      return a;
    const left = until - performance.now();
    if (left <= 0) return a;
    atomic_wait(stress + STRESS.arrived, a, Math.min(left, 5));
  }
}

/** Checker side: let every worker go on. */
export function release_pause(stress: number, g: number): void {
  atomic_set(stress + STRESS.resume, g); // RELEASE: the checker's reads happen before
  atomic_notify(stress + STRESS.resume, Number.POSITIVE_INFINITY);
}
