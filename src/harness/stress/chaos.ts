// Chaos for stress runs: a schedule hook (src/sched/atomics.ts) that delays the calling task at
// named schedule points (src/sched/points.ts) and, at heavy chaos, at plain memory steps, with a
// seeded probability. Every decision comes from a per-task xorshift generator seeded from the
// run's --seed and the task id, so the same command line makes the same decisions (the timing
// of real threads still differs from run to run: a seed replays the choices, not the order).
//
// A delay is a spin (a few µs: a preemption the task does not notice), a yield (a ~50 µs sleep:
// the core goes to another task) or a sleep (up to maxSleepUs). Sleeps stay far below the
// shortest wait slice (RCUWAIT_SLICE_MS, 20 ms): a delayed waker must never look like a lost
// wake-up to the waiter it is about to wake.

import { SP_NAMED, set_schedule_hook } from '../../sched/atomics.js';
import { CNT } from '../../sched/counters.js';
import { sched_label } from '../../sched/labels.js';
import { POINT_NAMES, type PointName, SP, SP_MAX } from '../../sched/points.js';
import { count, preempt_delay_us, spin_ns } from '../../sched/task.js';

export const CHAOS_LEVELS = ['off', 'light', 'heavy'] as const;
export type ChaosLevel = (typeof CHAOS_LEVELS)[number];

/** Plain, cloneable: sent to every worker in its plan. */
export interface ChaosConfig {
  readonly level: ChaosLevel;
  /** probability of a delay each time a task passes the named point */
  readonly points: Readonly<Partial<Record<PointName, number>>>;
  /** probability of a delay at any other shared-memory step (load, store, RMW) */
  readonly memory: number;
  /**
   * probability of a delay at a named point that is not one of src/sched/points.ts (a label
   * another module declared for race scripts, such as rcuwait's "checked" and "published")
   */
  readonly labels: number;
  /**
   * Probabilities at particular labels, by name ("srcu_read_lock:idx_loaded"), overriding
   * `labels` there: a window that only a declared label marks.
   */
  readonly labelPoints?: Readonly<Record<string, number>>;
  /** longest sleep, µs */
  readonly maxSleepUs: number;
  /** fraction of delays that sleep (the rest: half spin, half yield) */
  readonly sleepFraction: number;
}

/** The windows the known races live in: where a preempted task does the most damage. */
const WINDOWS: readonly PointName[] = [
  'BEFORE_REF_INC',
  'AFTER_REF_INC',
  'BEFORE_RANGE_CHECK',
  'LOOKUP_TO_LOCK',
  'WRITE_EXCLUDED',
  'WRITE_LOCKED',
  'WRITE_BEFORE_DETACH',
  'PUT_BEFORE_WAKE',
  'FOREIGN_PUT_BEFORE_WAKE',
];
/** Long sections: a delay there makes writers wait for readers and readers for writers. */
const SECTIONS: readonly PointName[] = [
  'FAULT_LOCKED',
  'RCU_SECTION',
  'SRCU_SECTION',
  'MMAP_WRITE_LOCKED',
];

function pointsAt(windows: number, sections: number): Partial<Record<PointName, number>> {
  const p: Partial<Record<PointName, number>> = {};
  for (const n of WINDOWS) p[n] = windows;
  for (const n of SECTIONS) p[n] = sections;
  return p;
}

export function chaosConfig(level: ChaosLevel): ChaosConfig {
  switch (level) {
    case 'off':
      return { level, points: {}, memory: 0, labels: 0, maxSleepUs: 0, sleepFraction: 0 };
    case 'light':
      return {
        level,
        points: pointsAt(0.01, 0.002),
        memory: 0,
        labels: 0.005,
        maxSleepUs: 500,
        sleepFraction: 0.3,
      };
    case 'heavy':
      return {
        level,
        points: pointsAt(0.05, 0.01),
        memory: 0.0005,
        labels: 0.02,
        maxSleepUs: 2000,
        sleepFraction: 0.4,
      };
  }
}

/**
 * Targeted chaos: probabilities at named points, at every other label (the pseudo-point
 * LABELS), and at particular labels by their declared name (a key with a colon).
 */
export type ChaosPoints = Readonly<
  Partial<Record<PointName | 'LABELS', number>> & {
    readonly [label: `${string}:${string}`]: number;
  }
>;

/** A config with some points' probabilities replaced (targeted chaos for a bug or a test). */
export function withPoints(c: ChaosConfig, points: ChaosPoints): ChaosConfig {
  const named: Partial<Record<PointName, number>> = {};
  const labelPoints: Record<string, number> = { ...(c.labelPoints ?? {}) };
  let labels = c.labels;
  for (const [k, v] of Object.entries(points)) {
    if (v === undefined) continue;
    if (k === 'LABELS') labels = v;
    else if (k.includes(':')) labelPoints[k] = v;
    else named[k as PointName] = v;
  }
  return {
    ...c,
    points: { ...c.points, ...named },
    labels,
    ...(Object.keys(labelPoints).length > 0 ? { labelPoints } : {}),
  };
}

/** xorshift32 in [0, 1). */
export function rng(seed: number): () => number {
  let x = seed | 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}

/** Mix a run seed and a task id into a per-task seed (splitmix-style). */
export function taskSeed(seed: number, taskId: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(taskId + 1, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16), 0x27d4eb2f);
  return (h ^ (h >>> 15)) | 0;
}

let inHook = false;

/**
 * Install the chaos hook in this thread. No-op at level off (the hook stays uninstalled, so the
 * schedule points cost what they cost in bench).
 */
export function install_chaos(c: ChaosConfig, seed: number): void {
  if (c.level === 'off') {
    set_schedule_hook(null);
    return;
  }
  const rand = rng(seed);
  const named = new Float64Array(SP_MAX + 1);
  for (const n of POINT_NAMES) named[SP[n]] = c.points[n] ?? 0;
  const memory = c.memory;
  const byLabel = new Map<number, number>();
  for (const [name, p] of Object.entries(c.labelPoints ?? {})) byLabel.set(sched_label(name), p);
  const delay = (): void => {
    inHook = true;
    try {
      count(CNT.CHAOS_DELAY);
      const r = rand();
      if (r < c.sleepFraction) preempt_delay_us(1 + rand() * c.maxSleepUs);
      else if (r < c.sleepFraction + (1 - c.sleepFraction) / 2) spin_ns(500 + rand() * 20_000);
      else preempt_delay_us(50);
    } finally {
      inHook = false;
    }
  };
  set_schedule_hook((kind, what) => {
    if (inHook) return;
    const p =
      kind !== SP_NAMED
        ? memory
        : what > 0 && what <= SP_MAX
          ? named[what]!
          : (byLabel.get(what) ?? c.labels);
    if (p > 0 && rand() < p) delay();
  });
}

export function uninstall_chaos(): void {
  set_schedule_hook(null);
}
