// Holds at named schedule points, for litmus actors whose race window is a few instructions
// wide: the actor runs the real kernel code with a schedule hook that, at one named point
// (src/sched/points.ts, or a sched_label), waits a bounded while on a shared word — a
// preemption at that point, as `faultline stress --chaos` makes one. A hold never blocks
// for good: it spins at most `spins` cpu_relax() calls, then the code goes on.

import {
  atomic_read,
  atomic_set,
  cpu_relax,
  SP_NAMED,
  schedule_hooked,
  set_schedule_hook,
} from '../../sched/atomics.js';

/**
 * One hold: at point `at`, first set word `mark` (if given) to 1 — the actor records that it got
 * there — then wait until word `p` is not 0, at most `spins` cpu_relax() calls.
 */
export interface Hold {
  readonly at: number;
  readonly mark?: number;
  readonly p: number;
  readonly spins: number;
}

/** Spin until word p is not 0 or `spins` relaxes have passed; true if p became non-zero. */
export function hold_until(p: number, spins: number): boolean {
  for (let k = 0; k < spins; k++) {
    if (atomic_read(p) !== 0) return true;
    cpu_relax();
  }
  return atomic_read(p) !== 0;
}

/**
 * Run `fn` with the holds installed (each at most once), then remove the hook. The hook sees
 * every shared access of `fn`; it ignores all but the named points. Not for a thread that
 * already has a hook (the controlled scheduler's).
 */
export function with_holds<T>(holds: readonly Hold[], fn: () => T): T {
  if (schedule_hooked()) throw new Error('with_holds: a schedule hook is already installed');
  let done = 0;
  set_schedule_hook((kind, what) => {
    if (kind !== SP_NAMED) return;
    for (let i = 0; i < holds.length; i++) {
      const h = holds[i]!;
      if (h.at === what && (done & (1 << i)) === 0) {
        done |= 1 << i;
        if (h.mark !== undefined) atomic_set(h.mark, 1);
        hold_until(h.p, h.spins);
      }
    }
  });
  try {
    return fn();
  } finally {
    set_schedule_hook(null);
  }
}
