// Schedule strings: the choices of a controlled execution, one per decision, written compactly
// as runs "task x count" joined by dots, tasks numbered from 1 as in the timeline's columns:
// "1x12.2x3.1x40" = T1 takes 12 decisions, then T2 3, then T1 40. `--replay` feeds the choices
// back as a forced prefix, so the execution repeats step for step.

import { UsageError } from '../../errors.js';
import { CTL_MAX_STEPS, CTL_MAX_TASKS } from '../../shm/layout/index.js';

export function encodeSchedule(choices: readonly number[]): string {
  const out: string[] = [];
  let i = 0;
  while (i < choices.length) {
    const t = choices[i]!;
    let n = 1;
    while (i + n < choices.length && choices[i + n] === t) n++;
    out.push(`${t + 1}x${n}`);
    i += n;
  }
  return out.join('.');
}

/** Decode a schedule string; a bad one is a UsageError naming the bad part. */
export function decodeSchedule(s: string, nrTasks: number = CTL_MAX_TASKS): number[] {
  const out: number[] = [];
  if (s.trim() === '') return out;
  for (const part of s.trim().split('.')) {
    const m = /^([1-9])x([1-9][0-9]*)$/.exec(part);
    const t = m === null ? Number.NaN : Number(m[1]) - 1;
    const n = m === null ? Number.NaN : Number(m[2]);
    if (m === null || t >= nrTasks || out.length + n > CTL_MAX_STEPS) {
      throw new UsageError(
        `bad schedule part '${part.slice(0, 40)}': allowed TASKxCOUNT joined by '.', tasks 1..${nrTasks}, at most ${CTL_MAX_STEPS} steps (e.g. 1x12.2x3)`,
      );
    }
    for (let k = 0; k < n; k++) out.push(t);
  }
  return out;
}
