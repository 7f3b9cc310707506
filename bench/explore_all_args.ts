// The flags of `npm run bench:explore` (bench/explore_all.ts), apart from the searches so that a
// unit test can check them without starting any. Bad input is one UsageError naming the value
// and what is allowed (exit 2).

import { parseFlags, parseIntArg, parseNames } from '../src/cli/common.js';
import { RACE_SCRIPTS } from '../src/harness/race/registry.js';

export const EXPLORE_ALL_USAGE =
  'npm run bench:explore -- [--only NAME[,NAME…]] [--budget N] [--fixed-budget N]';

/** The default budget: executions judged per search (the sleep sets' early ends not counted). */
export const EXPLORE_ALL_BUDGET = 50_000;
export const EXPLORE_ALL_MAX_BUDGET = 10_000_000;

const OPTIONS = {
  only: { type: 'string' },
  budget: { type: 'string' },
  'fixed-budget': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface ExploreAllArgs {
  /** script names, in the registry's order */
  readonly scripts: readonly string[];
  /** executions judged per search of a broken variant */
  readonly budget: number;
  /** executions judged by the fixed variant's search (default: the budget) */
  readonly fixedBudget: number;
}

export type ParsedExploreAll =
  | { readonly kind: 'help' }
  | { readonly kind: 'run'; readonly args: ExploreAllArgs };

export function parseExploreAllArgs(argv: readonly string[]): ParsedExploreAll {
  const parsed = parseFlags('bench:explore', argv, OPTIONS);
  if (parsed.help) return { kind: 'help' };
  const v = parsed.values;
  const names = RACE_SCRIPTS.map((e) => e.script.name);
  let scripts = names;
  if (v.only !== undefined) {
    const want = parseNames('--only', v.only, names, 'race script');
    scripts = names.filter((n) => want.includes(n));
  }
  const budget =
    v.budget !== undefined
      ? parseIntArg('--budget', v.budget, 1, EXPLORE_ALL_MAX_BUDGET, 'executions per search')
      : EXPLORE_ALL_BUDGET;
  const fixedBudget =
    v['fixed-budget'] !== undefined
      ? parseIntArg('--fixed-budget', v['fixed-budget'], 1, EXPLORE_ALL_MAX_BUDGET, 'executions')
      : budget;
  return { kind: 'run', args: { scripts, budget, fixedBudget } };
}
