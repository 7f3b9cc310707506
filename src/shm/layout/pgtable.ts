// Layout of the page tables (src/mm/pgtable.ts) and the frame pool (src/mm/frames.ts).
//
// Addresses in faultline are page numbers. A page number splits into a pgd index (high bits)
// and a pte index (low PTE_BITS bits); two levels cover TASK_SIZE_PAGES pages. The kernel has
// four or five levels (pgd, p4d, pud, pmd, pte); faultline keeps the top and the bottom one,
// which is where the locking lives: the mm's page_table_lock guards populating the upper level,
// and each pte page has its own split ptlock.

import { defineStruct, WORD_BYTES } from './struct.js';
import { SPINLOCK } from './sync.js';

/** Bytes in a page frame, and words in one. */
export const PAGE_BYTES = 4096;
export const FRAME_WORDS = PAGE_BYTES / WORD_BYTES;

/** Page-number bits resolved by a pte page: 512 entries, as in the kernel's x86-64 tables. */
export const PTE_BITS = 9;
export const PTRS_PER_PTE = 1 << PTE_BITS;
/** pte index of a page number: addr & PTE_INDEX_MASK */
export const PTE_INDEX_MASK = PTRS_PER_PTE - 1;
/** pgd index of a page number: addr >> PGDIR_SHIFT */
export const PGDIR_SHIFT = PTE_BITS;
/** Page-number bits resolved by the pgd. */
export const PGD_BITS = 13;
export const PTRS_PER_PGD = 1 << PGD_BITS;
/** One past the highest user page number (16 GiB of 4 KiB pages): the kernel's TASK_SIZE. */
export const TASK_SIZE_PAGES = PTRS_PER_PGD * PTRS_PER_PTE;
/** The lowest page mmap hands out (the kernel's mmap_min_addr of 64 KiB, in pages). */
export const MMAP_MIN_PAGE = (64 * 1024) / PAGE_BYTES;

/**
 * A PTE word:
 *   0                      pte_none: nothing mapped
 *   bit 0  _PAGE_PRESENT   a frame is mapped
 *   bit 1  _PAGE_RW        writable (clear: read-only, e.g. after mprotect)
 *   bits 2-3               reserved, always 0
 *   bits 4-30  pfn         the frame number (>= 1), so 1 <= pfn <= PTE_PFN_MAX
 * A non-zero PTE without _PAGE_PRESENT is never written (faultline has no swap entries).
 */
export const _PAGE_PRESENT = 1 << 0;
export const _PAGE_RW = 1 << 1;
export const PTE_PFN_SHIFT = 4;
export const PTE_PFN_MAX = 2 ** (31 - PTE_PFN_SHIFT) - 1;

/** A page of PTEs, from the pte-page slab. */
export const PTE_PAGE = defineStruct('pte_page', {
  /**
   * The split ptlock: guards every entry of this page and its unlinking from the pgd. Never
   * re-initialised after the arena zeroes it, so a walker that locks a page freed under it
   * still locks a real lock (and then sees the pgd no longer points here, and retries).
   */
  ptl: { struct: SPINLOCK, hot: true },
  /** the slab's free-list link while the page is free (never a PTE, never the ptl) */
  free_link: 1,
  /** PTRS_PER_PTE PTE words; written under ptl, read with atomic loads by lockless walkers */
  entries: PTRS_PER_PTE,
});

/** The top level of one mm's page table, from the pgd slab. */
export const PGD = defineStruct('pgd', {
  /**
   * The mm's page_table_lock: guards populating and clearing entries. Taken before a ptl
   * (page_table_lock → ptl) when a pte page is unlinked.
   */
  page_table_lock: { struct: SPINLOCK, hot: true },
  /** pte pages linked from this pgd (under page_table_lock) */
  nr_pte_pages: 1,
  /**
   * PTRS_PER_PGD pointers to pte pages, 0 for none. Set with a RELEASE store after the pte page
   * is initialised; read with ACQUIRE loads by walkers that hold no lock.
   */
  entries: PTRS_PER_PGD,
});

/** The frame pool and the page-table slabs, published at ROOT.FRAMES. */
export const FRAME_POOL = defineStruct('frame_pool', {
  /** kmem_cache of FRAME_WORDS-word frames; pfn = object index + 1 */
  frames: 1,
  /** kmem_cache of PTE_PAGE objects */
  pte_pages: 1,
  /** kmem_cache of PGD objects */
  pgds: 1,
  /** number of frames */
  nr_frames: 1,
});
