// Each catalogue entry's default stress run: the scheme and workload it breaks in, and the chaos
// aimed at its window. `faultline stress --inject-bug NAME` uses these unless the user names a
// scheme, workload or chaos level. Kept here rather than in src/sched/bugs.ts: they describe how
// the harness hunts a bug, not the bug. test/stress/stress_bugs.test.ts checks every entry of
// BUGS has one.

import type { PointName } from '../../sched/points.js';
import type { SchemeName } from '../../schemes/index.js';
import type { ChaosLevel } from './chaos.js';
import type { CheckName } from './checker.js';

export interface BugDefault {
  readonly scheme: SchemeName;
  /** a stress preset name (see STRESS_PRESETS) */
  readonly preset: string;
  readonly chaos: ChaosLevel;
  /** delay probabilities at the points of this bug's window */
  readonly points: Readonly<Partial<Record<PointName, number>>>;
  /** kills and spurious wake-ups per second (0: none) */
  readonly killRate: number;
  readonly threads: number;
  /** the longest chaos sleep, µs (default: the level's) */
  readonly maxSleepUs?: number;
  /**
   * false: this default run does not catch the bug reliably within npm test's budget (see the
   * README's catch-rate table); test/stress/stress_bugs then skips it, and its scripted race
   * test in test/races is what guards it.
   */
  readonly reliable?: boolean;
  /** the checks expected to catch it (the first violation is filed under one of them) */
  readonly caughtBy: readonly CheckName[];
}

const refcnt = (
  caughtBy: readonly CheckName[],
  points: BugDefault['points'],
  killRate = 0,
): BugDefault => ({
  scheme: 'vma_refcnt',
  preset: 'mixed',
  chaos: 'light',
  points,
  killRate,
  threads: 3,
  caughtBy,
});

/** What a use of a freed or reused VMA trips first. */
const UAF: readonly CheckName[] = [
  'use-after-free',
  'refcount-range',
  'torn-read',
  'exclusion',
  'fault-coverage',
  'quiescent-refcount',
  'quiescent-index',
];

export const BUG_DEFAULTS: Readonly<Record<string, BugDefault>> = {
  // The reader must still hold its reference when the detacher frees the VMA: long sleeps
  // after the increment, short ones before the detach.
  'detach-no-wait': {
    ...refcnt(UAF, { BEFORE_REF_INC: 0.3, AFTER_REF_INC: 0.5, WRITE_LOCKED: 0.2 }),
    maxSleepUs: 4000,
  },
  'detach-before-write-lock': refcnt([...UAF, 'write-lock', 'lock-state'], {
    BEFORE_REF_INC: 0.2,
    WRITE_BEFORE_DETACH: 0.3,
  }),
  'no-mm-recheck': refcnt(['fault-coverage', 'exclusion', 'torn-read', 'use-after-free'], {
    BEFORE_REF_INC: 0.2,
    LOOKUP_TO_LOCK: 0.1,
  }),
  'no-seq-recheck': refcnt(['exclusion'], { BEFORE_REF_INC: 0.2, WRITE_LOCKED: 0.3 }),
  // A reader's lookup must outlive the slot's free and its reuse by an exiting mm, whose
  // exit_mmap waits for that reader and is woken spuriously while the reader is between its
  // put and its wake-up.
  'put-no-mmgrab': {
    ...refcnt(
      ['use-after-free'],
      { LOOKUP_TO_LOCK: 0.2, BEFORE_REF_INC: 0.3, PUT_BEFORE_WAKE: 0.5 },
      2000,
    ),
    maxSleepUs: 4000,
    reliable: false,
  },
  'rcuwait-check-before-publish': refcnt(['lost-wakeup', 'hang'], {
    FAULT_LOCKED: 0.05,
    PUT_BEFORE_WAKE: 0.1,
  }),
  'rcuwait-plain-ordering': refcnt(['lost-wakeup', 'hang'], {
    FAULT_LOCKED: 0.05,
    PUT_BEFORE_WAKE: 0.1,
  }),
  'rwsem-no-handoff': {
    scheme: 'mmap_lock',
    preset: 'io-fault',
    chaos: 'light',
    points: {},
    killRate: 0,
    threads: 4,
    caughtBy: ['hang'],
  },
  'rwsem-killed-no-wake': {
    scheme: 'mmap_lock',
    preset: 'mixed',
    chaos: 'heavy',
    points: { MMAP_WRITE_LOCKED: 0.05, FAULT_LOCKED: 0.05 },
    killRate: 1000,
    threads: 3,
    caughtBy: ['lost-wakeup', 'hang'],
  },
  'mmap-write-uninterruptible': {
    scheme: 'mmap_lock',
    preset: 'mixed',
    chaos: 'heavy',
    points: { FAULT_LOCKED: 0.05 },
    killRate: 0,
    threads: 3,
    caughtBy: ['hang'],
    reliable: false,
  },
  'srcu-skip-first-index': {
    scheme: 'srcu_spf',
    preset: 'mixed',
    chaos: 'heavy',
    points: { SRCU_SECTION: 0.2, FAULT_LOCKED: 0.1 },
    killRate: 0,
    threads: 3,
    caughtBy: UAF,
  },
  'index-free-no-rcu': refcnt(['use-after-free', 'quiescent-index', 'other'], {
    RCU_SECTION: 0.1,
    LOOKUP_TO_LOCK: 0.1,
  }),
  'no-range-recheck': refcnt(['fault-coverage'], { BEFORE_RANGE_CHECK: 0.3, BEFORE_REF_INC: 0.1 }),
  'maps-no-gap-check': refcnt(['maps-gap'], { LOOKUP_TO_LOCK: 0.2 }),
  'refcount-unlimited': refcnt(['exclusion', 'refcount-range'], {
    BEFORE_REF_INC: 0.2,
    WRITE_EXCLUDED: 0.2,
    WRITE_LOCKED: 0.2,
  }),
};

/** The default for a bug with no entry (a catalogue entry added later): the mixed run. */
export const FALLBACK_DEFAULT: BugDefault = refcnt([], {});

export function bugDefault(name: string): BugDefault {
  return BUG_DEFAULTS[name] ?? FALLBACK_DEFAULT;
}
