// @ts-check
// "Write your own regression test" (README): a vitest file a faultline user would keep in their
// own repository, importing the package by its name. `npm test` runs it.

import {
  arena_alloc,
  atomic_read,
  atomic_set,
  createArena,
  init_rwsem,
  LINE_WORDS,
  REFCOUNT,
  RWSEM,
  refcount_read,
  refcount_set,
  runLitmus,
  runThreads,
  task_attach,
} from 'faultline';
import { describe, expect, it } from 'vitest';
import { myHandoff } from './my-litmus.js';

describe('my regression tests, on faultline', () => {
  it('a litmus test: the flag never arrives before the data', async () => {
    const r = await runLitmus(myHandoff, { iterations: 1_000 });
    expect(r.forbidden).toBe(0);
    expect(r.passed).toBe(true);
    expect(r.iterations).toBeGreaterThanOrEqual(1_000);
  });

  it('runLitmus leaves my own buffer attached to this thread', async () => {
    createArena({ sizeMiB: 4, maxTasks: 2 });
    task_attach(0);
    const w = arena_alloc(REFCOUNT.SIZE, LINE_WORDS);
    refcount_set(w, 7);
    await runLitmus(myHandoff, { iterations: 64 });
    expect(refcount_read(w)).toBe(7);
  });

  it('primitives on my own buffer, on worker threads: exact counts', async () => {
    const { sab } = createArena({ sizeMiB: 4, maxTasks: 4 });
    task_attach(0);
    const sem = arena_alloc(RWSEM.SIZE, LINE_WORDS);
    const counter = arena_alloc(1, LINE_WORDS);
    const ref = arena_alloc(REFCOUNT.SIZE, LINE_WORDS);
    init_rwsem(sem);
    atomic_set(counter, 0);
    refcount_set(ref, 1); // the main thread's reference keeps the object alive
    const rounds = 2_000;
    const args = { sem, counter, ref, rounds };
    const refs = await runThreads({
      sab,
      module: new URL('./my-litmus.js', import.meta.url).href,
      tasks: [
        { fn: 'worker', args },
        { fn: 'worker', args },
        { fn: 'worker', args },
      ],
    });
    expect(refs).toEqual([rounds, rounds, rounds]);
    expect(atomic_read(counter)).toBe(3 * rounds); // no lost update under the write lock
    expect(refcount_read(ref)).toBe(1);
    expect(atomic_read(sem + RWSEM.count)).toBe(0);
  });

  it('a free-running stress: tasks loop until told to stop', async () => {
    const { sab } = createArena({ sizeMiB: 4, maxTasks: 3 });
    task_attach(0);
    const total = arena_alloc(1, LINE_WORDS);
    const stop = arena_alloc(1, LINE_WORDS);
    const timer = setTimeout(() => atomic_set(stop, 1), 200);
    const mine = /** @type {number[]} */ (
      await runThreads({
        sab,
        module: new URL('./my-litmus.js', import.meta.url).href,
        tasks: [
          { fn: 'spinUntilStopped', args: { total, stop } },
          { fn: 'spinUntilStopped', args: { total, stop } },
        ],
      })
    );
    clearTimeout(timer);
    expect(atomic_read(total)).toBe(mine[0] + mine[1]);
  });
});
