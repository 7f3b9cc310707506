// Every scheme under real concurrency: three faulters on private and shared VMAs, a writer
// churning unrelated VMAs across two mms (so VMA slots are reused between mms), and a writer
// that mprotects the shared VMA while it lists the maps through per-VMA locks. Six workers on
// two cores: preemption lands inside critical sections. Afterwards the world must be
// consistent and every count exact.

import { describe, expect, it } from 'vitest';
import { check_world_quiescent } from '../../src/harness/checks.js';
import { do_mmap, PROT_READ, PROT_WRITE } from '../../src/ops/index.js';
import { CNT } from '../../src/sched/counters.js';
import { sum_counter } from '../../src/sched/task.js';
import { scheme } from '../../src/schemes/active.js';
import { arena_alloc } from '../../src/shm/arena.js';
import { refcount_warnings_total } from '../../src/sync/refcount.js';
import { mm_create, SCHEMES, world_create } from '../../src/workload/world.js';
import { runThreads } from '../helpers/threads.js';

const RW = PROT_READ | PROT_WRITE;
const PAGES = 32;
const ITERS = 60;

describe.each(SCHEMES)('%s under concurrent faults and writers', (name) => {
  it('keeps the world consistent and the counts exact', async () => {
    const { sab } = world_create({ scheme: name, maxTasks: 8, maxVmas: 1024, frames: 2048 });
    const mm = mm_create();
    const mm2 = mm_create();
    const shared = do_mmap(mm, 8192, PAGES, RW);
    const privs = [0, 1, 2].map((i) =>
      do_mmap(mm, 1024 + i * 2 * PAGES, PAGES, PROT_READ | PROT_WRITE),
    );
    // keep the private regions apart: a different flag set in between would merge otherwise
    expect(privs).toEqual([1024, 1088, 1152]);
    const permanent: Array<[number, number]> = [...privs, shared].map((s) => [s, s + PAGES]);
    const done = arena_alloc(1, 16, 'done');
    const results = await runThreads(sab, 'test/threads/schemes', [
      ...privs.map((priv, i) => ({
        taskId: 1 + i,
        fn: 'faulter',
        args: { mm, priv, shared, pages: PAGES, iters: ITERS, done },
      })),
      { taskId: 4, fn: 'churn', args: { mms: [mm, mm2], iters: 20, done, faulters: 3 } },
      {
        taskId: 5,
        fn: 'protector',
        args: { mm, shared, pages: PAGES, permanent, iters: 20, done, faulters: 3 },
      },
    ]);
    const faulters = results.slice(0, 3) as Array<{ faults: number; segv: number; bad: string[] }>;
    const churn = results[3] as {
      ops: number;
      mmaps: number;
      munmaps: number;
      faults: number;
      bad: string[];
    };
    const prot = results[4] as { ops: number; gaps: number; bad: string[] };
    for (const f of faulters) expect(f.bad).toEqual([]);
    expect(churn.bad).toEqual([]);
    expect(prot.bad).toEqual([]);
    expect(prot.gaps).toBe(0);
    scheme().barrier();
    check_world_quiescent([mm, mm2]);
    const faults = faulters.reduce((s, f) => s + f.faults, 0) + churn.faults;
    expect(sum_counter(CNT.FAULTS, 8)).toBe(faults);
    expect(faults).toBe(3 * ITERS * PAGES * 2 + churn.mmaps * 3);
    const segv = faulters.reduce((s, f) => s + f.segv, 0);
    expect(sum_counter(CNT.FAULT_SEGV, 8)).toBe(segv);
    // as the kernel counts: every fault is finished under its VMA lock (SUCCESS) or falls back
    // to the mmap lock (after ABORT or RETRY) — exactly one of the two
    const fast = sum_counter(CNT.VMA_LOCK_SUCCESS, 8);
    expect(fast + sum_counter(CNT.MMAP_LOCK_FALLBACK, 8)).toBe(faults);
    if (name === 'mmap_lock') expect(fast).toBe(0);
    else expect(fast).toBeGreaterThan(0);
    expect(sum_counter(CNT.MMAP_OPS, 8)).toBe(churn.mmaps + 4); // + the main thread's set-up
    expect(sum_counter(CNT.MUNMAP_OPS, 8)).toBe(churn.munmaps);
    expect(sum_counter(CNT.MPROTECT_OPS, 8)).toBe((prot.ops / 3) * 2);
    expect(sum_counter(CNT.MAPS_READS, 8)).toBe(prot.ops / 3);
    if (name === 'srcu_spf') expect(sum_counter(CNT.SPF_SUCCESS, 8)).toBeGreaterThan(0);
    expect(refcount_warnings_total()).toBe(0);
  });
});
