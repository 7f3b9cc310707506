// bench/explore_all's flags: defaults, the script filter, and one-line UsageErrors for bad
// values. No searches here: the explore table itself is measured by the script, not by npm test.

import { describe, expect, it } from 'vitest';
import {
  EXPLORE_ALL_BUDGET,
  EXPLORE_ALL_MAX_BUDGET,
  parseExploreAllArgs,
} from '../../bench/explore_all_args.js';
import { UsageError } from '../../src/errors.js';
import { RACE_SCRIPTS } from '../../src/harness/race/registry.js';

const run = (argv: string[]) => {
  const p = parseExploreAllArgs(argv);
  if (p.kind !== 'run') throw new Error('expected a run');
  return p.args;
};

const usage = (argv: string[]): string => {
  try {
    parseExploreAllArgs(argv);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    const m = (e as Error).message;
    expect(m).not.toMatch(/\n/);
    return m;
  }
  throw new Error(`no error for ${argv.join(' ')}`);
};

describe('bench:explore arguments', () => {
  it('defaults to every shipped script, in the registry order, with one budget for both', () => {
    const a = run([]);
    expect(a.scripts).toEqual(RACE_SCRIPTS.map((e) => e.script.name));
    expect(a).toMatchObject({ budget: EXPLORE_ALL_BUDGET, fixedBudget: EXPLORE_ALL_BUDGET });
    expect(parseExploreAllArgs(['--help']).kind).toBe('help');
  });

  it('keeps the registry order, drops duplicates, and takes the budgets', () => {
    const a = run(['--only', 'refcount-limit,v6-detach,v6-detach', '--budget', '7']);
    expect(a.scripts).toEqual(['v6-detach', 'refcount-limit']);
    expect(a).toMatchObject({ budget: 7, fixedBudget: 7 });
    expect(run(['--budget', '9', '--fixed-budget', '3'])).toMatchObject({
      budget: 9,
      fixedBudget: 3,
    });
  });

  it('names the bad value and what is allowed', () => {
    expect(usage(['--only', 'nope'])).toMatch(
      /--only: unknown race script .*nope.*allowed: v6-detach/,
    );
    expect(usage(['--only', 'v6-detach,'])).toMatch(/empty item/);
    expect(usage(['--budget', '0'])).toMatch(/--budget 0: allowed: an integer 1\.\./);
    expect(usage(['--budget', 'x'])).toMatch(/--budget/);
    expect(usage(['--fixed-budget', String(EXPLORE_ALL_MAX_BUDGET + 1)])).toMatch(/--fixed-budget/);
    expect(usage(['--frobnicate'])).toMatch(/frobnicate/);
    expect(usage(['stray'])).toMatch(/stray|argument/);
  });
});
