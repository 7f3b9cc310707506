import { beforeEach, describe, expect, it } from 'vitest';
import { LockStateError } from '../../src/errors.js';
import { atomic_read } from '../../src/sched/atomics.js';
import { CNT } from '../../src/sched/counters.js';
import { sum_counter, task_attach } from '../../src/sched/task.js';
import { arena_alloc, createArena } from '../../src/shm/arena.js';
import { LINE_WORDS, SPINLOCK } from '../../src/shm/layout/index.js';
import {
  assert_spin_locked,
  spin_is_locked,
  spin_lock,
  spin_lock_init,
  spin_trylock,
  spin_unlock,
} from '../../src/sync/spinlock.js';
import { runThreads } from '../helpers/threads.js';

let l = 0;

beforeEach(() => {
  createArena({ sizeMiB: 1, maxTasks: 2 });
  task_attach(0);
  l = arena_alloc(SPINLOCK.SIZE, LINE_WORDS);
  spin_lock_init(l);
});

describe('spinlock_t, one task', () => {
  it('lock, trylock, unlock', () => {
    expect(spin_is_locked(l)).toBe(false);
    expect(() => assert_spin_locked(l)).toThrow(LockStateError);
    spin_lock(l);
    expect(spin_is_locked(l)).toBe(true);
    expect(() => assert_spin_locked(l)).not.toThrow();
    expect(spin_trylock(l)).toBe(false);
    spin_unlock(l);
    expect(spin_trylock(l)).toBe(true);
    expect(atomic_read(l + SPINLOCK.val)).toBe(1);
    spin_unlock(l);
    expect(atomic_read(l + SPINLOCK.val)).toBe(0);
  });

  it('unlocking an unlocked spinlock throws LockStateError', () => {
    expect(() => spin_unlock(l)).toThrow(LockStateError);
    expect(spin_is_locked(l)).toBe(false);
  });
});

describe('spinlock_t on real threads', () => {
  it('mutual exclusion: 5 workers, a plain read-modify-write under the lock ends exact', async () => {
    const a = createArena({ sizeMiB: 4, maxTasks: 8 });
    task_attach(0);
    const lock = arena_alloc(SPINLOCK.SIZE, LINE_WORDS);
    const shadow = arena_alloc(1, LINE_WORDS);
    spin_lock_init(lock);
    const iters = 40_000;
    const res = (await runThreads(
      a.sab,
      'test/threads/spinlock',
      [1, 2, 3, 4, 5].map((taskId) => ({
        taskId,
        fn: 'shadowIncrement',
        args: { lock, shadow, iters },
      })),
    )) as number[];
    console.log(
      `spinlock: ${5 * iters} sections, ${res.reduce((s, n) => s + n, 0)} by trylock, contended ${sum_counter(CNT.SPIN_CONTENDED, 8)}`,
    );
    expect(atomic_read(shadow)).toBe(5 * iters);
    expect(spin_is_locked(lock)).toBe(false);
  });
});
