// madvise(MADV_DONTNEED) (mm/madvise.c): zap the pages, keep the VMAs. A range inside one VMA
// is handled under that VMA's read lock where the scheme's kernel does so (6.16+), or where it
// has per-VMA read locks and the feature is backported by name; otherwise under the mmap read
// lock. That lock is not killable, in every kernel faultline models (mm/madvise.c's
// madvise_lock() takes mmap_read_lock for MADV_DONTNEED, and so does the per-VMA path's
// fallback): a killed task queued behind a writer stays queued until the writer is through.

import { ENOMEM } from '../errors.js';
import { mm_globals } from '../mm/globals.js';
import { zap_pte_range } from '../mm/pgtable.js';
import { atomic_fetch_add, atomic_read } from '../sched/atomics.js';
import { CNT } from '../sched/counters.js';
import { count } from '../sched/task.js';
import { scheme } from '../schemes/active.js';
import { mmap_read_lock, mmap_read_unlock } from '../schemes/mmap.js';
import { MM, VMA } from '../shm/layout/index.js';
import { check_range } from './range.js';
import { fully_mapped, vmas_in_range } from './vma_ops.js';

function zap(mm: number, start: number, end: number): void {
  const n = zap_pte_range(atomic_read(mm + MM.pgd), start, end);
  atomic_fetch_add(mm + MM.nr_ptes, -n);
}

export function do_madvise_dontneed(mm: number, start: number, pages: number): number {
  const bad = check_range(start, pages);
  if (bad !== 0) return bad;
  const end = start + pages;
  const S = scheme();
  count(CNT.MADVISE_OPS);
  if (S.perVmaMadvise || (S.perVmaReadLock && mm_globals().backportMadvise)) {
    const vma = S.lock_vma_under_rcu(mm, start);
    if (vma !== 0) {
      const inside = end <= atomic_read(vma + VMA.vm_end);
      if (inside) zap(mm, start, end);
      S.vma_end_read(vma);
      if (inside) return 0;
    }
  }
  mmap_read_lock(mm);
  const vmas = vmas_in_range(mm, start, end);
  for (const v of vmas) {
    const s = Math.max(start, atomic_read(v + VMA.vm_start));
    const e = Math.min(end, atomic_read(v + VMA.vm_end));
    zap(mm, s, e);
  }
  // The kernel reports -ENOMEM for a range with unmapped holes (after zapping what is mapped).
  const ok = fully_mapped(vmas, start, end);
  mmap_read_unlock(mm);
  return ok ? 0 : ENOMEM;
}
