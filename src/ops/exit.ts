// exit_mmap (mm/mmap.c): tear an address space down. Every VMA is write-locked and detached
// before it is freed (vm_area_free asserts it), the page tables are zapped and freed, and the
// caller's reference on the mm is dropped.

import { mmdrop } from '../mm/mm.js';
import { TASK_SIZE_PAGES } from '../mm/pgtable.js';
import { sched_point } from '../sched/atomics.js';
import { SP } from '../sched/points.js';
import { scheme } from '../schemes/active.js';
import { mmap_write_lock, mmap_write_unlock } from '../schemes/mmap.js';
import {
  index_remove_vmas,
  unmap_region,
  vmas_free,
  vmas_free_sleeps,
  vmas_in_range,
} from './vma_ops.js';

export function exit_mmap(mm: number): void {
  const S = scheme();
  mmap_write_lock(mm);
  const vmas = vmas_in_range(mm, 0, TASK_SIZE_PAGES);
  for (const vma of vmas) {
    S.vma_start_write(vma);
    sched_point(SP.WRITE_BEFORE_DETACH);
    S.vma_mark_detached(vma);
  }
  index_remove_vmas(mm, vmas);
  unmap_region(mm, 0, TASK_SIZE_PAGES);
  // exit_mmap frees each VMA (remove_vma) before mmap_write_unlock.
  if (vmas_free_sleeps()) {
    mmap_write_unlock(mm);
    vmas_free(vmas);
  } else {
    vmas_free(vmas);
    mmap_write_unlock(mm);
  }
  mmdrop(mm);
  sched_point(SP.MM_EXITED);
}
