// detach-before-write-lock (src/sched/bugs.ts): munmap must write-lock each VMA before it
// detaches it. A faulter hammers the range while munmap runs; the broken order is caught by
// vma_mark_detached()'s vma_assert_write_locked(), live in tests and stress runs.

import { afterEach, describe, expect, it } from 'vitest';
import { do_mmap, PROT_READ, PROT_WRITE } from '../../src/ops/index.js';
import { mm_create } from '../../src/workload/world.js';
import { BUG_THREADS, bugWorld, clearBugs, flags, type Variant } from '../helpers/bugs.js';
import { runThreads } from '../helpers/threads.js';

afterEach(clearBugs);

function race(variant: Variant, scheme: 'vma_refcnt' | 'vma_rwsem'): Promise<unknown[]> {
  const { sab } = bugWorld('detach-before-write-lock', variant, { scheme });
  const mm = mm_create();
  expect(do_mmap(mm, 100, 8, PROT_READ | PROT_WRITE)).toBe(100);
  const f = flags();
  const args = { f, mm, start: 100, pages: 8 };
  return runThreads(sab, BUG_THREADS, [
    { taskId: 1, fn: 'faultLoop', args },
    { taskId: 2, fn: 'munmapOnce', args },
  ]);
}

describe('bug catalogue: detach-before-write-lock', () => {
  for (const scheme of ['vma_refcnt'] as const) {
    it(`fixed (${scheme}): munmap write-locks, then detaches, with a faulter racing it`, async () => {
      const [faults, ret] = await race('fixed', scheme);
      expect(ret).toBe(0);
      expect(faults).toBeGreaterThan(0);
    });

    it(`broken (${scheme}): the detach comes before the write lock and is caught`, async () => {
      await expect(race('broken', scheme)).rejects.toThrow(/vma \d+ is not write-locked/);
    });
  }
});
