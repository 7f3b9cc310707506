// Page tables: per mm, a pgd of pointers to pte pages, each pte page with its own spinlock
// (the kernel's split ptlock). Mirrors v6.15 mm/memory.c (__pte_alloc, zap_pte_range,
// free_pgtables) and mm/pgtable-generic.c (__pte_offset_map_lock, pte_free_defer), with the
// middle levels (p4d, pud, pmd) folded away. The encodings are in src/shm/layout/pgtable.ts.
//
// Memory ordering:
// - Populate (__pte_alloc): under page_table_lock the new pte page's entries are zeroed, then
//   the pgd entry is set with a RELEASE store (the kernel's smp_wmb before pmd_populate). Every
//   walker reads the pgd entry with an ACQUIRE load (pmdp_get_lockless), so it never sees a
//   pte page before its zeroed entries.
// - PTEs are written under the page's ptl (spin_lock ACQUIRE, spin_unlock RELEASE) with atomic
//   stores, and read with atomic loads, so lockless walkers (pte_lookup_lockless) see whole
//   words: either the old PTE or the new one.
// - Unlink (free_pgtables): page_table_lock, then ptl; the pgd entry is cleared while both are
//   held. pte_offset_map_lock re-reads the pgd entry after taking the ptl (ACQUIRE; the pmd_same
//   check the kernel added in 6.5) and retries if the page was unlinked meanwhile, so no PTE is
//   ever installed into an unlinked page. Its memory is freed at once — safe for lock-takers,
//   because a pte page's ptl word is never re-initialised, so a late locker still locks a real
//   lock and then sees the pgd moved on — or, with deferFree, only after the caller's grace
//   period, which lockless walkers need (they take no lock to re-check anything).
//
// Lock order: (mmap_lock → VMA lock →) page_table_lock → ptl → the slab's list lock (a leaf).
// Frames are freed after the ptl is dropped, like the kernel's mmu_gather.

import { InvariantViolation, LayoutError, LockStateError } from '../errors.js';
import {
  atomic_read,
  atomic_set,
  plain_fill,
  without_schedule_points,
  words,
} from '../sched/atomics.js';
import { CNT } from '../sched/counters.js';
import { EV } from '../sched/events.js';
import { count, trace } from '../sched/task.js';
import {
  FRAME_POOL,
  LINE_WORDS,
  PGD,
  PGDIR_SHIFT,
  PTE_INDEX_MASK,
  PTE_PAGE,
  PTRS_PER_PGD,
  PTRS_PER_PTE,
  TASK_SIZE_PAGES,
} from '../shm/layout/index.js';
import {
  kmem_cache_alloc,
  kmem_cache_create,
  kmem_cache_free,
  kmem_cache_stats,
  slab_exhausted,
} from '../shm/slab.js';
import { spin_lock, spin_lock_init, spin_unlock } from '../sync/spinlock.js';
import { FRAMES_KNOB, frame_pool, free_frame } from './frames.js';
import {
  pte_mkwrite,
  pte_pfn,
  pte_present,
  pte_wrprotect,
  ptep_get_and_clear,
  set_pte_at,
} from './pte.js';

export { MMAP_MIN_PAGE, PTRS_PER_PGD, PTRS_PER_PTE, TASK_SIZE_PAGES } from '../shm/layout/index.js';
export * from './pte.js';

/**
 * deferFree for free_pgtables: run `freeFn` (which frees page-table page `pt`) after a grace
 * period (e.g. call_srcu; srcu_spf queues `pt` itself for its kworker).
 */
export type PgtableFreeDeferred = (freeFn: () => void, pt: number) => void;

/** The user setting that sizes the pgd slab: one pgd per mm. */
export const PGDS_KNOB = '--max-mms';
/** pgds when pgtable_init is not told (each is PGD.SIZE words, about 32 KiB). */
export const DEFAULT_PGDS = 16;
/**
 * Words of one pte page under either padding setting, at most: for sizing the arena before the
 * layout is configured (pgtable_init checks it against PTE_PAGE.SIZE).
 */
export const PTE_PAGE_WORDS = PTRS_PER_PTE + 2 * LINE_WORDS;
/** Words of one pgd under either padding setting, at most (see PTE_PAGE_WORDS). */
export const PGD_WORDS = PTRS_PER_PGD + 2 * LINE_WORDS;

/**
 * Create the slabs of pte pages and pgds, after frames_init (main thread, at set-up). Pte pages
 * run out with "pte page slab full: N objects; raise --frames", pgds with "... raise --max-mms".
 */
export function pgtable_init(nrPtePages: number, nrPgds: number = DEFAULT_PGDS): void {
  if (PTE_PAGE.SIZE > PTE_PAGE_WORDS || PGD.SIZE > PGD_WORDS) {
    throw new LayoutError('pgtable layout outgrew PTE_PAGE_WORDS or PGD_WORDS');
  }
  const pool = frame_pool();
  if (atomic_read(pool + FRAME_POOL.pte_pages) !== 0) {
    throw new LayoutError('pgtable_init: the page-table slabs exist');
  }
  // Never poisoned, and the link has a word of its own: a pte page's ptl must stay a lock.
  const pte = kmem_cache_create('pte page', PTE_PAGE.SIZE, nrPtePages, {
    align: LINE_WORDS,
    freeptrOffset: PTE_PAGE.free_link,
    knob: FRAMES_KNOB,
  });
  const pgd = kmem_cache_create('pgd', PGD.SIZE, nrPgds, {
    align: LINE_WORDS,
    freeptrOffset: PGD.nr_pte_pages,
    knob: PGDS_KNOB,
  });
  atomic_set(pool + FRAME_POOL.pte_pages, pte);
  atomic_set(pool + FRAME_POOL.pgds, pgd);
  cachedWords = null;
}

// This thread's view of the two slabs (re-read when the thread attaches to another buffer).
let cachedWords: Int32Array | null = null;
let pteCache = 0;
let pgdCache = 0;

function load_caches(): void {
  without_schedule_points(load_caches_now);
}

function load_caches_now(): void {
  const pool = frame_pool();
  pteCache = atomic_read(pool + FRAME_POOL.pte_pages);
  pgdCache = atomic_read(pool + FRAME_POOL.pgds);
  if (pteCache === 0)
    throw new LayoutError('the buffer has no page tables (pgtable_init was not run)');
  cachedWords = words();
}

export function pte_page_cache(): number {
  if (cachedWords !== words()) load_caches();
  return pteCache;
}

function pgd_cache(): number {
  if (cachedWords !== words()) load_caches();
  return pgdCache;
}

// ---- the pgd -------------------------------------------------------------------------------

function check_addr(addr: number, fn: string): void {
  if (!Number.isInteger(addr) || addr < 0 || addr >= TASK_SIZE_PAGES) {
    throw new InvariantViolation(`${fn}: page ${addr} outside 0..${TASK_SIZE_PAGES - 1}`);
  }
}

function check_range(start: number, end: number, fn: string): void {
  if (
    !Number.isInteger(start) ||
    !Number.isInteger(end) ||
    start < 0 ||
    start > end ||
    end > TASK_SIZE_PAGES
  ) {
    throw new InvariantViolation(`${fn}: range [${start}, ${end}) outside 0..${TASK_SIZE_PAGES}`);
  }
}

function pgd_slot(pgd: number, addr: number): number {
  return pgd + PGD.entries + (addr >>> PGDIR_SHIFT);
}

/** A new, empty pgd for one mm. Throws SlabExhausted naming --max-mms when none is left. */
export function pgd_alloc(): number {
  const c = pgd_cache();
  const pgd = kmem_cache_alloc(c);
  if (pgd === 0) throw slab_exhausted(c);
  // Plain: nobody else knows this pgd yet; the caller publishes it in its mm.
  plain_fill(pgd, PGD.SIZE, 0);
  spin_lock_init(pgd + PGD.page_table_lock);
  return pgd;
}

/** Free a pgd. Every pte page must already be gone (free_pgtables over the whole space). */
export function pgd_free(pgd: number): void {
  const n = atomic_read(pgd + PGD.nr_pte_pages);
  if (n !== 0) throw new InvariantViolation(`pgd_free: pgd ${pgd} still has ${n} pte pages`);
  kmem_cache_free(pgd_cache(), pgd);
}

/** Pte pages currently linked from `pgd`. */
export function pgd_nr_pte_pages(pgd: number): number {
  return atomic_read(pgd + PGD.nr_pte_pages);
}

/** __pte_alloc: install a zeroed pte page at `slot` unless one is there. 0 when out of pages. */
function __pte_alloc(pgd: number, slot: number): number {
  const ptl = pgd + PGD.page_table_lock;
  spin_lock(ptl);
  let pt = atomic_read(slot);
  if (pt === 0) {
    pt = kmem_cache_alloc(pte_page_cache());
    if (pt !== 0) {
      // Plain: the page is not linked yet. A stale walker of its previous life only locks its
      // ptl (never re-initialised) and then sees its pgd entry changed.
      plain_fill(pt + PTE_PAGE.entries, PTRS_PER_PTE, 0);
      atomic_set(slot, pt); // RELEASE: pairs with the ACQUIRE load of every walker
      atomic_set(pgd + PGD.nr_pte_pages, atomic_read(pgd + PGD.nr_pte_pages) + 1);
      count(CNT.PTE_PAGE_ALLOC);
      trace(EV.PTE_PAGE_ALLOC, pgd, pt);
    }
  }
  spin_unlock(ptl);
  return pt;
}

/**
 * Find the PTE of page `addr` and lock its pte page: returns the PTE's word index with the ptl
 * held, or 0 (holding nothing) when there is no pte page and !alloc, or no pte page is left.
 * Unlock with pte_unmap_unlock(pgd, addr).
 */
export function pte_offset_map_lock(pgd: number, addr: number, alloc: boolean): number {
  check_addr(addr, 'pte_offset_map_lock');
  const slot = pgd_slot(pgd, addr);
  for (;;) {
    let pt = atomic_read(slot); // ACQUIRE: pairs with the RELEASE in __pte_alloc
    if (pt === 0) {
      if (!alloc) return 0;
      pt = __pte_alloc(pgd, slot);
      if (pt === 0) return 0;
    }
    spin_lock(pt + PTE_PAGE.ptl);
    // The pmd_same check: still linked? (unlinking holds this ptl, so the answer now stays.)
    if (atomic_read(slot) === pt) return pt + PTE_PAGE.entries + (addr & PTE_INDEX_MASK);
    spin_unlock(pt + PTE_PAGE.ptl);
    count(CNT.PTL_RETRY);
    trace(EV.PTL_RETRY, pgd, addr);
  }
}

/** Drop the ptl that pte_offset_map_lock(pgd, addr, …) took. */
export function pte_unmap_unlock(pgd: number, addr: number): void {
  // Stable: the page cannot be unlinked while we hold its ptl.
  const pt = atomic_read(pgd_slot(pgd, addr));
  if (pt === 0) {
    throw new LockStateError(`pte_unmap_unlock: no pte page for page ${addr} in pgd ${pgd}`);
  }
  spin_unlock(pt + PTE_PAGE.ptl);
}

/**
 * The PTE of page `addr`, read with no lock (0 if no table). Safe against a concurrent unlink
 * only if pte pages are freed through a deferFree whose grace period covers the caller's read
 * section; otherwise the value may come from a reused page and must be re-checked under the ptl.
 */
export function pte_lookup_lockless(pgd: number, addr: number): number {
  check_addr(addr, 'pte_lookup_lockless');
  const pt = atomic_read(pgd_slot(pgd, addr)); // ACQUIRE
  return pt === 0 ? 0 : atomic_read(pt + PTE_PAGE.entries + (addr & PTE_INDEX_MASK));
}

// ---- range operations ----------------------------------------------------------------------

/** Frames to free once the ptl is dropped (the kernel's mmu_gather batch). One per thread. */
const gather = new Int32Array(PTRS_PER_PTE);

/**
 * Lock the pte page covering pgd index `i` for a range operation: its pointer with the ptl
 * held, or 0 if there is none.
 */
function lock_pte_page(pgd: number, i: number): number {
  const slot = pgd + PGD.entries + i;
  for (;;) {
    const pt = atomic_read(slot);
    if (pt === 0) return 0;
    spin_lock(pt + PTE_PAGE.ptl);
    if (atomic_read(slot) === pt) return pt;
    spin_unlock(pt + PTE_PAGE.ptl);
    count(CNT.PTL_RETRY);
  }
}

/**
 * Clear every PTE in [start, end) under each page's ptl and free the frames they mapped.
 * Returns the number of pages zapped.
 */
export function zap_pte_range(pgd: number, start: number, end: number): number {
  check_range(start, end, 'zap_pte_range');
  let zapped = 0;
  for (let a = start; a < end; ) {
    const i = a >>> PGDIR_SHIFT;
    const next = Math.min(end, (i + 1) * PTRS_PER_PTE);
    const pt = lock_pte_page(pgd, i);
    if (pt !== 0) {
      let n = 0;
      for (let b = a; b < next; b++) {
        const ptep = pt + PTE_PAGE.entries + (b & PTE_INDEX_MASK);
        if (atomic_read(ptep) === 0) continue;
        const old = ptep_get_and_clear(ptep);
        if (pte_present(old)) gather[n++] = pte_pfn(old);
      }
      spin_unlock(pt + PTE_PAGE.ptl);
      for (let k = 0; k < n; k++) free_frame(gather[k]!);
      zapped += n;
    }
    a = next;
  }
  return zapped;
}

/**
 * mprotect's PTE pass: make every present PTE in [start, end) writable or read-only, under each
 * page's ptl. Returns the number of PTEs changed.
 */
export function change_pte_range(
  pgd: number,
  start: number,
  end: number,
  writable: boolean,
): number {
  check_range(start, end, 'change_pte_range');
  let changed = 0;
  for (let a = start; a < end; ) {
    const i = a >>> PGDIR_SHIFT;
    const next = Math.min(end, (i + 1) * PTRS_PER_PTE);
    const pt = lock_pte_page(pgd, i);
    if (pt !== 0) {
      for (let b = a; b < next; b++) {
        const ptep = pt + PTE_PAGE.entries + (b & PTE_INDEX_MASK);
        const old = atomic_read(ptep);
        if (!pte_present(old)) continue;
        const pte = writable ? pte_mkwrite(old) : pte_wrprotect(old);
        if (pte !== old) {
          set_pte_at(ptep, pte);
          changed++;
        }
      }
      spin_unlock(pt + PTE_PAGE.ptl);
    }
    a = next;
  }
  return changed;
}

/**
 * Free the pte pages that overlap [start, end), lie wholly inside [floor, ceiling) and map
 * nothing. floor is the end of the live VMA below the range (0 if none) and ceiling the start
 * of the live VMA above it (TASK_SIZE_PAGES if none): as the kernel's free_pgd_range() trims
 * its range to whole tables inside [floor, ceiling), a pte page that also covers part of a live
 * neighbour is never freed, even when that neighbour maps nothing through it yet, so a fault in
 * the neighbour never finds its table gone under it. Each page freed is unlinked from the pgd
 * at once; its memory is freed now, or by deferFree's callback after a grace period. A PTE left
 * inside [start, end) is a bug (zap first): InvariantViolation. Pages that still map something
 * outside the range stay. Returns the number of pages unlinked.
 */
export function free_pgtables(
  pgd: number,
  start: number,
  end: number,
  deferFree?: PgtableFreeDeferred | null,
  floor = 0,
  ceiling: number = TASK_SIZE_PAGES,
): number {
  check_range(start, end, 'free_pgtables');
  if (floor > start || ceiling < end) {
    throw new InvariantViolation(
      `free_pgtables: [${start}, ${end}) is not inside floor ${floor} and ceiling ${ceiling}`,
    );
  }
  if (start === end) return 0;
  const cache = pte_page_cache();
  const ptlock = pgd + PGD.page_table_lock;
  let freed = 0;
  // The first page only if it starts at or above floor, the last only if it ends at or below
  // ceiling (free_pgd_range's trimming, at pte-page granularity).
  let first = start >>> PGDIR_SHIFT;
  let last = (end - 1) >>> PGDIR_SHIFT;
  if (first * PTRS_PER_PTE < floor) first++;
  if ((last + 1) * PTRS_PER_PTE > ceiling) last--;
  for (let i = first; i <= last; i++) {
    const slot = pgd + PGD.entries + i;
    if (atomic_read(slot) === 0) continue;
    spin_lock(ptlock);
    const pt = atomic_read(slot); // stable: only page_table_lock holders change it
    if (pt === 0) {
      spin_unlock(ptlock);
      continue;
    }
    spin_lock(pt + PTE_PAGE.ptl);
    const lo = Math.max(start, i * PTRS_PER_PTE) & PTE_INDEX_MASK;
    const hi = Math.min(end, (i + 1) * PTRS_PER_PTE) - i * PTRS_PER_PTE;
    let used = -1;
    for (let k = 0; k < PTRS_PER_PTE; k++) {
      if (atomic_read(pt + PTE_PAGE.entries + k) !== 0) {
        used = k;
        if (k >= lo && k < hi) break;
      }
    }
    if (used >= lo && used < hi) {
      spin_unlock(pt + PTE_PAGE.ptl);
      spin_unlock(ptlock);
      throw new InvariantViolation(
        `free_pgtables: page ${i * PTRS_PER_PTE + used} is still mapped in [${start}, ${end})`,
      );
    }
    if (used >= 0) {
      spin_unlock(pt + PTE_PAGE.ptl);
      spin_unlock(ptlock);
      continue; // a neighbour still maps pages through it
    }
    atomic_set(slot, 0);
    atomic_set(pgd + PGD.nr_pte_pages, atomic_read(pgd + PGD.nr_pte_pages) - 1);
    spin_unlock(pt + PTE_PAGE.ptl);
    spin_unlock(ptlock);
    count(CNT.PTE_PAGE_FREE);
    trace(EV.PTE_PAGE_FREE, pgd, pt);
    if (deferFree) deferFree(() => kmem_cache_free(cache, pt), pt);
    else kmem_cache_free(cache, pt);
    freed++;
  }
  return freed;
}

// ---- checks (exact when no task changes the table) -----------------------------------------

/** Call fn(addr, pte) for every non-none PTE in [start, end), in order, with lockless loads. */
export function walk_ptes(
  pgd: number,
  start: number,
  end: number,
  fn: (addr: number, pte: number) => void,
): void {
  check_range(start, end, 'walk_ptes');
  for (let a = start; a < end; ) {
    const i = a >>> PGDIR_SHIFT;
    const next = Math.min(end, (i + 1) * PTRS_PER_PTE);
    const pt = atomic_read(pgd + PGD.entries + i);
    if (pt !== 0) {
      for (let b = a; b < next; b++) {
        const pte = atomic_read(pt + PTE_PAGE.entries + (b & PTE_INDEX_MASK));
        if (pte !== 0) fn(b, pte);
      }
    }
    a = next;
  }
}

/** Present PTEs in the whole table. */
export function count_present(pgd: number): number {
  let n = 0;
  for (let i = 0; i < PTRS_PER_PGD; i++) {
    const pt = atomic_read(pgd + PGD.entries + i);
    if (pt === 0) continue;
    for (let k = 0; k < PTRS_PER_PTE; k++) {
      if (pte_present(atomic_read(pt + PTE_PAGE.entries + k))) n++;
    }
  }
  return n;
}

export interface PgtableStats {
  /** pte pages allocated (linked, or unlinked and waiting for a deferred free) */
  readonly ptePages: number;
  readonly ptePagesCapacity: number;
  readonly pgds: number;
}

export function pgtable_stats(): PgtableStats {
  const pte = kmem_cache_stats(pte_page_cache());
  return {
    ptePages: pte.allocated,
    ptePagesCapacity: pte.capacity,
    pgds: kmem_cache_stats(pgd_cache()).allocated,
  };
}
