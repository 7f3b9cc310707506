// no-range-recheck (src/sched/bugs.ts): a fault finds VMA [100, 104) for page 103 under RCU and
// stops before locking it; mprotect of [100, 102) splits it, and the VMA keeps only [100, 102).
// Fixed, lock_vma_under_rcu() re-checks the range after the lock and falls back to the mmap
// lock, which finds the new VMA; broken, the fault runs on a VMA that does not contain its
// address, and handle_mm_fault()'s range assertion (KERNEL.md §7.5) catches it.

import { afterEach, describe, expect, it } from 'vitest';
import { vt_lookup } from '../../src/mm/vma_tree.js';
import { do_mmap, PROT_READ, PROT_WRITE } from '../../src/ops/index.js';
import { CNT } from '../../src/sched/counters.js';
import { sum_counter } from '../../src/sched/task.js';
import { MM } from '../../src/shm/layout/index.js';
import { mm_create } from '../../src/workload/world.js';
import { BUG_THREADS, bugWorld, clearBugs, flags, type Variant } from '../helpers/bugs.js';
import { runThreads } from '../helpers/threads.js';

afterEach(clearBugs);

function race(variant: Variant, scheme: 'vma_refcnt' | 'vma_rwsem'): Promise<unknown[]> {
  const { sab } = bugWorld('no-range-recheck', variant, { scheme });
  const mm = mm_create();
  expect(do_mmap(mm, 100, 4, PROT_READ | PROT_WRITE)).toBe(100);
  const vma = vt_lookup(mm + MM.mm_mt, 100);
  const f = flags();
  return runThreads(sab, BUG_THREADS, [
    { taskId: 1, fn: 'splitFaulter', args: { f, mm, vma, addr: 103 } },
    { taskId: 2, fn: 'splitWriter', args: { f, mm, vma, start: 100, pages: 2 } },
  ]);
}

describe('bug catalogue: no-range-recheck', () => {
  for (const scheme of ['vma_refcnt'] as const) {
    it(`fixed (${scheme}): the re-check sees the VMA shrank; the fallback faults the new one`, async () => {
      const [ret, wret] = await race('fixed', scheme);
      expect(wret).toBe(0);
      expect(ret).toBe(0);
      expect(sum_counter(CNT.MMAP_LOCK_FALLBACK, 3)).toBe(1);
    });

    it(`broken (${scheme}): the fault runs on a VMA that no longer covers it, and is caught`, async () => {
      await expect(race('broken', scheme)).rejects.toThrow(/outside the VMA it holds/);
    });
  }
});
