// What one benchmark run reports, and how it is reduced from the runner's per-worker outcomes.
// The JSON report is { machine, config, results: BenchResult[] }; the table and the HTML page
// are drawn from the same objects.

import { Histogram, type LatencySummary, summarize } from './histogram.js';
import type { MachineInfo } from './machine.js';
import type { RunOutcome } from './runner.js';

export interface OpStats {
  readonly count: number;
  readonly perSec: number;
  readonly latencyNs: LatencySummary;
}

export interface Placement {
  readonly worker: number;
  readonly role: string;
  readonly tid: number;
  /** the CPU pinned to, -1 if not pinned */
  readonly cpu: number;
  /** the CPU the thread last ran on, -1 if unknown */
  readonly lastCpu: number;
}

export interface BenchResult extends RunLabels {
  /** measured run length (mean over workers), ms */
  readonly durationMs: number;
  readonly faultsPerSec: number;
  /** mmap, munmap, mprotect and madvise by writer workers, per second */
  readonly writerOpsPerSec: number;
  /** /proc/pid/maps listings per second */
  readonly mapsReadsPerSec: number;
  readonly faultLatencyNs: LatencySummary;
  readonly writerLatencyNs: LatencySummary;
  readonly mapsLatencyNs: LatencySummary;
  /** every op kind by role: 'faulter.fault', 'faulter.madvise', 'writer.munmap', ... */
  readonly ops: Readonly<Record<string, OpStats>>;
  /** per-task counters summed over all tasks (src/sched/counters.ts names) */
  readonly counters: Readonly<Record<string, number>>;
  readonly placement: readonly Placement[];
  /**
   * The run's set-up, before its measurement: the buffer and world (with the workload's VMAs),
   * the worker pool up to the start gate, and the shared buffer's size. Starting worker threads
   * is not part of it: a sweep starts each thread once (threadStartMs) and keeps it.
   */
  readonly setup?: {
    readonly worldMs: number;
    /** from handing out the tasks until every worker waited at the gate */
    readonly poolMs: number;
    /**
     * wall time from the start of the set-up until the gate opened, including the start of any
     * thread this run started (threadStartMs)
     */
    readonly totalMs?: number;
    /**
     * the run's own set-up: worldMs, plus the workers' way to the gate from the later of the
     * tasks being handed out and the last new thread having loaded its modules (so without
     * the threads' start)
     */
    readonly runMs?: number;
    /** worker threads this run had to start (0: the sweep's pool already had them) */
    readonly threadsStarted?: number;
    /**
     * when threadsStarted > 0: wall time from starting them until the last had loaded its
     * modules; they start while the world is built only when the machine has a core for each
     * of them besides this thread's (else worldMs would time a starved thread)
     */
    readonly threadStartMs?: number;
    readonly bufferBytes: number;
  };
  /** with --repeat: every repeat's throughput; this result is the median repeat's */
  readonly repeats?: {
    readonly faultsPerSec: number[];
    readonly writerOpsPerSec: number[];
    /** fault and writer p99 of each repeat, ns (absent in older reports) */
    readonly faultP99Ns?: number[];
    readonly writerP99Ns?: number[];
  };
}

export interface BenchConfig {
  readonly presets: readonly string[];
  readonly schemes: readonly string[];
  readonly threads: readonly number[];
  readonly durationMs: number;
  /** operations per faulter that end a run (0: the duration does) */
  readonly opsPerFaulter: number;
  readonly warmupMs: number;
  readonly pin: boolean;
  readonly instrumentation: ReadonlyArray<'on' | 'off'>;
  /** rw_semaphore optimistic spinning, each value run (absent in older reports: on) */
  readonly rwsemSpin?: ReadonlyArray<'on' | 'off'>;
  /** features of newer kernels given to older schemes by name (absent: none) */
  readonly backports?: readonly string[];
  /** the RCU flavours run (absent in older reports: memb) */
  readonly rcu?: readonly string[];
  /** runs of each configuration; each result is the median one (absent in older reports) */
  readonly repeat?: number;
  /** per preset: run length and repeats that replaced durationMs and repeat (the default run) */
  readonly perPreset?: Readonly<
    Record<string, { readonly durationMs: number; readonly repeat: number }>
  >;
  /** how latencies were timed, and what the timer costs */
  readonly timing: string;
  /** the kernel each scheme run models (absent in older reports) */
  readonly schemeKernels?: Readonly<Record<string, string>>;
}

export interface BenchReport {
  readonly machine: MachineInfo;
  readonly config: BenchConfig;
  readonly results: readonly BenchResult[];
  /** warnings the run printed (pinning failures, skipped runs) */
  readonly warnings: readonly string[];
}

/** What identifies one run of the bench. */
export interface RunLabels {
  readonly preset: string;
  readonly scheme: string;
  /** how srcu_spf freed VMAs in this run; null for other schemes */
  readonly srcuFree: string | null;
  /**
   * How a fault with a sleeping cost waited: 'retry' (dropped its lock, re-faulted with
   * FAULT_FLAG_TRIED) or 'hold'; null without a sleep cost (absent in older reports: hold)
   */
  readonly faultWait?: 'hold' | 'retry' | null;
  readonly instrumentation: 'on' | 'off';
  /** rw_semaphore writers spun before queueing (absent in older reports: on) */
  readonly rwsemSpin?: 'on' | 'off';
  /** the RCU flavour: qsbr or memb (absent in older reports: memb) */
  readonly rcu?: string;
  /** faulting workers */
  readonly threads: number;
  /** writer workers (maps readers included) */
  readonly writers: number;
}

const EMPTY = new Histogram();

/** Reduce a run: rates are summed per worker (its ops over its own elapsed time). */
export function summarizeRun(
  labels: RunLabels,
  out: RunOutcome,
  counters: Readonly<Record<string, number>>,
): BenchResult {
  const hist = new Map<string, Histogram>();
  const rate = new Map<string, number>();
  let elapsed = 0;
  for (const w of out.workers) {
    const secs = w.elapsedNs / 1e9;
    elapsed += w.elapsedNs;
    w.kinds.forEach((kind, k) => {
      const key = `${w.role}.${kind}`;
      const s = w.histograms[k]!;
      const h = hist.get(key) ?? new Histogram();
      hist.set(key, h.merge(s));
      rate.set(key, (rate.get(key) ?? 0) + (secs > 0 ? s.count / secs : 0));
    });
  }
  const ops: Record<string, OpStats> = {};
  for (const [key, h] of [...hist].sort(([a], [b]) => a.localeCompare(b))) {
    if (h.count === 0) continue;
    ops[key] = { count: h.count, perSec: rate.get(key) ?? 0, latencyNs: summarize(h) };
  }
  const pick = (pred: (key: string) => boolean): { perSec: number; h: Histogram } => {
    const h = new Histogram();
    let perSec = 0;
    for (const [key, kh] of hist) {
      if (!pred(key)) continue;
      h.merge(kh);
      perSec += rate.get(key) ?? 0;
    }
    return { perSec, h };
  };
  const faults = pick((k) => k === 'faulter.fault');
  const writes = pick((k) => k.startsWith('writer.') && k !== 'writer.maps');
  const maps = pick((k) => k === 'writer.maps');
  return {
    ...labels,
    durationMs: out.workers.length === 0 ? 0 : elapsed / out.workers.length / 1e6,
    faultsPerSec: faults.perSec,
    writerOpsPerSec: writes.perSec,
    mapsReadsPerSec: maps.perSec,
    faultLatencyNs: summarize(faults.h),
    writerLatencyNs: summarize(writes.h.count > 0 ? writes.h : EMPTY),
    mapsLatencyNs: summarize(maps.h),
    ops,
    counters,
    placement: out.workers.map((w) => ({
      worker: w.index,
      role: w.role,
      tid: w.tid,
      cpu: w.cpu,
      lastCpu: w.lastCpu,
    })),
  };
}

/** The label a result goes by in tables and charts: srcu_spf runs name their free variant. */
export function schemeLabel(r: Pick<BenchResult, 'scheme' | 'srcuFree' | 'rwsemSpin'>): string {
  const base = r.srcuFree === null ? r.scheme : `${r.scheme}/${r.srcuFree}`;
  return r.rwsemSpin === 'off' ? `${base} (no rwsem spin)` : base;
}

/** A ratio over interleaved repeats: the median of the per-repeat ratios and their range. */
export interface RatioSpread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** repeats paired */
  readonly n: number;
}

/**
 * a[k] / b[k] for each repeat k (repeat k of every configuration ran in the same pass, so
 * the pair saw the same machine), reduced to median and range. null with fewer than 2 pairs.
 */
export function ratioSpread(
  a: readonly number[] | undefined,
  b: readonly number[] | undefined,
): RatioSpread | null {
  if (a === undefined || b === undefined) return null;
  const n = Math.min(a.length, b.length);
  if (n < 2) return null;
  const rs: number[] = [];
  for (let k = 0; k < n; k++) if (b[k]! > 0) rs.push(a[k]! / b[k]!);
  if (rs.length < 2) return null;
  rs.sort((x, y) => x - y);
  const mid = rs.length >> 1;
  const median = rs.length % 2 === 1 ? rs[mid]! : (rs[mid - 1]! + rs[mid]!) / 2;
  return { median, min: rs[0]!, max: rs.at(-1)!, n: rs.length };
}
