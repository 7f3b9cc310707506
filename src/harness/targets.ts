// The performance targets of DESIGN.md, as figures computed from a report. Shown, never
// asserted: a 2-core machine cannot show scaling, and the table says so.

import { type BenchReport, type BenchResult, type RatioSpread, ratioSpread } from './results.js';

export interface Target {
  /** what is compared, e.g. 'io-fault fault p99, mmap_lock / vma_refcnt' */
  readonly what: string;
  readonly ratio: number;
  /** the threads it was measured at */
  readonly threads: number;
  /** over interleaved repeats: median and range of the per-repeat ratios */
  readonly spread?: RatioSpread | null;
}

const PER_VMA = ['vma_rwsem', 'vma_refcnt', 'srcu_spf'];

function find(
  rs: readonly BenchResult[],
  preset: string,
  scheme: string,
  threads: number,
  instr: 'on' | 'off',
  wait: 'hold' | 'retry' | null = null,
): BenchResult | undefined {
  // srcu_spf's default variant (call_srcu) stands for the scheme in comparisons. A sleeping
  // fault's wait mode is asked for by name (older reports, without it, only held).
  return rs.find(
    (r) =>
      r.preset === preset &&
      r.scheme === scheme &&
      r.threads === threads &&
      r.instrumentation === instr &&
      (r.srcuFree === null || r.srcuFree === 'call_srcu') &&
      (r.faultWait === wait || (r.faultWait === undefined && (wait === null || wait === 'hold'))),
  );
}

const ratio = (a: number, b: number): number => (b > 0 ? a / b : Number.NaN);

export function computeTargets(report: BenchReport): Target[] {
  // The first RCU flavour run stands for the comparison; the flavours are compared at the end.
  const rcu0 = report.config.rcu?.[0] ?? 'memb';
  const all = report.results;
  const rs = all.filter((r) => (r.rcu ?? 'memb') === rcu0);
  const out: Target[] = [];
  const instrs = [...new Set(rs.map((r) => r.instrumentation))];
  const instr = instrs.includes('off') ? 'off' : 'on';
  const threadsOf = (preset: string): number[] =>
    [...new Set(rs.filter((r) => r.preset === preset).map((r) => r.threads))].sort((a, b) => a - b);
  const top = (preset: string): number | undefined => threadsOf(preset).at(-1);

  const pftTop = top('pft');
  if (pftTop !== undefined) {
    const base = find(rs, 'pft', 'mmap_lock', pftTop, instr);
    for (const s of PER_VMA) {
      const r = find(rs, 'pft', s, pftTop, instr);
      if (base !== undefined && r !== undefined) {
        out.push({
          what: `pft faults/s, ${s} / mmap_lock`,
          ratio: ratio(r.faultsPerSec, base.faultsPerSec),
          threads: pftTop,
          spread: ratioSpread(r.repeats?.faultsPerSec, base.repeats?.faultsPerSec),
        });
      }
    }
  }
  const ioTop = top('io-fault');
  // retry (the kernel's default for I/O) is the headline; hold, the pessimistic case, beside it
  for (const wait of ['retry', 'hold'] as const) {
    if (ioTop === undefined) break;
    const base = find(rs, 'io-fault', 'mmap_lock', ioTop, instr, wait);
    for (const s of PER_VMA) {
      const r = find(rs, 'io-fault', s, ioTop, instr, wait);
      if (base !== undefined && r !== undefined) {
        out.push({
          what: `io-fault (${wait}) fault p99, mmap_lock / ${s}`,
          ratio: ratio(base.faultLatencyNs.p99, r.faultLatencyNs.p99),
          threads: ioTop,
          spread: ratioSpread(base.repeats?.faultP99Ns, r.repeats?.faultP99Ns),
        });
      }
    }
  }
  const pmTop = top('pft-munmap');
  if (pmTop !== undefined && threadsOf('pft').includes(pmTop)) {
    for (const s of ['mmap_lock', ...PER_VMA]) {
      const w = find(rs, 'pft-munmap', s, pmTop, instr);
      const alone = find(rs, 'pft', s, pmTop, instr);
      if (w !== undefined && alone !== undefined) {
        out.push({
          what: `${s} faults/s with a munmap writer / without (pft-munmap / pft)`,
          ratio: ratio(w.faultsPerSec, alone.faultsPerSec),
          threads: pmTop,
          spread: ratioSpread(w.repeats?.faultsPerSec, alone.repeats?.faultsPerSec),
        });
      }
    }
  }
  const srcuTop = top('srcu-munmap');
  if (srcuTop !== undefined) {
    const at = (free: string): BenchResult | undefined =>
      rs.find(
        (r) =>
          r.preset === 'srcu-munmap' &&
          r.scheme === 'srcu_spf' &&
          r.srcuFree === free &&
          r.threads === srcuTop &&
          r.instrumentation === instr,
      );
    const sync = at('synchronize_srcu')?.ops['writer.munmap'];
    const call = at('call_srcu')?.ops['writer.munmap'];
    if (sync !== undefined && call !== undefined) {
      out.push({
        what: 'srcu-munmap munmap p99, synchronize_srcu / call_srcu',
        ratio: ratio(sync.latencyNs.p99, call.latencyNs.p99),
        threads: srcuTop,
      });
    }
  }
  const ts = threadsOf('pft');
  if (ts.includes(1) && ts.length > 1) {
    const n = ts.at(-1)!;
    for (const s of ['mmap_lock', ...PER_VMA]) {
      const one = find(rs, 'pft', s, 1, instr);
      const many = find(rs, 'pft', s, n, instr);
      if (one !== undefined && many !== undefined) {
        out.push({
          what: `pft scaling efficiency of ${s} (faults/s at ${n} / ${n} x at 1)`,
          ratio: ratio(many.faultsPerSec, n * one.faultsPerSec),
          threads: n,
        });
      }
    }
  }
  if (instrs.length === 2) {
    for (const r of rs.filter((x) => x.instrumentation === 'off' && x.preset === 'pft')) {
      const on = find(rs, 'pft', r.scheme, r.threads, 'on');
      if (on !== undefined && (r.srcuFree === null || r.srcuFree === 'call_srcu')) {
        out.push({
          what: `pft ${r.scheme} faults/s, instrumentation off / on`,
          ratio: ratio(r.faultsPerSec, on.faultsPerSec),
          threads: r.threads,
        });
      }
    }
  }
  // Both RCU flavours run: each scheme's fault throughput, qsbr over memb, per preset.
  if (new Set(all.map((r) => r.rcu ?? 'memb')).size > 1) {
    for (const r of all.filter((x) => x.rcu === 'qsbr' && x.instrumentation === instr)) {
      const m = all.find(
        (x) =>
          x.rcu === 'memb' &&
          x.preset === r.preset &&
          x.scheme === r.scheme &&
          x.srcuFree === r.srcuFree &&
          (x.faultWait ?? null) === (r.faultWait ?? null) &&
          x.threads === r.threads &&
          x.instrumentation === r.instrumentation,
      );
      if (m === undefined || r.faultsPerSec === 0) continue;
      out.push({
        what: `${r.preset}${r.faultWait ? ` (${r.faultWait})` : ''} ${r.scheme}${r.srcuFree === null ? '' : `/${r.srcuFree}`} faults/s, rcu qsbr / memb`,
        ratio: ratio(r.faultsPerSec, m.faultsPerSec),
        threads: r.threads,
        spread: ratioSpread(r.repeats?.faultsPerSec, m.repeats?.faultsPerSec),
      });
    }
  }
  return out;
}
