// Which steps of a controlled execution commute: the dependency relation behind explore's
// sleep sets (src/harness/race/explore.ts), used the same way by the tasks themselves
// (src/sched/control.ts) and by the harness that replays their record.
//
// A step is what one task does between two decisions: the operation it was stopped at (kind,
// word) and whatever it did before its next schedule point, of which only plain accesses can
// touch shared memory (the span lo..hi, src/sched/atomics.ts). Two steps of different tasks are
// independent — either order gives the same memory and neither enables or disables the other —
// when neither writes a word the other touches. On top of that, conservatively:
//   - a step that read the virtual clock (its value is the position in the schedule), entered
//     a wait (it read the wait word without a schedule point), or whose span overflowed, is
//     OPAQUE: dependent with every step;
//   - a wake-up from a wait (kind SP_WAIT) is dependent with every write: a write may be what
//     woke it (the wait word, or a kill);
//   - a step that ends at a cpu_relax() (TO_YIELD: the task is then deprioritised until
//     another task writes) is dependent with every write, so the spinner's fairness flag is set
//     and cleared in the same order in both orders.

import { SP_LOAD, SP_RMW, SP_STORE, SP_WAIT } from './atomics.js';

/** Flags of a recorded step (bits 24.. of CTL.rec_enabled, above the scheduler's own fields). */
export const DEP_WROTE = 1 << 24;
export const DEP_OPAQUE = 1 << 25;
export const DEP_TO_YIELD = 1 << 26;
export const DEP_FLAGS = DEP_WROTE | DEP_OPAQUE | DEP_TO_YIELD;

/** One step as the relation sees it. */
export interface StepInfo {
  readonly kind: number;
  readonly what: number;
  readonly lo: number;
  readonly hi: number;
  readonly flags: number;
}

function is_write(kind: number, flags: number): boolean {
  return kind === SP_STORE || kind === SP_RMW || (flags & DEP_WROTE) !== 0;
}

function has_word(kind: number): boolean {
  return kind === SP_LOAD || kind === SP_STORE || kind === SP_RMW || kind === SP_WAIT;
}

function overlaps(alo: number, ahi: number, blo: number, bhi: number): boolean {
  return ahi >= alo && bhi >= blo && alo <= bhi && blo <= ahi;
}

/** True unless the two steps (of different tasks) commute. */
export function steps_dependent(
  k1: number,
  w1: number,
  lo1: number,
  hi1: number,
  f1: number,
  k2: number,
  w2: number,
  lo2: number,
  hi2: number,
  f2: number,
): boolean {
  if (((f1 | f2) & DEP_OPAQUE) !== 0) return true;
  const write1 = is_write(k1, f1);
  const write2 = is_write(k2, f2);
  if (!write1 && !write2) return false;
  if (k1 === SP_WAIT || k2 === SP_WAIT) return true;
  if (((f1 | f2) & DEP_TO_YIELD) !== 0) return true;
  const h1 = has_word(k1);
  const h2 = has_word(k2);
  if (h1 && h2 && w1 === w2) return true;
  if (h1 && overlaps(w1, w1, lo2, hi2)) return true;
  if (h2 && overlaps(w2, w2, lo1, hi1)) return true;
  return overlaps(lo1, hi1, lo2, hi2);
}

export function step_info_dependent(a: StepInfo, b: StepInfo): boolean {
  return steps_dependent(a.kind, a.what, a.lo, a.hi, a.flags, b.kind, b.what, b.lo, b.hi, b.flags);
}
