// mmap of anonymous memory (mm/mmap.c do_mmap → mm/vma.c mmap_region): find a range, merge
// with the compatible neighbours (vma_merge_new_range: the one below, the one above, or both —
// then the one below grows over the new range and the one above, which is removed), else a new
// VMA, write-locked and attached before the index transaction publishes it. Compatible means
// the same flags and no two different anon_vmas (the kernel also compares files and policies).

import { EEXIST, EINTR, EINVAL, ENOMEM } from '../errors.js';
import { mm_globals } from '../mm/globals.js';
import { VM_ACCESS_FLAGS, vm_area_alloc } from '../mm/vma.js';
import {
  vt_find,
  vt_find_gap_topdown,
  vt_lookup,
  vt_prealloc,
  vt_prealloc_put,
  vt_txn_abort,
  vt_txn_begin,
  vt_txn_build,
  vt_txn_commit,
  vt_txn_insert,
  vt_txn_remove,
} from '../mm/vma_tree.js';
import { atomic_fetch_add, atomic_read, atomic_set } from '../sched/atomics.js';
import { CNT } from '../sched/counters.js';
import { EV } from '../sched/events.js';
import { count, count_add, trace } from '../sched/task.js';
import { scheme } from '../schemes/active.js';
import { mmap_write_lock_killable, mmap_write_unlock } from '../schemes/mmap.js';
import { MM, VMA } from '../shm/layout/index.js';
import { check_range } from './range.js';
import {
  MMAP_MIN_PAGE,
  TASK_SIZE_PAGES,
  vma_init_range,
  vma_modify,
  vmas_free,
  vmas_free_sleeps,
} from './vma_ops.js';

/**
 * Map `pages` anonymous pages with `prot` (PROT_* bits). addr 0: the kernel chooses (top-down);
 * otherwise exactly there, failing with -EEXIST if anything is mapped in the range
 * (MAP_FIXED_NOREPLACE). Returns the start page or a negative errno.
 */
export function do_mmap(mm: number, addr: number, pages: number, prot: number): number {
  if (addr !== 0) {
    const bad = check_range(addr, pages);
    if (bad !== 0) return bad;
  } else {
    const bad = check_range(MMAP_MIN_PAGE, pages);
    if (bad !== 0) return bad;
  }
  const flags = prot & VM_ACCESS_FLAGS;
  const S = scheme();
  if (mmap_write_lock_killable(mm) !== 0) {
    count(CNT.WRITER_EINTR);
    return EINTR;
  }
  trace(EV.MMAP_BEGIN, addr, pages);
  const root = mm + MM.mm_mt;
  let start = addr;
  if (addr === 0) {
    start = vt_find_gap_topdown(root, pages, MMAP_MIN_PAGE, TASK_SIZE_PAGES);
    if (start < 0) {
      mmap_write_unlock(mm);
      return ENOMEM;
    }
  } else {
    const next = vt_find(root, addr);
    if (next !== 0 && atomic_read(next + VMA.vm_start) < addr + pages) {
      mmap_write_unlock(mm);
      return EEXIST;
    }
  }
  const end = start + pages;

  // vma_merge_new_range(): a neighbour that ends exactly here (below) or starts exactly at
  // `end` (above; [start, end) is free, so a VMA containing `end` starts there) with the same
  // flags is grown over the range (vma_expand).
  let prev = start > 0 ? vt_lookup(root, start - 1) : 0;
  if (prev !== 0 && atomic_read(prev + VMA.vm_flags) !== flags) prev = 0;
  let next = end < TASK_SIZE_PAGES ? vt_lookup(root, end) : 0;
  if (next !== 0 && atomic_read(next + VMA.vm_flags) !== flags) next = 0;
  // is_mergeable_anon_vma(): prev and next with different anon_vmas do not both merge.
  if (prev !== 0 && next !== 0) {
    const pa = atomic_read(prev + VMA.anon_vma);
    const na = atomic_read(next + VMA.anon_vma);
    if (pa !== 0 && na !== 0 && pa !== na) next = 0;
  }
  const removed: number[] = [];
  // vma_iter_prealloc(): an insert, and a remove per neighbour merged, reserved before
  // anything changes.
  const stores = 1 + (prev !== 0 ? 1 : 0) + (next !== 0 ? 1 : 0);
  if (!vt_prealloc(root, atomic_read(mm + MM.map_count), stores, 1)) {
    mmap_write_unlock(mm);
    return ENOMEM;
  }
  let stored: boolean;
  try {
    stored = __mmap_store(mm, start, end, flags, prev, next, removed);
  } finally {
    vt_prealloc_put();
  }
  if (!stored) {
    mmap_write_unlock(mm);
    return ENOMEM;
  }
  // vma_complete(): the VMA merged away is freed under the write lock (see vmas_free_sleeps).
  const late = removed.length > 0 && vmas_free_sleeps();
  if (removed.length > 0 && !late) vmas_free(removed);
  mmap_write_unlock(mm);
  if (late) vmas_free(removed);
  S.process_deferred();
  count(CNT.MMAP_OPS);
  trace(EV.MMAP_END, start, pages);
  return start;
}

/**
 * The index and VMA changes of do_mmap, nodes reserved, mmap write lock held. A VMA merged
 * away is pushed on `removed`. False if the VMA slab ran out (nothing changed).
 */
function __mmap_store(
  mm: number,
  start: number,
  end: number,
  flags: number,
  prev: number,
  next: number,
  removed: number[],
): boolean {
  const S = scheme();
  const root = mm + MM.mm_mt;
  const assertions = mm_globals().assertions;
  vt_txn_begin(root);
  if (prev !== 0) {
    // Below, or both: prev grows to the end of the range, or over next too.
    const ps = atomic_read(prev + VMA.vm_start);
    let newEnd = end;
    S.vma_start_write(prev);
    if (assertions) S.vma_assert_write_locked(prev);
    if (next !== 0) {
      newEnd = atomic_read(next + VMA.vm_end);
      S.vma_start_write(next);
      S.vma_mark_detached(next);
      vt_txn_remove(end, newEnd);
      removed.push(next);
      atomic_fetch_add(mm + MM.map_count, -1);
    }
    vt_txn_remove(ps, start);
    vma_modify(prev, ps, newEnd, flags);
    // dup_anon_vma(): prev, write-locked, takes next's anon_vma if it has none.
    if (next !== 0 && atomic_read(prev + VMA.anon_vma) === 0) {
      atomic_set(prev + VMA.anon_vma, atomic_read(next + VMA.anon_vma));
    }
    vt_txn_insert(ps, newEnd, prev);
  } else if (next !== 0) {
    // Above only: next grows down to the start of the range.
    const ne = atomic_read(next + VMA.vm_end);
    S.vma_start_write(next);
    if (assertions) S.vma_assert_write_locked(next);
    vt_txn_remove(end, ne);
    vma_modify(next, start, ne, flags);
    vt_txn_insert(start, ne, next);
  } else {
    const vma = vm_area_alloc(mm);
    if (vma === 0) {
      vt_txn_abort();
      return false;
    }
    vma_init_range(vma, start, end, flags);
    S.vma_start_write(vma); // detached: records the sequence, so attach may assert it
    S.vma_mark_attached(vma);
    vt_txn_insert(start, end, vma);
    atomic_fetch_add(mm + MM.map_count, 1);
  }
  vt_txn_commit();
  return true;
}

/**
 * Set-up only, not a system call: map `count` VMAs of `pages` pages at base + i * stride (a
 * hole after each: stride > pages, so none merges) in ONE mmap write-locked index transaction,
 * so that a run's large mm is built in a time linear in its VMAs (a do_mmap each would copy a
 * tree path and queue an RCU callback per VMA). Into an empty mm the index is built in bulk
 * (vt_txn_build, `appended`): the very tree that inserting the VMAs one by one in address
 * order makes, without a walk per VMA. Returns 0, or a negative errno with nothing mapped.
 */
export function mmap_region_many(
  mm: number,
  base: number,
  stride: number,
  count: number,
  pages: number,
  prot: number,
): number {
  if (!(stride > pages)) return EINVAL;
  const bad = check_range(base, (count - 1) * stride + pages);
  if (bad !== 0) return bad;
  const flags = prot & VM_ACCESS_FLAGS;
  const S = scheme();
  if (mmap_write_lock_killable(mm) !== 0) return EINTR;
  const root = mm + MM.mm_mt;
  const next = vt_find(root, base);
  const last = base + (count - 1) * stride + pages;
  // The range and the page below it (a neighbour there could merge) must be free.
  if ((next !== 0 && atomic_read(next + VMA.vm_start) < last) || vt_lookup(root, base - 1) !== 0) {
    mmap_write_unlock(mm);
    return EEXIST;
  }
  const bulk = atomic_read(root) === 0;
  const made = new Int32Array(count);
  const starts = bulk ? new Int32Array(count) : null;
  const ends = bulk ? new Int32Array(count) : null;
  vt_txn_begin(root);
  for (let i = 0; i < count; i++) {
    const vma = vm_area_alloc(mm);
    if (vma === 0) {
      vt_txn_abort();
      // Never published: detach and free them as munmap would.
      const list = Array.from(made.subarray(0, i));
      for (const v of list) S.vma_mark_detached(v);
      vmas_free(list);
      mmap_write_unlock(mm);
      return ENOMEM;
    }
    const start = base + i * stride;
    vma_init_range(vma, start, start + pages, flags);
    S.vma_start_write(vma);
    S.vma_mark_attached(vma);
    if (starts !== null && ends !== null) {
      starts[i] = start;
      ends[i] = start + pages;
    } else {
      vt_txn_insert(start, start + pages, vma);
    }
    made[i] = vma;
  }
  if (starts !== null && ends !== null) vt_txn_build(starts, ends, made, 'appended');
  atomic_fetch_add(mm + MM.map_count, count);
  vt_txn_commit();
  mmap_write_unlock(mm);
  S.process_deferred();
  count_add(CNT.MMAP_OPS, count);
  return 0;
}
