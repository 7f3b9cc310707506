// Helpers for the per-script race tests (test/races/race_*.test.ts): run a shipped race script
// in both variants, and explore a variant of it without its schedule.

import { ControlledRun, type Execution, variantMask } from '../../src/harness/race/engine.js';
import { type ExploreResult, explore } from '../../src/harness/race/explore.js';
import { type RaceResult, runRace } from '../../src/harness/race/race.js';
import { script_by_name } from '../../src/harness/race/registry.js';
import { decodeSchedule } from '../../src/harness/race/schedule.js';
import { distModule } from './threads.js';

function entry(name: string) {
  const e = script_by_name(name);
  if (e === null) throw new Error(`no race script ${name}`);
  return e;
}

/** The script's schedule in the fixed and the broken variant, twice each (they must agree). */
export async function raceBoth(name: string): Promise<{ fixed: RaceResult; broken: RaceResult }> {
  const e = entry(name);
  const [fixed, broken] = await runRace(e.script, distModule(e.rel), ['fixed', 'broken'], 2);
  return { fixed: fixed!, broken: broken! };
}

/**
 * Explore a variant by DFS (at most K preemptions, stopping at the first failure), then replay
 * the failure's schedule string once: it must repeat the execution exactly.
 */
export async function exploreVariant(
  name: string,
  variant: 'fixed' | 'broken',
  preemptions: number,
  maxExecutions: number,
): Promise<{ result: ExploreResult; replay: Execution | null }> {
  const e = entry(name);
  const run = await ControlledRun.open(e.script, distModule(e.rel));
  try {
    const bugs = variantMask(e.script, variant);
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
  } finally {
    await run.close();
  }
}
