// The timeline of a controlled execution: one column per task, one row per step. A row names
// the label passed, or the operation and the word it touched (the scenario's name for it, a
// task's field, or its index), a block, a wake-up, a preemption, an end. A long run of one
// task's unnamed steps folds into "· n steps (load ×a, rmw ×b)", but only up to its last two
// steps, which keep rows of their own: a fold never hides the step before a switch, and never
// spans one (a run ends wherever another task's row comes between).

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

/** Unnamed steps a run may have before it folds. */
const FOLD_OVER = 4;
/** The last steps of a folded run that keep their own rows. */
const FOLD_KEEP = 2;

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
  // Every word of the tasks' own slots by field (park, state, signal, ...).
  const fields = Object.entries(TASK)
    .filter((f): f is [string, number] => typeof f[1] === 'number' && f[0] !== 'SIZE')
    .sort((a, b) => a[1] - b[1]);
  for (let i = 0; i < nr; i++) {
    const base = task_ptr(1 + i);
    for (let k = 0; k < fields.length; k++) {
      const [f, off] = fields[k]!;
      const end = k + 1 < fields.length ? fields[k + 1]![1] : TASK.SIZE;
      for (let w = off; w < end; w++) {
        names[base + w] ??= w > off ? `T${i + 1}.${f}[${w - off}]` : `T${i + 1}.${f}`;
      }
    }
  }
  // Events in execution order. A step's record is made when its task is chosen to take it; a
  // label, though, is *reached* right after the task's previous step, so it goes there.
  interface Ev {
    readonly pos: number;
    readonly step: number;
    readonly task: number;
    readonly text: string;
    /** an unnamed step: may fold into a run of its task's steps */
    readonly plain: boolean;
    readonly kind: number;
  }
  const evs: Ev[] = [];
  const lastOf = new Array<number>(nr).fill(-1);
  exec.record.forEach((s, i) => {
    if (s.self >= 0 && s.self !== s.task) {
      if (s.selfKind === SP_WAIT) {
        evs.push({ pos: i - 0.1, step: i, task: s.self, text: 'blocks', plain: false, kind: 0 });
      } else if (s.selfKind !== REC_SELF_ENDED && s.selfRunnable && s.selfKind !== SP_YIELD) {
        const text = '— preempted —';
        evs.push({ pos: i - 0.1, step: i, task: s.self, text, plain: false, kind: 0 });
      }
    }
    if (s.kind === SP_NAMED) {
      const at = lastOf[s.task]!;
      const text = `▸ ${label_name(s.what) ?? `label ${s.what}`}`;
      const pos = at < 0 ? -1 : at + 0.5;
      evs.push({ pos, step: at < 0 ? i : at, task: s.task, text, plain: false, kind: 0 });
    } else if (s.kind === SP_WAIT) {
      evs.push({
        pos: i,
        step: i,
        task: s.task,
        text: `wakes (${names[s.what] ?? `word ${s.what}`} changed)`,
        plain: false,
        kind: 0,
      });
    } else if (s.kind !== SP_YIELD) {
      const n = names[s.what];
      evs.push({
        pos: i,
        step: i,
        task: s.task,
        text: `${KIND[s.kind] ?? 'step'} ${n ?? `word ${s.what}`}`,
        plain: n === undefined,
        kind: s.kind,
      });
    }
    lastOf[s.task] = i;
  });
  evs.sort((a, b) => a.pos - b.pos);
  const rows: Array<[string, string[]]> = [];
  const row = (step: string, task: number, text: string): void => {
    const cols = new Array<string>(nr).fill('');
    cols[task] = text;
    rows.push([step, cols]);
  };
  // A run of one task's unnamed steps, with nothing else between them.
  let run: Ev[] = [];
  const flush = (): void => {
    const fold = run.length > FOLD_OVER ? run.length - FOLD_KEEP : 0;
    if (fold > 0) {
      const by = new Map<string, number>();
      for (const e of run.slice(0, fold)) {
        const k = KIND[e.kind] ?? 'step';
        by.set(k, (by.get(k) ?? 0) + 1);
      }
      const what = [...by].map(([k, n]) => `${k} ×${n}`).join(', ');
      const a = run[0]!.step + 1;
      const b = run[fold - 1]!.step + 1;
      row(`${a}-${b}`, run[0]!.task, `· ${fold} steps (${what})`);
    }
    for (const e of run.slice(fold)) row(`${e.step + 1}`, e.task, e.text);
    run = [];
  };
  for (const e of evs) {
    if (e.plain) {
      if (run.length > 0 && run[0]!.task !== e.task) flush();
      run.push(e);
      continue;
    }
    flush();
    row(Number.isInteger(e.pos) ? `${e.step + 1}` : '', e.task, e.text);
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
