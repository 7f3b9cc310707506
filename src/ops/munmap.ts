// munmap (mm/vma.c do_vmi_align_munmap, v6.15):
//   1. split the VMAs at the edges of the range (published at once, as the kernel's splits are);
//   2. gather: write-lock each VMA, record it on the side, detach it; a failure re-attaches them
//      all (legal: they are still write-locked) and returns -ENOMEM;
//   3. clear the range from the index in one transaction; adjust map_count;
//   4. downgrade the mmap lock, zap the page tables, free the empty page-table pages that no
//      live neighbour shares (floor and ceiling);
//   5. free each VMA (vm_area_free asserts it is detached) under the downgraded read lock, then
//      mmap_read_unlock (vms_complete_munmap_vmas; the same order in 6.4's do_vmi_align_munmap
//      and the older __do_munmap + remove_vma_list). Only srcu_spf's synchronize_srcu switch
//      frees after the unlock (see vmas_free_sleeps).

import { EINTR, ENOMEM } from '../errors.js';
import { vt_prealloc, vt_prealloc_put, vt_txn_begin, vt_txn_commit } from '../mm/vma_tree.js';
import { atomic_read, sched_point } from '../sched/atomics.js';
import { BUG, bug_on } from '../sched/bugs.js';
import { CNT } from '../sched/counters.js';
import { EV } from '../sched/events.js';
import { SP } from '../sched/points.js';
import { count, trace } from '../sched/task.js';
import { scheme } from '../schemes/active.js';
import {
  mmap_read_unlock,
  mmap_write_downgrade,
  mmap_write_lock_killable,
  mmap_write_unlock,
} from '../schemes/mmap.js';
import { MM } from '../shm/layout/index.js';
import { check_range } from './range.js';
import {
  edge_splits,
  index_remove_vmas,
  split_edges,
  unmap_region,
  vmas_free,
  vmas_free_sleeps,
  vmas_in_range,
} from './vma_ops.js';

let failGatherAfter = -1;

/**
 * Fault injection (like the kernel's failslab): make the next munmap's gather step fail after
 * `n` VMAs were detached, so the re-attach path runs. -1 turns it off.
 */
export function inject_munmap_gather_failure(n: number): void {
  failGatherAfter = n;
}

export function do_munmap(mm: number, start: number, pages: number): number {
  const bad = check_range(start, pages);
  if (bad !== 0) return bad;
  const end = start + pages;
  if (mmap_write_lock_killable(mm) !== 0) {
    count(CNT.WRITER_EINTR);
    return EINTR;
  }
  trace(EV.MUNMAP_BEGIN, start, end);

  // vma_iter_prealloc(): the index nodes of the whole operation (two splits of one remove and
  // two inserts each, then one remove per VMA) before any VMA is touched, so running out is
  // -ENOMEM with nothing changed.
  const root = mm + MM.mm_mt;
  const inRange = vmas_in_range(mm, start, end);
  const nr = inRange.length;
  if (nr === 0) {
    mmap_write_unlock(mm);
    return 0;
  }
  const splits = edge_splits(inRange, start, end);
  if (!vt_prealloc(root, atomic_read(mm + MM.map_count), nr + 3 * splits, 2 * splits)) {
    mmap_write_unlock(mm);
    return ENOMEM;
  }
  let ret: number;
  try {
    ret = __do_munmap(mm, start, end);
  } finally {
    vt_prealloc_put();
  }
  if (ret !== 0) return ret;
  count(CNT.MUNMAP_OPS);
  return 0;
}

/** do_munmap's body, with the mmap write lock held and the index nodes reserved; unlocks. */
function __do_munmap(mm: number, start: number, end: number): number {
  const S = scheme();
  vt_txn_begin(mm + MM.mm_mt);
  if (!split_edges(mm, start, end)) {
    vt_txn_commit();
    mmap_write_unlock(mm);
    return ENOMEM;
  }
  vt_txn_commit();

  const vmas = vmas_in_range(mm, start, end);

  const detached: number[] = [];
  for (const vma of vmas) {
    // Write-lock, then detach: a reader that got in before the lock is waited for, and no
    // reader can lock a VMA that is already out of the tree. The broken variant detaches first.
    if (bug_on(BUG.DETACH_BEFORE_WRITE_LOCK)) S.vma_mark_detached(vma);
    S.vma_start_write(vma);
    if (failGatherAfter >= 0 && detached.length === failGatherAfter) {
      failGatherAfter = -1;
      for (const d of detached) S.vma_mark_attached(d); // still write-locked: legal
      mmap_write_unlock(mm);
      return ENOMEM;
    }
    sched_point(SP.WRITE_BEFORE_DETACH);
    if (!bug_on(BUG.DETACH_BEFORE_WRITE_LOCK)) S.vma_mark_detached(vma);
    detached.push(vma);
  }

  index_remove_vmas(mm, detached);
  mmap_write_downgrade(mm);
  // srcu_spf: the zap of each VMA's pages and page tables is a modification of it (the series
  // bracketed unmap_page_range and free_pgtables). Nobody else writes these VMAs: they are out
  // of the index, and the downgraded lock still excludes every other writer.
  for (const vma of detached) S.vm_write_begin(vma);
  unmap_region(mm, start, end);
  for (const vma of detached) S.vm_write_end(vma);
  if (vmas_free_sleeps()) {
    mmap_read_unlock(mm);
    vmas_free(detached);
  } else {
    vmas_free(detached);
    mmap_read_unlock(mm);
  }
  trace(EV.MUNMAP_END, start, detached.length);
  return 0;
}
