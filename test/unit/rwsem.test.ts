// The rwsem on one thread: every operation, misuse, the invariant check, and the handoff rule
// scripted step by step by one thread playing several tasks. Scenarios with real waiting threads
// are in test/litmus/rwsem_queue.test.ts.

import { describe, expect, it } from 'vitest';
import { HarnessAbort, InvariantViolation, LockStateError } from '../../src/errors.js';
import {
  atomic_fetch_add,
  atomic_fetch_or,
  atomic_read,
  atomic_set,
  SP_LOAD,
  set_schedule_hook,
} from '../../src/sched/atomics.js';
import { BUG } from '../../src/sched/bugs.js';
import { CNT } from '../../src/sched/counters.js';
import {
  abort_all,
  clear_abort,
  kill_task,
  sum_counter,
  task_attach,
} from '../../src/sched/task.js';
import { task_ptr } from '../../src/shm/arena.js';
import {
  RWSEM,
  RWSEM_OWNER_SHIFT,
  RWSEM_READER_OWNED,
  RWSEM_WAITER,
  RWSEM_WAITING_FOR_READ,
  RWSEM_WAITING_FOR_WRITE,
  TASK,
} from '../../src/shm/layout/index.js';
import {
  down_read,
  down_read_killable,
  down_read_trylock,
  down_write,
  down_write_killable,
  down_write_trylock,
  downgrade_write,
  rwsem_assert_held,
  rwsem_assert_held_write,
  rwsem_check_invariants,
  rwsem_is_contended,
  rwsem_is_locked,
  rwsem_try_write_lock_unqueued,
  rwsem_wait_list,
  up_read,
  up_write,
} from '../../src/sync/rwsem.js';
import {
  RWSEM_WAKE_ANY,
  rwsem_add_waiter,
  rwsem_del_wake_waiter,
  rwsem_jiffies,
  rwsem_mark_wake,
  rwsem_try_write_lock,
  rwsem_waiter_of,
} from '../../src/sync/rwsem_wait.js';
import { spin_lock, spin_unlock } from '../../src/sync/spinlock.js';
import { BIAS, countOf, HANDOFF, queue, setup, W, WAITERS } from '../helpers/rwsem.js';

/**
 * Set every queued waiter's handoff deadline: `timedOut` puts it in the past (as if it had waited
 * RWSEM_WAIT_TIMEOUT_MS), otherwise a minute ahead, so a slow machine cannot time it out early.
 */
function setDeadlines(sem: number, timedOut: boolean): void {
  const t = (rwsem_jiffies() + (timedOut ? -1 : 60_000)) | 0;
  for (const w of rwsem_wait_list(sem)) {
    atomic_set(rwsem_waiter_of(task_ptr(w.task)) + RWSEM_WAITER.timeout, t);
  }
}

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

describe('a queued task that unwinds leaves as a killed waiter does', () => {
  it('an aborted writer and an aborted reader take their waiters off the list', () => {
    const { sem } = setup(8, 0, false);
    down_read(sem); // task 0 holds a read lock
    // Task 1 queues for the write lock; the harness's abort unwinds it out of its sleep.
    task_attach(1);
    abort_all();
    expect(() => down_write(sem)).toThrow(HarnessAbort);
    clear_abort();
    expect(queue(sem)).toEqual([]);
    expect(countOf(sem)).toBe(BIAS); // WAITERS cleared with the last waiter
    rwsem_check_invariants(sem);
    task_attach(0);
    up_read(sem);
    expect(countOf(sem)).toBe(0);

    down_write(sem); // task 0 holds the write lock
    task_attach(2);
    abort_all();
    expect(() => down_read(sem)).toThrow(HarnessAbort);
    clear_abort();
    expect(queue(sem)).toEqual([]);
    expect(countOf(sem)).toBe(W); // its reader bias went with it
    rwsem_check_invariants(sem);
    task_attach(0);
    up_write(sem);
    expect(down_write_trylock(sem)).toBe(true);
    up_write(sem);
    expect(countOf(sem)).toBe(0);
    rwsem_check_invariants(sem);
  });

  it('an aborted first waiter wakes the readers queued behind it (rwsem_del_wake_waiter)', () => {
    const { sem } = setup(8, 0, false);
    down_read(sem); // task 0 holds a read lock
    const w2 = rwsem_waiter_of(task_ptr(2));
    // While task 1's writer sleeps at the head, task 2 queues a reader behind it (by hand, as
    // its slow path would), then the abort unwinds task 1.
    let queued = false;
    const parkWord = task_ptr(1) + TASK.park; // the hook must not recurse through task_ptr
    set_schedule_hook((kind, what) => {
      if (queued || kind !== SP_LOAD || what !== parkWord) return;
      queued = true;
      task_attach(2);
      spin_lock(sem + RWSEM.wait_lock);
      rwsem_add_waiter(sem, w2, RWSEM_WAITING_FOR_READ);
      spin_unlock(sem + RWSEM.wait_lock);
      task_attach(1);
      abort_all();
    });
    task_attach(1);
    try {
      expect(() => down_write(sem)).toThrow(HarnessAbort);
    } finally {
      set_schedule_hook(null);
      clear_abort();
    }
    expect(queued).toBe(true);
    // The writer left the head: the reader behind it was granted, as after a kill.
    expect(queue(sem)).toEqual([]);
    expect(atomic_read(w2 + RWSEM_WAITER.task)).toBe(0);
    expect(countOf(sem)).toBe(2 * BIAS);
    rwsem_check_invariants(sem);
    task_attach(2);
    up_read(sem);
    task_attach(0);
    up_read(sem);
    expect(countOf(sem)).toBe(0);
  });
});

describe('rwsem handoff (one thread scripting three tasks)', () => {
  /** Queue tasks as writers behind whatever task 0 holds (rwsem_down_write_slowpath's part). */
  function queueWriters(sem: number, ids: readonly number[]): number[] {
    const ws = ids.map((id) => {
      const w = rwsem_waiter_of(task_ptr(id));
      task_attach(id);
      spin_lock(sem + RWSEM.wait_lock);
      rwsem_add_waiter(sem, w, RWSEM_WAITING_FOR_WRITE);
      atomic_fetch_or(sem + RWSEM.count, WAITERS);
      spin_unlock(sem + RWSEM.wait_lock);
      return w;
    });
    setDeadlines(sem, false);
    return ws;
  }
  const tryAs = (sem: number, id: number): boolean => {
    task_attach(id);
    spin_lock(sem + RWSEM.wait_lock);
    const got = rwsem_try_write_lock(sem, rwsem_waiter_of(task_ptr(id)));
    spin_unlock(sem + RWSEM.wait_lock);
    return got;
  };

  it('any timed-out waiter sets HANDOFF, recorded on the first, and only the first takes the lock', () => {
    const { sem } = setup();
    down_read(sem); // task 0 holds a read lock
    queueWriters(sem, [1, 2]);
    // Before the timeout nobody sets HANDOFF.
    expect(tryAs(sem, 2)).toBe(false);
    expect(tryAs(sem, 1)).toBe(false);
    expect(countOf(sem)).toBe(BIAS | WAITERS);
    setDeadlines(sem, true);
    // Timed out and second in line: task 2 may request the handoff, for task 1 (the kernel's
    // rwsem_try_write_lock: "a waiter (first or not) can set the handoff bit").
    expect(tryAs(sem, 2)).toBe(false);
    expect(countOf(sem)).toBe(BIAS | WAITERS | HANDOFF);
    expect(queue(sem)).toEqual(['w1!', 'w2']);
    expect(sum_counter(CNT.RWSEM_HANDOFF_SET, 3)).toBe(1);
    // The first waiter finds it already set: nothing changes.
    expect(tryAs(sem, 1)).toBe(false);
    expect(countOf(sem)).toBe(BIAS | WAITERS | HANDOFF);
    rwsem_check_invariants(sem);

    task_attach(0);
    up_read(sem); // wakes task 1 (a token in its park word; nobody sleeps here)
    expect(countOf(sem)).toBe(WAITERS | HANDOFF);
    // The lock is free, but handed off: nobody else gets it.
    expect(down_write_trylock(sem)).toBe(false);
    expect(down_read_trylock(sem)).toBe(false);
    expect(tryAs(sem, 2)).toBe(false);
    expect(countOf(sem)).toBe(WAITERS | HANDOFF);
    expect(tryAs(sem, 1)).toBe(true);
    expect(countOf(sem)).toBe(W | WAITERS);
    expect(atomic_read(sem + RWSEM.owner)).toBe(task_ptr(1) << RWSEM_OWNER_SHIFT);
    expect(queue(sem)).toEqual(['w2']);
    rwsem_check_invariants(sem);
    up_write(sem); // as task 1
    expect(tryAs(sem, 2)).toBe(true);
    expect(countOf(sem)).toBe(W);
    up_write(sem);
    task_attach(0);
    expect(countOf(sem)).toBe(0);
    rwsem_check_invariants(sem);
  });

  it('a HANDOFF left behind by a killed first waiter does not hold back the others', () => {
    const { sem } = setup();
    down_read(sem);
    const [w1] = queueWriters(sem, [1, 2, 3]);
    setDeadlines(sem, true);
    expect(tryAs(sem, 1)).toBe(false);
    expect(queue(sem)).toEqual(['w1!', 'w2', 'w3']);
    // Task 1 is killed: its out_nolock path (the list stays non-empty, so HANDOFF stays).
    task_attach(1);
    spin_lock(sem + RWSEM.wait_lock);
    rwsem_del_wake_waiter(sem, w1!); // drops wait_lock; wakes task 2 (a park token)
    expect(countOf(sem)).toBe(BIAS | WAITERS | HANDOFF);
    expect(queue(sem)).toEqual(['w2', 'w3']);
    task_attach(0);
    up_read(sem);
    expect(countOf(sem)).toBe(WAITERS | HANDOFF);
    // Nobody first holds the handoff now: task 3 yields only to a recorded handoff, so it may
    // take the free lock, and taking it clears HANDOFF.
    expect(tryAs(sem, 3)).toBe(true);
    expect(countOf(sem)).toBe(W | WAITERS);
    expect(queue(sem)).toEqual(['w2']);
    rwsem_check_invariants(sem);
    up_write(sem); // as task 3
    expect(tryAs(sem, 2)).toBe(true);
    up_write(sem);
    task_attach(0);
    expect(countOf(sem)).toBe(0);
    rwsem_check_invariants(sem);
  });

  it('rwsem-no-handoff: a timed-out waiter never sets HANDOFF', () => {
    const { sem } = setup(8, BUG.RWSEM_NO_HANDOFF);
    down_read(sem);
    queueWriters(sem, [1, 2]);
    setDeadlines(sem, true);
    expect(tryAs(sem, 1)).toBe(false);
    expect(tryAs(sem, 2)).toBe(false);
    expect(countOf(sem)).toBe(BIAS | WAITERS);
    expect(queue(sem)).toEqual(['w1', 'w2']);
    task_attach(0);
    up_read(sem);
    expect(tryAs(sem, 1)).toBe(true);
    up_write(sem);
    expect(tryAs(sem, 2)).toBe(true);
    up_write(sem);
    task_attach(0);
    expect(countOf(sem)).toBe(0);
  });

  // The rwsem-handoff check (src/sync/rwsem_wait.ts): once the first waiter, a writer, has timed
  // out and been refused, every acquisition but its own is counted as a bypass. Fixed, HANDOFF
  // refuses them all; without it (rwsem-no-handoff) a reader that finds the lock free steals it,
  // a spinning writer takes it, and a queued writer behind the head takes it: three bypasses.
  for (const bugs of [0, BUG.RWSEM_NO_HANDOFF]) {
    it(`${bugs === 0 ? 'the handoff check counts nothing when HANDOFF holds the lock for the first waiter' : 'rwsem-no-handoff: the handoff check counts each acquisition past the timed-out first writer'}`, () => {
      const { sem } = setup(8, bugs);
      const bypasses = (): number => sum_counter(CNT.RWSEM_HANDOFF_BYPASS, 8);
      down_read(sem); // task 0 holds it
      queueWriters(sem, [1, 2]);
      setDeadlines(sem, true);
      expect(atomic_read(rwsem_waiter_of(task_ptr(1)) + RWSEM_WAITER.handoff_due) & 1).toBe(0);
      expect(tryAs(sem, 1)).toBe(false); // refused after its timeout: the handoff is owed
      expect(atomic_read(rwsem_waiter_of(task_ptr(1)) + RWSEM_WAITER.handoff_due) & 1).toBe(1);
      task_attach(0);
      up_read(sem); // the lock is free; w1 is woken but has not run yet
      // A reader arrives (rcnt 1: the no-steal guard lets it steal if it can). It has a fatal
      // signal pending, so that if it queues instead it leaves at once with EINTR.
      kill_task(task_ptr(3));
      task_attach(3);
      const stole = down_read_killable(sem) === 0;
      if (stole) up_read(sem);
      atomic_set(task_ptr(3) + TASK.signal, 0);
      task_attach(4);
      const spun = rwsem_try_write_lock_unqueued(sem); // a spinning writer
      if (spun) up_write(sem);
      const behind = tryAs(sem, 2); // the queued writer behind the head
      if (behind) {
        up_write(sem);
        queueWriters(sem, [2]);
      }
      if (bugs === 0) {
        expect([stole, spun, behind]).toEqual([false, false, false]);
        expect(bypasses()).toBe(0);
        expect(queue(sem)).toEqual(['w1!', 'w2']); // w1 holds the handoff
      } else {
        expect([stole, spun, behind]).toEqual([true, true, true]);
        expect(bypasses()).toBe(3);
      }
      // The head takes it at last: nothing is owed any more.
      expect(tryAs(sem, 1)).toBe(true);
      expect(atomic_read(rwsem_waiter_of(task_ptr(1)) + RWSEM_WAITER.handoff_due) & 1).toBe(0);
      up_write(sem);
    });
  }

  // A stream of spinning writers against one queued reader, one step at a time: each round the
  // holder releases, a spinning writer takes the free lock before the holder's rwsem_wake runs,
  // and rwsem_mark_wake finds a writer in. Only the reader handoff ends it.
  for (const bugs of [0, BUG.RWSEM_NO_HANDOFF]) {
    it(`${bugs === 0 ? 'reader handoff stops lock stealing' : 'rwsem-no-handoff: spinning writers starve a queued reader'}`, () => {
      const { sem } = setup(8, bugs);
      const r1 = rwsem_waiter_of(task_ptr(1));
      task_attach(2);
      down_write(sem);
      task_attach(1);
      spin_lock(sem + RWSEM.wait_lock);
      rwsem_add_waiter(sem, r1, RWSEM_WAITING_FOR_READ);
      atomic_fetch_or(sem + RWSEM.count, WAITERS);
      spin_unlock(sem + RWSEM.wait_lock);
      setDeadlines(sem, true);
      let stolen = 0;
      let holder = 2;
      for (let round = 0; round < 6 && atomic_read(r1 + RWSEM_WAITER.task) !== 0; round++) {
        task_attach(holder);
        atomic_fetch_add(sem + RWSEM.count, -W); // up_write's RELEASE
        holder = holder === 2 ? 3 : 2;
        task_attach(holder);
        if (rwsem_try_write_lock_unqueued(sem)) stolen++; // a spinner on another CPU
        task_attach(0);
        spin_lock(sem + RWSEM.wait_lock); // the releaser's rwsem_wake()
        rwsem_mark_wake(sem, RWSEM_WAKE_ANY);
        spin_unlock(sem + RWSEM.wait_lock);
        rwsem_check_invariants(sem);
      }
      if (bugs === 0) {
        // Round 1: stolen, and the waker sets HANDOFF for the timed-out reader. Round 2: the
        // spinner finds HANDOFF and backs off; the reader is granted.
        expect(stolen).toBe(1);
        expect(atomic_read(r1 + RWSEM_WAITER.task)).toBe(0);
        expect(countOf(sem)).toBe(BIAS);
        task_attach(1);
        up_read(sem);
      } else {
        expect(stolen).toBe(6);
        expect(queue(sem)).toEqual(['r1']);
        expect(countOf(sem)).toBe(W | WAITERS);
        task_attach(holder);
        up_write(sem); // grants the reader at last: nobody stole this time
        expect(atomic_read(r1 + RWSEM_WAITER.task)).toBe(0);
        task_attach(1);
        up_read(sem);
      }
      task_attach(0);
      expect(countOf(sem)).toBe(0);
      rwsem_check_invariants(sem);
    });
  }

  it('a reader at the head requests the handoff when writers keep the lock', () => {
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
    setDeadlines(sem, false);
    wake(); // a writer holds it: back off, too early for a handoff
    expect(countOf(sem)).toBe(W | WAITERS);
    setDeadlines(sem, true);
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
