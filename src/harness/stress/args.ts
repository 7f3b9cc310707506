// `faultline stress` flags → StressOptions. Every bad value is a UsageError naming the value and
// what is allowed (the CLI prints it on one line and exits 2) — raised before anything runs or
// is written.

import { readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { UsageError } from '../../errors.js';
import { BUGS, bug_by_name } from '../../sched/bugs.js';
import { SCHEMES, type SchemeName } from '../../schemes/index.js';
import { parseWorkload, type WorkloadSpec } from '../../workload/spec.js';
import { checkOutputPath } from '../report.js';
import { bugDefault } from './bug_defaults.js';
import { CHAOS_LEVELS, type ChaosLevel } from './chaos.js';
import type { StressOptions } from './engine.js';
import { STRESS_PRESET_NAMES, STRESS_PRESETS } from './workload.js';

export const STRESS_DEFAULT_DURATION_MS = 60_000;
export const STRESS_BUG_DURATION_MS = 30_000;
export const STRESS_DEFAULT_THREADS = 3;
export const MAX_STRESS_THREADS = 64;
export const MAX_REPEAT_UNTIL_FAIL = 10_000;
const DEFAULT_KILL_RATE: Record<ChaosLevel, number> = { off: 0, light: 50, heavy: 200 };

export const STRESS_USAGE =
  'faultline stress [--schemes a,b|all] [--preset P | --workload FILE] [--threads N] [--duration 60s | --ops N] [--seed N] [--chaos off|light|heavy] [--kill-rate R] [--inject-bug NAME] [--list-bugs] [--json F] [--junit F] [--html F] [--repeat-until-fail N]';

export function stressHelp(): string {
  return `usage: ${STRESS_USAGE}

Runs every locking scheme under a hostile mixed workload — faulters on private and shared VMAs,
mmap/munmap churn, mprotect splits and merges, madvise, maps reading, whole-mm exits whose VMA
slots and mm_structs are reused — with chaos (seeded delays at the race windows, CPU hogs, killed
and spuriously woken tasks), and checks KERNEL.md §7's invariants during the run and at a
quiescent point every 300 ms. Exit 0 when every check held, 1 on any violation, hang or lost
wake-up, 2 on bad input. A failure prints the command line that re-runs it.

options:
  --schemes S[,S...]|all  schemes to run (default: all): ${SCHEMES.join(', ')}
  --preset P              workload (default: mixed): ${STRESS_PRESET_NAMES.join(', ')}
  --workload FILE         a workload from a JSON file (the fields bench takes)
  --threads N             faulting workers (1..${MAX_STRESS_THREADS}; default ${STRESS_DEFAULT_THREADS})
  --duration T            time for all schemes together, e.g. 60s, 5m (default 60s; 30s with --inject-bug)
  --ops N                 instead of a duration: stop when every faulter did N operations
  --seed N                seed for every chaos decision (default: from the clock; printed)
  --chaos L               off, light (default) or heavy
  --kill-rate R           SIGKILLs and spurious wake-ups per second (default: light 50, heavy 200)
  --inject-bug NAME       run a known-broken variant (with its default scheme, workload, chaos)
  --list-bugs             print the bug catalogue: one line each, name first, then its story
  --repeat-until-fail N   run up to N times (seed, seed+1, ...) and stop at the first failure
  --json FILE             write every counter and violation as JSON
  --junit FILE            write JUnit XML: one testcase per scheme and check
  --html FILE             write a self-contained HTML report
  --no-progress           no progress line (there is none when stderr is not a terminal)
  -h, --help              this text
`;
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

/** Parse a duration: 500ms, 30s, 5m, 1h. */
export function parseStressDuration(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(v.trim());
  const mult = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
  const ms = m === null ? Number.NaN : Number(m[1]) * mult[m[2] as keyof typeof mult];
  if (!(ms >= 200 && ms <= 24 * 3_600_000)) {
    throw new UsageError(
      `--duration ${v}: allowed: a time like 60s, 500ms, 5m or 1h, from 200ms to 24h`,
    );
  }
  return Math.round(ms);
}

function intFlag(flag: string, v: string, min: number, max: number): number {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || n < min || n > max) {
    throw new UsageError(`${flag} ${v}: allowed: an integer ${min}..${max}`);
  }
  return n;
}

function readWorkloadFile(file: string): WorkloadSpec {
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

export function parseStressArgs(
  argv: readonly string[],
  now: () => number = Date.now,
): ParsedStress {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    throw new UsageError(`${(err as Error).message.split('\n')[0]}; see faultline stress --help`);
  }
  const v = parsed.values;
  if (v.help === true) return { kind: 'help' };
  if (v['list-bugs'] === true) return { kind: 'list-bugs' };
  if (parsed.positionals.length > 0) {
    throw new UsageError(
      `unexpected argument ${JSON.stringify(parsed.positionals[0])}; faultline stress takes only options`,
    );
  }
  let bug: string | null = null;
  if (v['inject-bug'] !== undefined) {
    const b = bug_by_name(v['inject-bug']);
    if (b === null) {
      throw new UsageError(
        `--inject-bug ${v['inject-bug']}: unknown bug; allowed: ${BUGS.map((x) => x.name).join(', ')}`,
      );
    }
    bug = b.name;
  }
  const d = bug !== null ? bugDefault(bug) : null;

  let schemes: SchemeName[];
  const schemesFlag = v.schemes;
  if (schemesFlag === undefined) schemes = d !== null ? [d.scheme] : [...SCHEMES];
  else if (schemesFlag.trim() === 'all') schemes = [...SCHEMES];
  else {
    schemes = schemesFlag.split(',').map((s) => {
      const t = s.trim();
      if (!(SCHEMES as readonly string[]).includes(t)) {
        throw new UsageError(
          `--schemes: unknown scheme ${JSON.stringify(t)}; allowed: all or ${SCHEMES.join(', ')}`,
        );
      }
      return t as SchemeName;
    });
    schemes = [...new Set(schemes)];
  }

  if (v.preset !== undefined && v.workload !== undefined) {
    throw new UsageError('--preset and --workload both given; allowed: one of them');
  }
  let workload: WorkloadSpec;
  let workloadFlag: string;
  if (v.workload !== undefined) {
    workload = readWorkloadFile(v.workload);
    workloadFlag = `--workload ${v.workload}`;
  } else {
    const p = v.preset ?? d?.preset ?? 'mixed';
    const w = STRESS_PRESETS[p];
    if (w === undefined) {
      throw new UsageError(
        `--preset ${p}: unknown preset; allowed: ${STRESS_PRESET_NAMES.join(', ')}`,
      );
    }
    workload = w;
    workloadFlag = `--preset ${p}`;
  }

  const threads =
    v.threads !== undefined
      ? intFlag('--threads', v.threads, 1, MAX_STRESS_THREADS)
      : (d?.threads ?? STRESS_DEFAULT_THREADS);
  if (workload.vmas.layout === 'shared' && workload.vmas.pages < threads) {
    throw new UsageError(
      `--threads ${threads}: workload ${workload.name}'s shared VMAs have ${workload.vmas.pages} pages; allowed: at most that many threads`,
    );
  }
  if (v.duration !== undefined && v.ops !== undefined) {
    throw new UsageError('--duration and --ops both given; allowed: one of them');
  }
  const opsPerFaulter = v.ops !== undefined ? intFlag('--ops', v.ops, 1, 1_000_000_000) : 0;
  const durationMs =
    v.duration !== undefined
      ? parseStressDuration(v.duration)
      : opsPerFaulter > 0
        ? 0
        : bug !== null
          ? STRESS_BUG_DURATION_MS
          : STRESS_DEFAULT_DURATION_MS;
  const seed = v.seed !== undefined ? intFlag('--seed', v.seed, 0, 0x7fffffff) : now() % 0x7fffffff;
  const chaosFlag = v.chaos ?? d?.chaos ?? 'light';
  if (!(CHAOS_LEVELS as readonly string[]).includes(chaosFlag)) {
    throw new UsageError(`--chaos ${chaosFlag}: allowed: ${CHAOS_LEVELS.join(', ')}`);
  }
  const chaos = chaosFlag as ChaosLevel;
  let killRate = d !== null && d.killRate > 0 ? d.killRate : DEFAULT_KILL_RATE[chaos];
  if (v['kill-rate'] !== undefined) {
    const r = Number(v['kill-rate']);
    if (!/^\d+(\.\d+)?$/.test(v['kill-rate'].trim()) || r > 100_000) {
      throw new UsageError(
        `--kill-rate ${v['kill-rate']}: allowed: a number 0..100000 (kills and spurious wake-ups per second)`,
      );
    }
    killRate = r;
  }
  const repeatUntilFail =
    v['repeat-until-fail'] !== undefined
      ? intFlag('--repeat-until-fail', v['repeat-until-fail'], 1, MAX_REPEAT_UNTIL_FAIL)
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
      throw new UsageError(`${other} and ${flag} both name ${f}; allowed: different files`);
    }
    seen.set(resolve(f), flag);
  }
  const points = d !== null && chaos !== 'off' ? d.points : undefined;
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
        ...(points !== undefined ? { points } : {}),
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

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: true,
    options: {
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
    },
  });
}
