// Race script 11, rwsem-killed-waiter (src/harness/race/scripts/rwsem_killed_waiter.ts): a
// killed first rwsem waiter must wake the reader queued behind it (the 2022 out_nolock fix).
// Broken (rwsem-killed-no-wake), the reader is never woken: a deadlock, on every run.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EINTR } from '../../src/errors.js';
import type { ControlledRun } from '../../src/harness/race/engine.js';
import { exploreVariant, openScript, raceVariant } from '../helpers/race_script.js';

describe('race rwsem-killed-waiter (script 11)', () => {
  let run: ControlledRun;
  beforeAll(async () => {
    run = await openScript('rwsem-killed-waiter');
  });
  afterAll(async () => {
    await run.close();
  });

  it('fixed: the reader behind the killed writer is woken; broken: it never is', async () => {
    const fixed = await raceVariant(run, 'fixed');
    const broken = await raceVariant(run, 'broken');
    expect(fixed.exec.verdict.ok, fixed.timeline).toBe(true);
    expect(fixed.exec.outcome).toBe('done');
    expect(fixed.exec.tasks.map((t) => [t.state, t.result])).toEqual([
      ['done', 0],
      ['done', EINTR],
      ['done', 0],
    ]);
    expect(fixed.exec.verdict.text).toBe(
      'the killed writer left (-EINTR) and woke the reader behind it, which got the lock',
    );
    expect(broken.exec.verdict.ok, broken.timeline).toBe(false);
    expect(broken.exec.outcome).toBe('deadlock');
    expect(broken.exec.tasks.map((t) => [t.state, t.result])).toEqual([
      ['blocked', 0],
      ['done', EINTR],
      ['blocked', 0],
    ]);
    expect(broken.exec.verdict.text).toMatch(
      /^deadlock: reader \(holds\) and reader behind blocked/,
    );
  });

  it('explore finds the lost wake-up at one preemption without the schedule', async () => {
    const { result, replay } = await exploreVariant(run, 'broken', 2, 200);
    const f = result.firstFailure;
    expect(f?.outcome).toBe('deadlock');
    expect(f?.preemptions).toBe(1);
    expect(replay?.schedule).toBe(f?.schedule);
    expect(replay?.verdict).toEqual(f?.verdict);
  });
});
