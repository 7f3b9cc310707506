// `faultline bench`: every locking scheme side by side on workloads. Reports are written only
// after every run succeeded, each to a temporary file renamed into place.

import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { shownArg, UsageError } from '../errors.js';
import { type BenchOptions, runBench } from '../harness/bench.js';
import { renderHtml } from '../harness/html.js';
import { checkOutputPath, reportJson, writeFileAtomic } from '../harness/report.js';
import { renderTable } from '../harness/table.js';
import { scheme_by_name } from '../schemes/index.js';
import { RCU_FLAVORS, type RcuFlavor } from '../sync/rcu.js';
import {
  DEFAULT_PRESETS,
  DEFAULT_RUN,
  DEFAULT_RUN_WARMUP_MS,
  PRESET_NAMES,
  PRESETS,
} from '../workload/presets.js';
import { checkFits } from '../workload/setup.js';
import type { WorkloadSpec } from '../workload/spec.js';
import { BACKPORTS, SCHEMES } from '../workload/world.js';
import {
  type Command,
  optionsHelp,
  parseDuration,
  parseFlags,
  parseIntArg,
  parseIntList,
  parseList,
  parseNames,
  readWorkloadFile,
  wrap,
} from './common.js';

export const DEFAULT_DURATION_MS = 400;
/** Unmeasured warm-up at the start of each run, so the JIT has compiled the fault path. */
export const DEFAULT_WARMUP_MS = 300;
export const MAX_THREADS = 256;
/** The most runs of one configuration --repeat allows. */
export const MAX_REPEAT = 21;
/** The longest --duration and --warmup. */
export const MAX_RUN_MS = 600_000;

/** Default thread counts: 1 and every core (a two-point scaling sweep), at most 4. */
export function defaultThreads(): number[] {
  const n = Math.min(4, Math.max(1, availableParallelism()));
  return n === 1 ? [1] : [1, n];
}

const OPTIONS = {
  preset: { type: 'string' },
  schemes: { type: 'string' },
  threads: { type: 'string' },
  warmup: { type: 'string' },
  duration: { type: 'string' },
  ops: { type: 'string' },
  workload: { type: 'string' },
  json: { type: 'string' },
  html: { type: 'string' },
  instrumentation: { type: 'string' },
  'rwsem-spin': { type: 'string' },
  backport: { type: 'string' },
  rcu: { type: 'string' },
  repeat: { type: 'string' },
  pin: { type: 'boolean' },
  'no-progress': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export function benchHelp(): string {
  const threads = defaultThreads().join(',');
  return `usage: faultline bench [OPTIONS]

${wrap(
  `Runs every scheme (${SCHEMES.join(', ')}) on each workload and prints faults/s, writer ops/s,
  latency p50/p99/p99.9/max, the lock counters and each scheme's ratio to mmap_lock. Alone, it
  runs the default presets (${DEFAULT_PRESETS.join(', ')}) at threads ${threads}, each
  preset with its own interleaved repeats and run length (${Object.entries(DEFAULT_RUN)
    .map(([p, r]) => `${p} ${r.repeat}x${r.durationMs}ms`)
    .join(', ')}) after ${DEFAULT_RUN_WARMUP_MS}ms of warm-up, and prints each ratio's median
  with its [min-max] over the repeats. --duration, --ops or --repeat replace that plan
  (${DEFAULT_WARMUP_MS}ms of warm-up, ${DEFAULT_DURATION_MS}ms runs, once each).`,
)}

${optionsHelp([
  [
    '--preset P[,P...]',
    `workloads to run (default: ${DEFAULT_PRESETS.join(', ')}); all: ${PRESET_NAMES.join(', ')}`,
  ],
  ['--schemes S[,S...]', `schemes to run (default: all): ${SCHEMES.join(', ')}`],
  [
    '--threads N[,N...]',
    `faulting workers; a list is a scaling sweep (1..${MAX_THREADS}; default ${threads})`,
  ],
  [
    '--duration T',
    `length of each run: 2s, 500ms, or a bare number of seconds (50ms..600s; default ${DEFAULT_DURATION_MS}ms)`,
  ],
  [
    '--ops N',
    'end each run when every faulter has done N operations (faults and madvises; with --duration, whichever comes first)',
  ],
  [
    '--warmup T',
    `unmeasured warm-up at the start of each run (0ms..600s; default ${DEFAULT_WARMUP_MS}ms)`,
  ],
  [
    '--repeat N',
    `run each configuration N times, interleaved, and report the median run (1..${MAX_REPEAT}; default 1): for shared or noisy machines`,
  ],
  ['--workload FILE', 'run a workload from a JSON file (see README: fields and defaults)'],
  ['--instrumentation M', 'off (default), on (assertions + tracing), or on,off (prints the ratio)'],
  [
    '--rwsem-spin M',
    "rw_semaphore writers spin on a running owner before queueing: on (default, the kernel's), off, or on,off (both, interleaved)",
  ],
  [
    '--backport L',
    `newer kernels' features on vma_rwsem, whose 6.4-6.13 kernels lacked them, by name: ${BACKPORTS.join(', ')} (comma list; default none: every scheme as its kernel)`,
  ],
  [
    '--rcu F',
    "RCU flavour: qsbr (default; read sections cost no atomic), memb (liburcu's), or qsbr,memb (both, and the ratio)",
  ],
  ['--pin', 'pin each worker thread to a core (taskset); reports where each ran'],
  ['--json FILE', 'write the report as JSON'],
  ['--html FILE', 'write a self-contained HTML report with charts'],
  ['--no-progress', 'no progress bar (there is none when stderr is not a terminal)'],
  ['-h, --help', 'this text'],
])}

${optionsHelp(SCHEMES.map((s) => [s, scheme_by_name(s).kernel])).replace(/^options:/, 'schemes and the kernel each models:')}`;
}

export interface BenchArgs {
  readonly options: BenchOptions;
  readonly json: string | null;
  readonly html: string | null;
}

/** Parse `faultline bench` arguments. Returns null when --help was asked for. */
export function parseBenchArgs(argv: readonly string[]): BenchArgs | null {
  const { help, values: v } = parseFlags('bench', argv, OPTIONS);
  if (help) return null;

  const schemes =
    v.schemes === undefined ? [...SCHEMES] : parseNames('--schemes', v.schemes, SCHEMES, 'scheme');
  const threads =
    v.threads === undefined
      ? defaultThreads()
      : parseIntList('--threads', v.threads, 1, MAX_THREADS, '1,2,4');
  const opsPerFaulter =
    v.ops === undefined ? 0 : parseIntArg('--ops', v.ops, 1, 1e9, 'operations per faulter');
  // With --ops alone, a run lasts until every faulter has done its operations.
  const durationMs =
    v.duration !== undefined
      ? parseDuration('--duration', v.duration, 50, MAX_RUN_MS)
      : opsPerFaulter > 0
        ? 0
        : DEFAULT_DURATION_MS;
  // No run length or repeat asked for: each preset's own plan (DEFAULT_RUN), chosen from its
  // measured spread, with a shorter warm-up (the pool's threads stay warm from run to run).
  const planned = v.duration === undefined && v.ops === undefined && v.repeat === undefined;
  const warmupMs =
    v.warmup !== undefined
      ? parseDuration('--warmup', v.warmup, 0, MAX_RUN_MS)
      : planned
        ? DEFAULT_RUN_WARMUP_MS
        : DEFAULT_WARMUP_MS;
  const repeat = v.repeat === undefined ? 1 : parseIntArg('--repeat', v.repeat, 1, MAX_REPEAT);
  const instr = v.instrumentation ?? 'off';
  const instrumentation = parseList('--instrumentation', instr, 'on, off or on,off').map((s) => {
    if (s !== 'on' && s !== 'off') {
      throw new UsageError(`--instrumentation ${shownArg(instr)}: allowed: on, off or on,off`);
    }
    return s;
  });
  const spinArg = v['rwsem-spin'] ?? 'on';
  const rwsemSpin = parseList('--rwsem-spin', spinArg, 'on, off or on,off').map((s) => {
    if (s !== 'on' && s !== 'off') {
      throw new UsageError(`--rwsem-spin ${shownArg(spinArg)}: allowed: on, off or on,off`);
    }
    return s;
  });
  const backports =
    v.backport === undefined ? [] : parseNames('--backport', v.backport, BACKPORTS, 'backport');
  const rcu =
    v.rcu === undefined
      ? (['qsbr'] as RcuFlavor[])
      : parseNames('--rcu', v.rcu, RCU_FLAVORS, 'RCU flavour');
  const workloads: WorkloadSpec[] = [];
  if (v.preset !== undefined || v.workload === undefined) {
    const names =
      v.preset === undefined
        ? [...DEFAULT_PRESETS]
        : parseNames('--preset', v.preset, PRESET_NAMES, 'preset');
    for (const n of names) workloads.push(PRESETS[n]);
  }
  if (v.workload !== undefined) workloads.push(readWorkloadFile('--workload', v.workload, SCHEMES));
  for (const w of workloads) for (const t of threads) checkFits(w, t);
  const json = v.json ?? null;
  const html = v.html ?? null;
  if (json !== null) checkOutputPath('--json', json);
  if (html !== null) checkOutputPath('--html', html);
  if (json !== null && html !== null && resolve(json) === resolve(html)) {
    throw new UsageError(
      `--json and --html both name ${shownArg(json)}; allowed: two different files`,
    );
  }
  return {
    options: {
      workloads,
      schemes,
      threads,
      durationMs,
      opsPerFaulter,
      warmupMs,
      ...(planned ? { perPreset: DEFAULT_RUN } : {}),
      pin: v.pin === true,
      instrumentation: [...new Set(instrumentation)],
      rwsemSpin: [...new Set(rwsemSpin)],
      rcu: [...new Set(rcu)],
      ...(backports.length > 0 ? { backports: [...new Set(backports)] } : {}),
      progress: v['no-progress'] !== true,
      repeat,
    },
    json,
    html,
  };
}

export const bench: Command = {
  name: 'bench',
  summary: 'every locking scheme side by side on workloads (the default command)',
  async run(argv) {
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
  },
};
