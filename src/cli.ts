#!/usr/bin/env node
// The command line. `faultline` alone is `faultline bench` on the default set. Exit codes: 0 on
// success, 1 when a run fails (a worker error, the watchdog), 2 on bad input with one line that
// names the bad value and what is allowed. Reports are written only after every run succeeded,
// each to a temporary file renamed into place.

import { readFileSync, realpathSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { exploreMain } from './cli/explore.js';
import { raceMain } from './cli/race.js';
import { UsageError } from './errors.js';
import { type BenchOptions, runBench } from './harness/bench.js';
import { renderHtml } from './harness/html.js';
import { checkOutputPath, reportJson, writeFileAtomic } from './harness/report.js';
import { RunFailure } from './harness/runner.js';
import { renderTable } from './harness/table.js';
import { DEFAULT_PRESETS, PRESET_NAMES, PRESETS, type PresetName } from './workload/presets.js';
import { checkFits } from './workload/setup.js';
import { parseWorkload, type WorkloadSpec } from './workload/spec.js';
import { SCHEMES, type SchemeName } from './workload/world.js';

const COMMANDS = ['bench', 'stress', 'race', 'litmus', 'explore', 'help'] as const;

/** The later commands DESIGN.md names: their planned usage, printed by --help. */
const LATER: Record<string, string> = {
  stress:
    'faultline stress [--scheme S|all] [--duration 60s] [--threads N] [--seed N] [--chaos] [--inject-bug B]',
  race: 'faultline race [NAME|--list]',
  litmus: 'faultline litmus [NAME|--list] [--iterations N]',
  explore: 'faultline explore NAME [--preemptions 2]',
};

export const DEFAULT_DURATION_MS = 400;
/** Unmeasured warm-up at the start of each run, so the JIT has compiled the fault path. */
export const DEFAULT_WARMUP_MS = 300;
export const MAX_THREADS = 256;

/** Default thread counts: 1 and every core (a two-point scaling sweep), at most 4. */
export function defaultThreads(): number[] {
  const n = Math.min(4, Math.max(1, availableParallelism()));
  return n === 1 ? [1] : [1, n];
}

const MAIN_HELP = `faultline: the Linux kernel's mm locking (mmap_lock, per-VMA locks, RCU, SRCU) on real threads

usage: faultline [COMMAND] [OPTIONS]

commands:
  bench     every locking scheme side by side on workloads (the default command)
  stress    later work, not implemented yet
  race      the mailing-list races as deterministic scripts, fixed and broken (--list)
  litmus    later work, not implemented yet
  explore   every interleaving of a small scenario within a preemption bound, or PCT
  help      this text

faultline COMMAND --help tells more. Exit codes: 0 ok, 1 a run failed, 2 bad input.
`;

function benchHelp(): string {
  return `usage: faultline bench [OPTIONS]

Runs every scheme (${SCHEMES.join(', ')})
on each workload and prints faults/s, writer ops/s, latency p50/p99/p99.9/max, the lock counters
and each scheme's ratio to mmap_lock. Alone, it runs every preset at threads ${defaultThreads().join(',')},
${DEFAULT_WARMUP_MS}ms of warm-up and ${DEFAULT_DURATION_MS}ms of measurement each.

options:
  --preset P[,P...]       workloads to run (default: all): ${PRESET_NAMES.join(', ')}
  --schemes S[,S...]      schemes to run (default: all): ${SCHEMES.join(', ')}
  --threads N[,N...]      faulting workers; a list is a scaling sweep (1..${MAX_THREADS}; default ${defaultThreads().join(',')})
  --duration T            length of each run, e.g. 2s or 500ms (50ms..600s; default ${DEFAULT_DURATION_MS}ms)
  --ops N                 end each run when every faulter has done N operations (faults and
                          madvises; with --duration, whichever comes first)
  --warmup T              unmeasured warm-up at the start of each run (0ms..600s; default ${DEFAULT_WARMUP_MS}ms)
  --repeat N              run each configuration N times, interleaved, and report the median
                          run (1..${MAX_REPEAT}; default 1): for shared or noisy machines
  --workload FILE         run a workload from a JSON file (see README: fields and defaults)
  --instrumentation M     off (default), on (assertions + tracing), or on,off (prints the ratio)
  --pin                   pin each worker thread to a core (taskset); reports where each ran
  --json FILE             write the report as JSON
  --html FILE             write a self-contained HTML report with charts
  --no-progress           no progress bar (there is none when stderr is not a terminal)
  -h, --help              this text
`;
}

interface BenchArgs {
  readonly options: BenchOptions;
  readonly json: string | null;
  readonly html: string | null;
}

function list(flag: string, v: string, what: string): string[] {
  const items = v.split(',').map((s) => s.trim());
  if (items.some((s) => s === ''))
    throw new UsageError(`${flag} ${JSON.stringify(v)}: empty item; allowed: ${what}`);
  return items;
}

function parseDuration(flag: string, v: string, min: number): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s)$/.exec(v.trim());
  const ms = m === null ? Number.NaN : Number(m[1]) * (m[2] === 's' ? 1000 : 1);
  if (!(ms >= min && ms <= 600_000)) {
    throw new UsageError(`${flag} ${v}: allowed: a time like 2s or 500ms, from ${min}ms to 600s`);
  }
  return Math.round(ms);
}

function readWorkload(file: string): WorkloadSpec {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(
      `--workload ${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'}); allowed: a JSON file`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new UsageError(
      `--workload ${file}: not valid JSON (${(err as Error).message.split('\n')[0]})`,
    );
  }
  return parseWorkload(raw, basename(file), SCHEMES);
}

/** The most runs of one configuration --repeat allows. */
const MAX_REPEAT = 21;

const VALUE_FLAGS = [
  '--preset',
  '--schemes',
  '--threads',
  '--warmup',
  '--duration',
  '--ops',
  '--workload',
  '--json',
  '--html',
  '--instrumentation',
  '--repeat',
];
const BOOL_FLAGS = ['--pin', '--no-progress', '--help', '-h'];

/** Parse `faultline bench` arguments. Returns null when --help was asked for. */
export function parseBenchArgs(argv: readonly string[]): BenchArgs | null {
  const values = new Map<string, string>();
  const bools = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const eq = a.indexOf('=');
    const flag = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a;
    if (VALUE_FLAGS.includes(flag)) {
      const v = flag !== a ? a.slice(eq + 1) : argv[++i];
      if (v === undefined || (flag === a && v.startsWith('--'))) {
        throw new UsageError(`${flag} needs a value; see faultline bench --help`);
      }
      if (values.has(flag)) throw new UsageError(`${flag} given twice; allowed: once`);
      values.set(flag, v);
    } else if (BOOL_FLAGS.includes(a)) {
      bools.add(a);
    } else if (a.startsWith('-')) {
      throw new UsageError(
        `unknown option ${a}; allowed: ${[...VALUE_FLAGS, ...BOOL_FLAGS].join(', ')}`,
      );
    } else {
      throw new UsageError(
        `unexpected argument ${JSON.stringify(a)}; faultline bench takes only options`,
      );
    }
  }
  if (bools.has('--help') || bools.has('-h')) return null;

  const schemes = values.has('--schemes')
    ? list('--schemes', values.get('--schemes')!, SCHEMES.join(', ')).map((s) => {
        if (!(SCHEMES as readonly string[]).includes(s)) {
          throw new UsageError(
            `--schemes: unknown scheme ${JSON.stringify(s)}; allowed: ${SCHEMES.join(', ')}`,
          );
        }
        return s as SchemeName;
      })
    : [...SCHEMES];
  const threads = values.has('--threads')
    ? list('--threads', values.get('--threads')!, `integers 1..${MAX_THREADS}`).map((s) => {
        const n = Number(s);
        if (!/^\d+$/.test(s) || n < 1 || n > MAX_THREADS) {
          throw new UsageError(
            `--threads: ${JSON.stringify(s)} is not allowed; allowed: integers 1..${MAX_THREADS}, e.g. 1,2,4`,
          );
        }
        return n;
      })
    : defaultThreads();
  let opsPerFaulter = 0;
  if (values.has('--ops')) {
    const v = values.get('--ops')!;
    opsPerFaulter = Number(v);
    if (!/^\d+$/.test(v) || opsPerFaulter < 1 || opsPerFaulter > 1e9) {
      throw new UsageError(
        `--ops ${v}: allowed: an integer 1..1000000000 (operations per faulter)`,
      );
    }
  }
  // With --ops alone, a run lasts until every faulter has done its operations.
  const durationMs = values.has('--duration')
    ? parseDuration('--duration', values.get('--duration')!, 50)
    : opsPerFaulter > 0
      ? 0
      : DEFAULT_DURATION_MS;
  let repeat = 1;
  if (values.has('--repeat')) {
    const v = values.get('--repeat')!;
    repeat = Number(v);
    if (!/^\d+$/.test(v) || repeat < 1 || repeat > MAX_REPEAT) {
      throw new UsageError(`--repeat ${v}: allowed: an integer 1..${MAX_REPEAT}`);
    }
  }
  const instr = values.get('--instrumentation') ?? 'off';
  const instrumentation = list('--instrumentation', instr, 'on, off or on,off').map((s) => {
    if (s !== 'on' && s !== 'off') {
      throw new UsageError(`--instrumentation ${instr}: allowed: on, off or on,off`);
    }
    return s;
  });
  const workloads: WorkloadSpec[] = [];
  if (values.has('--preset') || !values.has('--workload')) {
    const names = values.has('--preset')
      ? list('--preset', values.get('--preset')!, PRESET_NAMES.join(', '))
      : [...DEFAULT_PRESETS];
    for (const n of names) {
      if (!(PRESET_NAMES as readonly string[]).includes(n)) {
        throw new UsageError(
          `--preset: unknown preset ${JSON.stringify(n)}; allowed: ${PRESET_NAMES.join(', ')}`,
        );
      }
      workloads.push(PRESETS[n as PresetName]);
    }
  }
  if (values.has('--workload')) workloads.push(readWorkload(values.get('--workload')!));
  for (const w of workloads) for (const t of threads) checkFits(w, t);
  const json = values.get('--json') ?? null;
  const html = values.get('--html') ?? null;
  if (json !== null) checkOutputPath('--json', json);
  if (html !== null) checkOutputPath('--html', html);
  if (json !== null && html !== null && resolve(json) === resolve(html)) {
    throw new UsageError(`--json and --html both name ${json}; allowed: two different files`);
  }
  return {
    options: {
      workloads,
      schemes: [...new Set(schemes)],
      threads: [...new Set(threads)].sort((a, b) => a - b),
      durationMs,
      opsPerFaulter,
      warmupMs: values.has('--warmup')
        ? parseDuration('--warmup', values.get('--warmup')!, 0)
        : DEFAULT_WARMUP_MS,
      pin: bools.has('--pin'),
      instrumentation: [...new Set(instrumentation)],
      progress: !bools.has('--no-progress'),
      repeat,
    },
    json,
    html,
  };
}

async function bench(argv: readonly string[]): Promise<number> {
  const args = parseBenchArgs(argv);
  if (args === null) {
    process.stdout.write(benchHelp());
    return 0;
  }
  const describe = (name: string): string =>
    args.options.workloads.find((w) => w.name === name)?.description ?? '';
  const report = await runBench({
    ...args.options,
    warn: (l) => process.stderr.write(`warning: ${l}\n`),
  });
  process.stdout.write(renderTable(report, describe));
  if (args.json !== null) {
    writeFileAtomic(args.json, reportJson(report));
    process.stdout.write(`json report: ${args.json}\n`);
  }
  if (args.html !== null) {
    writeFileAtomic(args.html, renderHtml(report, describe));
    process.stdout.write(`html report: ${args.html}\n`);
  }
  return 0;
}

export async function main(argv: readonly string[]): Promise<number> {
  try {
    const [first, ...rest] = argv;
    if (first === undefined || first.startsWith('-')) {
      if (first === '--help' || first === '-h') {
        process.stdout.write(MAIN_HELP);
        return 0;
      }
      return await bench(argv);
    }
    if (!(COMMANDS as readonly string[]).includes(first)) {
      throw new UsageError(
        `unknown command ${JSON.stringify(first)}; allowed: ${COMMANDS.join(', ')}`,
      );
    }
    if (first === 'help') {
      process.stdout.write(MAIN_HELP);
      return 0;
    }
    if (first === 'bench') return await bench(rest);
    if (first === 'race') return await raceMain(rest);
    if (first === 'explore') return await exploreMain(rest);
    const later = LATER[first]!;
    if (rest.includes('--help') || rest.includes('-h')) {
      process.stdout.write(
        `usage (planned): ${later}\nfaultline ${first} is later work and not implemented yet.\n`,
      );
      return 0;
    }
    throw new UsageError(
      `faultline ${first} is not implemented yet (later work, see DESIGN.md); allowed now: faultline bench`,
    );
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`faultline: ${err.message}\n`);
      return 2;
    }
    if (err instanceof RunFailure) {
      process.stderr.write(`faultline: run failed: ${err.message}\n`);
      return 1;
    }
    process.stderr.write(
      `faultline: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    return 1;
  }
}

function invokedDirectly(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false;
  }
}

if (invokedDirectly()) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`faultline: ${String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
