// A job module for test/stress/runner.test.ts: real atomic work on one shared buffer, so the
// runner's barrier, stop flag, op budgets, counters, error propagation and watchdog are tested
// against real threads before (and independently of) the mm model.
//
// Shared words (args.words, allocated by the test):
//   +0  a spinlock (spinlock_t)
//   +1  a counter incremented with a plain store under that spinlock
//   +2  a counter incremented with atomic_fetch_add
//   +3  barrier violations: first steps that saw fewer than all workers arrived
//   +4  a word nobody ever changes (the 'stuck' role waits on it)

import { LockStateError } from '../../src/errors.js';
import {
  atomic_fetch_add,
  atomic_read,
  atomic_wait,
  plain_read,
  plain_set,
} from '../../src/sched/atomics.js';
import { CNT } from '../../src/sched/counters.js';
import { EV } from '../../src/sched/events.js';
import { check_abort, count, trace } from '../../src/sched/task.js';
import { RUN, RWSEM, rwsem_count_readers } from '../../src/shm/layout/index.js';
import { down_read, down_write } from '../../src/sync/rwsem.js';
import { spin_lock, spin_unlock } from '../../src/sync/spinlock.js';
import type { Job, JobInit } from '../../src/workload/job.js';

export interface RunnerJobArgs {
  readonly words: number;
  /** an rw_semaphore for the 'read-holder' and 'stuck-writer' roles */
  readonly sem?: number;
  /** for 'thrower': throw on this step (1-based), holding the spinlock */
  readonly throwAt?: number;
}

export function createJob(init: JobInit): Job {
  const a = init.args as RunnerJobArgs;
  const lock = a.words;
  const locked = a.words + 1;
  const atomicCount = a.words + 2;
  const violations = a.words + 3;
  const never = a.words + 4;
  let steps = 0;
  switch (init.role) {
    case 'adder':
      return {
        kinds: ['locked-add', 'atomic-add'],
        step(): number {
          count(CNT.FAULTS); // a per-task counter: the loop zeroes it when measuring starts
          if (
            steps++ === 0 &&
            atomic_read(init.run + RUN.arrived) < atomic_read(init.run + RUN.nr_workers)
          ) {
            atomic_fetch_add(violations, 1);
          }
          if (steps % 2 === 0) {
            atomic_fetch_add(atomicCount, 1);
            return 1;
          }
          spin_lock(lock);
          plain_set(locked, plain_read(locked) + 1); // under the spinlock at +0
          spin_unlock(lock);
          return 0;
        },
      };
    case 'thrower':
      return {
        kinds: ['locked-add'],
        step(): number {
          spin_lock(lock);
          if (++steps === a.throwAt) {
            trace(EV.SPIN_CONTENDED, lock, 12345);
            throw new LockStateError('thrower: deliberate failure while holding the spinlock');
          }
          plain_set(locked, plain_read(locked) + 1); // under the spinlock at +0
          spin_unlock(lock);
          return 0;
        },
      };
    case 'stuck':
      return {
        kinds: ['wait'],
        step(): number {
          // A bounded, abort-checked wait for a word that never changes: no progress, no hang.
          trace(EV.COMPLETION_WAIT, never, 0);
          for (;;) {
            atomic_wait(never, 0, 20);
            check_abort();
          }
        },
      };
    case 'read-holder':
      // Takes the read lock on its first step and keeps it; every step is progress.
      return {
        kinds: ['hold'],
        step(): number {
          if (steps++ === 0) down_read(a.sem ?? 0);
          return 0;
        },
      };
    case 'stuck-writer':
      // Queues behind the reader for ever (uninterruptible; the abort unwinds it).
      return {
        kinds: ['write'],
        step(): number {
          const sem = a.sem ?? 0;
          // Only once the reader holds it, so the writer queues behind a reader.
          while (rwsem_count_readers(atomic_read(sem + RWSEM.count)) === 0) {
            atomic_wait(never, 0, 1);
            check_abort();
          }
          down_write(sem);
          return 0;
        },
      };
    case 'bad-kind':
      return { kinds: ['x'], step: () => 7 };
    default:
      throw new Error(`runner job: no role ${init.role}`);
  }
}
