// Spin-then-sleep budgets for the controlled scheduler's own waits (the turn, the next
// generation): how long a waiter spins on its word before it sleeps in Atomics.wait.
//
// Why a budget in time, and why adaptive: a task hands the turn to a sleeping task with a
// notify, and the sleeper needs a futex wake-up (tens of microseconds on an idle machine,
// milliseconds on a loaded one) before it takes its step. If the hander's own spin is shorter
// than that wake-up, it falls asleep before the turn comes back, and the next hand-off finds it
// asleep too: once one side sleeps, every later hand-off is a wake-up (measured: 35 of 41
// hand-offs slept in a two-task execution that switches every step, with a 4,000-iteration
// spin). So the spin is measured in time and starts long enough to cover a wake-up. On a loaded
// machine the other task may not be on a CPU at all, and spinning only takes cycles from it:
// a spin that ends in a sleep halves the budget, a spin that succeeds doubles it, between a
// floor and a ceiling. On two idle cores the budget stays at the ceiling and no hand-off sleeps.
//
// Memory ordering: none here; the callers load their word with seq-cst Atomics.

/** A waiter's spin budget, in microseconds. One per wait site per thread. */
export interface SpinBudget {
  us: number;
  readonly minUs: number;
  readonly maxUs: number;
}

export function spin_budget(minUs: number, maxUs: number): SpinBudget {
  return { us: maxUs, minUs, maxUs };
}

/** The wait ended while spinning: spinning pays here, spin longer next time. */
export function spin_succeeded(b: SpinBudget): void {
  if (b.us < b.maxUs) b.us = Math.min(b.maxUs, b.us * 2);
}

/** The spin ran out and the waiter slept: spin less next time. */
export function spin_failed(b: SpinBudget): void {
  if (b.us > b.minUs) b.us = Math.max(b.minUs, b.us / 2);
}

/** The time (performance.now(), ms) at which a spin that starts now must stop. */
export function spin_deadline(b: SpinBudget): number {
  return performance.now() + b.us / 1000;
}

/** Spin iterations between two reads of the clock. */
export const SPIN_CLOCK_EVERY = 64;
