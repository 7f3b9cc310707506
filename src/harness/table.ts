// The text report: machine, then one table per preset and thread count with every scheme side
// by side and its ratio to mmap_lock, the lock counters, and the DESIGN.md targets.

import type { LatencySummary } from './histogram.js';
import { machineLines } from './machine.js';
import {
  type BenchReport,
  type BenchResult,
  type RatioSpread,
  ratioSpread,
  schemeLabel,
} from './results.js';
import { computeTargets } from './targets.js';

/** 1234567 → '1.23M', 4560 → '4.56k'. */
export function fmtRate(v: number): string {
  if (!Number.isFinite(v)) return '-';
  if (v >= 1e9) return `${(v / 1e9).toFixed(2)}G`;
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)}M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(2)}k`;
  return v.toFixed(v >= 100 ? 0 : 1);
}

/** ns → '850ns', '12.3us', '4.70ms', '1.20s'. */
export function fmtNs(v: number): string {
  if (!Number.isFinite(v)) return '-';
  if (v < 1e3) return `${Math.round(v)}ns`;
  if (v < 1e6) return `${(v / 1e3).toPrecision(3)}us`;
  if (v < 1e9) return `${(v / 1e6).toPrecision(3)}ms`;
  return `${(v / 1e9).toPrecision(3)}s`;
}

/** A count: exact below 10000, then 12.3k / 4.56M. */
export function fmtCount(v: number): string {
  return v < 10_000 ? String(v) : fmtRate(v);
}

export function fmtRatio(v: number): string {
  return Number.isFinite(v) ? `${v.toFixed(2)}x` : '-';
}

/**
 * A ratio with its spread over interleaved repeats: the median of the per-repeat ratios and,
 * in brackets, their range — a reader sees at once whether two schemes really differ.
 */
export function fmtRatioSpread(v: number, s: RatioSpread | null): string {
  if (s === null) return fmtRatio(v);
  const f = (x: number): string => (x >= 10 ? x.toFixed(0) : x.toFixed(1));
  return `${fmtRatio(s.median)} [${f(s.min)}-${f(s.max)}]`;
}

function fmtLat(l: LatencySummary, count: number): string[] {
  return count === 0
    ? ['-', '-', '-', '-']
    : [fmtNs(l.p50), fmtNs(l.p99), fmtNs(l.p999), fmtNs(l.max)];
}

/** Lay out rows of cells in aligned columns (first column left, the rest right). */
export function columns(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const r of rows) {
    r.forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, c.length);
    });
  }
  return rows.map((r) =>
    r
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}

const FAULT_WAIT_TEXT = {
  retry:
    'a fault drops its lock for the I/O wait and re-faults with FAULT_FLAG_TRIED (the kernel default)',
  hold: 'a fault sleeps holding its lock (the pessimistic case)',
} as const;

/** The counters the table shows, in the kernel's vm_event names. */
export const LOCK_COUNTERS = [
  'VMA_LOCK_SUCCESS',
  'VMA_LOCK_ABORT',
  'VMA_LOCK_RETRY',
  'VMA_LOCK_MISS',
  'MMAP_LOCK_FALLBACK',
  'SPF_SUCCESS',
  'SPF_ABORT',
  'ANON_VMA_PREPARE',
  'ANON_VMA_RETRY',
  'ANON_VMA_ABORT',
  'FAULT_IO_RETRY',
] as const;

function opCount(r: BenchResult, pred: (k: string) => boolean): number {
  return Object.entries(r.ops)
    .filter(([k]) => pred(k))
    .reduce((s, [, o]) => s + o.count, 0);
}

/** How many runs a result is the median of. */
function repeatsOf(r: BenchResult): number {
  return r.repeats?.faultsPerSec.length ?? 1;
}

/**
 * Groups of results that belong in one table: same preset, fault wait, threads,
 * instrumentation, RCU.
 */
export function groupResults(rs: readonly BenchResult[]): BenchResult[][] {
  const groups = new Map<string, BenchResult[]>();
  for (const r of rs) {
    const key = `${r.preset}\u0000${r.faultWait ?? ''}\u0000${r.threads}\u0000${r.instrumentation}\u0000${r.rcu ?? 'memb'}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.values()];
}

export function renderTable(report: BenchReport, describe: (preset: string) => string): string {
  const maxThreads = Math.max(0, ...report.results.map((r) => r.threads + r.writers));
  const out: string[] = [...machineLines(report.machine, maxThreads)];
  out.push(`timing: ${report.config.timing}`);
  for (const [s, k] of Object.entries(report.config.schemeKernels ?? {})) {
    out.push(`kernel modelled by ${s}: ${k}`);
  }
  const bp = report.config.backports ?? [];
  if (bp.length > 0) out.push(`backported to vma_rwsem by name: ${bp.join(', ')}`);
  for (const w of report.warnings) out.push(`warning: ${w}`);
  for (const g of groupResults(report.results)) {
    const f = g[0]!;
    const wait = f.faultWait ?? null;
    out.push('');
    out.push(
      `${f.preset}${wait === null ? '' : ` (${wait})`}: ${describe(f.preset)}\n${wait === null ? '' : `  fault wait ${wait}: ${FAULT_WAIT_TEXT[wait]}\n`}  ${f.threads} faulter${f.threads === 1 ? '' : 's'}, ${f.writers} writer${f.writers === 1 ? '' : 's'}, ${(f.durationMs / 1000).toFixed(2)} s, instrumentation ${f.instrumentation}, rcu ${f.rcu ?? 'memb'}${repeatsOf(f) > 1 ? `, median of ${repeatsOf(f)} interleaved runs, [min-max] of the per-run ratios` : ''}`,
    );
    const setups = g.flatMap((r) => (r.setup === undefined ? [] : [r.setup]));
    if (setups.length > 0) {
      const max = (f: (s: (typeof setups)[number]) => number): number => Math.max(...setups.map(f));
      const mib = (max((s) => s.bufferBytes) / (1 << 20)).toFixed(0);
      if (setups.every((s) => s.runMs !== undefined)) {
        const run = max((s) => s.runMs ?? 0);
        const gate = max((s) => (s.runMs ?? 0) - s.worldMs);
        out.push(
          `  set-up (slowest run): ${run.toFixed(0)} ms: world ${max((s) => s.worldMs).toFixed(0)} ms, workers to the gate ${gate.toFixed(0)} ms; shared buffer ${mib} MiB`,
        );
        // Starting threads is not a run's set-up: a sweep starts each thread once and keeps it.
        const starting = setups.filter((s) => (s.threadsStarted ?? 0) > 0);
        if (starting.length > 0) {
          out.push(
            `  threads started: ${Math.max(...starting.map((s) => s.threadsStarted ?? 0))} in ${Math.max(...starting.map((s) => s.threadStartMs ?? 0)).toFixed(0)} ms, once per invocation (the sweep keeps them for its later runs)`,
          );
        }
      } else {
        // A report from before runMs: runs that started threads paid for them in poolMs.
        const starting = setups.filter((s) => (s.threadsStarted ?? 0) > 0);
        const reusing = setups.filter((s) => (s.threadsStarted ?? 0) === 0);
        const pool =
          starting.length === 0 || reusing.length === 0
            ? `workers to the gate ${max((s) => s.poolMs).toFixed(0)} ms`
            : `workers to the gate ${Math.max(...reusing.map((s) => s.poolMs)).toFixed(0)} ms on the sweep's running threads, ${Math.max(...starting.map((s) => s.poolMs)).toFixed(0)} ms where threads started (${Math.max(...starting.map((s) => s.threadsStarted ?? 0))} at most)`;
        out.push(
          `  set-up (slowest run): ${setups.every((s) => s.totalMs !== undefined) ? `${max((s) => s.totalMs ?? 0).toFixed(0)} ms in all (threads start while the world is built): ` : ''}world ${max((s) => s.worldMs).toFixed(0)} ms, ${pool}; shared buffer ${mib} MiB`,
        );
      }
    }
    const base = g.find((r) => r.scheme === 'mmap_lock');
    const hasWriters = g.some((r) => r.writerOpsPerSec > 0);
    const hasMaps = g.some((r) => r.mapsReadsPerSec > 0);
    const head = ['scheme', 'faults/s', 'vs mmap_lock', 'p50', 'p99', 'p99.9', 'max'];
    if (hasWriters) head.push('writer ops/s', 'vs mmap_lock', 'w p50', 'w p99', 'w p99.9', 'w max');
    if (hasMaps) head.push('maps/s', 'maps p99');
    const rows: string[][] = [head];
    for (const r of g) {
      const row = [
        schemeLabel(r),
        fmtRate(r.faultsPerSec),
        base === undefined
          ? '-'
          : fmtRatioSpread(
              r.faultsPerSec / base.faultsPerSec,
              ratioSpread(r.repeats?.faultsPerSec, base.repeats?.faultsPerSec),
            ),
        ...fmtLat(
          r.faultLatencyNs,
          opCount(r, (k) => k === 'faulter.fault'),
        ),
      ];
      if (hasWriters) {
        row.push(
          fmtRate(r.writerOpsPerSec),
          base === undefined
            ? '-'
            : fmtRatioSpread(
                r.writerOpsPerSec / base.writerOpsPerSec,
                ratioSpread(r.repeats?.writerOpsPerSec, base.repeats?.writerOpsPerSec),
              ),
          ...fmtLat(
            r.writerLatencyNs,
            opCount(r, (k) => k.startsWith('writer.') && k !== 'writer.maps'),
          ),
        );
      }
      if (hasMaps) row.push(fmtRate(r.mapsReadsPerSec), fmtNs(r.mapsLatencyNs.p99));
      rows.push(row);
    }
    out.push(...columns(rows).map((l) => `  ${l}`));
    const crows: string[][] = [['counters', ...LOCK_COUNTERS]];
    for (const r of g)
      crows.push([schemeLabel(r), ...LOCK_COUNTERS.map((c) => fmtCount(r.counters[c] ?? 0))]);
    out.push(...columns(crows).map((l) => `  ${l}`));
  }
  const placement = report.results.find((r) => r.placement.some((p) => p.cpu >= 0));
  if (placement !== undefined) {
    out.push('');
    out.push(
      `placement (pinned; ${placement.preset} ${schemeLabel(placement)}): ${placement.placement
        .map((p) => `w${p.worker} ${p.role} tid ${p.tid} cpu ${p.cpu}`)
        .join(', ')}`,
    );
  }
  const targets = computeTargets(report);
  if (targets.length > 0) {
    out.push('');
    out.push('targets (shown, not asserted):');
    out.push(
      ...columns(
        targets.map((t) => [t.what, `${t.threads} thr`, fmtRatioSpread(t.ratio, t.spread ?? null)]),
      ).map((l) => `  ${l}`),
    );
  }
  return `${out.join('\n')}\n`;
}
