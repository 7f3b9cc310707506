// The flags of `npm run bench:catch-rate` (bench/catch_rate.ts), apart from the runs so that a
// unit test can check them without starting any. Every flag is checked before anything runs;
// bad input is one UsageError naming the value and what is allowed (exit 2).

import { parseDuration, parseFlags, parseIntArg, parseList } from '../src/cli/common.js';
import { STRESS_MAX_DURATION_MS } from '../src/cli/stress.js';
import { shownArg, UsageError } from '../src/errors.js';
import { checkOutputPath } from '../src/harness/report.js';
import { BUGS } from '../src/sched/bugs.js';

export const CATCH_RATE_USAGE =
  'npm run bench:catch-rate -- [--bugs a,b|all] [--runs N] [--duration 30s] [--first-seed N] [--json F]';

export const MAX_CATCH_RUNS = 1000;

const OPTIONS = {
  bugs: { type: 'string' },
  runs: { type: 'string' },
  duration: { type: 'string' },
  'first-seed': { type: 'string' },
  json: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface CatchRateArgs {
  /** catalogue names, in catalogue order */
  readonly bugs: readonly string[];
  readonly runs: number;
  readonly durationMs: number;
  /** seeds firstSeed .. firstSeed + runs - 1 */
  readonly firstSeed: number;
  readonly json: string | null;
  /** the duration as the user wrote it (passed on to `faultline stress --duration`) */
  readonly duration: string;
}

export type ParsedCatchRate =
  | { readonly kind: 'help' }
  | { readonly kind: 'run'; readonly args: CatchRateArgs };

export function parseCatchRateArgs(argv: readonly string[]): ParsedCatchRate {
  const parsed = parseFlags('bench:catch-rate', argv, OPTIONS);
  if (parsed.help) return { kind: 'help' };
  const v = parsed.values;
  const names = BUGS.map((b) => b.name);
  let bugs: string[];
  if (v.bugs === undefined || v.bugs.trim() === 'all') bugs = [...names];
  else {
    const want = parseList('--bugs', v.bugs, `all or names from ${names.join(', ')}`);
    for (const n of want) {
      if (!names.includes(n)) {
        throw new UsageError(
          `--bugs: unknown bug ${shownArg(n)}; allowed: all, ${names.join(', ')}`,
        );
      }
    }
    bugs = names.filter((n) => want.includes(n));
  }
  const runs =
    v.runs !== undefined ? parseIntArg('--runs', v.runs, 1, MAX_CATCH_RUNS, 'runs per bug') : 10;
  const duration = v.duration ?? '30s';
  const durationMs = parseDuration('--duration', duration, 200, STRESS_MAX_DURATION_MS);
  const firstSeed =
    v['first-seed'] !== undefined
      ? parseIntArg('--first-seed', v['first-seed'], 0, 0x7fffffff - MAX_CATCH_RUNS)
      : 1;
  if (v.json !== undefined) checkOutputPath('--json', v.json);
  return {
    kind: 'run',
    args: { bugs, runs, durationMs, firstSeed, json: v.json ?? null, duration: duration.trim() },
  };
}
