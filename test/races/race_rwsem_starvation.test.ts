// Race script 10, rwsem-starvation (src/harness/race/scripts/rwsem_starvation.ts): readers
// stealing the lock from a queued writer. With HANDOFF no reader gets in once the writer has
// waited past its timeout (counted on the scenario's own clock, so it falls at the same step
// every run); without it (rwsem-no-handoff) the readers take the lock three more times.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlledRun } from '../../src/harness/race/engine.js';
import { exploreVariant, openScript, raceVariant } from '../helpers/race_script.js';

describe('race rwsem-starvation (script 10)', () => {
  let run: ControlledRun;
  beforeAll(async () => {
    run = await openScript('rwsem-starvation');
  });
  afterAll(async () => {
    await run.close();
  });

  it('fixed: HANDOFF ends the steals at the timeout; broken: the writer comes last', async () => {
    const fixed = await raceVariant(run, 'fixed');
    const broken = await raceVariant(run, 'broken');
    expect(fixed.exec.verdict.ok, fixed.timeline).toBe(true);
    expect(fixed.exec.outcome).toBe('done');
    expect(fixed.exec.verdict.text).toBe(
      'the writer (queued at 0 ms, timeout 4 ms) timed out at step 63; no reader got in after that (HANDOFF); it got in after 3 of 6 sections',
    );
    expect(broken.exec.verdict.ok, broken.timeline).toBe(false);
    expect(broken.exec.outcome).toBe('done');
    expect(broken.exec.verdict.text).toBe(
      'writer starvation: the writer (queued at 0 ms, timeout 4 ms) timed out at step 61, and readers still took the lock 3 more times before it (it got in after 6 of 6 sections)',
    );
    // the timeline shows where the writer timed out
    expect(fixed.timeline).toContain('▸ rwsem_try_write_lock:timed_out');
  });

  it('explore finds the starvation without the schedule', async () => {
    const { result, replay } = await exploreVariant(run, 'broken', 2, 200);
    const f = result.firstFailure;
    expect(f?.verdict.text).toMatch(/^writer starvation: /);
    expect(f?.preemptions).toBe(0);
    expect(replay?.schedule).toBe(f?.schedule);
    expect(replay?.verdict).toEqual(f?.verdict);
  });
});
