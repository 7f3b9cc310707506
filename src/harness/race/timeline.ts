// The timeline of a controlled execution: one column per task, one row per step that says
// something (a label passed, a named word touched, a block, a wake-up, an end); runs of other
// steps by one task fold into "· n steps".

import { SP_LOAD, SP_NAMED, SP_RMW, SP_STORE, SP_WAIT, SP_YIELD } from '../../sched/atomics.js';
import { REC_SELF_ENDED } from '../../sched/control.js';
import { label_name } from '../../sched/labels.js';
import { task_ptr } from '../../shm/arena.js';
import { TASK } from '../../shm/layout/index.js';
import type { Execution } from './engine.js';
import type { Scenario, ScenarioEnv } from './scenario.js';

const COL = 34;

function cell(s: string): string {
  return s.length > COL - 1 ? `${s.slice(0, COL - 2)}…` : s.padEnd(COL);
}

const KIND: Record<number, string> = {
  [SP_LOAD]: 'load',
  [SP_STORE]: 'store',
  [SP_RMW]: 'rmw',
};

/** Rows [step label, text per column]. */
export function timelineRows(
  scenario: Scenario,
  env: ScenarioEnv,
  exec: Execution,
): Array<[string, string[]]> {
  const nr = scenario.tasks.length;
  const names: Record<number, string> = { ...(scenario.describe?.(env) ?? {}) };
  for (let i = 0; i < nr; i++) names[task_ptr(1 + i) + TASK.park] ??= `T${i + 1}.park`;
  // Events in execution order. A step's record is made when its task is chosen to take it; a
  // label, though, is *reached* right after the task's previous step, so it goes there.
  interface Ev {
    readonly pos: number;
    readonly step: number;
    readonly task: number;
    readonly text: string | null;
  }
  const evs: Ev[] = [];
  const lastOf = new Array<number>(nr).fill(-1);
  exec.record.forEach((s, i) => {
    if (s.self >= 0 && s.self !== s.task) {
      if (s.selfKind === SP_WAIT) evs.push({ pos: i - 0.1, step: i, task: s.self, text: 'blocks' });
      else if (s.selfKind !== REC_SELF_ENDED && s.selfRunnable && s.selfKind !== SP_YIELD) {
        evs.push({ pos: i - 0.1, step: i, task: s.self, text: '— preempted —' });
      }
    }
    if (s.kind === SP_NAMED) {
      const at = lastOf[s.task]!;
      const text = `▸ ${label_name(s.what) ?? `label ${s.what}`}`;
      evs.push({ pos: at < 0 ? -1 : at + 0.5, step: at < 0 ? i : at, task: s.task, text });
    } else if (s.kind === SP_WAIT) {
      evs.push({
        pos: i,
        step: i,
        task: s.task,
        text: `wakes (${names[s.what] ?? `word ${s.what}`} changed)`,
      });
    } else if (s.kind !== SP_YIELD) {
      const n = names[s.what];
      evs.push({
        pos: i,
        step: i,
        task: s.task,
        text: n === undefined ? null : `${KIND[s.kind] ?? 'step'} ${n}`,
      });
    }
    lastOf[s.task] = i;
  });
  evs.sort((a, b) => a.pos - b.pos);
  const rows: Array<[string, string[]]> = [];
  let fold = -1; // task whose unnamed steps are being folded
  let foldN = 0;
  let foldFrom = 0;
  let foldTo = 0;
  const flush = (): void => {
    if (fold >= 0 && foldN > 0) {
      const cols = new Array<string>(nr).fill('');
      cols[fold] = `· ${foldN} step${foldN === 1 ? '' : 's'}`;
      rows.push([foldFrom === foldTo ? `${foldFrom + 1}` : `${foldFrom + 1}-${foldTo + 1}`, cols]);
    }
    fold = -1;
    foldN = 0;
  };
  for (const e of evs) {
    if (e.text === null) {
      if (fold !== e.task) {
        flush();
        fold = e.task;
        foldFrom = e.step;
      }
      foldTo = e.step;
      foldN++;
      continue;
    }
    flush();
    const cols = new Array<string>(nr).fill('');
    cols[e.task] = e.text;
    const stepCol = Number.isInteger(e.pos) ? `${e.step + 1}` : '';
    rows.push([stepCol, cols]);
  }
  flush();
  const endCols = exec.tasks.map((t) => {
    if (t.state === 'done') return `returns ${t.result}`;
    if (t.state === 'failed') return `throws ${t.error ?? ''}`;
    if (t.state === 'blocked') return 'blocked for ever';
    return t.state;
  });
  rows.push(['end', endCols]);
  return rows;
}

/** The timeline as text. */
export function renderTimeline(scenario: Scenario, env: ScenarioEnv, exec: Execution): string {
  const head = `${'step'.padEnd(8)}${scenario.tasks.map((t, i) => cell(`T${i + 1} ${t.name}`)).join('')}`;
  const lines = [head, '-'.repeat(head.trimEnd().length)];
  for (const [step, cols] of timelineRows(scenario, env, exec)) {
    lines.push(`${step.padEnd(8)}${cols.map(cell).join('')}`.trimEnd());
  }
  return lines.join('\n');
}
