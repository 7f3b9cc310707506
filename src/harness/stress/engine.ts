// The stress engine: for each scheme, build a world (several mms on one buffer), start the
// workers with chaos from the seed, stop them at a quiescent point every few hundred ms to
// validate the world, and collect every counter and every violation. The CLI (src/cli) parses
// flags into StressOptions; the reports (report.ts) render what runStress returns.

import { FaultlineError } from '../../errors.js';
import { do_mmap, PROT_READ, PROT_WRITE } from '../../ops/index.js';
import { atomic_read, atomic_set } from '../../sched/atomics.js';
import { bug_mask } from '../../sched/bugs.js';
import { CNT, COUNTER_NAMES } from '../../sched/counters.js';
import { event_name } from '../../sched/events.js';
import { read_ring, sum_counter } from '../../sched/task.js';
import { scheme } from '../../schemes/active.js';
import type { SchemeName } from '../../schemes/index.js';
import { arena_alloc, get_root, set_root, task_ptr } from '../../shm/arena.js';
import {
  LINE_WORDS,
  ROOT,
  RUN,
  RUN_WORKER,
  run_worker_ptr,
  STRESS,
  STRESS_MM_SLOTS,
  TASK,
} from '../../shm/layout/index.js';
import type { WorkerPlan } from '../../workload/job.js';
import type { PageRange } from '../../workload/jobs.js';
import { stopRun } from '../../workload/loop.js';
import { runFaultCost, type WorkloadSpec } from '../../workload/spec.js';
import { mm_create, world_create } from '../../workload/world.js';
import { compiledModule } from '../paths.js';
import { RunFailure, runWorkers } from '../runner.js';
import {
  type ChaosConfig,
  type ChaosLevel,
  type ChaosPoints,
  chaosConfig,
  withPoints,
} from './chaos.js';
import { CHECK_NAMES, type CheckName, check_quiescent, classify } from './checker.js';
import type {
  StressCommon,
  StressExiterArgs,
  StressFaulterArgs,
  StressHogArgs,
  StressKillerArgs,
  StressReaperArgs,
  StressRemoteArgs,
  StressWriterArgs,
} from './job.js';
import { release_pause, request_pause } from './pause.js';
import { placement, STRESS_EXTRAS, STRESS_PRESETS, shapeOf } from './workload.js';

export interface StressOptions {
  readonly schemes: readonly SchemeName[];
  readonly workload: WorkloadSpec;
  /** faulting workers */
  readonly threads: number;
  /** total run time over all schemes (0: --ops decides) */
  readonly durationMs: number;
  /** operations per faulter (0: the duration decides) */
  readonly opsPerFaulter: number;
  readonly seed: number;
  readonly chaos: ChaosLevel;
  /** delay probabilities to set on top of the level (a bug's targeted chaos) */
  readonly points?: ChaosPoints;
  /** the longest chaos sleep, µs (default: the chaos level's) */
  readonly maxSleepUs?: number;
  /** the fraction of chaos delays that sleep (default: the chaos level's) */
  readonly sleepFraction?: number;
  /** kills and spurious wake-ups per second (0: no killer) */
  readonly killRate: number;
  /** catalogue names to inject (at most one from the CLI) */
  readonly bugs: readonly string[];
  /** exiters: whole-mm lifetimes beside the main mm */
  readonly exiters?: number;
  /** churn steps in each exiter's life before its exit_mmap (default 6) */
  readonly exiterSteps?: number;
  /**
   * Give each exiter a zone of the main mm that it maps and unmaps every churn step (faulters
   * fault there), so slots faulters look up in the main mm become VMAs of an exiting mm.
   */
  readonly exiterZones?: boolean;
  /**
   * With exiterZones: the fraction of faulter steps that fault a random page of an exiter's zone
   * (default 0: the exiter zones only share the writers' zoneFraction).
   */
  readonly exiterZoneFraction?: number;
  /** srcu_spf: how munmap frees VMAs (default: the workload's first srcuFree) */
  readonly srcuFree?: 'call_srcu' | 'synchronize_srcu';
  /** CPU hogs (default: 1 at heavy chaos, else 0) */
  readonly hogs?: number;
  /** a quiescent check about this often (default 300 ms) */
  readonly checkEveryMs?: number;
  /** no progress for this long is a hang (default 5 s) */
  readonly watchdogMs?: number;
  /** the command line that re-runs this (for reports) */
  readonly commandLine: string;
  readonly onProgress?: (p: StressProgress) => void;
}

export interface StressProgress {
  readonly scheme: SchemeName;
  readonly schemeIndex: number;
  readonly elapsedMs: number;
  readonly ops: number;
  readonly checks: number;
  readonly violations: number;
}

export interface TaskEvents {
  readonly task: number;
  readonly role: string;
  /** oldest first: "NAME(a,b)" */
  readonly events: readonly string[];
}

export interface Violation {
  readonly check: CheckName;
  /** 'run' (seen by a worker during an operation) or 'quiescent' (by the checker at rest) */
  readonly phase: 'run' | 'quiescent' | 'end';
  readonly kind: string;
  readonly message: string;
  readonly atMs: number;
  /** the last events of every worker, the failing one first where known */
  readonly tasks: readonly TaskEvents[];
}

export interface SchemeResult {
  readonly scheme: SchemeName;
  readonly durationMs: number;
  readonly ops: Readonly<Record<string, number>>;
  readonly opsTotal: number;
  readonly checksRun: number;
  readonly counters: Readonly<Record<string, number>>;
  readonly lostWakeups: number;
  readonly violations: readonly Violation[];
  /** per check: violations filed under it (all zero on a clean run) */
  readonly errors: Readonly<Record<CheckName, number>>;
  /** checks over time: [ms, violations so far, ops so far] */
  readonly timeline: ReadonlyArray<readonly [number, number, number]>;
  readonly ok: boolean;
}

export interface StressReport {
  readonly seed: number;
  readonly commandLine: string;
  readonly chaos: ChaosConfig;
  readonly killRate: number;
  readonly bugs: readonly string[];
  readonly workload: string;
  readonly threads: number;
  readonly results: readonly SchemeResult[];
  readonly ok: boolean;
}

/**
 * The per-task counters that bounded waits bump on a lost wake-up (LOST_WAKEUP, and any
 * any per-primitive one): a wait slice that expired with its condition true
 * and no wake-up in flight. Found by name, so a wait site that starts counting is covered.
 */
function lostWakeupCounters(): number[] {
  return COUNTER_NAMES.filter((n) => /(^|_)LOST(_|$)|LOST_WAKE/.test(n)).map((n) => CNT[n]);
}

/** The run's chaos: the level's, with the options' points, longest sleep and sleep fraction. */
function stressChaos(o: StressOptions): ChaosConfig {
  let chaos = chaosConfig(o.chaos);
  if (o.points !== undefined) chaos = withPoints(chaos, o.points);
  if (chaos.level === 'off') return chaos;
  if (o.maxSleepUs !== undefined) chaos = { ...chaos, maxSleepUs: o.maxSleepUs };
  if (o.sleepFraction !== undefined) chaos = { ...chaos, sleepFraction: o.sleepFraction };
  return chaos;
}

/** Pause generations are global to the thread: workers compare with what they served last. */
let generation = 0;

export async function runStress(o: StressOptions): Promise<StressReport> {
  const results: SchemeResult[] = [];
  const perScheme =
    o.durationMs > 0 ? Math.max(200, Math.floor(o.durationMs / o.schemes.length)) : 0;
  for (let i = 0; i < o.schemes.length; i++) {
    results.push(await runScheme(o, o.schemes[i]!, i, perScheme));
  }
  const chaos = stressChaos(o);
  return {
    seed: o.seed,
    commandLine: o.commandLine,
    chaos,
    killRate: o.killRate,
    bugs: [...o.bugs],
    workload: o.workload.name,
    threads: o.threads,
    results,
    ok: results.every((r) => r.ok),
  };
}

function ranges(n: number, pages: number, from: number): PageRange[] {
  const { stride } = placement(pages);
  return Array.from({ length: n }, (_, i) => ({ start: from + i * stride, pages }));
}

async function runScheme(
  o: StressOptions,
  name: SchemeName,
  index: number,
  durationMs: number,
): Promise<SchemeResult> {
  const spec = o.workload;
  const shape = shapeOf(spec);
  // A preset's own roles and world (not a --workload file that happens to share its name).
  const extras = (STRESS_PRESETS[spec.name] === spec ? STRESS_EXTRAS[spec.name] : undefined) ?? {};
  const exiters = o.exiters ?? extras.exiters ?? 1;
  const remotes = extras.remoteReaders ?? 0;
  // With remote readers the frame pool is meant to run dry: the main mm's tasks are the OOM
  // killer's victims (task->mm), and one OOM reaper runs.
  const oom = remotes > 0;
  const hogs = o.hogs ?? (o.chaos === 'heavy' ? 1 : 0);
  const writers = spec.writers.reduce((s, g) => s + g.count, 0);
  const killer = o.killRate > 0 ? 1 : 0;
  const nWorkers = o.threads + writers + exiters + hogs + killer + remotes + (oom ? 1 : 0);
  const privCount = o.threads * shape.privatePerFaulter;
  const { sab } = world_create({
    scheme: name,
    maxTasks: nWorkers + 1,
    maxMms: exiters * 2 + 4,
    maxVmas: Math.max(4096, 8 * (privCount + shape.sharedCount + writers * 8 + exiters * 16)),
    frames:
      extras.frames ??
      Math.max(
        4096,
        4 * (privCount * shape.privatePages + shape.sharedCount * shape.sharedPages) + 2048,
      ),
    ptePages: Math.max(1024, privCount + shape.sharedCount + 512),
    assertions: true,
    srcuFree: o.srcuFree ?? spec.srcuFree[0] ?? 'call_srcu',
    bugs: bug_mask(o.bugs),
  });
  const mm = mm_create();
  const stress = arena_alloc(STRESS.SIZE, LINE_WORDS, 'stress control block');
  set_root(ROOT.STRESS, stress);
  atomic_set(stress + STRESS.mms, mm);
  atomic_set(stress + STRESS.seed, o.seed & 0x7fffffff);

  // The faulters' VMAs: private ones first, then shared, each on its own pte page.
  const RW = PROT_READ | PROT_WRITE;
  const p1 = placement(Math.max(shape.privatePages, shape.sharedPages, 1));
  const priv = ranges(privCount, shape.privatePages, p1.base);
  const shared = ranges(shape.sharedCount, shape.sharedPages, p1.base + privCount * p1.stride);
  for (const r of [...priv, ...shared]) {
    const got = do_mmap(mm, r.start, r.pages, RW);
    if (got !== r.start)
      throw new FaultlineError(`stress set-up: mmap at ${r.start} returned ${got}`);
  }
  // One churn zone per writer, after the faulters' VMAs: 4× its mapping, on its own pte pages.
  let zoneAt = p1.base + (privCount + shape.sharedCount) * p1.stride;
  const zones: PageRange[] = [];
  for (const g of spec.writers) {
    for (let i = 0; i < g.count; i++) {
      const pages = 4 * g.pages;
      zones.push({ start: zoneAt, pages });
      zoneAt += placement(pages).stride;
    }
  }
  // With exiterZones, one more zone per exiter: its mapping in the main mm, unmapped and mapped again each churn
  // step, so that slots the faulters look up there move to the exiter's mm (type-safe reuse
  // across mms, and a foreign-mm put to an mm about to exit).
  const exiterZones: PageRange[] = [];
  for (let i = 0; o.exiterZones === true && i < exiters && i + 1 < STRESS_MM_SLOTS; i++) {
    exiterZones.push({ start: zoneAt, pages: 8 });
    zoneAt += placement(8).stride;
  }
  const writerZones = zones.slice();
  zones.push(...exiterZones);
  const chaos = stressChaos(o);
  const common: StressCommon = { chaos, seed: o.seed };
  const plans: WorkerPlan[] = [];
  const add = (role: string, args: StressCommon, budget = 0): void => {
    plans.push({ taskId: plans.length + 1, role, args, budget });
  };
  for (let f = 0; f < o.threads; f++) {
    const regions: PageRange[] = priv.slice(
      f * shape.privatePerFaulter,
      (f + 1) * shape.privatePerFaulter,
    );
    for (const v of shared) {
      const lo = Math.floor((f * v.pages) / o.threads);
      const hi = Math.floor(((f + 1) * v.pages) / o.threads);
      if (hi > lo) regions.push({ start: v.start + lo, pages: hi - lo });
    }
    const a: StressFaulterArgs = {
      ...common,
      mm,
      regions,
      writeFraction: spec.writeFraction,
      // A sleeping fault holds its lock where the workload allows it (io-fault lists both):
      // the long hold windows are what stress wants (rwsem-no-handoff starves a writer there).
      faultCost: runFaultCost(spec, spec.faultWait?.includes('hold') ? 'hold' : null),
      zones,
      zoneFraction: 0.2,
      exiterZones,
      exiterZoneFraction: exiterZones.length > 0 ? (o.exiterZoneFraction ?? 0) : 0,
      oomVictim: oom,
    };
    add('faulter', a, o.opsPerFaulter);
  }
  const targets = [...priv, ...shared];
  for (const g of spec.writers) {
    for (let i = 0; i < g.count; i++) {
      const zone = writerZones[plans.length - o.threads]!;
      const a: StressWriterArgs = {
        zone,
        ...common,
        mm,
        ops: g.ops,
        thinkUs: g.thinkUs,
        pages: g.pages,
        targets,
        oomVictim: oom,
      };
      add('writer', a);
    }
  }
  for (let i = 0; i < exiters && i + 1 < STRESS_MM_SLOTS; i++) {
    const a: StressExiterArgs = {
      ...common,
      slot: i + 1,
      vmas: 4,
      pages: 8,
      steps: o.exiterSteps ?? 6,
      mainMm: mm,
      targets,
      zone: exiterZones[i] ?? null,
    };
    add('exiter', a);
  }
  const remoteIdx: number[] = [];
  for (let i = 0; i < remotes; i++) {
    const a: StressRemoteArgs = { ...common, mm, targets };
    remoteIdx.push(plans.length);
    add('remote', a);
  }
  if (oom) {
    const a: StressReaperArgs = { ...common, remotes: remoteIdx };
    add('reaper', a);
  }
  for (let i = 0; i < hogs; i++) {
    const a: StressHogArgs = { ...common, spinUs: 2000 };
    add('hog', a);
  }
  if (killer > 0) {
    const victims = plans.filter((p) => p.role !== 'hog').map((p) => p.taskId);
    const a: StressKillerArgs = { ...common, targets: victims, rate: o.killRate };
    add('killer', a);
  }
  atomic_set(stress + STRESS.participants, plans.length);

  const violations: Violation[] = [];
  const timeline: Array<[number, number, number]> = [];
  const checkEvery = o.checkEveryMs ?? 300;
  const watchdogMs = o.watchdogMs ?? 5000;
  let checks = 0;
  let nextCheck = checkEvery;
  let lastElapsed = 0;
  const opsNow = (): number => {
    const run = get_root(ROOT.RUN);
    let s = 0;
    if (run !== 0) {
      for (let i = 0; i < plans.length; i++)
        s += atomic_read(run_worker_ptr(run, i) + RUN_WORKER.ops);
    }
    return s;
  };
  const tasksEvents = (first: number): TaskEvents[] => {
    const order = plans.map((p) => p.taskId);
    if (first > 0) order.sort((a, b) => (a === first ? -1 : b === first ? 1 : a - b));
    return order.map((t) => ({
      task: t,
      role: plans[t - 1]!.role,
      events: read_ring(t)
        .slice(-16)
        .map((e) => `${event_name(e.event)}(${e.a},${e.b})`),
    }));
  };
  const record = (
    kind: string,
    message: string,
    phase: Violation['phase'],
    atMs: number,
    task = 0,
  ): void => {
    violations.push({
      check: classify(kind, message),
      phase,
      kind,
      message,
      atMs: Math.round(atMs),
      tasks: tasksEvents(task),
    });
  };

  /** The tasks that took an rwsem past a waiter owed its handoff, with how often. */
  const bypassers = (): Array<[number, number]> =>
    plans
      .map((p): [number, number] => [
        p.taskId,
        atomic_read(task_ptr(p.taskId) + TASK.counters + CNT.RWSEM_HANDOFF_BYPASS),
      ])
      .filter(([, n]) => n > 0);
  const bypassCheck = (elapsed: number, stop: () => void): void => {
    const by = bypassers();
    if (by.length === 0) return;
    const n = by.reduce((s, [, k]) => s + k, 0);
    record(
      'HandoffBypass',
      `${n} rwsem acquisition(s) past the first waiter owed the handoff (it had waited past RWSEM_WAIT_TIMEOUT and been refused): by task(s) ${by.map(([t, k]) => `${t} (${k})`).join(', ')}; see RWSEM_HANDOFF_OWED / RWSEM_HANDOFF_BYPASS in the events`,
      'run',
      elapsed,
      by[0]![0],
    );
    stop();
  };
  const lostCounters = lostWakeupCounters();
  const lostNow = (): number =>
    lostCounters.reduce((sum, c) => sum + sum_counter(c, plans.length + 1), 0);
  const onTick = (elapsed: number): void => {
    lastElapsed = elapsed;
    const run = get_root(ROOT.RUN);
    // A lost wake-up is a hung task in the kernel: stop at the first one, as at a violation.
    const lost = violations.length === 0 ? lostNow() : 0;
    if (lost > 0) {
      record(
        'LostWakeup',
        `${lost} lost wake-up(s): a wait slice expired with its condition already true and no wake-up came`,
        'run',
        elapsed,
      );
      stopRun(run);
    }
    // The rwsem handoff check (src/sync/rwsem_wait.ts): a lock taken past the waiter owed it.
    if (violations.length === 0) bypassCheck(elapsed, () => stopRun(run));
    if (elapsed >= nextCheck && violations.length === 0 && atomic_read(run + RUN.stop) === 0) {
      nextCheck = elapsed + checkEvery;
      const g = ++generation;
      const arrived = request_pause(stress, run, g, Math.min(2000, watchdogMs / 2));
      const want = atomic_read(stress + STRESS.participants);
      if (atomic_read(run + RUN.stop) === 0) {
        if (arrived >= want) {
          try {
            check_quiescent(stress);
            checks++;
          } catch (err) {
            const e = err instanceof Error ? err : new Error(String(err));
            record(e.name, e.message, 'quiescent', elapsed);
            stopRun(run);
          }
        }
        // Too few arrived: a worker is stuck inside an operation. Release the others; the
        // watchdog reports the stuck one with its lock state.
      }
      release_pause(stress, g);
      timeline.push([Math.round(elapsed), violations.length, opsNow()]);
    }
    o.onProgress?.({
      scheme: name,
      schemeIndex: index,
      elapsedMs: elapsed,
      ops: opsNow(),
      checks,
      violations: violations.length,
    });
  };

  let outcome: Awaited<ReturnType<typeof runWorkers>> | null = null;
  try {
    outcome = await runWorkers({
      sab,
      jobModule: compiledModule('src/harness/stress/job'),
      workers: plans,
      durationMs,
      watchdogMs,
      tracing: true,
      onTick,
    });
  } catch (err) {
    if (!(err instanceof RunFailure)) throw err;
    const m = /^worker (\d+) failed/.exec(err.message);
    const task = m !== null ? (plans[Number(m[1])]?.taskId ?? 0) : 0;
    record(err.kind, err.message, 'run', lastElapsed, task);
  }
  if (outcome !== null && violations.length === 0) {
    // Every worker ran its deferred frees in finish(); the world is at rest.
    try {
      scheme().barrier();
      check_quiescent(stress);
      checks++;
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      record(e.name, e.message, 'end', lastElapsed);
    }
  }
  const n = plans.length + 1;
  const counters: Record<string, number> = {};
  for (const c of COUNTER_NAMES) counters[c] = sum_counter(CNT[c], n);
  const lostWakeups = lostNow();
  // Where they happened, when the runner reports it (task, wait site, word).
  const sites = (outcome as { lostWakeups?: unknown } | null)?.lostWakeups;
  if (Array.isArray(sites) && sites.length > 0) {
    const i = violations.findIndex((v) => v.check === 'lost-wakeup');
    const v = violations[i];
    if (v !== undefined) {
      violations[i] = {
        ...v,
        message: `${v.message}; where: ${JSON.stringify(sites).slice(0, 2000)}`,
      };
    }
  }
  if (!violations.some((v) => v.check === 'rwsem-handoff')) bypassCheck(lastElapsed, () => {});
  if (lostWakeups > 0 && !violations.some((v) => v.check === 'lost-wakeup')) {
    record(
      'LostWakeup',
      `${lostWakeups} lost wake-up(s): a wait slice expired with its condition already true`,
      'run',
      lastElapsed,
    );
  }
  const ops: Record<string, number> = {};
  let opsTotal = 0;
  if (outcome === null) opsTotal = opsNow();
  else {
    for (const w of outcome.workers) {
      w.kinds.forEach((k, i) => {
        const c = w.histograms[i]?.count ?? 0;
        ops[`${w.role}.${k}`] = (ops[`${w.role}.${k}`] ?? 0) + c;
        opsTotal += c;
      });
    }
  }
  const errors = Object.fromEntries(CHECK_NAMES.map((c) => [c, 0])) as Record<CheckName, number>;
  for (const v of violations) errors[v.check]++;
  return {
    scheme: name,
    durationMs: Math.round(lastElapsed),
    ops,
    opsTotal,
    checksRun: checks,
    counters,
    lostWakeups,
    violations,
    errors,
    timeline,
    ok: violations.length === 0,
  };
}
