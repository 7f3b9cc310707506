import { describe, expect, it } from 'vitest';
import { LayoutError, SlabExhausted } from '../../src/errors.js';
import { atomic_read } from '../../src/sched/atomics.js';
import { task_attach } from '../../src/sched/task.js';
import { arena_alloc, attachArena, createArena } from '../../src/shm/arena.js';
import { HEADER, TASK } from '../../src/shm/layout/index.js';
import { runThreads } from '../helpers/threads.js';

describe('arena', () => {
  it('lays out a header that attach accepts', () => {
    const a = createArena({ sizeMiB: 1, maxTasks: 4 });
    expect(() => attachArena(a.sab)).not.toThrow();
    expect(atomic_read(HEADER.max_tasks)).toBe(4);
  });

  it('refuses a buffer with another layout version or fingerprint', () => {
    const a = createArena({ sizeMiB: 1, maxTasks: 4 });
    const w = new Int32Array(a.sab);
    w[HEADER.version] = 999;
    expect(() => attachArena(a.sab)).toThrow(/layout version 999; this build has version 1/);
    const b = createArena({ sizeMiB: 1, maxTasks: 4 });
    const bw = new Int32Array(b.sab);
    bw[HEADER.fingerprint] = (bw[HEADER.fingerprint] ?? 0) ^ 1;
    expect(() => attachArena(b.sab)).toThrow(LayoutError);
    expect(() => attachArena(new SharedArrayBuffer(1024))).toThrow(/bad magic/);
  });

  it('never hands out word 0 and reports exhaustion by name', () => {
    createArena({ sizeMiB: 1, maxTasks: 2 });
    const p = arena_alloc(16, 16);
    expect(p).toBeGreaterThan(0);
    expect(p % 16).toBe(0);
    expect(() => arena_alloc(1 << 20, 1, 'vma slab')).toThrow(SlabExhausted);
    expect(() => arena_alloc(1 << 20, 1, 'vma slab')).toThrow(/arena full: vma slab needs/);
  });

  it('pads hot task words to their own cache line only when padding is on', () => {
    createArena({ sizeMiB: 1, maxTasks: 2, padding: false });
    const packed = TASK.SIZE;
    createArena({ sizeMiB: 1, maxTasks: 2, padding: true });
    expect(TASK.SIZE).toBeGreaterThan(packed);
    expect(TASK.rcu_ctr % 16).toBe(0);
    expect(TASK.park % 16).toBe(0);
  });
});

describe('real threads', () => {
  it('four workers adding to one word lose no increment', async () => {
    const a = createArena({ sizeMiB: 4, maxTasks: 8 });
    task_attach(0);
    const p = arena_alloc(1, 16);
    const ids = await runThreads(
      a.sab,
      'test/threads/smoke',
      [1, 2, 3, 4].map((taskId) => ({ taskId, fn: 'addMany', args: { p, n: 100_000 } })),
    );
    expect(ids).toEqual([1, 2, 3, 4]);
    expect(atomic_read(p)).toBe(400_000);
  });

  it('park/unpark ping-pong loses no wake-up', async () => {
    const a = createArena({ sizeMiB: 4, maxTasks: 4 });
    task_attach(0);
    const [x, y] = await runThreads(a.sab, 'test/threads/smoke', [
      { taskId: 1, fn: 'pingPong', args: { peer: 2, rounds: 2000, first: true } },
      { taskId: 2, fn: 'pingPong', args: { peer: 1, rounds: 2000, first: false } },
    ]);
    expect(x).toBe(2000);
    expect(y).toBe(2000);
  });
});
