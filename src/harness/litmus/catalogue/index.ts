// The litmus catalogue: what `faultline litmus` runs, in the order `--list` prints it. A broken
// variant is named `TEST+BUG` after the catalogue bug (src/sched/bugs.ts) it switches on; it
// passes only when its FORBIDDEN outcome shows up.

import type { LitmusTest } from '../define.js';
import { CLASSIC } from './classic.js';
import { LOCK_TESTS } from './locks.js';
import { RCUWAIT_TESTS } from './rcuwait.js';
import { REFCOUNT_TESTS } from './refcount.js';
import { SRCU_TESTS } from './srcu.js';
import { VMA_TESTS } from './vma.js';

export const CATALOGUE: readonly LitmusTest[] = [
  ...CLASSIC,
  ...REFCOUNT_TESTS,
  ...RCUWAIT_TESTS,
  ...LOCK_TESTS,
  ...VMA_TESTS,
  ...SRCU_TESTS,
];

/**
 * The tests NAME selects: the test of that name, or every test of its family (`sb` selects
 * `sb` and `sb.plain`; `rcuwait` selects `rcuwait` and its broken variants). Empty if none.
 */
export function selectLitmus(name: string): LitmusTest[] {
  const exact = CATALOGUE.filter((t) => t.name === name);
  if (exact.length > 0 && CATALOGUE.every((t) => t.name === name || family(t.name) !== name)) {
    return exact;
  }
  return CATALOGUE.filter((t) => t.name === name || family(t.name) === name);
}

function family(name: string): string {
  return name.split(/[.+]/)[0]!;
}
