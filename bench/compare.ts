// The scheme comparison, with saved baselines: `npm run bench -- [faultline bench options]
// [--save NAME] [--against NAME]`. Runs `faultline bench` (every scheme side by side), then
// optionally saves the JSON report as bench/baselines/NAME.json (with the machine it ran on)
// and compares each result with the same preset/scheme/threads in a saved baseline.
// Baselines are only ever written by this tool, never by hand.

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseBenchArgs } from '../src/cli/bench.js';
import { UsageError } from '../src/errors.js';
import { runBench } from '../src/harness/bench.js';
import { renderHtml } from '../src/harness/html.js';
import { reportJson, writeFileAtomic } from '../src/harness/report.js';
import { type BenchReport, type BenchResult, schemeLabel } from '../src/harness/results.js';
import { RunFailure } from '../src/harness/runner.js';
import { columns, fmtNs, fmtRate, fmtRatio, renderTable } from '../src/harness/table.js';

// dist/bench/compare.js → the package root is two levels up; from sources, one.
const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, here.includes(`${join('dist', 'bench')}`) ? '../..' : '..');
const baselines = join(root, 'bench', 'baselines');

function takeName(argv: string[], flag: string): string | null {
  const i = argv.indexOf(flag);
  if (i < 0) return null;
  const v = argv[i + 1];
  if (v === undefined || !/^[A-Za-z0-9._-]{1,80}$/.test(v)) {
    throw new UsageError(`${flag} ${v ?? ''}: allowed: a baseline name of A-Z a-z 0-9 . _ -`);
  }
  argv.splice(i, 2);
  return v;
}

const key = (r: BenchResult): string =>
  `${r.preset} ${schemeLabel(r)} ${r.threads} ${r.instrumentation}`;

/** Now against then, for every result both reports have. */
export function compareReports(now: BenchReport, then: BenchReport): string {
  const old = new Map(then.results.map((r) => [key(r), r]));
  const rows: string[][] = [
    ['preset', 'scheme', 'thr', 'faults/s', 'then', 'ratio', 'p99', 'then', 'ratio'],
  ];
  for (const r of now.results) {
    const b = old.get(key(r));
    if (b === undefined) continue;
    rows.push([
      r.preset,
      schemeLabel(r),
      String(r.threads),
      fmtRate(r.faultsPerSec),
      fmtRate(b.faultsPerSec),
      fmtRatio(r.faultsPerSec / b.faultsPerSec),
      fmtNs(r.faultLatencyNs.p99),
      fmtNs(b.faultLatencyNs.p99),
      fmtRatio(r.faultLatencyNs.p99 / b.faultLatencyNs.p99),
    ]);
  }
  const m = then.machine;
  return [
    `against the baseline from ${m.cores} cores (${m.cpuModel}), node ${m.node}:`,
    ...(rows.length === 1 ? ['  (no result in common)'] : columns(rows).map((l) => `  ${l}`)),
    '',
  ].join('\n');
}

/** Baselines live in the repository, which `npm run lint` checks: format them as biome does. */
function formatWithBiome(file: string): void {
  const biome = join(root, 'node_modules', '@biomejs', 'biome', 'bin', 'biome');
  if (!existsSync(biome)) return;
  try {
    execFileSync(process.execPath, [biome, 'format', '--write', file], { stdio: 'ignore' });
  } catch {
    process.stderr.write(`warning: could not format ${file} with biome; run npm run format\n`);
  }
}

async function compare(argv: string[]): Promise<number> {
  const save = takeName(argv, '--save');
  const against = takeName(argv, '--against');
  let then: BenchReport | null = null;
  if (against !== null) {
    const f = join(baselines, `${against}.json`);
    if (!existsSync(f))
      throw new UsageError(`--against ${against}: no ${f}; save one with --save ${against}`);
    then = JSON.parse(readFileSync(f, 'utf8')) as BenchReport;
  }
  const args = parseBenchArgs(argv);
  if (args === null) {
    process.stdout.write(
      'usage: npm run bench -- [faultline bench options] [--save NAME] [--against NAME]\n  --save NAME     save the report as bench/baselines/NAME.json\n  --against NAME  compare with bench/baselines/NAME.json\n(faultline bench --help lists the bench options)\n',
    );
    return 0;
  }
  const describe = (p: string): string =>
    args.options.workloads.find((w) => w.name === p)?.description ?? '';
  const report = await runBench({
    ...args.options,
    warn: (l) => process.stderr.write(`warning: ${l}\n`),
  });
  process.stdout.write(renderTable(report, describe));
  if (then !== null) process.stdout.write(`\n${compareReports(report, then)}`);
  if (args.json !== null) writeFileAtomic(args.json, reportJson(report));
  if (args.html !== null) writeFileAtomic(args.html, renderHtml(report, describe));
  if (save !== null) {
    const f = join(baselines, `${save}.json`);
    writeFileAtomic(f, reportJson(report));
    formatWithBiome(f);
    process.stdout.write(`baseline saved: ${f}\n`);
  }
  return 0;
}

compare(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`compare: ${err.message}\n`);
      process.exitCode = 2;
    } else if (err instanceof RunFailure) {
      process.stderr.write(`compare: run failed: ${err.message}\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(
        `compare: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
      );
      process.exitCode = 1;
    }
  },
);
