// rwsem wait-queue scenarios on real threads: the main thread (task 0) holds the lock and lets
// workers queue one at a time, in a known order, then acts (unlock, downgrade, kill) and checks
// the count word and the queue, snapshot against snapshot.

import { describe, expect, it } from 'vitest';
import { EINTR } from '../../src/errors.js';
import { atomic_read, atomic_set } from '../../src/sched/atomics.js';
import { BUG } from '../../src/sched/bugs.js';
import { CNT } from '../../src/sched/counters.js';
import { kill_task, sum_counter } from '../../src/sched/task.js';
import { task_ptr } from '../../src/shm/arena.js';
import { RWSEM, RWSEM_NONSPINNABLE } from '../../src/shm/layout/index.js';
import {
  down_read,
  down_read_trylock,
  down_write,
  down_write_trylock,
  downgrade_write,
  rwsem_check_invariants,
  rwsem_is_contended,
  rwsem_wait_list,
  up_read,
  up_write,
} from '../../src/sync/rwsem.js';
import {
  BIAS,
  countOf,
  HANDOFF,
  holders,
  type Mode,
  queue,
  queueInOrder,
  scenario,
  setup,
  sleep,
  until,
  W,
  WAITERS,
} from '../helpers/rwsem.js';
import type { HoldResult } from '../threads/rwsem.js';

describe('rwsem with real waiters', () => {
  it('a queued writer makes both trylocks fail; up_read lets it in', async () => {
    const f = setup();
    down_read(f.sem);
    const res = await scenario(f, holders(f, ['write']), async () => {
      await queueInOrder(f, 1);
      // (and HANDOFF, if the writer already timed out on a slow machine)
      expect(countOf(f.sem) & ~HANDOFF).toBe(BIAS | WAITERS);
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
      // (w2, first now, may have timed out and set HANDOFF meanwhile on a slow machine)
      expect(queue(f.sem).map((w) => w.replace('!', ''))).toEqual(['w2']);
      expect(countOf(f.sem) & ~HANDOFF).toBe((3 * BIAS) | WAITERS);
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

  for (const spin of [true, false]) {
    it(`a writer ${spin ? 'spins a bounded time on a reader-owned lock, then marks it NONSPINNABLE and queues' : 'queues at once with spinning off'}`, async () => {
      const f = setup(8, 0, spin);
      down_read(f.sem);
      const res = (await scenario(f, holders(f, ['write']), async () => {
        await queueInOrder(f, 1);
        // (20 + 1 reader) / 2 µs of spinning on task 0's read lock, then the queue.
        expect(atomic_read(f.sem + RWSEM.owner) & RWSEM_NONSPINNABLE).toBe(
          spin ? RWSEM_NONSPINNABLE : 0,
        );
        expect(sum_counter(CNT.RWSEM_OPT_NOSPIN, 8)).toBe(spin ? 1 : 0);
        expect(sum_counter(CNT.RWSEM_OPT_LOCK, 8)).toBe(0);
        rwsem_check_invariants(f.sem);
        up_read(f.sem); // the last reader out clears NONSPINNABLE and wakes the writer
        await until(() => atomic_read(f.got) === 1, 'the writer holds the lock');
        expect(atomic_read(f.sem + RWSEM.owner) & RWSEM_NONSPINNABLE).toBe(0);
        atomic_set(f.release, 1);
      })) as HoldResult[];
      expect(res).toEqual([{ ret: 0, ticket: 0 }]);
      expect(countOf(f.sem)).toBe(0);
    });
  }

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
        }
        // A queued writer, first or not, sets HANDOFF (recorded on the first waiter) once it
        // times out: let that happen before the snapshot, so that only the kill can change it.
        if (k.modes.some((m) => m.startsWith('write'))) {
          await until(() => rwsem_wait_list(f.sem)[0]!.handoffSet, 'a writer set HANDOFF');
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

  it('rwsem-killed-no-wake: a killed first waiter that leaves without waking strands the reader behind it', async () => {
    const f = setup(8, BUG.RWSEM_KILLED_NO_WAKE);
    down_read(f.sem);
    const res = (await scenario(f, holders(f, ['write_killable', 'read']), async () => {
      await queueInOrder(f, 2);
      kill_task(task_ptr(1));
      await until(() => queue(f.sem).length === 1, 'the killed writer left');
      // Nothing keeps task 2 out (task 0 only reads), but nobody tells it: it sleeps on with
      // WAITERS set, and every new reader now queues behind it too.
      await sleep(50);
      expect(queue(f.sem)).toEqual(['r2']);
      // (HANDOFF too, if the writer timed out before it was killed: the list is not empty.)
      expect(countOf(f.sem) & ~HANDOFF).toBe(BIAS | WAITERS);
      expect(atomic_read(f.got)).toBe(0);
      expect(down_read_trylock(f.sem)).toBe(false);
      rwsem_check_invariants(f.sem);
      // Only the next unlock rescues it.
      up_read(f.sem);
      await until(() => atomic_read(f.got) === 1, 'the reader holds the lock');
      atomic_set(f.release, 1);
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
