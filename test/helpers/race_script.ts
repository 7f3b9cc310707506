// Helpers for the per-script race tests (test/races/race_*.test.ts): one set of task threads
// per script, on which its labelled schedule runs in each variant and explore searches the
// broken variant without it. (test/races/controlled.test.ts also runs every script twice per
// variant through runRace, the command's path.)

import { ControlledRun, type Execution, variantMask } from '../../src/harness/race/engine.js';
import { type ExploreResult, explore } from '../../src/harness/race/explore.js';
import { compileSchedule } from '../../src/harness/race/race.js';
import { script_by_name } from '../../src/harness/race/registry.js';
import { decodeSchedule } from '../../src/harness/race/schedule.js';
import { renderTimeline } from '../../src/harness/race/timeline.js';
import { distModule } from './threads.js';

export async function openScript(name: string): Promise<ControlledRun> {
  const e = script_by_name(name);
  if (e === null) throw new Error(`no race script ${name}`);
  return ControlledRun.open(e.script, distModule(e.rel));
}

/** The script's schedule in a variant: the execution and its timeline (for messages). */
export async function raceVariant(
  run: ControlledRun,
  variant: 'fixed' | 'broken',
): Promise<{ exec: Execution; timeline: string }> {
  const script = script_by_name(run.scenario.name)!.script;
  const segments = compileSchedule(run, script);
  const exec = await run.run(variantMask(script, variant), { mode: 'script', segments });
  return { exec, timeline: renderTimeline(script, run.env, exec) };
}

/**
 * Explore a variant by DFS (at most K preemptions, stopping at the first failure), then replay
 * the failure's schedule string once: it must repeat the execution exactly.
 */
export async function exploreVariant(
  run: ControlledRun,
  variant: 'fixed' | 'broken',
  preemptions: number,
  maxExecutions: number,
): Promise<{ result: ExploreResult; replay: Execution | null }> {
  const bugs = variantMask(run.scenario, variant);
  const result = await explore(run, {
    strategy: 'dfs',
    seed: 1,
    depth: 3,
    preemptions,
    maxExecutions,
    bugs,
    stopAtFailure: true,
  });
  const f = result.firstFailure;
  const replay =
    f === null
      ? null
      : await run.run(bugs, { mode: 'default', prefix: decodeSchedule(f.schedule) });
  return { result, replay };
}
