// The explore table: for every shipped race script, how much search `faultline explore` needs to
// find the broken variant's bug without its schedule, and whether the fixed variant's search at
// two preemptions is exhausted with no failure.
// `npm run bench:explore -- [--only NAME[,NAME…]] [--budget N] [--fixed-budget N]`
//
// Broken variant: DFS with preemption bound K = 0, 1, 2, 3 in turn (each one search, as
// `faultline explore NAME --preemptions K` runs it, stopped at its first failure), until one
// finds the bug; a search that reaches the budget without a failure ends the row (a larger K
// would run the same schedules first). Fixed variant: DFS at K = 2 until it is exhausted or
// reaches its budget (--fixed-budget, by default the same). The budget counts judged executions,
// as --max-executions does; the
// executions the sleep sets end early are counted beside them.
//
// Execution counts are deterministic: the DFS visits the schedules in a fixed order, and every
// execution of a given schedule takes the same steps (test/races/replay_determinism.test.ts).
// Times are not: they depend on the machine and its load, printed with the table.

import { availableParallelism, loadavg } from 'node:os';
import { UsageError } from '../src/errors.js';
import { compiledModule } from '../src/harness/paths.js';
import { ControlledRun, variantMask } from '../src/harness/race/engine.js';
import { type ExploreResult, explore } from '../src/harness/race/explore.js';
import { script_by_name } from '../src/harness/race/registry.js';
import type { RaceScript } from '../src/harness/race/scenario.js';
import { EXPLORE_ALL_USAGE, type ExploreAllArgs, parseExploreAllArgs } from './explore_all_args.js';

/** The bounds the broken variant's searches try, in turn. */
const BROKEN_KS = [0, 1, 2, 3] as const;
/** The fixed variant's bound. */
const FIXED_K = 2;

const load = (): string =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

const n = (x: number): string => x.toLocaleString('en-US');
const secs = (ms: number): string => (ms / 1000).toFixed(1);

interface Search {
  readonly k: number;
  readonly r: ExploreResult | null;
  readonly error: string | null;
}

/** Open a variant's task threads, run the searches `body` asks for, always close them. */
async function withRun<T>(
  script: RaceScript,
  rel: string,
  variant: 'fixed' | 'broken',
  body: (run: ControlledRun) => Promise<T>,
): Promise<T> {
  const run = await ControlledRun.open(script, compiledModule(rel), variant);
  try {
    return await body(run);
  } finally {
    await run.close();
  }
}

async function search(
  run: ControlledRun,
  script: RaceScript,
  variant: 'fixed' | 'broken',
  k: number,
  budget: number,
  stopAtFailure: boolean,
): Promise<ExploreResult> {
  return explore(run, {
    strategy: 'dfs',
    preemptions: k,
    maxExecutions: budget,
    seed: 1,
    depth: 3,
    bugs: variantMask(script, variant),
    stopAtFailure,
  });
}

const errorText = (e: unknown): string =>
  (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 200);

function describe(s: Search, budget: number): string {
  if (s.r === null) return `K=${s.k}: error: ${s.error}`;
  const r = s.r;
  const end =
    r.firstFailure !== null
      ? `failure at ${r.firstFailure.preemptions} preemption(s)`
      : r.exhausted
        ? 'exhausted, no failure'
        : `budget reached (${n(budget)} judged)`;
  return `K=${s.k}: ${n(r.executions)} executions (${n(r.pruned)} ended early), ${secs(r.elapsedMs)} s, up to ${r.maxSteps} steps: ${end}`;
}

async function exploreAll(argv: readonly string[]): Promise<number> {
  const parsed = parseExploreAllArgs(argv);
  if (parsed.kind === 'help') {
    process.stdout.write(`usage: ${EXPLORE_ALL_USAGE}\n`);
    return 0;
  }
  const a: ExploreAllArgs = parsed.args;
  const before = load();
  const t0 = performance.now();
  const brokenRows: string[] = [];
  const fixedRows: string[] = [];
  const replays: string[] = [];
  let bad = 0;
  for (const name of a.scripts) {
    const e = script_by_name(name);
    if (e === null) throw new UsageError(`--only: unknown race script ${name}`);
    const script = e.script;
    process.stderr.write(`${name} (load ${load()})\n`);

    // Broken: K = 0, 1, 2, 3 until a failure, a budget reached or an error.
    const broken: Search[] = [];
    try {
      await withRun(script, e.rel, 'broken', async (run) => {
        for (const k of BROKEN_KS) {
          let s: Search;
          try {
            s = { k, r: await search(run, script, 'broken', k, a.budget, true), error: null };
          } catch (err) {
            s = { k, r: null, error: errorText(err) };
          }
          broken.push(s);
          process.stderr.write(`  broken ${describe(s, a.budget)}\n`);
          if (s.r === null || s.r.firstFailure !== null || !s.r.exhausted) break;
        }
      });
    } catch (err) {
      broken.push({ k: -1, r: null, error: errorText(err) });
      process.stderr.write(`  broken: error: ${errorText(err)}\n`);
    }
    const last = broken[broken.length - 1];
    const f = last?.r?.firstFailure ?? null;
    const lower = broken
      .filter((s) => s !== last && s.r !== null)
      .map((s) => `K=${s.k}: ${n(s.r!.executions)}`)
      .join(', ');
    if (last !== undefined && last.r !== null && f !== null) {
      brokenRows.push(
        `| \`${name}\` | ${last.k} | ${n(last.r.executions)} (${n(last.r.pruned)}) | ${secs(last.r.elapsedMs)} | ${f.preemptions} | ${lower === '' ? '—' : lower} |`,
      );
      replays.push(
        `- \`${name}\`: \`faultline explore ${name} --variant broken --replay ${f.schedule}\``,
      );
    } else {
      bad++;
      const why =
        last === undefined
          ? 'no search ran'
          : last.r === null
            ? `error: ${last.error}`
            : `not found: ${describe(last, a.budget)}`;
      brokenRows.push(`| \`${name}\` | — | ${why} | | | ${lower === '' ? '—' : lower} |`);
    }

    // Fixed: K = 2 to exhaustion or the budget.
    let fixed: Search;
    try {
      fixed = await withRun(script, e.rel, 'fixed', async (run) => {
        try {
          return {
            k: FIXED_K,
            r: await search(run, script, 'fixed', FIXED_K, a.fixedBudget, false),
            error: null,
          };
        } catch (err) {
          return { k: FIXED_K, r: null, error: errorText(err) };
        }
      });
    } catch (err) {
      fixed = { k: FIXED_K, r: null, error: errorText(err) };
    }
    process.stderr.write(`  fixed ${describe(fixed, a.fixedBudget)}\n`);
    if (fixed.r === null) {
      bad++;
      fixedRows.push(`| \`${name}\` | ${FIXED_K} | error: ${fixed.error} | | | |`);
    } else {
      const r = fixed.r;
      const ff = r.firstFailure;
      if (ff !== null) {
        bad++;
        process.stderr.write(
          `  FIXED VARIANT FAILS (a bug): ${ff.verdict.text}; replay: faultline explore ${name} --variant fixed --replay ${ff.schedule}\n`,
        );
      }
      const end =
        ff !== null
          ? `**FAILS** (${r.failures}): ${ff.verdict.text}`
          : r.exhausted
            ? 'exhausted, no failure'
            : 'budget reached, no failure';
      const outs = r.outcomes.map((o) => `${o.ok ? '' : 'FAIL '}${o.text} ×${n(o.count)}`);
      process.stderr.write(`    outcomes: ${outs.join('; ')}\n`);
      fixedRows.push(
        `| \`${name}\` | ${FIXED_K} | ${n(r.executions)} (${n(r.pruned)}) | ${secs(r.elapsedMs)} | ${r.outcomes.length} | ${end} |`,
      );
    }
  }
  const after = load();
  const command = `npm run bench:explore -- --only ${a.scripts.join(',')} --budget ${a.budget} --fixed-budget ${a.fixedBudget}`;
  const out = [
    '',
    `cores ${availableParallelism()}, node ${process.version}, load average (1, 5, 15 min) before ${before}, after ${after}; ${secs(performance.now() - t0)} s in all`,
    `command: ${command}`,
    'executions are deterministic (a fixed DFS order); seconds depend on the machine and its load',
    '',
    `broken variants: DFS at K = ${BROKEN_KS.join(', ')} in turn, each stopped at its first failure; budget ${n(a.budget)} judged executions per search`,
    '',
    '| script | found at K | executions to the first failure (ended early) | s | preemptions of the failing schedule | smaller K, exhausted clean: executions |',
    '|---|---|---|---|---|---|',
    ...brokenRows,
    '',
    `fixed variants: DFS at K = ${FIXED_K} to exhaustion or the budget (${n(a.fixedBudget)} judged executions)`,
    '',
    '| script | K | executions (ended early) | s | distinct outcomes | result |',
    '|---|---|---|---|---|---|',
    ...fixedRows,
    '',
    'failing schedules of the broken variants:',
    ...replays,
    '',
  ].join('\n');
  process.stdout.write(out);
  return bad === 0 ? 0 : 1;
}

exploreAll(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`bench:explore: ${err.message.replace(/\s*[\r\n]+\s*/g, ' ')}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(
        `bench:explore: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
      );
      process.exitCode = 1;
    }
  },
);
