// detach-no-wait (src/sched/bugs.ts): a reader increments vm_refcnt after munmap's
// vma_start_write and re-checks the sequence only after vma_mark_detached. The fixed detacher
// waits for it (the second wait, Peter Zijlstra on v6 10/16); the broken one frees the VMA with
// the reader's reference still counted, and vm_area_free's detached check catches it.

import { afterEach, describe, expect, it } from 'vitest';
import { vt_lookup } from '../../src/mm/vma_tree.js';
import { do_mmap, PROT_READ, PROT_WRITE } from '../../src/ops/index.js';
import { atomic_read } from '../../src/sched/atomics.js';
import { MM, VMA } from '../../src/shm/layout/index.js';
import { mm_create } from '../../src/workload/world.js';
import { BUG_THREADS, bugWorld, clearBugs, flags, type Variant } from '../helpers/bugs.js';
import { runThreads } from '../helpers/threads.js';

afterEach(clearBugs);

async function race(variant: Variant): Promise<{ run: Promise<unknown[]>; vma: number }> {
  const { sab } = bugWorld('detach-no-wait', variant, { scheme: 'vma_refcnt' });
  const mm = mm_create();
  expect(do_mmap(mm, 100, 4, PROT_READ | PROT_WRITE)).toBe(100);
  const vma = vt_lookup(mm + MM.mm_mt, 100);
  const f = flags();
  const run = runThreads(sab, BUG_THREADS, [
    { taskId: 1, fn: 'detachReader', args: { f, mm, vma } },
    { taskId: 2, fn: 'detachWriter', args: { f, mm, vma, start: 100, pages: 4 } },
  ]);
  return { run, vma };
}

describe('bug catalogue: detach-no-wait', () => {
  it('fixed: vma_mark_detached waits for the stray reader; the VMA is freed at count 0', async () => {
    const { run, vma } = await race('fixed');
    const [got, ret] = await run;
    expect(got).toBe(0); // the reader saw the sequence match and backed off
    expect(ret).toBe(0);
    expect(atomic_read(vma + VMA.vm_refcnt)).toBe(0);
  });

  it('broken: munmap frees the VMA while the reader holds it; vm_area_free catches it', async () => {
    const { run } = await race('broken');
    await expect(run).rejects.toThrow(/vm_area_free: vma \d+ is not detached/);
  });
});
