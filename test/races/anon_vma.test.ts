// The first anonymous fault in a fresh VMA needs an anon_vma, and preparing one needs the mmap
// lock (KERNEL.md, fault path). A writer holds the mmap lock while a faulter takes the fast path:
//   vma_refcnt (v6.10+ vmf_anon_prepare): the VMA lock is taken, the mmap trylock fails, the
//     VMA lock is dropped and the fault returns RETRY, to finish under the mmap lock;
//   vma_rwsem (6.4-6.9) and srcu_spf: the fast path refuses the VMA (ANON_VMA_ABORT).
// Either way the fault waits for the writer. Once prepared (set once), the next fault of that
// VMA completes under its VMA lock while the writer still holds the mmap lock.

import { describe, expect, it } from 'vitest';
import { pte_lookup_lockless } from '../../src/mm/pgtable.js';
import { vt_lookup } from '../../src/mm/vma_tree.js';
import {
  do_mmap,
  do_mprotect,
  handle_user_fault,
  PROT_READ,
  PROT_WRITE,
} from '../../src/ops/index.js';
import { atomic_read } from '../../src/sched/atomics.js';
import { CNT } from '../../src/sched/counters.js';
import { reset_counters, sum_counter } from '../../src/sched/task.js';
import { mmap_write_lock, mmap_write_unlock } from '../../src/schemes/mmap.js';
import { arena_alloc } from '../../src/shm/arena.js';
import { MM, VMA } from '../../src/shm/layout/index.js';
import { mm_create, SCHEMES, world_create } from '../../src/workload/world.js';
import { runThreads, until } from '../helpers/threads.js';

const RW = PROT_READ | PROT_WRITE;
const BOUND_MS = 4000;
const TASKS = 4;

/** The counter the fast path bumps when it meets a VMA without an anon_vma, per scheme. */
const FIRST_FAULT = {
  vma_refcnt: 'ANON_VMA_RETRY',
  vma_rwsem: 'ANON_VMA_ABORT',
  srcu_spf: 'ANON_VMA_ABORT',
} as const;

describe.each(['vma_refcnt', 'vma_rwsem', 'srcu_spf'] as const)(
  '%s: a first fault needing an anon_vma while the mmap lock is write-held',
  (name) => {
    it('leaves the fast path, waits for the mmap lock, and prepares the anon_vma once', async () => {
      const { sab } = world_create({ scheme: name, maxVmas: 64, frames: 64, maxTasks: TASKS });
      const mm = mm_create();
      expect(do_mmap(mm, 100, 8, RW)).toBe(100);
      const vma = vt_lookup(mm + MM.mm_mt, 100);
      expect(atomic_read(vma + VMA.anon_vma)).toBe(0);
      reset_counters(TASKS);

      // 1. The writer (this thread) holds the mmap lock; the first fault must wait for it.
      mmap_write_lock(mm);
      const done = arena_alloc(1, 16);
      const first = runThreads(sab, 'test/threads/killable', [
        { taskId: 1, fn: 'faulter', args: { mm, addr: 101, done } },
      ]);
      const c = FIRST_FAULT[name];
      await until(() => sum_counter(CNT[c], TASKS) === 1, `the fault counts ${c}`, BOUND_MS);
      expect(atomic_read(done)).toBe(0); // it waits for the mmap lock
      expect(atomic_read(vma + VMA.anon_vma)).toBe(0);
      mmap_write_unlock(mm);
      expect(await first).toEqual([0]);
      expect(sum_counter(CNT.ANON_VMA_PREPARE, TASKS)).toBe(1);
      expect(sum_counter(CNT.MMAP_LOCK_FALLBACK, TASKS)).toBe(1);
      expect(sum_counter(CNT.VMA_LOCK_SUCCESS, TASKS)).toBe(0);
      if (name === 'vma_refcnt') expect(sum_counter(CNT.VMA_LOCK_RETRY, TASKS)).toBe(1);
      else if (name === 'vma_rwsem') expect(sum_counter(CNT.VMA_LOCK_ABORT, TASKS)).toBe(1);
      else expect(sum_counter(CNT.SPF_ABORT, TASKS)).toBe(1);
      const av = atomic_read(vma + VMA.anon_vma);
      expect(av).not.toBe(0);
      expect(pte_lookup_lockless(atomic_read(mm + MM.pgd), 101)).not.toBe(0);

      // 2. Prepared: the next fault of the VMA needs no mmap lock, even with the writer in.
      mmap_write_lock(mm);
      const done2 = arena_alloc(1, 16);
      expect(
        await runThreads(sab, 'test/threads/killable', [
          { taskId: 2, fn: 'faulter', args: { mm, addr: 102, done: done2 } },
        ]),
      ).toEqual([0]);
      mmap_write_unlock(mm);
      expect(sum_counter(CNT[c], TASKS)).toBe(1);
      expect(sum_counter(CNT.ANON_VMA_PREPARE, TASKS)).toBe(1);
      expect(sum_counter(CNT.MMAP_LOCK_FALLBACK, TASKS)).toBe(1);
      if (name === 'srcu_spf') expect(sum_counter(CNT.SPF_SUCCESS, TASKS)).toBe(1);
      else expect(sum_counter(CNT.VMA_LOCK_SUCCESS, TASKS)).toBe(1);
      expect(atomic_read(vma + VMA.anon_vma)).toBe(av);
    });
  },
);

describe.each(SCHEMES)('%s: anon_vma bookkeeping', (name) => {
  it('a split shares the anon_vma and a merge keeps it', () => {
    world_create({ scheme: name, maxVmas: 64, frames: 64, maxTasks: 2 });
    const mm = mm_create();
    expect(do_mmap(mm, 100, 8, RW)).toBe(100);
    expect(handle_user_fault(mm, 100, true)).toBe(0);
    const a = vt_lookup(mm + MM.mm_mt, 100);
    const av = atomic_read(a + VMA.anon_vma);
    expect(av).toBe(a);
    // mprotect splits off [104, 108): both halves share it
    expect(do_mprotect(mm, 104, 4, PROT_READ)).toBe(0);
    const lo = vt_lookup(mm + MM.mm_mt, 100);
    const hi = vt_lookup(mm + MM.mm_mt, 104);
    expect(hi).not.toBe(lo);
    expect(atomic_read(lo + VMA.anon_vma)).toBe(av);
    expect(atomic_read(hi + VMA.anon_vma)).toBe(av);
    // a VMA mapped right above, never faulted, made read-only: mprotect merges it into the upper
    // half (same flags; it has no anon_vma, the half's is kept): one VMA [104, 112)
    expect(do_mmap(mm, 108, 4, RW)).toBe(108);
    expect(do_mprotect(mm, 108, 4, PROT_READ)).toBe(0);
    expect(vt_lookup(mm + MM.mm_mt, 108)).toBe(hi);
    expect(atomic_read(hi + VMA.vm_end)).toBe(112);
    expect(handle_user_fault(mm, 110, false)).toBe(0);
    expect(atomic_read(hi + VMA.anon_vma)).toBe(av);
    // back to read-write: all of it merges into one VMA, keeping the one anon_vma
    expect(do_mprotect(mm, 104, 8, RW)).toBe(0);
    const m = vt_lookup(mm + MM.mm_mt, 111);
    expect(vt_lookup(mm + MM.mm_mt, 100)).toBe(m);
    expect(atomic_read(m + VMA.vm_end)).toBe(112);
    expect(atomic_read(m + VMA.anon_vma)).toBe(av);
    expect(sum_counter(CNT.ANON_VMA_PREPARE, 2)).toBe(1);
  });
});
