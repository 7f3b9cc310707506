// exit_mmap (mm/mmap.c): tear an address space down. Every VMA is write-locked and detached
// before it is freed (vm_area_free asserts it), the page tables are zapped and freed, and the
// caller's reference on the mm is dropped.

import { mmdrop } from '../mm/mm.js';
import { free_pgtables, TASK_SIZE_PAGES, zap_pte_range } from '../mm/pgtable.js';
import { vt_txn_begin, vt_txn_commit, vt_txn_remove } from '../mm/vma_tree.js';
import { atomic_fetch_add, atomic_read } from '../sched/atomics.js';
import { scheme } from '../schemes/active.js';
import { mmap_write_lock, mmap_write_unlock } from '../schemes/mmap.js';
import { MM, VMA } from '../shm/layout/index.js';
import { vmas_in_range } from './vma_ops.js';

export function exit_mmap(mm: number): void {
  const S = scheme();
  mmap_write_lock(mm);
  const vmas = vmas_in_range(mm, 0, TASK_SIZE_PAGES);
  for (const vma of vmas) {
    S.vma_start_write(vma);
    S.vma_mark_detached(vma);
  }
  vt_txn_begin(mm + MM.mm_mt);
  for (const vma of vmas) {
    vt_txn_remove(atomic_read(vma + VMA.vm_start), atomic_read(vma + VMA.vm_end));
  }
  vt_txn_commit();
  atomic_fetch_add(mm + MM.map_count, -vmas.length);
  const pgd = atomic_read(mm + MM.pgd);
  atomic_fetch_add(mm + MM.nr_ptes, -zap_pte_range(pgd, 0, TASK_SIZE_PAGES));
  free_pgtables(pgd, 0, TASK_SIZE_PAGES, S.pgtable_free_deferred());
  mmap_write_unlock(mm);
  for (const vma of vmas) S.vma_free(vma);
  S.process_deferred();
  mmdrop(mm);
}
