// bench/catch_rate's flags: defaults, the catalogue filter, and one-line UsageErrors for bad
// values. No runs here: the catch rates themselves are measured by the script, not by npm test.

import { describe, expect, it } from 'vitest';
import { parseCatchRateArgs } from '../../bench/catch_rate_args.js';
import { UsageError } from '../../src/errors.js';
import { BUGS } from '../../src/sched/bugs.js';

const run = (argv: string[]) => {
  const p = parseCatchRateArgs(argv);
  if (p.kind !== 'run') throw new Error('expected a run');
  return p.args;
};

const usage = (argv: string[]): string => {
  try {
    parseCatchRateArgs(argv);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    const m = (e as Error).message;
    expect(m).not.toMatch(/\n/);
    return m;
  }
  throw new Error(`no error for ${argv.join(' ')}`);
};

describe('bench:catch-rate arguments', () => {
  it('defaults to every catalogue entry, 10 runs of 30 s from seed 1', () => {
    const a = run([]);
    expect(a.bugs).toEqual(BUGS.map((b) => b.name));
    expect(a).toMatchObject({ runs: 10, durationMs: 30_000, firstSeed: 1, json: null });
    expect(run(['--bugs', 'all']).bugs).toEqual(a.bugs);
  });

  it('keeps the catalogue order and drops duplicates', () => {
    const a = run(['--bugs', 'no-range-recheck,put-no-mmgrab,put-no-mmgrab', '--runs', '3']);
    expect(a.bugs).toEqual(['put-no-mmgrab', 'no-range-recheck']);
    expect(a.runs).toBe(3);
    expect(run(['--duration', '500ms', '--first-seed', '7'])).toMatchObject({
      durationMs: 500,
      duration: '500ms',
      firstSeed: 7,
    });
  });

  it('rejects bad values naming the value and what is allowed', () => {
    expect(usage(['--bugs', 'nope'])).toMatch(/--bugs: unknown bug nope; allowed: all, /);
    expect(usage(['--bugs', 'put-no-mmgrab,'])).toMatch(/--bugs .*empty item/);
    expect(usage(['--runs', '0'])).toMatch(/--runs 0: allowed: an integer 1\.\.1000/);
    expect(usage(['--runs', 'x'])).toMatch(/--runs x/);
    expect(usage(['--duration', '1ms'])).toMatch(/--duration 1ms: allowed: a time/);
    expect(usage(['--first-seed', '-1'])).toMatch(/--first-seed/);
    expect(usage(['--json', '/no/such/dir/x.json'])).toMatch(/--json .*does not exist/);
    expect(usage(['--frobnicate'])).toMatch(/unknown option --frobnicate/);
    expect(usage(['--runs', '2', '--runs', '3'])).toMatch(/--runs given twice/);
  });

  it('answers --help without running', () => {
    expect(parseCatchRateArgs(['--help']).kind).toBe('help');
  });
});
