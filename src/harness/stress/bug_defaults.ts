// Each catalogue entry's default stress run: the scheme and workload it breaks in, and the chaos
// aimed at its window. `faultline stress --inject-bug NAME` uses these unless the user names a
// scheme, workload or chaos level. Kept here rather than in src/sched/bugs.ts: they describe how
// the harness hunts a bug, not the bug. test/stress/stress_bugs.test.ts checks every entry of
// BUGS has one.

import type { SchemeName } from '../../schemes/index.js';
import type { ChaosLevel, ChaosPoints } from './chaos.js';
import type { CheckName } from './checker.js';
import type { StressOptions } from './engine.js';

export interface BugDefault {
  readonly scheme: SchemeName;
  /** a stress preset name (see STRESS_PRESETS) */
  readonly preset: string;
  readonly chaos: ChaosLevel;
  /** delay probabilities at the points of this bug's window */
  readonly points: ChaosPoints;
  /** kills and spurious wake-ups per second (0: none) */
  readonly killRate: number;
  readonly threads: number;
  /** the longest chaos sleep, µs (default: the level's) */
  readonly maxSleepUs?: number;
  /** the fraction of chaos delays that sleep (default: the level's) */
  readonly sleepFraction?: number;
  /** exiters (whole-mm lifetimes beside the main mm; default 1) */
  readonly exiters?: number;
  /** churn steps in each exiter's life before it exits (default 6) */
  readonly exiterSteps?: number;
  /** exiters churn a zone of the main mm too (see StressOptions.exiterZones) */
  readonly exiterZones?: boolean;
  /** munmap's VMA free (srcu_spf): call_srcu, or synchronize_srcu (default: the preset's) */
  readonly srcuFree?: 'call_srcu' | 'synchronize_srcu';
  /** faulter steps aimed at the exiters' zones (see StressOptions.exiterZoneFraction) */
  readonly exiterZoneFraction?: number;
  /**
   * true: measured to catch the bug in every run, in seconds (the README's catch-rate table), so
   * test/stress/stress_bugs runs it in npm test. Entries not measured yet, or caught too slowly
   * or too rarely for npm test's budget, leave it unset: their scripted race tests in
   * test/races guard them, and the table says how often stress catches them.
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
  // What trips first depends on where the reader is when the detacher goes on: a reader still
  // in the fault finds its reference gone from the count (vma_assert_locked falls through to
  // the write-lock check: 'write-lock'); one that lasts until the slot is reused trips a UAF check.
  'detach-no-wait': {
    ...refcnt([...UAF, 'write-lock'], {
      BEFORE_REF_INC: 0.3,
      AFTER_REF_INC: 0.5,
      WRITE_LOCKED: 0.2,
    }),
    maxSleepUs: 4000,
    reliable: true,
  },
  'detach-before-write-lock': {
    ...refcnt([...UAF, 'write-lock', 'lock-state'], {
      BEFORE_REF_INC: 0.2,
      WRITE_BEFORE_DETACH: 0.3,
    }),
    reliable: true,
  },
  // The slot must be freed in one mm and attached in another between the reader's lookup and
  // its increment: long sleeps there, and the other mm's writer held in its section.
  'no-mm-recheck': {
    ...refcnt(['fault-coverage', 'exclusion', 'torn-read', 'use-after-free'], {
      LOOKUP_TO_LOCK: 0.3,
      BEFORE_REF_INC: 0.3,
      WRITE_LOCKED: 0.2,
    }),
    maxSleepUs: 5000,
    reliable: true,
  },
  'no-seq-recheck': {
    ...refcnt(['exclusion'], { BEFORE_REF_INC: 0.2, WRITE_LOCKED: 0.3 }),
    reliable: true,
  },
  // A faulter looks up a VMA in an exiter's zone of the main mm (half its steps go there) and
  // sleeps (LOOKUP_TO_LOCK, BEFORE_REF_INC); the exiter unmaps it there and its slot becomes
  // the next VMA of the exiter's own mm; the faulter's increment lands on it and sleeps
  // (AFTER_REF_INC, and always on the foreign-mm branch: vma_start_read's "foreign" label) while
  // the exiter, one churn step per life, goes straight to exit_mmap and write-locks it; the
  // faulter's put sees the writer waiting and sleeps before the wake-up
  // (FOREIGN_PUT_BEFORE_WAKE) while the writer goes on (the rcuwait labels, or a spurious
  // wake-up from the killer) and exit_mmap frees the mm. The wake-up's mm_assert_alive sees
  // the mm freed, or freed and reallocated (its mm_id changed). Every delay sleeps (up to
  // 10 ms). Measured 10/10 within 30 s, median 4.6 s (seeds 1-10, shared 2-core machine, load
  // 13-27); the fixed code with these defaults ran 60 s clean (212 foreign-mm puts).
  'put-no-mmgrab': {
    ...refcnt(
      ['use-after-free'],
      {
        LOOKUP_TO_LOCK: 0.3,
        BEFORE_REF_INC: 0.3,
        AFTER_REF_INC: 0.5,
        'vma_start_read:foreign': 1,
        FOREIGN_PUT_BEFORE_WAKE: 1,
        LABELS: 0.3,
      },
      2000,
    ),
    maxSleepUs: 10_000,
    sleepFraction: 1,
    exiters: 2,
    exiterSteps: 1,
    exiterZones: true,
    exiterZoneFraction: 0.5,
    reliable: true,
  },
  // The window is between the waiter's check and its publication: the labels rcuwait declares
  // for race scripts ("checked", "published") are where the delay goes.
  'rcuwait-check-before-publish': {
    ...refcnt(['lost-wakeup', 'hang'], { FAULT_LOCKED: 0.05, PUT_BEFORE_WAKE: 0.1, LABELS: 0.3 }),
    reliable: true,
  },
  // The store-buffer window is the time the waiter's plain store of w.task waits to drain
  // (tens of ns) while its load of vm_refcnt goes ahead: the last reader's decrement and its
  // load of w.task must both land in it. No chaos: a delay anywhere between the waiter's store
  // and its load drains the store buffer (a sleep, a spin's time), and the hook calls at every
  // step lengthen both sides; what helps is many waits with the reader running (detach-churn,
  // whose faults do no extra work under the VMA lock), two faulters and the writer on two
  // cores. On the quiet 2-core machine (seeds 1-10, 30 s): 10/10, median 21.4 s, the writer
  // sleeping on its rcuwait about 1,400 times a second; with 1 us of work per fault it was 4/10.
  // Caught late in most runs, so not run by npm test; test/litmus
  // (rcuwait+rcuwait-plain-ordering) guards it there.
  'rcuwait-plain-ordering': {
    scheme: 'vma_refcnt',
    preset: 'detach-churn',
    chaos: 'off',
    points: {},
    killRate: 0,
    threads: 2,
    caughtBy: ['lost-wakeup', 'hang'],
  },
  // io-fault: faulters holding mmap_read_lock across a 75 µs I/O wait, an mmap/munmap writer
  // whose queued waits time out behind them (RWSEM_WAIT_TIMEOUT, 4 ms). Without
  // HANDOFF, a reader that arrives to an empty lock (rcnt 1, the no-steal guard does not apply)
  // or a spinning writer takes the lock past the timed-out first writer at once; the
  // rwsem-handoff check (src/sync/rwsem_wait.ts) sees the first such acquisition. No targeted
  // chaos: the light level's delays are enough.
  'rwsem-no-handoff': {
    scheme: 'mmap_lock',
    preset: 'io-fault',
    chaos: 'light',
    points: {},
    killRate: 0,
    threads: 4,
    caughtBy: ['rwsem-handoff'],
    reliable: true,
  },
  // The queue the bug needs: a writer first, behind the readers that hold the lock 2 ms, and a
  // reader behind it (reader-stream). The killer (1000/s) kills the writer in its killable
  // wait; a delay as it leaves the queue (RWSEM_KILLED) lets the readers inside leave
  // meanwhile, their wake-up going to the dying writer. Fixed, it wakes the reader behind it;
  // broken, that reader sleeps with the lock free until someone else comes: at a quiescent
  // point nobody does, and its slice ends in a lost wake-up. Measured 8/10 within 30 s (median
  // 12.7 s) on the shared 2-core machine: not reliable; test/litmus/rwsem_queue guards it.
  'rwsem-killed-no-wake': {
    scheme: 'mmap_lock',
    preset: 'reader-stream',
    chaos: 'light',
    points: { RWSEM_KILLED: 1 },
    maxSleepUs: 10000,
    killRate: 1000,
    threads: 3,
    caughtBy: ['lost-wakeup', 'hang'],
  },
  // The 2016 deadlock needs memory to run out: the oom preset (a pool the faulters run dry, a
  // remote reader waiting for memory under mmap_read_lock, the OOM killer and reaper). Sleeps
  // inside the locked fault let the victim's writer queue behind the remote reader before its
  // allocation calls the OOM killer. The hang is the watchdog's (nothing moves).
  'mmap-write-uninterruptible': {
    scheme: 'mmap_lock',
    preset: 'oom',
    chaos: 'light',
    points: { FAULT_LOCKED: 0.05 },
    maxSleepUs: 3000,
    killRate: 0,
    threads: 2,
    caughtBy: ['hang'],
    reliable: true,
  },
  'srcu-skip-first-index': {
    scheme: 'srcu_spf',
    preset: 'mixed',
    chaos: 'light',
    // A reader that loaded srcu_idx sleeps before its increment (srcu's "idx_loaded" label)
    // while a whole grace period flips and drains that index, increments it late, and sleeps
    // in its section (the "snapshot" label, FAULT_LOCKED) while a writer unmaps its VMA and the
    // next grace period, skipping scan 1, ends and frees it. munmap frees through
    // synchronize_srcu, so every munmap is a grace period (~250/s). Measured 10/10 within 30 s,
    // median 1.3 s (seeds 1-10, shared 2-core machine, load 23-38); the fixed code with these
    // defaults ran 60 s clean (15,066 synchronize_srcu).
    points: {
      'srcu_read_lock:idx_loaded': 0.5,
      'srcu_spf:snapshot': 0.5,
      FAULT_LOCKED: 0.3,
    },
    maxSleepUs: 8000,
    sleepFraction: 1,
    srcuFree: 'synchronize_srcu',
    killRate: 0,
    threads: 3,
    // A speculative fault whose VMA was freed under it and whose slot was reused can also pass
    // validation and leave a pte no VMA covers (1 of 10 quiet runs was caught that way first).
    caughtBy: [...UAF, 'quiescent-ptes'],
    reliable: true,
  },
  // A maps walker that reads a freed (reused) node can also report a false gap first.
  'index-free-no-rcu': {
    ...refcnt(['use-after-free', 'quiescent-index', 'maps-gap', 'other'], {
      RCU_SECTION: 0.1,
      LOOKUP_TO_LOCK: 0.1,
    }),
    reliable: true,
  },
  'no-range-recheck': {
    ...refcnt(['fault-coverage'], { BEFORE_RANGE_CHECK: 0.3, BEFORE_REF_INC: 0.1 }),
    reliable: true,
  },
  'maps-no-gap-check': { ...refcnt(['maps-gap'], { LOOKUP_TO_LOCK: 0.2 }), reliable: true },
  'refcount-unlimited': {
    ...refcnt(['exclusion', 'refcount-range'], {
      BEFORE_REF_INC: 0.2,
      WRITE_EXCLUDED: 0.2,
      WRITE_LOCKED: 0.2,
    }),
    reliable: true,
  },
  // A speculative fault whose snapshot predates an munmap installs a page outside every VMA.
  'spf-no-validation': {
    scheme: 'srcu_spf',
    preset: 'mixed',
    chaos: 'light',
    points: { FAULT_LOCKED: 0.3, SRCU_SECTION: 0.1 },
    killRate: 0,
    threads: 3,
    caughtBy: [
      'quiescent-ptes',
      'quiescent-frames',
      'fault-coverage',
      'use-after-free',
      'torn-read',
    ],
  },
};

/**
 * The StressOptions a bug's default sets beyond scheme, workload, threads, chaos level and kill
 * rate (the CLI and test/stress use the same): its points and sleeps (only with chaos on) and
 * its exiters.
 */
export function bugStressOptions(
  d: BugDefault,
  chaosOn: boolean,
): Pick<
  StressOptions,
  | 'points'
  | 'maxSleepUs'
  | 'sleepFraction'
  | 'exiters'
  | 'exiterSteps'
  | 'exiterZones'
  | 'exiterZoneFraction'
  | 'srcuFree'
> {
  return {
    ...(chaosOn ? { points: d.points } : {}),
    ...(chaosOn && d.maxSleepUs !== undefined ? { maxSleepUs: d.maxSleepUs } : {}),
    ...(chaosOn && d.sleepFraction !== undefined ? { sleepFraction: d.sleepFraction } : {}),
    ...(d.exiters !== undefined ? { exiters: d.exiters } : {}),
    ...(d.exiterSteps !== undefined ? { exiterSteps: d.exiterSteps } : {}),
    ...(d.exiterZones === true ? { exiterZones: true } : {}),
    ...(d.exiterZoneFraction !== undefined ? { exiterZoneFraction: d.exiterZoneFraction } : {}),
    ...(d.srcuFree !== undefined ? { srcuFree: d.srcuFree } : {}),
  };
}

/** The default for a bug with no entry (a catalogue entry added later): the mixed run. */
export const FALLBACK_DEFAULT: BugDefault = refcnt([], {});

export function bugDefault(name: string): BugDefault {
  return BUG_DEFAULTS[name] ?? FALLBACK_DEFAULT;
}
