import { describe, expect, it } from 'vitest';
import { EINTR, InvariantViolation, LockStateError } from '../../src/errors.js';
import { atomic_fetch_or, atomic_read, atomic_set } from '../../src/sched/atomics.js';
import { CNT } from '../../src/sched/counters.js';
import { abort_all, kill_task, sum_counter, task_attach } from '../../src/sched/task.js';
import { type Arena, arena_alloc, createArena, task_ptr } from '../../src/shm/arena.js';
import {
  LINE_WORDS,
  RWSEM,
  RWSEM_FLAG_HANDOFF,
  RWSEM_FLAG_WAITERS,
  RWSEM_OWNER_SHIFT,
  RWSEM_READER_BIAS,
  RWSEM_READER_OWNED,
  RWSEM_WAITER,
  RWSEM_WAITING_FOR_READ,
  RWSEM_WAITING_FOR_WRITE,
  RWSEM_WRITER_LOCKED,
} from '../../src/shm/layout/index.js';
import {
  down_read,
  down_read_killable,
  down_read_trylock,
  down_write,
  down_write_killable,
  down_write_trylock,
  downgrade_write,
  init_rwsem,
  RWSEM_WAIT_TIMEOUT_MS,
  rwsem_assert_held,
  rwsem_assert_held_write,
  rwsem_check_invariants,
  rwsem_is_contended,
  rwsem_is_locked,
  rwsem_wait_list,
  up_read,
  up_write,
} from '../../src/sync/rwsem.js';
import {
  RWSEM_WAKE_ANY,
  rwsem_add_waiter,
  rwsem_mark_wake,
  rwsem_try_write_lock,
  rwsem_waiter_of,
} from '../../src/sync/rwsem_wait.js';
import { spin_lock, spin_unlock } from '../../src/sync/spinlock.js';
import { runThreads, type ThreadSpec } from '../helpers/threads.js';
import type { HoldArgs, HoldResult } from '../threads/rwsem.js';

const THREADS = 'test/threads/rwsem';
const W = RWSEM_WRITER_LOCKED;
const WAITERS = RWSEM_FLAG_WAITERS;
const HANDOFF = RWSEM_FLAG_HANDOFF;
const BIAS = RWSEM_READER_BIAS;

interface Fixture {
  readonly arena: Arena;
  readonly sem: number;
  /** scratch words for the thread bodies: got, release, order, gate */
  readonly got: number;
  readonly release: number;
  readonly order: number;
  readonly gate: number;
}

function setup(maxTasks = 8): Fixture {
  const arena = createArena({ sizeMiB: 4, maxTasks });
  task_attach(0);
  const sem = arena_alloc(RWSEM.SIZE, LINE_WORDS);
  init_rwsem(sem);
  const words = arena_alloc(4 * LINE_WORDS, LINE_WORDS);
  return {
    arena,
    sem,
    got: words,
    release: words + LINE_WORDS,
    order: words + 2 * LINE_WORDS,
    gate: words + 3 * LINE_WORDS,
  };
}

const countOf = (sem: number): number => atomic_read(sem + RWSEM.count);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Poll (never assert a time) until cond holds; the bound only turns a hang into a failure. */
async function until(cond: () => boolean, what: string, boundMs = 15_000): Promise<void> {
  const end = Date.now() + boundMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`gave up waiting until ${what}`);
    await sleep(1);
  }
}

/** Run threads while the main thread scripts the scenario; on failure abort the workers. */
async function scenario(
  f: Fixture,
  specs: readonly ThreadSpec[],
  body: () => Promise<void>,
): Promise<unknown[]> {
  const run = runThreads(f.arena.sab, THREADS, specs, 20_000);
  try {
    await body();
  } catch (e) {
    abort_all();
    await run.catch(() => {});
    throw e;
  }
  return run;
}

type Mode = HoldArgs['mode'];

/** One hold() thread per entry; entry i starts (and so queues) only when gate reaches i + 1. */
function holders(f: Fixture, modes: readonly Mode[], firstTask = 1): ThreadSpec[] {
  return modes.map((mode, i) => ({
    taskId: firstTask + i,
    fn: 'hold',
    args: {
      sem: f.sem,
      mode,
      got: f.got,
      release: f.release,
      order: f.order,
      gate: f.gate,
      gateValue: i + 1,
    } satisfies HoldArgs,
  }));
}

/** Open the gate one thread at a time, waiting for each to be queued. */
async function queueInOrder(f: Fixture, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    atomic_set(f.gate, i + 1);
    await until(() => rwsem_wait_list(f.sem).length === i + 1, `waiter ${i + 1} is queued`);
  }
}

const queue = (sem: number): string[] =>
  rwsem_wait_list(sem).map((w) => `${w.type[0]}${w.task}${w.handoffSet ? '!' : ''}`);

describe('rwsem on one task', () => {
  it('fast paths, trylocks, downgrade and the assertions', () => {
    const { sem } = setup();
    const me = task_ptr(0);
    expect(rwsem_is_locked(sem)).toBe(false);
    expect(() => rwsem_assert_held(sem)).toThrow(LockStateError);

    down_read(sem);
    expect(countOf(sem)).toBe(BIAS);
    expect(atomic_read(sem + RWSEM.owner)).toBe((me << RWSEM_OWNER_SHIFT) | RWSEM_READER_OWNED);
    expect(down_read_trylock(sem)).toBe(true);
    expect(down_read_killable(sem)).toBe(0);
    expect(countOf(sem)).toBe(3 * BIAS);
    expect(down_write_trylock(sem)).toBe(false);
    rwsem_assert_held(sem);
    expect(() => rwsem_assert_held_write(sem)).toThrow(/not write-locked by this task/);
    up_read(sem);
    up_read(sem);
    up_read(sem);
    expect(countOf(sem)).toBe(0);
    rwsem_check_invariants(sem);

    down_write(sem);
    expect(countOf(sem)).toBe(W);
    expect(atomic_read(sem + RWSEM.owner)).toBe(me << RWSEM_OWNER_SHIFT);
    rwsem_assert_held_write(sem);
    expect(down_read_trylock(sem)).toBe(false);
    expect(down_write_trylock(sem)).toBe(false);
    downgrade_write(sem);
    expect(countOf(sem)).toBe(BIAS);
    expect(atomic_read(sem + RWSEM.owner) & RWSEM_READER_OWNED).toBe(RWSEM_READER_OWNED);
    expect(() => rwsem_assert_held_write(sem)).toThrow(LockStateError);
    up_read(sem);

    expect(down_write_killable(sem)).toBe(0);
    up_write(sem);
    expect(down_write_trylock(sem)).toBe(true);
    up_write(sem);
    expect(countOf(sem)).toBe(0);
    expect(atomic_read(sem + RWSEM.owner)).toBe(0);
    expect(rwsem_is_contended(sem)).toBe(false);
    rwsem_check_invariants(sem);
    expect(sum_counter(CNT.RWSEM_READ_FAST, 1)).toBe(3);
    expect(sum_counter(CNT.RWSEM_WRITE_FAST, 1)).toBe(3);
    expect(sum_counter(CNT.RWSEM_READ_SLOW, 1) + sum_counter(CNT.RWSEM_WRITE_SLOW, 1)).toBe(0);
  });

  it('misuse throws LockStateError and leaves the count alone', () => {
    const { sem } = setup();
    expect(() => up_read(sem)).toThrow(/up_read: rwsem at \d+ is not read-locked/);
    expect(countOf(sem)).toBe(0);
    expect(() => up_write(sem)).toThrow(LockStateError);
    expect(() => downgrade_write(sem)).toThrow(LockStateError);
    down_read(sem);
    expect(() => up_write(sem)).toThrow(LockStateError);
    expect(countOf(sem)).toBe(BIAS);
    up_read(sem);
    rwsem_check_invariants(sem);
  });

  it('rwsem_check_invariants names the broken invariant', () => {
    const { sem } = setup();
    atomic_set(sem + RWSEM.count, WAITERS);
    expect(() => rwsem_check_invariants(sem)).toThrow(/WAITERS set but the wait list is empty/);
    atomic_set(sem + RWSEM.count, HANDOFF);
    expect(() => rwsem_check_invariants(sem)).toThrow(/HANDOFF set but the wait list is empty/);
    atomic_set(sem + RWSEM.count, 100 * BIAS);
    expect(() => rwsem_check_invariants(sem)).toThrow(/reader count 100 > tasks/);
    atomic_set(sem + RWSEM.count, 0);
    // A queued waiter without WAITERS.
    task_attach(1);
    spin_lock(sem + RWSEM.wait_lock);
    rwsem_add_waiter(sem, rwsem_waiter_of(task_ptr(1)), RWSEM_WAITING_FOR_WRITE);
    spin_unlock(sem + RWSEM.wait_lock);
    task_attach(0);
    expect(() => rwsem_check_invariants(sem)).toThrow(InvariantViolation);
    expect(() => rwsem_check_invariants(sem)).toThrow(/WAITERS clear but 1 task\(s\) wait/);
    atomic_fetch_or(sem + RWSEM.count, WAITERS);
    rwsem_check_invariants(sem);
  });
});

describe('rwsem handoff (one thread scripting three tasks)', () => {
  it('only the first waiter sets HANDOFF, after the timeout, and only it takes the lock', async () => {
    const { sem } = setup();
    const w1 = rwsem_waiter_of(task_ptr(1));
    const w2 = rwsem_waiter_of(task_ptr(2));
    down_read(sem); // task 0 holds a read lock
    // Tasks 1 and 2 queue as writers (what rwsem_down_write_slowpath does under wait_lock).
    for (const [id, w] of [
      [1, w1],
      [2, w2],
    ] as const) {
      task_attach(id);
      spin_lock(sem + RWSEM.wait_lock);
      rwsem_add_waiter(sem, w, RWSEM_WAITING_FOR_WRITE);
      atomic_fetch_or(sem + RWSEM.count, WAITERS);
      spin_unlock(sem + RWSEM.wait_lock);
    }
    const tryAs = (id: number, w: number): boolean => {
      task_attach(id);
      spin_lock(sem + RWSEM.wait_lock);
      const got = rwsem_try_write_lock(sem, w);
      spin_unlock(sem + RWSEM.wait_lock);
      return got;
    };
    // Before the timeout nobody sets HANDOFF.
    expect(tryAs(1, w1)).toBe(false);
    expect(countOf(sem)).toBe(BIAS | WAITERS);
    await sleep(RWSEM_WAIT_TIMEOUT_MS + 6);
    // Timed out, but not first: task 2 may not request a handoff.
    expect(tryAs(2, w2)).toBe(false);
    expect(countOf(sem)).toBe(BIAS | WAITERS);
    // The first waiter may.
    expect(tryAs(1, w1)).toBe(false);
    expect(countOf(sem)).toBe(BIAS | WAITERS | HANDOFF);
    expect(queue(sem)).toEqual(['w1!', 'w2']);
    rwsem_check_invariants(sem);

    task_attach(0);
    up_read(sem); // wakes task 1 (a token in its park word; nobody sleeps here)
    expect(countOf(sem)).toBe(WAITERS | HANDOFF);
    // The lock is free, but handed off: nobody else gets it.
    expect(down_write_trylock(sem)).toBe(false);
    expect(down_read_trylock(sem)).toBe(false);
    expect(tryAs(2, w2)).toBe(false);
    expect(countOf(sem)).toBe(WAITERS | HANDOFF);
    expect(tryAs(1, w1)).toBe(true);
    expect(countOf(sem)).toBe(W | WAITERS);
    expect(atomic_read(sem + RWSEM.owner)).toBe(task_ptr(1) << RWSEM_OWNER_SHIFT);
    expect(queue(sem)).toEqual(['w2']);
    rwsem_check_invariants(sem);
    up_write(sem); // as task 1
    expect(tryAs(2, w2)).toBe(true);
    expect(countOf(sem)).toBe(W);
    up_write(sem);
    task_attach(0);
    expect(countOf(sem)).toBe(0);
    rwsem_check_invariants(sem);
  });

  it('a reader at the head requests the handoff when writers keep the lock', async () => {
    const { sem } = setup();
    const r1 = rwsem_waiter_of(task_ptr(1));
    down_write(sem); // task 0 writes
    task_attach(1);
    spin_lock(sem + RWSEM.wait_lock);
    rwsem_add_waiter(sem, r1, RWSEM_WAITING_FOR_READ);
    atomic_fetch_or(sem + RWSEM.count, WAITERS);
    spin_unlock(sem + RWSEM.wait_lock);
    task_attach(0);
    const wake = (): void => {
      spin_lock(sem + RWSEM.wait_lock);
      rwsem_mark_wake(sem, RWSEM_WAKE_ANY);
      spin_unlock(sem + RWSEM.wait_lock);
    };
    wake(); // a writer holds it: back off, too early for a handoff
    expect(countOf(sem)).toBe(W | WAITERS);
    await sleep(RWSEM_WAIT_TIMEOUT_MS + 6);
    wake();
    expect(countOf(sem)).toBe(W | WAITERS | HANDOFF);
    expect(queue(sem)).toEqual(['r1!']);
    rwsem_check_invariants(sem);
    up_write(sem); // grants task 1: its bias is added and its waiter.task cleared
    expect(countOf(sem)).toBe(BIAS);
    expect(atomic_read(r1 + RWSEM_WAITER.task)).toBe(0);
    expect(queue(sem)).toEqual([]);
    expect(down_write_trylock(sem)).toBe(false);
    task_attach(1);
    up_read(sem);
    task_attach(0);
    expect(countOf(sem)).toBe(0);
    rwsem_check_invariants(sem);
  });
});

describe('rwsem with real waiters', () => {
  it('a queued writer makes both trylocks fail; up_read lets it in', async () => {
    const f = setup();
    down_read(f.sem);
    const res = await scenario(f, holders(f, ['write']), async () => {
      await queueInOrder(f, 1);
      expect(countOf(f.sem)).toBe(BIAS | WAITERS);
      expect(rwsem_is_contended(f.sem)).toBe(true);
      expect(down_read_trylock(f.sem)).toBe(false);
      expect(down_write_trylock(f.sem)).toBe(false);
      rwsem_check_invariants(f.sem);
      up_read(f.sem);
      await until(() => atomic_read(f.got) === 1, 'the writer holds the lock');
      expect(countOf(f.sem) & W).toBe(W);
      atomic_set(f.release, 1);
    });
    expect(res).toEqual([{ ret: 0, ticket: 0 }]);
    expect(countOf(f.sem)).toBe(0);
    expect(down_write_trylock(f.sem)).toBe(true);
    up_write(f.sem);
    rwsem_check_invariants(f.sem);
  });

  it('downgrade_write grants the queued readers and leaves the writer queued', async () => {
    const f = setup();
    down_write(f.sem);
    const res = (await scenario(f, holders(f, ['read', 'write', 'read']), async () => {
      await queueInOrder(f, 3);
      expect(queue(f.sem)).toEqual(['r1', 'w2', 'r3']);
      downgrade_write(f.sem);
      await until(() => atomic_read(f.got) === 2, 'both readers hold the lock');
      expect(queue(f.sem)).toEqual(['w2']);
      expect(countOf(f.sem)).toBe((3 * BIAS) | WAITERS);
      rwsem_check_invariants(f.sem);
      atomic_set(f.release, 1);
      up_read(f.sem);
    })) as HoldResult[];
    // Both readers got in before the writer.
    expect(res.map((r) => r.ticket).sort()).toEqual([0, 1, 2]);
    expect(res[1]).toEqual({ ret: 0, ticket: 2 });
    expect(countOf(f.sem)).toBe(0);
    rwsem_check_invariants(f.sem);
  });

  it('downgrade_write with a writer at the head wakes nobody', async () => {
    const f = setup();
    down_write(f.sem);
    const res = (await scenario(f, holders(f, ['write', 'read']), async () => {
      await queueInOrder(f, 2);
      downgrade_write(f.sem);
      expect(queue(f.sem)).toEqual(['w1', 'r2']);
      expect(countOf(f.sem) & ~HANDOFF).toBe(BIAS | WAITERS);
      expect(atomic_read(f.got)).toBe(0);
      atomic_set(f.release, 1);
      up_read(f.sem);
    })) as HoldResult[];
    expect(res).toEqual([
      { ret: 0, ticket: 0 },
      { ret: 0, ticket: 1 },
    ]);
    expect(countOf(f.sem)).toBe(0);
  });

  // holder: what task 0 holds; modes: the queue, in order; victim: the index killed.
  const killCases: ReadonlyArray<{
    name: string;
    holder: 'read' | 'write';
    modes: Mode[];
    victim: number;
  }> = [
    {
      name: 'writer between readers',
      holder: 'write',
      modes: ['read', 'write_killable', 'read'],
      victim: 1,
    },
    {
      name: 'reader between writers',
      holder: 'read',
      modes: ['write', 'read_killable', 'write'],
      victim: 1,
    },
    {
      name: 'reader at the tail',
      holder: 'write',
      modes: ['read', 'write', 'read_killable'],
      victim: 2,
    },
    { name: 'the only waiter, a writer', holder: 'read', modes: ['write_killable'], victim: 0 },
    { name: 'the only waiter, a reader', holder: 'write', modes: ['read_killable'], victim: 0 },
  ];

  for (const k of killCases) {
    it(`a killed waiter restores count and queue exactly: ${k.name}`, async () => {
      const f = setup();
      const victimId = 1 + k.victim;
      if (k.holder === 'write') down_write(f.sem);
      else down_read(f.sem);
      const initial = countOf(f.sem);
      const res = (await scenario(f, holders(f, k.modes), async () => {
        for (let i = 0; i < k.modes.length; i++) {
          atomic_set(f.gate, i + 1);
          await until(() => rwsem_wait_list(f.sem).length === i + 1, `waiter ${i + 1} queued`);
          // A first writer behind a reader sets HANDOFF once it times out: let that happen
          // before the snapshot, so that only the kill can change the count.
          if (i === 0 && k.modes[0] === 'write' && k.holder === 'read') {
            await until(
              () => rwsem_wait_list(f.sem)[0]!.handoffSet,
              'the first writer set HANDOFF',
            );
          }
        }
        const full = queue(f.sem);
        const countFull = countOf(f.sem);
        kill_task(task_ptr(victimId));
        await until(() => rwsem_wait_list(f.sem).length === k.modes.length - 1, 'the victim left');
        const expected = full.filter((_, i) => i !== k.victim);
        expect(queue(f.sem)).toEqual(expected);
        // The victim left no trace: the count is what the others alone made it (the holder's
        // value when the victim waited alone).
        expect(countOf(f.sem)).toBe(k.modes.length === 1 ? initial : countFull);
        rwsem_check_invariants(f.sem);
        atomic_set(f.release, 1);
        if (k.holder === 'write') up_write(f.sem);
        else up_read(f.sem);
      })) as HoldResult[];
      expect(res[k.victim]).toEqual({ ret: EINTR, ticket: -1 });
      expect(res.filter((r) => r.ret === 0)).toHaveLength(k.modes.length - 1);
      expect(countOf(f.sem)).toBe(0);
      expect(sum_counter(CNT.RWSEM_EINTR, 8)).toBe(1);
      rwsem_check_invariants(f.sem);
    });
  }

  it('a killed first waiter lets in the readers it held back', async () => {
    const f = setup();
    down_read(f.sem);
    const res = (await scenario(f, holders(f, ['write_killable', 'read']), async () => {
      await queueInOrder(f, 2);
      kill_task(task_ptr(1));
      // Only the writer kept task 2 out: with it gone, task 2 joins task 0 as a reader, the
      // list empties, and WAITERS (and a HANDOFF the writer may have set) go with it.
      await until(() => atomic_read(f.got) === 1, 'the reader holds the lock');
      expect(countOf(f.sem)).toBe(2 * BIAS);
      expect(queue(f.sem)).toEqual([]);
      rwsem_check_invariants(f.sem);
      atomic_set(f.release, 1);
      up_read(f.sem);
    })) as HoldResult[];
    expect(res).toEqual([
      { ret: EINTR, ticket: -1 },
      { ret: 0, ticket: 0 },
    ]);
    expect(countOf(f.sem)).toBe(0);
  });

  it('a killed waiter granted before it noticed keeps the lock', async () => {
    const f = setup();
    down_write(f.sem);
    const res = (await scenario(f, holders(f, ['read_killable']), async () => {
      await queueInOrder(f, 1);
      // Grant first (task 1's waiter.task is cleared under wait_lock), then kill.
      up_write(f.sem);
      kill_task(task_ptr(1));
      await until(() => atomic_read(f.got) === 1, 'the reader holds the lock');
      atomic_set(f.release, 1);
    })) as HoldResult[];
    expect(res).toEqual([{ ret: 0, ticket: 0 }]);
    expect(countOf(f.sem)).toBe(0);
  });
});
