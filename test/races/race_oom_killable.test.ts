// Race script 4, oom-killable (src/harness/race/scripts/oom_killable.ts): the 2016
// down_write_killable deadlock under the controlled scheduler. Fixed, the killed writer leaves
// the mmap_lock queue, the OOM reaper frees the victim and the reader's fault gets its frame;
// broken (mmap-write-uninterruptible), reader, writer and reaper are all blocked: a deadlock,
// on every run. explore finds the deadlock without the schedule.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EINTR } from '../../src/errors.js';
import type { ControlledRun } from '../../src/harness/race/engine.js';
import { exploreVariant, openScript, raceVariant } from '../helpers/race_script.js';

describe('race oom-killable (script 4)', () => {
  let run: ControlledRun;
  beforeAll(async () => {
    run = await openScript('oom-killable');
  });
  afterAll(async () => {
    await run.close();
  });

  it('fixed: the victim goes, the reader gets memory; broken: every task blocked', async () => {
    const fixed = await raceVariant(run, 'fixed');
    const broken = await raceVariant(run, 'broken');
    expect(fixed.exec.verdict.ok, fixed.timeline).toBe(true);
    expect(fixed.exec.outcome).toBe('done');
    expect(fixed.exec.tasks.map((t) => [t.state, t.result])).toEqual([
      ['done', 0],
      ['done', EINTR],
      ['done', 0],
    ]);
    expect(fixed.exec.verdict.text).toMatch(
      /^the killed writer left with -EINTR, the reaper freed/,
    );
    expect(broken.exec.verdict.ok, broken.timeline).toBe(false);
    expect(broken.exec.outcome).toBe('deadlock');
    expect(broken.exec.tasks.map((t) => t.state)).toEqual(['blocked', 'blocked', 'blocked']);
    expect(broken.exec.verdict.text).toMatch(
      /^deadlock: remote reader, victim's munmap, oom reaper blocked for ever/,
    );
  });

  it('explore finds the deadlock of the broken variant without the schedule', async () => {
    const { result, replay } = await exploreVariant(run, 'broken', 2, 50);
    const f = result.firstFailure;
    expect(f?.outcome).toBe('deadlock');
    expect(f?.preemptions).toBe(0);
    expect(replay?.schedule).toBe(f?.schedule);
    expect(replay?.verdict).toEqual(f?.verdict);
  });
});
