// no-seq-recheck (src/sched/bugs.ts): a reader passes vma_start_read()'s early lockless
// sequence check, then stops before its increment while a writer write-locks the VMA. Only the
// re-check after the increment (ACQUIRE, pairs with vma_end_write_all) sees the writer; without
// it the reader enters a write-locked VMA and the shadow exclusion check fires.

import { afterEach, describe, expect, it } from 'vitest';
import { vt_lookup } from '../../src/mm/vma_tree.js';
import { do_mmap, PROT_READ } from '../../src/ops/index.js';
import { atomic_read } from '../../src/sched/atomics.js';
import { MM, VMA } from '../../src/shm/layout/index.js';
import { mm_create } from '../../src/workload/world.js';
import { BUG_THREADS, bugWorld, clearBugs, flags, type Variant } from '../helpers/bugs.js';
import { runThreads } from '../helpers/threads.js';

afterEach(clearBugs);

function race(variant: Variant): { run: Promise<unknown[]>; vma: number } {
  const { sab } = bugWorld('no-seq-recheck', variant, { scheme: 'vma_refcnt' });
  const mm = mm_create();
  expect(do_mmap(mm, 100, 4, PROT_READ)).toBe(100);
  const vma = vt_lookup(mm + MM.mm_mt, 100);
  const f = flags();
  const run = runThreads(sab, BUG_THREADS, [
    { taskId: 1, fn: 'lateReader', args: { f, mm, vma } },
    { taskId: 2, fn: 'holdWriteLocked', args: { f, mm, vma } },
  ]);
  return { run, vma };
}

describe('bug catalogue: no-seq-recheck', () => {
  it('fixed: the re-check after the increment sees the writer; the reader backs off', async () => {
    const { run, vma } = race('fixed');
    const [got] = await run;
    expect(got).toBe(0);
    expect(atomic_read(vma + VMA.vm_refcnt)).toBe(1);
  });

  it('broken: the reader enters the write-locked VMA; the exclusion check catches it', async () => {
    await expect(race('broken').run).rejects.toThrow(
      /a read lock succeeded while a writer owns the VMA/,
    );
  });
});
