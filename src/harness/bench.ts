// `faultline bench`: every scheme side by side on each workload, at each thread count. Each
// run gets a fresh world (so runs do not share a slab, a frame pool or a warm tree), its own
// pool of workers, and its own counters.

import { CNT, COUNTER_NAMES } from '../sched/counters.js';
import { reset_counters, sum_counter } from '../sched/task.js';
import { scheme_by_name } from '../schemes/index.js';
import type { RcuFlavor } from '../sync/rcu.js';
import { setupRun } from '../workload/setup.js';
import {
  type FaultWait,
  faultWaits,
  type SrcuFree,
  type WorkloadSpec,
  writerCount,
} from '../workload/spec.js';
import type { Backport, SchemeName } from '../workload/world.js';
import { machineInfo } from './machine.js';
import { compiledModule } from './paths.js';
import { Progress } from './progress.js';
import { type BenchReport, type BenchResult, schemeLabel, summarizeRun } from './results.js';
import { type RunOutcome, runWorkers, WorkerPool } from './runner.js';

export const TIMING =
  'performance.now() around each operation (about 57 ns a call on the 2-core reference machine; two calls per operation)';

export interface BenchOptions {
  readonly workloads: readonly WorkloadSpec[];
  readonly schemes: readonly SchemeName[];
  readonly threads: readonly number[];
  readonly durationMs: number;
  /** operations per faulter after which the run stops (0: none) */
  readonly opsPerFaulter?: number;
  /** unmeasured warm-up at the start of each run (JIT), ms */
  readonly warmupMs: number;
  readonly pin: boolean;
  readonly instrumentation: ReadonlyArray<'on' | 'off'>;
  /**
   * rw_semaphore optimistic spinning (default ['on'], the kernel's CONFIG_RWSEM_SPIN_ON_OWNER);
   * ['on', 'off'] runs every configuration both ways, interleaved.
   */
  readonly rwsemSpin?: ReadonlyArray<'on' | 'off'>;
  /** newer features on older schemes, by name (WorldConfig backports; default none) */
  readonly backports?: readonly Backport[];
  /** RCU flavours to run, each a full set of runs (default: qsbr) */
  readonly rcu?: readonly RcuFlavor[];
  readonly progress: boolean;
  /** no progress from a worker for this long aborts the run (default 10 s) */
  readonly watchdogMs?: number;
  /** where warnings go as they happen (default: nowhere; they are in the report) */
  readonly warn?: (line: string) => void;
  /**
   * Runs of each configuration (default 1). The repeats are interleaved — every configuration
   * once, then again — so a slow stretch of a shared machine falls on all schemes alike; each
   * configuration reports its median run by faults/s (writer ops/s when it has no faulter).
   */
  readonly repeat?: number;
  /**
   * Per preset (by name): its own run length and repeats, used instead of durationMs and
   * repeat for that workload (the default run sets them from measured variance).
   */
  readonly perPreset?: Readonly<
    Record<string, { readonly durationMs: number; readonly repeat: number }>
  >;
}

/** The run whose throughput is the median of its configuration's repeats (lower middle). */
function medianRun(rs: readonly BenchResult[]): BenchResult {
  const key = (r: BenchResult): number => (r.threads > 0 ? r.faultsPerSec : r.writerOpsPerSec);
  const sorted = [...rs].sort((a, b) => key(a) - key(b));
  const mid = sorted[(sorted.length - 1) >> 1]!;
  if (rs.length === 1) return mid;
  return {
    ...mid,
    repeats: {
      faultsPerSec: rs.map((r) => r.faultsPerSec),
      writerOpsPerSec: rs.map((r) => r.writerOpsPerSec),
      faultP99Ns: rs.map((r) => r.faultLatencyNs.p99),
      writerP99Ns: rs.map((r) => r.writerLatencyNs.p99),
    },
  };
}

export interface PlannedRun {
  readonly spec: WorkloadSpec;
  readonly scheme: SchemeName;
  /** srcu_spf's free variant; null for the other schemes */
  readonly srcuFree: SrcuFree | null;
  /** how a sleeping fault waits (the workload's faultWait); null without a sleep cost */
  readonly faultWait: FaultWait | null;
  readonly threads: number;
  readonly instrumentation: 'on' | 'off';
  readonly rwsemSpin: 'on' | 'off';
  readonly rcu: RcuFlavor;
}

/**
 * Every run, in the order they go: workload, instrumentation, rcu, fault wait, threads, scheme,
 * variant, rwsem spinning.
 */
export function planRuns(o: BenchOptions): { runs: PlannedRun[]; skipped: string[] } {
  const runs: PlannedRun[] = [];
  const skipped: string[] = [];
  for (const spec of o.workloads) {
    const schemes = o.schemes.filter((s) => spec.schemes === undefined || spec.schemes.includes(s));
    if (schemes.length === 0) {
      skipped.push(
        `${spec.name} runs only ${spec.schemes?.join(', ')}; none of them was asked for`,
      );
      continue;
    }
    for (const instrumentation of o.instrumentation) {
      for (const rcu of o.rcu ?? ['qsbr']) {
        const waits: Array<FaultWait | null> =
          spec.faultCost.kind === 'sleep' ? [...faultWaits(spec)] : [null];
        for (const faultWait of waits)
          for (const threads of o.threads) {
            for (const scheme of schemes) {
              const variants: Array<SrcuFree | null> =
                scheme === 'srcu_spf' ? [...spec.srcuFree] : [null];
              for (const srcuFree of variants)
                for (const rwsemSpin of o.rwsemSpin ?? ['on'])
                  runs.push({
                    spec,
                    scheme,
                    srcuFree,
                    faultWait,
                    threads,
                    instrumentation,
                    rwsemSpin,
                    rcu,
                  });
            }
          }
      }
    }
  }
  return { runs, skipped };
}

/**
 * A run's set-up times (results.ts `setup`), all in this thread's performance.now() ms: the
 * set-up began at tSetup, the world took worldMs from tWorld, the missing threads were started
 * at tGrow (workers from index `had` on run on them; each reports when it had loaded its
 * modules, in ms since the epoch).
 */
function setupTimes(
  out: RunOutcome,
  tGrow: number,
  worldMs: number,
  tSetup: number,
  had: number,
  threadsStarted: number,
  bufferBytes: number,
): NonNullable<BenchResult['setup']> {
  const handedOut = out.gateAt - out.startNs / 1e6;
  let lastLoaded = Number.NEGATIVE_INFINITY;
  if (threadsStarted > 0) {
    for (const w of out.workers) {
      if (w.index >= had) lastLoaded = Math.max(lastLoaded, w.loadedAt - performance.timeOrigin);
    }
  }
  return {
    worldMs,
    poolMs: out.startNs / 1e6,
    totalMs: out.gateAt - tSetup,
    runMs: worldMs + out.gateAt - Math.max(handedOut, lastLoaded),
    threadsStarted,
    ...(threadsStarted > 0 ? { threadStartMs: lastLoaded - tGrow } : {}),
    bufferBytes,
  };
}

export async function runBench(o: BenchOptions): Promise<BenchReport> {
  const machine = machineInfo();
  const { runs, skipped } = planRuns(o);
  const warnings = [...skipped];
  for (const s of skipped) o.warn?.(s);
  const plan = (r: PlannedRun): { durationMs: number; repeat: number } =>
    o.perPreset?.[r.spec.name] ?? { durationMs: o.durationMs, repeat: o.repeat ?? 1 };
  const reps = Math.max(1, ...runs.map((r) => plan(r).repeat));
  const total = runs.reduce((s, r) => s + plan(r).repeat, 0);
  const progress = new Progress(total, o.progress);
  let done = 0;
  const jobModule = compiledModule('src/workload/jobs');
  const perRun: BenchResult[][] = runs.map(() => []);
  let pinWarned = false;
  // One pool for the whole sweep, grown by the missing threads when a run needs more: each thread
  // starts and loads its modules once per sweep (a run's set-up counts the threads it started,
  // `threadsStarted`, and the pool's time up to its gate). Grown as needed rather than made at
  // the sweep's largest size up front: starting dozens of threads at once has crashed Node 20's
  // ESM loader here (v8::Module::IsGraphAsync).
  let pool: WorkerPool | null = null;
  try {
    for (let rep = 0; rep < reps; rep++)
      for (const [i, r] of runs.entries()) {
        const { durationMs, repeat } = plan(r);
        if (rep >= repeat) continue;
        const label = `${r.spec.name}${r.faultWait === null ? '' : ` (${r.faultWait})`} ${schemeLabel({ scheme: r.scheme, srcuFree: r.srcuFree, rwsemSpin: r.rwsemSpin })} ${r.threads} thr rcu ${r.rcu}${repeat > 1 ? ` (${rep + 1}/${repeat})` : ''}`;
        progress.start(done++, label);
        const tSetup = performance.now();
        // Start the missing threads: before the world is built, so that they boot meanwhile,
        // when each has a core besides this thread's; else after it (on an oversubscribed
        // machine the world would only be timed while starved, and nothing would be gained).
        const need = r.threads + writerCount(r.spec);
        const had = pool?.threads ?? 0;
        const early = need - had < machine.cores;
        let tGrow = tSetup;
        let threadsStarted = 0;
        if (early) {
          if (pool === null) pool = new WorkerPool(need, jobModule);
          else pool.grow(need);
          threadsStarted = pool.lastStarted;
        }
        const tWorld = performance.now();
        const setup = setupRun({
          spec: r.spec,
          scheme: r.scheme,
          srcuFree: r.srcuFree ?? 'call_srcu',
          rcu: r.rcu,
          threads: r.threads,
          instrumentation: r.instrumentation === 'on',
          faulterBudget: o.opsPerFaulter ?? 0,
          rwsemSpin: r.rwsemSpin === 'on',
          faultWait: r.faultWait,
          backports: o.backports ?? [],
        });
        const worldMs = performance.now() - tWorld;
        // Count only what the workers do, not the set-up's mmaps.
        reset_counters(setup.maxTasks);
        if (!early) tGrow = performance.now();
        // (early: a no-op unless the plan has more workers than counted)
        if (pool === null) pool = new WorkerPool(setup.workers.length, jobModule);
        else pool.grow(setup.workers.length);
        threadsStarted += pool.lastStarted;
        const out = await runWorkers({
          pool,
          sab: setup.sab,
          jobModule,
          workers: setup.workers,
          durationMs,
          warmupMs: o.warmupMs,
          pin: o.pin,
          cores: machine.cores,
          tracing: r.instrumentation === 'on',
          watchdogMs: o.watchdogMs ?? 10_000,
          onTick: (ms) => progress.update(durationMs > 0 ? ms / (o.warmupMs + durationMs) : 0),
        });
        if (out.pinWarning !== null && !pinWarned) {
          pinWarned = true;
          const w = `pinning failed, running unpinned: ${out.pinWarning}`;
          warnings.push(w);
          progress.done();
          o.warn?.(w);
        }
        const counters: Record<string, number> = {};
        for (const name of COUNTER_NAMES) counters[name] = sum_counter(CNT[name], setup.maxTasks);
        perRun[i]!.push({
          ...summarizeRun(
            {
              preset: r.spec.name,
              scheme: r.scheme,
              srcuFree: r.srcuFree,
              faultWait: r.faultWait,
              instrumentation: r.instrumentation,
              rwsemSpin: r.rwsemSpin,
              rcu: r.rcu,
              threads: r.threads,
              writers: writerCount(r.spec),
            },
            out,
            counters,
          ),
          setup: setupTimes(out, tGrow, worldMs, tSetup, had, threadsStarted, setup.sab.byteLength),
        });
      }
  } finally {
    progress.done();
    await pool?.destroy();
  }
  const results = perRun.map(medianRun);
  return {
    machine,
    config: {
      presets: o.workloads.map((w) => w.name),
      schemes: o.schemes,
      threads: o.threads,
      durationMs: o.durationMs,
      opsPerFaulter: o.opsPerFaulter ?? 0,
      warmupMs: o.warmupMs,
      pin: o.pin,
      instrumentation: o.instrumentation,
      rwsemSpin: o.rwsemSpin ?? ['on'],
      rcu: o.rcu ?? ['qsbr'],
      ...(o.backports === undefined || o.backports.length === 0 ? {} : { backports: o.backports }),
      repeat: o.repeat ?? 1,
      ...(o.perPreset === undefined ? {} : { perPreset: o.perPreset }),
      timing: TIMING,
      schemeKernels: Object.fromEntries(o.schemes.map((s) => [s, scheme_by_name(s).kernel])),
    },
    results,
    warnings,
  };
}
