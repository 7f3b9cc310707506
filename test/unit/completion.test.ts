import { beforeEach, describe, expect, it } from 'vitest';
import { EINTR } from '../../src/errors.js';
import { atomic_read } from '../../src/sched/atomics.js';
import { CNT } from '../../src/sched/counters.js';
import {
  current,
  flush_signals,
  kill_task,
  sum_counter,
  task_attach,
} from '../../src/sched/task.js';
import { arena_alloc, createArena, task_ptr } from '../../src/shm/arena.js';
import { COMPLETION, LINE_WORDS } from '../../src/shm/layout/index.js';
import {
  COMPLETION_ALL,
  complete,
  complete_all,
  completion_done,
  init_completion,
  reinit_completion,
  try_wait_for_completion,
  wait_for_completion,
  wait_for_completion_killable,
} from '../../src/sync/completion.js';
import { runThreads, until } from '../helpers/threads.js';

let c = 0;

beforeEach(() => {
  createArena({ sizeMiB: 1, maxTasks: 4 });
  task_attach(0);
  c = arena_alloc(COMPLETION.SIZE, LINE_WORDS);
  init_completion(c);
});

/** These polls wait for work of a few ms; 4 s turns a hang into a failure. */
const BOUND_MS = 4000;

describe('completion, one task', () => {
  it('counts: each complete() lets exactly one wait pass', () => {
    expect(completion_done(c)).toBe(false);
    expect(try_wait_for_completion(c)).toBe(false);
    complete(c);
    complete(c);
    expect(completion_done(c)).toBe(true);
    expect(atomic_read(c + COMPLETION.done)).toBe(2);
    wait_for_completion(c);
    expect(wait_for_completion_killable(c)).toBe(0);
    expect(completion_done(c)).toBe(false);
    expect(try_wait_for_completion(c)).toBe(false);
  });

  it('complete_all lets every wait pass, consuming nothing, until reinit', () => {
    complete(c);
    complete_all(c);
    expect(atomic_read(c + COMPLETION.done)).toBe(COMPLETION_ALL);
    for (let i = 0; i < 5; i++) {
      wait_for_completion(c);
      expect(try_wait_for_completion(c)).toBe(true);
    }
    // complete() after complete_all() leaves it at UINT_MAX.
    complete(c);
    expect(atomic_read(c + COMPLETION.done)).toBe(COMPLETION_ALL);
    expect(completion_done(c)).toBe(true);
    reinit_completion(c);
    expect(completion_done(c)).toBe(false);
    expect(try_wait_for_completion(c)).toBe(false);
  });

  it('a killable wait with a fatal signal pending: EINTR if nothing is there, 0 if it is', () => {
    kill_task(current());
    expect(wait_for_completion_killable(c)).toBe(EINTR);
    expect(atomic_read(c + COMPLETION.waiters)).toBe(0);
    complete(c);
    expect(wait_for_completion_killable(c)).toBe(0);
    expect(completion_done(c)).toBe(false);
    flush_signals();
  });
});

describe('completion on real threads', () => {
  it('4 waiters, 1 completer: every complete() lets exactly one wait through', async () => {
    const a = createArena({ sizeMiB: 4, maxTasks: 8 });
    task_attach(0);
    const cc = arena_alloc(COMPLETION.SIZE, LINE_WORDS);
    const passed = arena_alloc(1, LINE_WORDS);
    init_completion(cc);
    const n = 5_000;
    const res = await runThreads(a.sab, 'test/threads/completion', [
      ...[1, 2, 3, 4].map((taskId) => ({ taskId, fn: 'waitMany', args: { c: cc, n, passed } })),
      { taskId: 5, fn: 'completeMany', args: { c: cc, n: 4 * n } },
    ]);
    console.log(`completion: ${4 * n} waits, sleeps ${sum_counter(CNT.COMPLETION_SLEEP, 8)}`);
    expect(res).toEqual([n, n, n, n, 4 * n]);
    expect(atomic_read(passed)).toBe(4 * n);
    expect(atomic_read(cc + COMPLETION.done)).toBe(0);
    expect(atomic_read(cc + COMPLETION.waiters)).toBe(0);
  });

  it('complete_all releases 5 sleeping waiters at once', async () => {
    const a = createArena({ sizeMiB: 4, maxTasks: 8 });
    task_attach(0);
    const cc = arena_alloc(COMPLETION.SIZE, LINE_WORDS);
    init_completion(cc);
    const res = await runThreads(a.sab, 'test/threads/completion', [
      ...[1, 2, 3, 4, 5].map((taskId) => ({ taskId, fn: 'waitOnce', args: { c: cc } })),
      {
        taskId: 6,
        fn: 'completeAllWhen',
        args: { c: cc, waitersWord: cc + COMPLETION.waiters, expect: 5 },
      },
    ]);
    expect(res).toEqual([0, 0, 0, 0, 0, 0]);
    expect(atomic_read(cc + COMPLETION.done)).toBe(COMPLETION_ALL);
    expect(atomic_read(cc + COMPLETION.waiters)).toBe(0);
  });

  it('a killed wait_for_completion_killable returns EINTR; the others keep waiting', async () => {
    const a = createArena({ sizeMiB: 4, maxTasks: 8 });
    task_attach(0);
    const cc = arena_alloc(COMPLETION.SIZE, LINE_WORDS);
    init_completion(cc);
    const run = runThreads(a.sab, 'test/threads/completion', [
      { taskId: 1, fn: 'waitKillable', args: { c: cc } },
      { taskId: 2, fn: 'waitKillable', args: { c: cc } },
    ]);
    await until(
      () => atomic_read(cc + COMPLETION.waiters) === 2,
      'both waiters to sleep',
      BOUND_MS,
    );
    kill_task(task_ptr(1));
    await until(
      () => atomic_read(cc + COMPLETION.waiters) === 1,
      'the killed waiter to leave',
      BOUND_MS,
    );
    expect(atomic_read(cc + COMPLETION.done)).toBe(0);
    complete(cc);
    expect(await run).toEqual([EINTR, 0]);
    expect(atomic_read(cc + COMPLETION.done)).toBe(0);
    expect(atomic_read(cc + COMPLETION.waiters)).toBe(0);
    flush_signals(task_ptr(1));
  });
});
