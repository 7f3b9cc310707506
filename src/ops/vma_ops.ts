// Helpers the writer operations share (mm/vma.c): splitting a VMA, collecting the VMAs of a
// range, removing one. All run under the mmap write lock, inside an open index transaction.

import { InvariantViolation } from '../errors.js';
import { mm_globals } from '../mm/globals.js';
import { free_pgtables, PTRS_PER_PTE, TASK_SIZE_PAGES, zap_pte_range } from '../mm/pgtable.js';
import { __vma_set, vm_area_alloc } from '../mm/vma.js';
import {
  vt_find,
  vt_for_each,
  vt_txn_begin,
  vt_txn_commit,
  vt_txn_insert,
  vt_txn_remove,
} from '../mm/vma_tree.js';
import { atomic_fetch_add, atomic_read, atomic_set } from '../sched/atomics.js';
import { EV } from '../sched/events.js';
import { trace } from '../sched/task.js';
import { scheme } from '../schemes/active.js';
import { mmap_assert_write_locked } from '../schemes/mmap.js';
import { shadow_writer_forget } from '../schemes/shadow.js';
import { MM, PGDIR_SHIFT, VMA } from '../shm/layout/index.js';
import { seqcount_assert_write_locked } from '../sync/seqcount.js';

/** The highest page + 1 a mapping may use, and the lowest page mmap(addr=0) hands out. */
export { MMAP_MIN_PAGE, TASK_SIZE_PAGES } from '../mm/pgtable.js';

/** True if [start, end) is covered by VMAs without a hole. */
export function fully_mapped(vmas: readonly number[], start: number, end: number): boolean {
  let at = start;
  for (const v of vmas) {
    if (atomic_read(v + VMA.vm_start) > at) return false;
    at = atomic_read(v + VMA.vm_end);
  }
  return at >= end;
}

/** The VMAs overlapping [start, end), in address order (read under the mmap lock). */
export function vmas_in_range(mm: number, start: number, end: number): number[] {
  const out: number[] = [];
  vt_for_each(mm + MM.mm_mt, start, end, (_s, _e, vma) => {
    out.push(vma);
  });
  return out;
}

/**
 * Every store to an attached VMA's range or flags goes through here. With assertions on (tests,
 * stress; off in benches) it asserts what the kernel's vm_flags_set()/vm_flags_reset() assert
 * with vma_assert_write_locked(): the caller holds the mmap write lock and has write-locked the
 * VMA. The shadow exclusion check starts only at vma_start_write(), so without this a change
 * made before the lock would go unseen.
 */
export function vma_modify(vma: number, start: number, end: number, flags: number): void {
  const S = scheme();
  // srcu_spf: one sequence bracket around this one change (vm_write_begin/end of the SPF series).
  S.vm_write_begin(vma);
  if (mm_globals().assertions) {
    mmap_assert_write_locked(atomic_read(vma + VMA.vm_mm));
    S.vma_assert_write_locked(vma);
    if (S.speculative) seqcount_assert_write_locked(vma + VMA.vm_seq);
  }
  __vma_set(vma, start, end, flags);
  S.vm_write_end(vma);
}

/**
 * The range and flags of a VMA not yet attached (vm_area_alloc'd, not in the index): nobody
 * else can reach it, so no lock is needed.
 */
export function vma_init_range(vma: number, start: number, end: number, flags: number): void {
  __vma_set(vma, start, end, flags);
}

/**
 * __split_vma(): split `vma` at page `at` (start < at < end) into two VMAs, in the open index
 * transaction. `vma` keeps the upper part if newBelow, else the lower part; the new VMA gets the
 * other. Both are write-locked. Returns the new VMA, or 0 if the VMA slab is full (nothing
 * changed). The new VMA is attached before the transaction publishes it, as the kernel does.
 */
export function split_vma(mm: number, vma: number, at: number, newBelow: boolean): number {
  const S = scheme();
  const start = atomic_read(vma + VMA.vm_start);
  const end = atomic_read(vma + VMA.vm_end);
  const flags = atomic_read(vma + VMA.vm_flags);
  if (at <= start || at >= end) {
    throw new InvariantViolation(`split_vma: ${at} is not inside [${start}, ${end})`);
  }
  const nv = vm_area_alloc(mm);
  if (nv === 0) return 0;
  S.vma_start_write(vma);
  S.vma_start_write(nv); // detached: only records the sequence
  if (mm_globals().assertions) S.vma_assert_write_locked(vma);
  vt_txn_remove(start, end);
  if (newBelow) {
    vma_init_range(nv, start, at, flags);
    vma_modify(vma, at, end, flags);
  } else {
    vma_modify(vma, start, at, flags);
    vma_init_range(nv, at, end, flags);
  }
  // anon_vma_clone(): both halves share the anon_vma (set before the new one is attached).
  atomic_set(nv + VMA.anon_vma, atomic_read(vma + VMA.anon_vma));
  vt_txn_insert(start, at, newBelow ? nv : vma);
  vt_txn_insert(at, end, newBelow ? vma : nv);
  S.vma_mark_attached(nv);
  atomic_fetch_add(mm + MM.map_count, 1);
  return nv;
}

/** How many splits split_edges(start, end) makes on `vmas` (vmas_in_range's list): 0 to 2. */
export function edge_splits(vmas: readonly number[], start: number, end: number): number {
  const first = vmas[0];
  const last = vmas[vmas.length - 1];
  let n = 0;
  if (first !== undefined && atomic_read(first + VMA.vm_start) < start) n++;
  if (last !== undefined && atomic_read(last + VMA.vm_end) > end) n++;
  return n;
}

/**
 * Split the VMAs at the edges of [start, end) so that the range starts and ends on VMA
 * boundaries. Returns false if the VMA slab ran out (the caller returns -ENOMEM; a split already
 * made stays, as in the kernel).
 */
export function split_edges(mm: number, start: number, end: number): boolean {
  const vmas = vmas_in_range(mm, start, end);
  const first = vmas[0];
  if (first !== undefined && atomic_read(first + VMA.vm_start) < start) {
    if (split_vma(mm, first, start, true) === 0) return false;
  }
  const last = vmas[vmas.length - 1];
  if (last !== undefined && atomic_read(last + VMA.vm_end) > end) {
    if (split_vma(mm, last, end, false) === 0) return false;
  }
  return true;
}

/**
 * Clear detached VMAs from the index in one transaction and take them off map_count (the
 * kernel's vma_iter_clear + vms_complete accounting). Mmap write lock held.
 */
export function index_remove_vmas(mm: number, vmas: readonly number[]): void {
  vt_txn_begin(mm + MM.mm_mt);
  for (const vma of vmas) {
    vt_txn_remove(atomic_read(vma + VMA.vm_start), atomic_read(vma + VMA.vm_end));
  }
  vt_txn_commit();
  atomic_fetch_add(mm + MM.map_count, -vmas.length);
}

/**
 * unmap_region(): zap the PTEs of [start, end), already out of the index, and free its empty
 * page-table pages, deferred where the scheme has lockless walkers; a page that also covers
 * part of a live neighbour VMA stays (free_pgtables' floor and ceiling). The mmap lock is held
 * (for read is enough: no writer changes the neighbours meanwhile).
 */
export function unmap_region(mm: number, start: number, end: number): void {
  const pgd = atomic_read(mm + MM.pgd);
  const root = mm + MM.mm_mt;
  atomic_fetch_add(mm + MM.nr_ptes, -zap_pte_range(pgd, start, end));
  // floor: the end of the VMA below. Only its place against the first pte page of the range
  // matters, so it is looked for inside that page (below the page, the page's start will do).
  const pageStart = (start >>> PGDIR_SHIFT) * PTRS_PER_PTE;
  let floor = pageStart;
  if (pageStart < start) {
    vt_for_each(root, pageStart, start, (_s, e) => {
      floor = e;
    });
  }
  // ceiling: the start of the VMA above (the first one ending above `end`: nothing is left
  // inside the range).
  const next = vt_find(root, end);
  const ceiling = next === 0 ? TASK_SIZE_PAGES : atomic_read(next + VMA.vm_start);
  free_pgtables(pgd, start, end, scheme().pgtable_free_deferred(), floor, ceiling);
}

/**
 * unmap_vmas(): zap the pages of each VMA in `vmas` (still attached and in the index); the
 * page-table pages stay. The mmap lock held for read is enough, as for the OOM reaper's and
 * MADV_DONTNEED's zaps: zap_pte_range clears each PTE under its pte page's ptl, so concurrent
 * zappers and faulters of the same page serialize there. Returns the pages freed.
 */
export function unmap_vmas(mm: number, vmas: readonly number[]): number {
  const pgd = atomic_read(mm + MM.pgd);
  let pages = 0;
  for (const v of vmas) {
    const n = zap_pte_range(pgd, atomic_read(v + VMA.vm_start), atomic_read(v + VMA.vm_end));
    atomic_fetch_add(mm + MM.nr_ptes, -n);
    pages += n;
  }
  return pages;
}

/** Free VMAs that are detached and out of the index, then run this thread's deferred frees. */
export function vmas_free(vmas: readonly number[]): void {
  const S = scheme();
  if (vmas.length > 0) trace(EV.VMA_FREE, vmas[0]!, vmas.length);
  if (mm_globals().assertions) for (const vma of vmas) shadow_writer_forget(vma);
  S.vmas_free(vmas);
  S.process_deferred();
}

/**
 * Whether munmap must free its VMAs only after dropping the mmap lock: only srcu_spf with the
 * synchronize_srcu switch, whose vm_area_free waits a whole SRCU grace period (a speculative
 * fault that falls back to mmap_read_lock inside its SRCU section would wait behind a queued
 * writer, which waits for us: never hold the lock across that). Every kernel frees them under
 * the (downgraded) lock.
 */
export function vmas_free_sleeps(): boolean {
  return scheme().name === 'srcu_spf' && mm_globals().syncSrcu;
}
