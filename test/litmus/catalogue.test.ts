// Every catalogue litmus test, briefly, on real threads: no FORBIDDEN outcome in a fixed test;
// in each broken variant its FORBIDDEN outcome shows up (the run stops at the first one, so a
// generous bound costs nothing when the bug shows early); the plain-access store buffering
// outcome (sb.plain: r0 = r1 = 0) shows up on this machine. The other plain-access shapes are
// left to `faultline litmus`: every outcome of theirs is allowed, so here they could not fail.

import { describe, expect, it } from 'vitest';
import { CATALOGUE } from '../../src/harness/litmus/catalogue/index.js';
import { type LitmusResult, runLitmus } from '../../src/harness/litmus/run.js';

/** Instances for a fixed test: one round of its own size, at most this many (fewer actors' worth). */
const FIXED = 128;
const fixedRun = (actors: number): number => (actors > 2 ? FIXED / 2 : FIXED);
/** The bound for a broken variant or a hoped-for outcome (the run stops once it shows). */
const SEARCH = 20_000;

function shown(r: LitmusResult): string {
  return r.rows.map((x) => `${x.outcome}: ${x.count} ${x.expect}`).join('; ');
}

describe('litmus catalogue', () => {
  for (const t of CATALOGUE.filter((x) => !x.name.endsWith('.plain'))) {
    if (t.bugs.length === 0) {
      it(`${t.name}: no FORBIDDEN outcome`, async () => {
        const n = Math.min(fixedRun(t.actors.length), t.instances);
        const r = await runLitmus(t, { iterations: n });
        expect(r.forbidden, shown(r)).toBe(0);
        expect(r.passed).toBe(true);
        expect(r.rows.reduce((s, x) => s + x.count, 0)).toBe(r.iterations);
        expect(r.iterations).toBeGreaterThanOrEqual(n);
      });
    } else {
      it(`${t.name}: the broken variant shows its FORBIDDEN outcome`, async () => {
        const r = await runLitmus(t, { iterations: SEARCH, stopOnFirst: true });
        console.log(`${t.name}: FORBIDDEN after ${r.iterations} instances: ${shown(r)}`);
        expect(r.forbidden, shown(r)).toBeGreaterThan(0);
        expect(r.passed).toBe(true);
      });
    }
  }

  it('sb.plain: store buffering (r0 = r1 = 0) shows up with plain accesses', async () => {
    const t = CATALOGUE.find((x) => x.name === 'sb.plain')!;
    const r = await runLitmus(t, { iterations: SEARCH, stopOnFirst: true });
    console.log(`sb.plain: r0 = r1 = 0 after ${r.iterations} instances: ${shown(r)}`);
    expect(r.hoped?.count, shown(r)).toBeGreaterThan(0);
  });
});

describe('litmus catalogue: names', () => {
  it('NAME selects the test and its family', async () => {
    const { selectLitmus } = await import('../../src/harness/litmus/catalogue/index.js');
    const names = (n: string): string[] => selectLitmus(n).map((t) => t.name);
    expect(names('sb')).toEqual(['sb', 'sb.plain']);
    expect(names('sb.plain')).toEqual(['sb.plain']);
    expect(names('2+2w')).toEqual(['2+2w', '2+2w.plain']);
    expect(names('rcuwait')).toEqual([
      'rcuwait',
      'rcuwait+rcuwait-plain-ordering',
      'rcuwait+rcuwait-check-before-publish',
    ]);
    expect(names('refcount-limited+refcount-unlimited')).toEqual([
      'refcount-limited+refcount-unlimited',
    ]);
    expect(names('vma-detach')).toEqual(['vma-detach', 'vma-detach+detach-no-wait']);
    expect(names('srcu')).toEqual(['srcu', 'srcu+srcu-skip-first-index']);
    expect(names('nope')).toEqual([]);
    expect(new Set(CATALOGUE.map((t) => t.name)).size).toBe(CATALOGUE.length);
  });
});
