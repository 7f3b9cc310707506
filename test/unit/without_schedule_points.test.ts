// without_schedule_points (src/sched/atomics.ts): a thread-local cache fill under a schedule
// hook takes no schedule points, and the hook is back afterwards, also when the fill throws.

import { afterEach, describe, expect, it } from 'vitest';
import {
  atomic_read,
  schedule_hooked,
  set_schedule_hook,
  without_schedule_points,
} from '../../src/sched/atomics.js';
import { createArena } from '../../src/shm/arena.js';

afterEach(() => set_schedule_hook(null));

describe('without_schedule_points', () => {
  it('hides the steps of f from the hook, and only those', () => {
    createArena({ sizeMiB: 1, maxTasks: 2 });
    const seen: number[] = [];
    set_schedule_hook((_kind, what) => seen.push(what));
    atomic_read(5);
    expect(without_schedule_points(() => atomic_read(6) * 0 + 41)).toBe(41);
    atomic_read(7);
    expect(seen).toEqual([5, 7]);
    expect(() =>
      without_schedule_points(() => {
        throw new Error('fill failed');
      }),
    ).toThrow('fill failed');
    expect(schedule_hooked()).toBe(true);
    atomic_read(8);
    expect(seen).toEqual([5, 7, 8]);
  });

  it('runs f unchanged when no hook is installed', () => {
    createArena({ sizeMiB: 1, maxTasks: 2 });
    expect(without_schedule_points(() => 42)).toBe(42);
    expect(schedule_hooked()).toBe(false);
  });
});
