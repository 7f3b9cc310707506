// mprotect (mm/mprotect.c): the range must be fully mapped (-ENOMEM otherwise); split the edge
// VMAs, write-lock and change each VMA, write-protect its PTEs when write permission goes, then
// merge neighbours that ended up with the same flags (the merged-away VMA is detached and freed).

import { EINTR, ENOMEM } from '../errors.js';
import { mm_globals } from '../mm/globals.js';
import { change_pte_range } from '../mm/pgtable.js';
import { VM_ACCESS_FLAGS, VM_WRITE } from '../mm/vma.js';
import { vt_txn_begin, vt_txn_commit, vt_txn_insert, vt_txn_remove } from '../mm/vma_tree.js';
import { atomic_fetch_add, atomic_read } from '../sched/atomics.js';
import { CNT } from '../sched/counters.js';
import { EV } from '../sched/events.js';
import { count, trace } from '../sched/task.js';
import { scheme } from '../schemes/active.js';
import { mmap_write_lock_killable, mmap_write_unlock } from '../schemes/mmap.js';
import { MM, VMA } from '../shm/layout/index.js';
import { check_range } from './range.js';
import {
  fully_mapped,
  split_edges,
  TASK_SIZE_PAGES,
  vma_modify,
  vmas_free,
  vmas_free_sleeps,
  vmas_in_range,
} from './vma_ops.js';

export function do_mprotect(mm: number, start: number, pages: number, prot: number): number {
  const bad = check_range(start, pages);
  if (bad !== 0) return bad;
  const end = start + pages;
  const flags = prot & VM_ACCESS_FLAGS;
  const S = scheme();
  const assertions = mm_globals().assertions;
  if (mmap_write_lock_killable(mm) !== 0) {
    count(CNT.WRITER_EINTR);
    return EINTR;
  }
  trace(EV.MPROTECT_BEGIN, start, flags);
  const root = mm + MM.mm_mt;
  if (!fully_mapped(vmas_in_range(mm, start, end), start, end)) {
    mmap_write_unlock(mm);
    return ENOMEM;
  }
  vt_txn_begin(root);
  const split = split_edges(mm, start, end);
  vt_txn_commit();
  if (!split) {
    mmap_write_unlock(mm);
    return ENOMEM;
  }

  const pgd = atomic_read(mm + MM.pgd);
  for (const vma of vmas_in_range(mm, start, end)) {
    const old = atomic_read(vma + VMA.vm_flags);
    if (old === flags) continue;
    S.vma_start_write(vma);
    if (assertions) S.vma_assert_write_locked(vma);
    const s = atomic_read(vma + VMA.vm_start);
    const e = atomic_read(vma + VMA.vm_end);
    vma_modify(vma, s, e, flags);
    if ((old & VM_WRITE) !== 0 && (flags & VM_WRITE) === 0) change_pte_range(pgd, s, e, false);
  }

  // vma_merge(): each run of adjacent VMAs with equal flags, from the neighbour below the range
  // to the neighbour above it, becomes its first VMA; the others are detached and freed.
  const list = vmas_in_range(mm, Math.max(0, start - 1), Math.min(TASK_SIZE_PAGES, end + 1));
  const freed: number[] = [];
  vt_txn_begin(root);
  for (let i = 0; i < list.length; ) {
    const a = list[i]!;
    const af = atomic_read(a + VMA.vm_flags);
    let runEnd = atomic_read(a + VMA.vm_end);
    let j = i + 1;
    for (; j < list.length; j++) {
      const b = list[j]!;
      if (atomic_read(b + VMA.vm_start) !== runEnd || atomic_read(b + VMA.vm_flags) !== af) break;
      runEnd = atomic_read(b + VMA.vm_end);
    }
    if (j > i + 1) {
      const as = atomic_read(a + VMA.vm_start);
      S.vma_start_write(a);
      vt_txn_remove(as, atomic_read(a + VMA.vm_end));
      for (let k = i + 1; k < j; k++) {
        const b = list[k]!;
        S.vma_start_write(b);
        S.vma_mark_detached(b);
        vt_txn_remove(atomic_read(b + VMA.vm_start), atomic_read(b + VMA.vm_end));
        freed.push(b);
      }
      vma_modify(a, as, runEnd, af);
      vt_txn_insert(as, runEnd, a);
      atomic_fetch_add(mm + MM.map_count, -(j - i - 1));
    }
    i = j;
  }
  vt_txn_commit();
  // vma_complete(): the merged-away VMAs are freed under the mmap write lock (not with
  // srcu_spf's synchronize_srcu switch: see vmas_free_sleeps).
  if (vmas_free_sleeps()) {
    mmap_write_unlock(mm);
    vmas_free(freed);
  } else {
    vmas_free(freed);
    mmap_write_unlock(mm);
  }
  count(CNT.MPROTECT_OPS);
  trace(EV.MPROTECT_END, start, freed.length);
  return 0;
}
