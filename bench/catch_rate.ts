// How often `faultline stress --inject-bug NAME` catches each catalogue entry, and how fast: the
// figures behind the README's catch-rate table.
// `npm run bench:catch-rate -- [--bugs a,b|all] [--runs N] [--duration 30s] [--first-seed N] [--json F]`
//
// Each run is exactly `faultline stress --inject-bug NAME --seed S --duration D`: the flags go
// through the CLI's own parser (parseStressArgs, so the entry's BugDefault applies as it does on
// the command line) and the engine runs what it returns. Runs are sequential: a catch rate
// measured with two runs competing for the cores would not be the CLI's. The machine's core
// count and load average are printed with the table, since a shared machine changes the rates.

import { availableParallelism, loadavg } from 'node:os';
import { parseStressArgs } from '../src/cli/stress.js';
import { UsageError } from '../src/errors.js';
import { writeFileAtomic } from '../src/harness/report.js';
import { bugDefault } from '../src/harness/stress/bug_defaults.js';
import { runStress } from '../src/harness/stress/engine.js';
import { CATCH_RATE_USAGE, type CatchRateArgs, parseCatchRateArgs } from './catch_rate_args.js';

interface RunResult {
  readonly bug: string;
  readonly seed: number;
  readonly commandLine: string;
  readonly caught: boolean;
  /** ms into the run of the first violation (null: none) */
  readonly atMs: number | null;
  readonly check: string | null;
  readonly kind: string | null;
  readonly message: string | null;
  readonly wallMs: number;
}

const load = (): string =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function runOne(bug: string, seed: number, a: CatchRateArgs): Promise<RunResult> {
  const parsed = parseStressArgs([
    '--inject-bug',
    bug,
    '--seed',
    String(seed),
    '--duration',
    a.duration,
    '--no-progress',
  ]);
  if (parsed.kind !== 'run') throw new Error(`stress flags for ${bug} did not parse to a run`);
  const o = parsed.args.options;
  const commandLine = parsed.args.rerun(seed);
  const t0 = performance.now();
  const report = await runStress({ ...o, commandLine });
  const wallMs = Math.round(performance.now() - t0);
  const v = report.results.flatMap((r) => r.violations)[0];
  return {
    bug,
    seed,
    commandLine,
    caught: !report.ok,
    atMs: v?.atMs ?? null,
    check: v?.check ?? null,
    kind: v?.kind ?? null,
    message: v?.message ?? null,
    wallMs,
  };
}

function row(bug: string, rs: readonly RunResult[]): string {
  const d = bugDefault(bug);
  const caught = rs.filter((r) => r.caught);
  const med =
    caught.length > 0 ? `${(median(caught.map((r) => r.atMs ?? 0)) / 1000).toFixed(1)} s` : '—';
  const checks = new Map<string, number>();
  for (const r of caught) checks.set(r.check ?? '?', (checks.get(r.check ?? '?') ?? 0) + 1);
  const by = [...checks.entries()]
    .sort((x, y) => y[1] - x[1])
    .map(([c, n]) => `${c} ×${n}`)
    .join(', ');
  return `| ${bug} | ${d.scheme} / ${d.preset} / ${d.chaos} | ${caught.length}/${rs.length} | ${med} | ${by === '' ? '—' : by} |`;
}

async function catchRate(argv: readonly string[]): Promise<number> {
  const parsed = parseCatchRateArgs(argv);
  if (parsed.kind === 'help') {
    process.stdout.write(`usage: ${CATCH_RATE_USAGE}\n`);
    return 0;
  }
  const a = parsed.args;
  const before = load();
  const command = `npm run bench:catch-rate -- --bugs ${a.bugs.join(',')} --runs ${a.runs} --duration ${a.duration} --first-seed ${a.firstSeed}${a.json !== null ? ` --json ${a.json}` : ''}`;
  const all: RunResult[] = [];
  const rows: string[] = [];
  for (const bug of a.bugs) {
    const rs: RunResult[] = [];
    for (let i = 0; i < a.runs; i++) {
      const r = await runOne(bug, a.firstSeed + i, a);
      rs.push(r);
      all.push(r);
      process.stderr.write(
        `${bug} seed ${r.seed}: ${r.caught ? `caught at ${((r.atMs ?? 0) / 1000).toFixed(1)} s by ${r.check}` : 'not caught'}\n`,
      );
    }
    rows.push(row(bug, rs));
  }
  const after = load();
  const out = [
    `cores ${availableParallelism()}, node ${process.version}, load average before ${before}, after ${after}`,
    `command: ${command}`,
    '',
    `| bug | scheme / workload / chaos | caught within ${a.duration} | median time to catch | checks that caught it |`,
    '|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
  process.stdout.write(out);
  if (a.json !== null) {
    writeFileAtomic(
      a.json,
      `${JSON.stringify(
        {
          command,
          cores: availableParallelism(),
          node: process.version,
          loadBefore: before,
          loadAfter: after,
          durationMs: a.durationMs,
          runs: all,
        },
        null,
        2,
      )}\n`,
    );
    process.stdout.write(`json: ${a.json}\n`);
  }
  return 0;
}

catchRate(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`catch-rate: ${err.message.replace(/\s*[\r\n]+\s*/g, ' ')}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(
        `catch-rate: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
      );
      process.exitCode = 1;
    }
  },
);
