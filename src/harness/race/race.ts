// `faultline race`: run a race script's schedule under the controlled scheduler, in the fixed
// and/or the broken variant, and judge each: the fixed variant must hold, the broken one must
// show its bug. A script is deterministic: the same schedule gives the same steps every run.

import { UsageError } from '../../errors.js';
import { ControlledRun, type Execution, variantMask } from './engine.js';
import type { RaceScript } from './scenario.js';
import { renderTimeline } from './timeline.js';

export type Variant = 'fixed' | 'broken';

export interface RaceResult {
  readonly script: string;
  readonly variant: Variant;
  /** what the script expects: 'holds' (fixed) or 'shows the bug' (broken) */
  readonly expected: string;
  /** true when the verdict is what the script expects */
  readonly pass: boolean;
  readonly outcome: string;
  readonly verdict: string;
  readonly schedule: string;
  readonly steps: number;
  readonly timeline: string;
  /** executions run (--repeat): every one must agree */
  readonly runs: number;
  readonly exec: Execution;
}

/** Compile a script's labelled schedule for a run: [ctl index, label id]. */
export function compileSchedule(
  run: ControlledRun,
  script: RaceScript,
): Array<readonly [number, number]> {
  return script.schedule.map(([task, until]) => {
    const t = script.tasks.findIndex((x) => x.name === task);
    if (t < 0) {
      throw new UsageError(
        `script ${script.name}: unknown task '${task}'; allowed ${script.tasks.map((x) => x.name).join(', ')}`,
      );
    }
    const label = until === 'end' || until === 'block' ? 0 : run.label(until);
    return [t, label] as const;
  });
}

/** Run one script in the given variants on one set of task threads (`module`: its file URL). */
export async function runRace(
  script: RaceScript,
  module: string,
  variants: readonly Variant[],
  repeat = 1,
): Promise<RaceResult[]> {
  // One set of task threads for both variants, unless the variants are two worlds.
  const runs = new Map<Variant, ControlledRun>();
  const runFor = async (v: Variant): Promise<ControlledRun> => {
    const key: Variant = script.worlds === undefined ? 'fixed' : v;
    let r = runs.get(key);
    if (r === undefined) {
      r = await ControlledRun.open(script, module, key);
      runs.set(key, r);
    }
    return r;
  };
  try {
    const out: RaceResult[] = [];
    for (const variant of variants) {
      const run = await runFor(variant);
      const segments = compileSchedule(run, script);
      // One discarded execution of the script first: a path the engine's warm-up did not take
      // (an object freed by a thread that never freed one) fills that thread's lookup caches
      // the first time, and takes more steps than every later run.
      await run.run(variantMask(script, variant), { mode: 'script', segments });
      let first: Execution | null = null;
      let agree = true;
      for (let r = 0; r < repeat; r++) {
        const exec = await run.run(variantMask(script, variant), { mode: 'script', segments });
        if (first === null) first = exec;
        else if (exec.schedule !== first.schedule || exec.verdict.text !== first.verdict.text) {
          agree = false;
        }
      }
      const exec = first!;
      const wantOk = variant === 'fixed';
      out.push({
        script: script.name,
        variant,
        expected: wantOk ? 'holds' : 'shows the bug',
        pass: agree && exec.verdict.ok === wantOk,
        outcome: exec.outcome,
        verdict: agree ? exec.verdict.text : `runs disagree: ${exec.verdict.text}`,
        schedule: exec.schedule,
        steps: exec.steps,
        timeline: renderTimeline(script, run.env, exec),
        runs: repeat,
        exec,
      });
    }
    return out;
  } finally {
    for (const r of runs.values()) await r.close();
  }
}
