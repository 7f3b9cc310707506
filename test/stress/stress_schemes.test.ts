// The fixed code under stress: every scheme runs the mixed workload for a few seconds with
// chaos aimed at every race window at once (the delay points of every catalogue entry), CPU
// hogs, SIGKILLs and spurious wake-ups — and every error counter must stay zero, no lost
// wake-up, while every role really worked. Breaking one re-check in vma_start_read fails this
// (checked by hand: see the issue-8 report).

import { describe, expect, it } from 'vitest';
import { BUG_DEFAULTS } from '../../src/harness/stress/bug_defaults.js';
import { CHECK_NAMES } from '../../src/harness/stress/checker.js';
import { runStress } from '../../src/harness/stress/engine.js';
import { MIXED } from '../../src/harness/stress/workload.js';
import type { PointName } from '../../src/sched/points.js';
import { SCHEMES } from '../../src/workload/world.js';

/** Every catalogue entry's targeted points for this scheme, at their strongest. */
function pointsFor(scheme: string): Partial<Record<PointName, number>> {
  const p: Partial<Record<PointName, number>> = {};
  for (const d of Object.values(BUG_DEFAULTS)) {
    if (d.scheme !== scheme && scheme !== 'vma_rwsem') continue;
    for (const [k, v] of Object.entries(d.points) as Array<[PointName, number]>) {
      p[k] = Math.max(p[k] ?? 0, v);
    }
  }
  return p;
}

describe.each(SCHEMES)('stress %s, fixed code', (scheme) => {
  it('keeps every counter at zero under targeted chaos, kills and spurious wake-ups', async () => {
    const r = await runStress({
      schemes: [scheme],
      workload: MIXED,
      threads: 3,
      durationMs: 2000,
      opsPerFaulter: 0,
      seed: 8,
      chaos: 'light',
      points: { ...pointsFor(scheme), WRITE_LOCKED: 0.3, BEFORE_REF_INC: 0.2 },
      killRate: 300,
      hogs: 1,
      // short lives, so that whole-mm exits happen within the 2 s even on a loaded machine
      exiterSteps: 2,
      bugs: [],
      checkEveryMs: 250,
      commandLine: 'test',
    });
    const s = r.results[0]!;
    const detail = s.violations.map((v) => `${v.check}: ${v.message}`).join('\n');
    expect(detail).toBe('');
    expect(s.ok).toBe(true);
    expect(s.lostWakeups).toBe(0);
    for (const c of CHECK_NAMES) expect(s.errors[c], c).toBe(0);
    // Not vacuous: quiescent checks ran, every role worked, chaos and kills happened.
    expect(s.checksRun).toBeGreaterThan(1);
    for (const k of [
      'faulter.fault',
      'writer.munmap',
      'writer.mprotect',
      'writer.maps',
      'exiter.exit_mmap',
    ]) {
      expect(s.ops[k] ?? 0, k).toBeGreaterThan(0);
    }
    expect(s.counters['CHAOS_DELAY']).toBeGreaterThan(0);
    expect(
      (s.counters['CHAOS_KILL'] ?? 0) + (s.counters['CHAOS_SPURIOUS_WAKE'] ?? 0),
    ).toBeGreaterThan(0);
  });
});
