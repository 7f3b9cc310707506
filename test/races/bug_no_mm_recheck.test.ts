// no-mm-recheck (src/sched/bugs.ts): a reader of mm a found a VMA under RCU, the slot was freed
// and reused by mm b (SLAB_TYPESAFE_BY_RCU), and b's writer holds it write-locked. Without the
// vm_mm re-check after the increment the reader compares the slot's vm_lock_seq with a's
// sequence and enters b's write-locked VMA: the shadow exclusion check (KERNEL.md §7.1) fires.

import { afterEach, describe, expect, it } from 'vitest';
import { vt_lookup } from '../../src/mm/vma_tree.js';
import { do_mmap, do_munmap, PROT_READ } from '../../src/ops/index.js';
import { CNT } from '../../src/sched/counters.js';
import { sum_counter } from '../../src/sched/task.js';
import { MM } from '../../src/shm/layout/index.js';
import { mm_create } from '../../src/workload/world.js';
import { BUG_THREADS, bugWorld, clearBugs, flags, type Variant } from '../helpers/bugs.js';
import { runThreads } from '../helpers/threads.js';

afterEach(clearBugs);

function race(variant: Variant): Promise<unknown[]> {
  const { sab } = bugWorld('no-mm-recheck', variant, { scheme: 'vma_refcnt' });
  const a = mm_create();
  const b = mm_create();
  expect(do_mmap(a, 100, 4, PROT_READ)).toBe(100);
  const vma = vt_lookup(a + MM.mm_mt, 100); // the reader's lookup, before the slot is reused
  expect(do_munmap(a, 100, 4)).toBe(0);
  expect(do_mmap(b, 500, 4, PROT_READ)).toBe(500);
  expect(vt_lookup(b + MM.mm_mt, 500)).toBe(vma);
  const f = flags();
  return runThreads(sab, BUG_THREADS, [
    { taskId: 1, fn: 'staleReader', args: { f, mm: a, vma } },
    { taskId: 2, fn: 'holdWriteLocked', args: { f, mm: b, vma } },
  ]);
}

describe('bug catalogue: no-mm-recheck', () => {
  it('fixed: the stale reader sees the slot belongs to another mm and backs off', async () => {
    const [got] = await race('fixed');
    expect(got).toBe(0);
    expect(sum_counter(CNT.VMA_FOREIGN_MM, 3)).toBe(1);
  });

  it("broken: the reader enters b's write-locked VMA; the exclusion check catches it", async () => {
    await expect(race('broken')).rejects.toThrow(
      /a read lock succeeded while a writer owns the VMA/,
    );
  });
});
