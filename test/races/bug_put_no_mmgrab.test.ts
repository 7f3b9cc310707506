// put-no-mmgrab (src/sched/bugs.ts; Jann Horn, 2025): a stale reader of mm a holds a reference
// on a VMA slot now reused by mm b, whose munmap waits for that reference. The reader's put
// lets b's writer go on before the reader wakes it; the writer finishes and b exits. Fixed, the
// reader pinned b with mmgrab() so its wake-up touches a live mm; broken, b is freed under the
// wake-up and the put's mm_assert_alive catches the use-after-free.

import { afterEach, describe, expect, it } from 'vitest';
import { vt_lookup } from '../../src/mm/vma_tree.js';
import { do_mmap, do_munmap, PROT_READ } from '../../src/ops/index.js';
import { atomic_read } from '../../src/sched/atomics.js';
import { MM } from '../../src/shm/layout/index.js';
import { mm_create } from '../../src/workload/world.js';
import { BUG_THREADS, bugWorld, clearBugs, flags, type Variant } from '../helpers/bugs.js';
import { runThreads } from '../helpers/threads.js';

afterEach(clearBugs);

function race(variant: Variant): { run: Promise<unknown[]>; other: number } {
  const { sab } = bugWorld('put-no-mmgrab', variant, { scheme: 'vma_refcnt' });
  const a = mm_create();
  const b = mm_create();
  expect(do_mmap(a, 100, 4, PROT_READ)).toBe(100);
  const vma = vt_lookup(a + MM.mm_mt, 100);
  expect(do_munmap(a, 100, 4)).toBe(0);
  expect(do_mmap(b, 500, 4, PROT_READ)).toBe(500);
  expect(vt_lookup(b + MM.mm_mt, 500)).toBe(vma);
  const f = flags();
  const args = { f, mm: a, vma, other: b, start: 500, pages: 4 };
  const run = runThreads(sab, BUG_THREADS, [
    { taskId: 1, fn: 'foreignReader', args },
    { taskId: 2, fn: 'foreignWriter', args },
  ]);
  return { run, other: b };
}

describe('bug catalogue: put-no-mmgrab', () => {
  it('fixed: the other mm stays pinned across the put; it is freed by the mmdrop after', async () => {
    const { run, other } = race('fixed');
    const [got, ret] = await run;
    expect(got).toBe(0);
    expect(ret).toBe(0);
    expect(atomic_read(other + MM.mm_alive)).not.toBe(1); // freed, but only after the wake-up
  });

  it('broken: the put wakes the writer of a freed mm; mm_assert_alive catches it', async () => {
    await expect(race('broken').run).rejects.toThrow(/wakes the writer of a freed mm/);
  });
});
