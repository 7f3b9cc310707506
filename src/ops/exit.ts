// exit_mmap (mm/mmap.c): tear an address space down, in the kernel's two phases, as linux-mm's
// current mm/mmap.c has them (read 2026-12: vma_mark_detached + remove_vma in the teardown
// loop, under the write lock):
//
// 1. Under mmap_read_lock: unmap_vmas() zaps every VMA's pages (the frames go back to the
//    pool). The page tables and the VMAs stay. A read lock is enough: zap_pte_range works under
//    each pte page's ptl, and nobody changes the VMAs meanwhile (see below). Read holders of
//    the mm (the OOM reaper's trylock, a remote reader) may run alongside.
// 2. Under mmap_write_lock: free_pgtables() write-locks each VMA (vma_start_write, waiting for
//    its readers) and frees the page-table pages; then each VMA is detached, the index cleared
//    and the VMAs freed (remove_vma) before mmap_write_unlock. Every VMA is write-locked and
//    detached before it is freed (vm_area_free asserts it). Then the caller's reference on the
//    mm is dropped.
//
// Who can touch an exiting mm here: exit_mmap is called by the mm's last user (the stress
// exiter, a test's writer) once it has stopped faulting and mapping it, so nobody else changes
// its VMAs between the phases. Others may still hold a VMA slot of it: a per-VMA reader of
// another mm whose stale lookup landed on a slot this mm reused takes a reference, sees the
// foreign vm_mm and puts it (vma_start_read); phase 2's vma_start_write waits for that put,
// as munmap's does. The kernel sets MMF_OOM_SKIP between the phases so that the OOM killer and
// reaper skip an mm whose memory is already gone; faultline does not model the flag: the OOM
// killer chooses among task->mm (src/ops/oom.ts), and no task's mm is ever exited (the oom
// preset's victim is the main mm; the exiters' mms are nobody's task->mm).

import { mmdrop } from '../mm/mm.js';
import { free_pgtables, TASK_SIZE_PAGES } from '../mm/pgtable.js';
import { atomic_read, sched_point } from '../sched/atomics.js';
import { SP } from '../sched/points.js';
import { scheme } from '../schemes/active.js';
import {
  mmap_read_lock,
  mmap_read_unlock,
  mmap_write_lock,
  mmap_write_unlock,
} from '../schemes/mmap.js';
import { MM } from '../shm/layout/index.js';
import {
  index_remove_vmas,
  unmap_vmas,
  vmas_free,
  vmas_free_sleeps,
  vmas_in_range,
} from './vma_ops.js';

export function exit_mmap(mm: number): void {
  const S = scheme();
  // Phase 1: zap every VMA's pages under the read lock.
  mmap_read_lock(mm);
  unmap_vmas(mm, vmas_in_range(mm, 0, TASK_SIZE_PAGES));
  mmap_read_unlock(mm);
  // (MMF_OOM_SKIP would be set here: not modelled, see the header.)
  // Phase 2: page tables and VMAs under the write lock. The VMAs are looked up again, as the
  // kernel walks the tree again: the lock was dropped between the phases.
  mmap_write_lock(mm);
  const vmas = vmas_in_range(mm, 0, TASK_SIZE_PAGES);
  // free_pgtables() write-locks each VMA before it frees the tables under it.
  for (const vma of vmas) S.vma_start_write(vma);
  // No PTE is left (phase 1 zapped every VMA, and nobody faulted since): free_pgtables throws
  // on one. The whole space, no neighbour to spare: every table goes.
  free_pgtables(
    atomic_read(mm + MM.pgd),
    0,
    TASK_SIZE_PAGES,
    S.pgtable_free_deferred(),
    0,
    TASK_SIZE_PAGES,
  );
  for (const vma of vmas) {
    sched_point(SP.WRITE_BEFORE_DETACH);
    S.vma_mark_detached(vma);
  }
  index_remove_vmas(mm, vmas);
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
