import { beforeEach, describe, expect, it } from 'vitest';
import { EINTR, LockStateError } from '../../src/errors.js';
import { atomic_read, atomic_set } from '../../src/sched/atomics.js';
import { CNT } from '../../src/sched/counters.js';
import {
  current,
  flush_signals,
  kill_task,
  sum_counter,
  task_attach,
} from '../../src/sched/task.js';
import { arena_alloc, createArena, task_ptr } from '../../src/shm/arena.js';
import {
  LINE_WORDS,
  RCUWAIT,
  TASK,
  TASK_KILLABLE,
  TASK_RUNNING,
  TASK_UNINTERRUPTIBLE,
} from '../../src/shm/layout/index.js';
import {
  rcuwait_active,
  rcuwait_init,
  rcuwait_wait_event,
  rcuwait_wake_up,
} from '../../src/sync/rcuwait.js';
import { runThreads, until } from '../helpers/threads.js';
import type { PingPongResult } from '../threads/rcuwait.js';

let w = 0;

beforeEach(() => {
  createArena({ sizeMiB: 1, maxTasks: 4 });
  task_attach(0);
  w = arena_alloc(RCUWAIT.SIZE, LINE_WORDS);
  rcuwait_init(w);
});

/** These polls wait for work of a few ms; 4 s turns a hang into a failure. */
const BOUND_MS = 4000;

describe('rcuwait, one task', () => {
  it('returns at once when the condition holds, and unpublishes itself', () => {
    let calls = 0;
    const ret = rcuwait_wait_event(
      w,
      () => {
        calls++;
        // Inside the wait the task is published and in the requested state.
        expect(atomic_read(w + RCUWAIT.task)).toBe(current());
        expect(atomic_read(current() + TASK.state)).toBe(TASK_UNINTERRUPTIBLE);
        return true;
      },
      TASK_UNINTERRUPTIBLE,
    );
    expect(ret).toBe(0);
    expect(calls).toBe(1);
    expect(rcuwait_active(w)).toBe(false);
    expect(atomic_read(current() + TASK.state)).toBe(TASK_RUNNING);
  });

  it('wake_up with no waiter wakes nobody; with a waiter, wakes it and the waiter re-checks', () => {
    expect(rcuwait_wake_up(w)).toBe(false);
    let calls = 0;
    let wokeSomeone = false;
    const before = sum_counter(CNT.RCUWAIT_SLEEP, 1);
    const ret = rcuwait_wait_event(
      w,
      () => {
        calls++;
        // On the first check play the waker from inside: it must find us published. The
        // condition stays false until the wake-up has been consumed and we re-checked.
        if (calls === 1) wokeSomeone = rcuwait_wake_up(w);
        return calls >= 2;
      },
      TASK_KILLABLE,
    );
    expect(ret).toBe(0);
    expect(wokeSomeone).toBe(true);
    expect(calls).toBe(2);
    expect(sum_counter(CNT.RCUWAIT_SLEEP, 1) - before).toBe(1);
    expect(rcuwait_active(w)).toBe(false);
  });

  it('a killable wait returns EINTR on a fatal signal; an uninterruptible one ignores it', () => {
    kill_task(current());
    let calls = 0;
    expect(rcuwait_wait_event(w, () => false, TASK_KILLABLE)).toBe(EINTR);
    expect(rcuwait_active(w)).toBe(false);
    // A condition that is already true wins over the signal.
    expect(rcuwait_wait_event(w, () => true, TASK_KILLABLE)).toBe(0);
    expect(
      rcuwait_wait_event(w, () => ++calls > 3, TASK_UNINTERRUPTIBLE), // the kill's token ends one sleep
    ).toBe(0);
    flush_signals();
  });

  it('refuses other states and a second waiter', () => {
    expect(() => rcuwait_wait_event(w, () => true, TASK_RUNNING)).toThrow(LockStateError);
    atomic_set(w + RCUWAIT.task, task_ptr(3));
    expect(() => rcuwait_wait_event(w, () => true, TASK_UNINTERRUPTIBLE)).toThrow(/already waits/);
    expect(atomic_read(w + RCUWAIT.task)).toBe(task_ptr(3));
    expect(rcuwait_active(w)).toBe(true);
  });
});

describe('rcuwait on real threads', () => {
  it('never loses a wake-up over 100,000 hand-overs (3 ping-pong pairs, 6 workers)', async () => {
    const a = createArena({ sizeMiB: 4, maxTasks: 8 });
    task_attach(0);
    const pairs = 3;
    const cycles = 34_000; // per pair: 102,000 hand-overs, each one wait and one wake-up
    const specs = [];
    const turns: number[] = [];
    for (let p = 0; p < pairs; p++) {
      const word = (): number => arena_alloc(1, LINE_WORDS);
      const turn = word();
      const stop = word();
      const wA = word();
      const wB = word();
      const recA = word();
      const recB = word();
      turns.push(turn);
      const common = { turn, stop, cycles, maxLost: 20 };
      specs.push(
        {
          taskId: 1 + 2 * p,
          fn: 'pingPong',
          args: { ...common, side: 0, wSelf: wA, wPeer: wB, recSelf: recA, recPeer: recB },
        },
        {
          taskId: 2 + 2 * p,
          fn: 'pingPong',
          args: { ...common, side: 1, wSelf: wB, wPeer: wA, recSelf: recB, recPeer: recA },
        },
      );
    }
    const res = (await runThreads(
      a.sab,
      'test/threads/rcuwait',
      specs,
      40_000,
    )) as PingPongResult[];
    const total = (f: (x: PingPongResult) => number): number => res.reduce((t, x) => t + f(x), 0);
    console.log(
      `rcuwait ping-pong: ${total((x) => x.waits)} waits, wake-ups that found the waiter ${total((x) => x.found)}, ` +
        `sleeps ${sum_counter(CNT.RCUWAIT_SLEEP, 8)}, time-outs: lost ${total((x) => x.lost)}, ` +
        `late ${total((x) => x.late)}, before the waker ${total((x) => x.early)}`,
    );
    expect(total((x) => x.lost)).toBe(0);
    expect(res.some((x) => x.stopped)).toBe(false);
    expect(total((x) => x.waits)).toBe(pairs * cycles);
    for (const turn of turns) expect(atomic_read(turn)).toBe(cycles);
  });

  it('a killed TASK_KILLABLE waiter returns EINTR and unpublishes itself', async () => {
    const a = createArena({ sizeMiB: 4, maxTasks: 4 });
    task_attach(0);
    const wq = arena_alloc(RCUWAIT.SIZE, LINE_WORDS);
    const flag = arena_alloc(1, LINE_WORDS);
    const run = runThreads(a.sab, 'test/threads/rcuwait', [
      { taskId: 1, fn: 'waitFlag', args: { w: wq, flag, killable: true } },
    ]);
    await until(
      () => atomic_read(wq + RCUWAIT.task) === task_ptr(1),
      'the waiter to publish',
      BOUND_MS,
    );
    kill_task(task_ptr(1));
    expect(await run).toEqual([EINTR]);
    expect(rcuwait_active(wq)).toBe(false);
    expect(atomic_read(task_ptr(1) + TASK.state)).toBe(TASK_RUNNING);
    flush_signals(task_ptr(1));
  });

  it('a killed TASK_UNINTERRUPTIBLE waiter keeps waiting until its condition holds', async () => {
    const a = createArena({ sizeMiB: 4, maxTasks: 4 });
    task_attach(0);
    const wq = arena_alloc(RCUWAIT.SIZE, LINE_WORDS);
    const flag = arena_alloc(1, LINE_WORDS);
    const run = runThreads(a.sab, 'test/threads/rcuwait', [
      { taskId: 1, fn: 'waitFlag', args: { w: wq, flag, killable: false } },
    ]);
    await until(
      () => atomic_read(wq + RCUWAIT.task) === task_ptr(1),
      'the waiter to publish',
      BOUND_MS,
    );
    kill_task(task_ptr(1));
    // Let it wake for the kill and go back to sleep a few times, then satisfy it.
    await until(
      () => sum_counter(CNT.RCUWAIT_SLEEP, 2) >= 3,
      'the waiter to sleep again',
      BOUND_MS,
    );
    expect(rcuwait_active(wq)).toBe(true);
    atomic_set(flag, 1);
    expect(rcuwait_wake_up(wq)).toBe(true);
    expect(await run).toEqual([0]);
    expect(rcuwait_active(wq)).toBe(false);
    flush_signals(task_ptr(1));
  });
});
