// Race script 9, maps-split (src/harness/race/scripts/maps_split.ts): the per-VMA
// /proc/pid/maps walk racing a split. Fixed, the walk re-checks for a gap after locking and
// reports both halves; broken (maps-no-gap-check), pages mapped throughout are missing. The
// check tells a false gap (a bug) from a VMA reported twice (allowed).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlledRun } from '../../src/harness/race/engine.js';
import { classify } from '../../src/harness/race/scripts/maps_split.js';
import { exploreVariant, openScript, raceVariant } from '../helpers/race_script.js';

describe('race maps-split (script 9)', () => {
  let run: ControlledRun;
  beforeAll(async () => {
    run = await openScript('maps-split');
  });
  afterAll(async () => {
    await run.close();
  });

  it('fixed: both halves, no gap; broken: a false gap', async () => {
    const fixed = await raceVariant(run, 'fixed');
    const broken = await raceVariant(run, 'broken');
    expect(fixed.exec.verdict.ok, fixed.timeline).toBe(true);
    expect(fixed.exec.verdict.text).toBe('every page reported once, no gap (1000-1005 1005-1010)');
    expect(broken.exec.verdict.ok, broken.timeline).toBe(false);
    expect(broken.exec.verdict.text).toBe(
      'false gap: pages 1000..1004 were mapped throughout but not reported (1005-1010)',
    );
  });

  it('a page reported twice is allowed, a page missing is not', () => {
    expect(
      classify([
        [1000, 1005],
        [1000, 1010],
      ]),
    ).toEqual({
      missing: [],
      twice: [1000, 1001, 1002, 1003, 1004],
    });
    expect(classify([[1005, 1010]])).toEqual({
      missing: [1000, 1001, 1002, 1003, 1004],
      twice: [],
    });
    expect(classify([[1000, 1010]])).toEqual({ missing: [], twice: [] });
  });

  it('explore finds the false gap at one preemption without the schedule', async () => {
    const { result, replay } = await exploreVariant(run, 'broken', 1, 400);
    const f = result.firstFailure;
    expect(f?.verdict.text).toMatch(/^false gap: pages 1000\.\.1004/);
    expect(f?.preemptions).toBe(1);
    expect(replay?.schedule).toBe(f?.schedule);
    expect(replay?.verdict).toEqual(f?.verdict);
  });
});
