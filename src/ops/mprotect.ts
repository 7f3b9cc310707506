// mprotect (mm/mprotect.c): the range must be fully mapped (-ENOMEM otherwise); split the edge
// VMAs, write-lock and change each VMA, write-protect its PTEs when write permission goes, then
// merge neighbours that ended up with the same flags (the merged-away VMA is detached and freed).

import { EINTR, ENOMEM } from '../errors.js';
import { mm_globals } from '../mm/globals.js';
import { change_pte_range } from '../mm/pgtable.js';
import { VM_ACCESS_FLAGS, VM_WRITE } from '../mm/vma.js';
import {
  vt_prealloc,
  vt_prealloc_put,
  vt_txn_begin,
  vt_txn_commit,
  vt_txn_insert,
  vt_txn_remove,
} from '../mm/vma_tree.js';
import { atomic_fetch_add, atomic_read, atomic_set, sched_point } from '../sched/atomics.js';
import { CNT } from '../sched/counters.js';
import { EV } from '../sched/events.js';
import { sched_label } from '../sched/labels.js';
import { count, trace } from '../sched/task.js';
import { scheme } from '../schemes/active.js';
import { mmap_write_lock_killable, mmap_write_unlock } from '../schemes/mmap.js';
import { MM, VMA } from '../shm/layout/index.js';
import { check_range } from './range.js';
import {
  edge_splits,
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
  if (mmap_write_lock_killable(mm) !== 0) {
    count(CNT.WRITER_EINTR);
    return EINTR;
  }
  trace(EV.MPROTECT_BEGIN, start, flags);
  const root = mm + MM.mm_mt;
  const inRange = vmas_in_range(mm, start, end);
  if (!fully_mapped(inRange, start, end)) {
    mmap_write_unlock(mm);
    return ENOMEM;
  }
  // vma_iter_prealloc(): two splits (a remove and two inserts each), then merges over at most
  // the VMAs of the range, the two new ones and the two neighbours (a remove each, an insert
  // per run), reserved before anything changes.
  const splits = edge_splits(inRange, start, end);
  const nr = inRange.length + splits + 2;
  if (!vt_prealloc(root, atomic_read(mm + MM.map_count), 3 * splits + 2 * nr, 2 * splits + nr)) {
    mmap_write_unlock(mm);
    return ENOMEM;
  }
  try {
    return __do_mprotect(mm, start, end, flags);
  } finally {
    vt_prealloc_put();
  }
}

/** A test may stop mprotect here: the flags changed, the mmap write lock still held. */
const SP_CHANGED = sched_label('mprotect:changed');

/** do_mprotect's body: mmap write lock held, index nodes reserved; unlocks. */
function __do_mprotect(mm: number, start: number, end: number, flags: number): number {
  const S = scheme();
  const assertions = mm_globals().assertions;
  const root = mm + MM.mm_mt;
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
  sched_point(SP_CHANGED);

  // vma_merge(): each run of adjacent VMAs with equal flags, from the neighbour below the range
  // to the neighbour above it, becomes its first VMA; the others are detached and freed.
  const list = vmas_in_range(mm, Math.max(0, start - 1), Math.min(TASK_SIZE_PAGES, end + 1));
  const freed: number[] = [];
  vt_txn_begin(root);
  for (let i = 0; i < list.length; ) {
    const a = list[i]!;
    const af = atomic_read(a + VMA.vm_flags);
    let runEnd = atomic_read(a + VMA.vm_end);
    // is_mergeable_anon_vma(): two VMAs with different anon_vmas never merge.
    let av = atomic_read(a + VMA.anon_vma);
    let j = i + 1;
    for (; j < list.length; j++) {
      const b = list[j]!;
      if (atomic_read(b + VMA.vm_start) !== runEnd || atomic_read(b + VMA.vm_flags) !== af) break;
      const bv = atomic_read(b + VMA.anon_vma);
      if (av !== 0 && bv !== 0 && bv !== av) break;
      if (av === 0) av = bv;
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
      // dup_anon_vma(): the survivor takes the anon_vma of the run (a is write-locked).
      atomic_set(a + VMA.anon_vma, av);
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
