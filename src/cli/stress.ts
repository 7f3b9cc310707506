// `faultline stress`: the rcutorture / locktorture of faultline. Every flag is checked before
// anything runs (one-line UsageError naming the value and what is allowed: exit 2); then each
// scheme runs under chaos with its checks (src/harness/stress), repeating until a failure if
// asked; the summary is printed and the reports written, each atomically. Exit 0 when every check
// held, 1 on any violation, hang or lost wake-up.

import { resolve } from 'node:path';
import { shownArg, UsageError } from '../errors.js';
import type { ProgressSink } from '../harness/progress.js';
import { checkOutputPath, writeFileAtomic } from '../harness/report.js';
import { bugDefault, bugStressOptions } from '../harness/stress/bug_defaults.js';
import { CHAOS_LEVELS, type ChaosLevel } from '../harness/stress/chaos.js';
import {
  runStress,
  type StressOptions,
  type StressProgress,
  type StressReport,
} from '../harness/stress/engine.js';
import {
  listBugs,
  renderStressHtml,
  renderStressText,
  stressJson,
  stressJunit,
} from '../harness/stress/report.js';
import { STRESS_PRESET_NAMES, STRESS_PRESETS } from '../harness/stress/workload.js';
import { BUGS, bug_by_name } from '../sched/bugs.js';
import type { WorkloadSpec } from '../workload/spec.js';
import { SCHEMES, type SchemeName } from '../workload/world.js';
import {
  type Command,
  optionsHelp,
  parseDuration,
  parseFlags,
  parseIntArg,
  parseNames,
  readWorkloadFile,
  wrap,
} from './common.js';

export const STRESS_DEFAULT_DURATION_MS = 60_000;
export const STRESS_BUG_DURATION_MS = 30_000;
export const STRESS_MAX_DURATION_MS = 24 * 3_600_000;
export const STRESS_DEFAULT_THREADS = 3;
export const MAX_STRESS_THREADS = 64;
export const MAX_REPEAT_UNTIL_FAIL = 10_000;
const DEFAULT_KILL_RATE: Record<ChaosLevel, number> = { off: 0, light: 50, heavy: 200 };

const OPTIONS = {
  schemes: { type: 'string' },
  preset: { type: 'string' },
  workload: { type: 'string' },
  threads: { type: 'string' },
  duration: { type: 'string' },
  ops: { type: 'string' },
  seed: { type: 'string' },
  chaos: { type: 'string' },
  'kill-rate': { type: 'string' },
  'inject-bug': { type: 'string' },
  'list-bugs': { type: 'boolean' },
  json: { type: 'string' },
  junit: { type: 'string' },
  html: { type: 'string' },
  'repeat-until-fail': { type: 'string' },
  'no-progress': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const STRESS_USAGE =
  'faultline stress [--schemes a,b|all] [--preset P | --workload FILE] [--threads N] [--duration 60s | --ops N] [--seed N] [--chaos off|light|heavy] [--kill-rate R] [--inject-bug NAME] [--list-bugs] [--json F] [--junit F] [--html F] [--repeat-until-fail N]';

export function stressHelp(): string {
  return `usage: ${wrap(STRESS_USAGE, 100, 7)}

${wrap(
  'Runs every locking scheme under a hostile mixed workload: faulters on private and shared VMAs, mmap/munmap churn, mprotect splits and merges, madvise, maps reading, and whole-mm exits whose VMA slots and mm_structs are reused by other mms. Chaos: seeded delays at the race windows, CPU hogs, SIGKILLs to tasks in killable waits and spurious wake-ups. KERNEL.md §7 is checked during the run and at a quiescent point every 300 ms. Exit 0 when every check held, 1 on any violation, hang or lost wake-up, 2 on bad input. A failure prints the command line that re-runs it.',
)}

${optionsHelp([
  ['--schemes S[,S...]|all', `schemes to run (default: all): ${SCHEMES.join(', ')}`],
  ['--preset P', `workload (default: mixed): ${STRESS_PRESET_NAMES.join(', ')}`],
  ['--workload FILE', 'a workload from a JSON file (the fields bench takes)'],
  ['--threads N', `faulting workers (1..${MAX_STRESS_THREADS}; default ${STRESS_DEFAULT_THREADS})`],
  [
    '--duration T',
    'time for all schemes together: 60s, 500ms, 90 (seconds); default 60s, 30s with --inject-bug',
  ],
  ['--ops N', 'instead of a duration: stop when every faulter has done N operations'],
  ['--seed N', 'seed of every chaos decision (default: from the clock; the report prints it)'],
  ['--chaos L', 'off, light (default) or heavy'],
  [
    '--kill-rate R',
    'SIGKILLs and spurious wake-ups per second (default: light 50, heavy 200, off 0)',
  ],
  ['--inject-bug NAME', 'run a known-broken variant with its default scheme, workload and chaos'],
  ['--list-bugs', 'print the bug catalogue, one line each: the name, then its story'],
  ['--repeat-until-fail N', 'run up to N times (seed, seed+1, ...), stop at the first failure'],
  ['--json FILE', 'write every counter and violation as JSON'],
  ['--junit FILE', 'write JUnit XML: one testcase per scheme and check'],
  ['--html FILE', 'write a self-contained HTML report'],
  ['--no-progress', 'no progress line (there is none when stderr is not a terminal)'],
  ['-h, --help', 'this text'],
])}`;
}

export interface StressArgs {
  readonly options: Omit<StressOptions, 'commandLine' | 'onProgress'>;
  /** the flags that re-run this exactly, seed included (without the seed: seedless) */
  readonly rerun: (seed: number) => string;
  readonly json: string | null;
  readonly junit: string | null;
  readonly html: string | null;
  readonly repeatUntilFail: number;
  readonly progress: boolean;
}

export type ParsedStress =
  | { readonly kind: 'help' }
  | { readonly kind: 'list-bugs' }
  | { readonly kind: 'run'; readonly args: StressArgs };

export function parseStressArgs(
  argv: readonly string[],
  now: () => number = Date.now,
): ParsedStress {
  const parsed = parseFlags('stress', argv, OPTIONS);
  const v = parsed.values;
  if (parsed.help) return { kind: 'help' };
  if (v['list-bugs'] === true) return { kind: 'list-bugs' };
  let bug: string | null = null;
  if (v['inject-bug'] !== undefined) {
    const b = bug_by_name(v['inject-bug']);
    if (b === null) {
      throw new UsageError(
        `--inject-bug ${shownArg(v['inject-bug'])}: unknown bug; allowed: ${BUGS.map((x) => x.name).join(', ')}`,
      );
    }
    bug = b.name;
  }
  const d = bug !== null ? bugDefault(bug) : null;

  let schemes: SchemeName[];
  const schemesFlag = v.schemes;
  if (schemesFlag === undefined) schemes = d !== null ? [d.scheme] : [...SCHEMES];
  else if (schemesFlag.trim() === 'all') schemes = [...SCHEMES];
  else schemes = parseNames('--schemes', schemesFlag, SCHEMES, 'scheme');

  if (v.preset !== undefined && v.workload !== undefined) {
    throw new UsageError('--preset and --workload both given; allowed: one of them');
  }
  let workload: WorkloadSpec;
  let workloadFlag: string;
  if (v.workload !== undefined) {
    workload = readWorkloadFile('--workload', v.workload, SCHEMES);
    workloadFlag = `--workload ${v.workload}`;
  } else {
    const p = v.preset ?? d?.preset ?? 'mixed';
    const w = STRESS_PRESETS[p];
    if (w === undefined) {
      throw new UsageError(
        `--preset ${shownArg(p)}: unknown preset; allowed: ${STRESS_PRESET_NAMES.join(', ')}`,
      );
    }
    workload = w;
    workloadFlag = `--preset ${p}`;
  }
  // A preset made for some schemes only (oom: the 2016 mmap_lock era) runs on those.
  const only = workload.schemes;
  if (only !== undefined && STRESS_PRESETS[workload.name] === workload) {
    const off = schemes.filter((s) => !only.includes(s));
    if (schemesFlag !== undefined && off.length > 0) {
      throw new UsageError(
        `--schemes ${shownArg(schemesFlag)}: workload ${workload.name} runs only on ${only.join(', ')}; allowed: those`,
      );
    }
    schemes = schemes.filter((s) => only.includes(s));
  }

  const threads =
    v.threads !== undefined
      ? parseIntArg('--threads', v.threads, 1, MAX_STRESS_THREADS, 'faulting workers')
      : (d?.threads ?? STRESS_DEFAULT_THREADS);
  if (workload.vmas.layout === 'churn') {
    throw new UsageError(
      `--workload ${v.workload}: vmas.layout churn is a bench layout; allowed for stress: private, shared`,
    );
  }
  if (workload.vmas.layout === 'shared' && workload.vmas.pages < threads) {
    throw new UsageError(
      `--threads ${threads}: workload ${workload.name}'s shared VMAs have ${workload.vmas.pages} pages; allowed: at most that many threads`,
    );
  }
  if (v.duration !== undefined && v.ops !== undefined) {
    throw new UsageError('--duration and --ops both given; allowed: one of them');
  }
  const opsPerFaulter =
    v.ops !== undefined
      ? parseIntArg('--ops', v.ops, 1, 1_000_000_000, 'operations per faulter')
      : 0;
  const durationMs =
    v.duration !== undefined
      ? parseDuration('--duration', v.duration, 200, STRESS_MAX_DURATION_MS)
      : opsPerFaulter > 0
        ? 0
        : bug !== null
          ? STRESS_BUG_DURATION_MS
          : STRESS_DEFAULT_DURATION_MS;
  const seed =
    v.seed !== undefined ? parseIntArg('--seed', v.seed, 0, 0x7fffffff) : now() % 0x7fffffff;
  const chaosFlag = v.chaos ?? d?.chaos ?? 'light';
  if (!(CHAOS_LEVELS as readonly string[]).includes(chaosFlag)) {
    throw new UsageError(`--chaos ${shownArg(chaosFlag)}: allowed: ${CHAOS_LEVELS.join(', ')}`);
  }
  const chaos = chaosFlag as ChaosLevel;
  let killRate = d !== null && d.killRate > 0 ? d.killRate : DEFAULT_KILL_RATE[chaos];
  if (v['kill-rate'] !== undefined) {
    const r = Number(v['kill-rate']);
    if (!/^\d+(\.\d+)?$/.test(v['kill-rate'].trim()) || r > 100_000) {
      throw new UsageError(
        `--kill-rate ${shownArg(v['kill-rate'])}: allowed: a number 0..100000 (kills and spurious wake-ups per second)`,
      );
    }
    killRate = r;
  }
  const repeatUntilFail =
    v['repeat-until-fail'] !== undefined
      ? parseIntArg('--repeat-until-fail', v['repeat-until-fail'], 1, MAX_REPEAT_UNTIL_FAIL)
      : 1;
  const files: Array<[string, string | undefined]> = [
    ['--json', v.json],
    ['--junit', v.junit],
    ['--html', v.html],
  ];
  const seen = new Map<string, string>();
  for (const [flag, f] of files) {
    if (f === undefined) continue;
    checkOutputPath(flag, f);
    const other = seen.get(resolve(f));
    if (other !== undefined) {
      throw new UsageError(
        `${other} and ${flag} both name ${shownArg(f)}; allowed: different files`,
      );
    }
    seen.set(resolve(f), flag);
  }
  const fixed = [
    `--schemes ${schemes.join(',')}`,
    workloadFlag,
    `--threads ${threads}`,
    durationMs > 0 ? `--duration ${durationMs}ms` : `--ops ${opsPerFaulter}`,
  ];
  const tail = [
    `--chaos ${chaos}`,
    `--kill-rate ${killRate}`,
    ...(bug !== null ? [`--inject-bug ${bug}`] : []),
  ];
  return {
    kind: 'run',
    args: {
      options: {
        schemes,
        workload,
        threads,
        durationMs,
        opsPerFaulter,
        seed,
        chaos,
        killRate,
        bugs: bug !== null ? [bug] : [],
        ...(d !== null ? bugStressOptions(d, chaos !== 'off') : {}),
      },
      rerun: (s) => ['faultline stress', ...fixed, `--seed ${s}`, ...tail].join(' '),
      json: v.json ?? null,
      junit: v.junit ?? null,
      html: v.html ?? null,
      repeatUntilFail,
      progress: v['no-progress'] !== true,
    },
  };
}

/** The progress line on a terminal: elapsed, operations, checks run, violations so far. */
function progressLine(err: ProgressSink, enabled: boolean, schemes: number) {
  const on = enabled && err.isTTY === true;
  let last = 0;
  return {
    update(p: StressProgress, run: number, runs: number): void {
      if (!on) return;
      const now = Date.now();
      if (now - last < 200) return;
      last = now;
      const rep = runs > 1 ? `run ${run}/${runs} ` : '';
      err.write(
        `\r\x1b[2K${rep}${p.scheme} (${p.schemeIndex + 1}/${schemes}) ${(p.elapsedMs / 1000).toFixed(1)}s  ops ${p.ops}  checks ${p.checks}  violations ${p.violations}`,
      );
    },
    done(): void {
      if (on) err.write('\r\x1b[2K');
    },
  };
}

export interface StressIo {
  readonly stdout: { write(s: string): boolean };
  readonly stderr: ProgressSink;
}

export async function runStressCommand(argv: readonly string[], io: StressIo): Promise<number> {
  const parsed = parseStressArgs(argv);
  if (parsed.kind === 'help') {
    io.stdout.write(stressHelp());
    return 0;
  }
  if (parsed.kind === 'list-bugs') {
    io.stdout.write(listBugs());
    return 0;
  }
  const a = parsed.args;
  const progress = progressLine(io.stderr, a.progress, a.options.schemes.length);
  let report: StressReport | null = null;
  let run = 0;
  for (; run < a.repeatUntilFail; run++) {
    const seed = (a.options.seed + run) % 0x7fffffff;
    report = await runStress({
      ...a.options,
      seed,
      commandLine: a.rerun(seed),
      onProgress: (p) => progress.update(p, run + 1, a.repeatUntilFail),
    });
    if (!report.ok) break;
  }
  progress.done();
  if (report === null) return 1;
  io.stdout.write(renderStressText(report));
  if (a.repeatUntilFail > 1) {
    io.stdout.write(
      report.ok
        ? `repeat-until-fail: all ${a.repeatUntilFail} runs passed (seeds ${a.options.seed}..${a.options.seed + a.repeatUntilFail - 1})\n`
        : `repeat-until-fail: run ${run + 1} of at most ${a.repeatUntilFail} failed (seed ${report.seed})\n`,
    );
  }
  if (a.json !== null) {
    writeFileAtomic(a.json, stressJson(report));
    io.stdout.write(`json report: ${a.json}\n`);
  }
  if (a.junit !== null) {
    writeFileAtomic(a.junit, stressJunit(report));
    io.stdout.write(`junit report: ${a.junit}\n`);
  }
  if (a.html !== null) {
    writeFileAtomic(a.html, renderStressHtml(report));
    io.stdout.write(`html report: ${a.html}\n`);
  }
  return report.ok ? 0 : 1;
}

export const stress: Command = {
  name: 'stress',
  summary: 'every scheme under chaos with invariant checks; --inject-bug shows a known bug caught',
  run: (argv) => runStressCommand(argv, { stdout: process.stdout, stderr: process.stderr }),
};
