// mm_struct: allocation, mmgrab/mmdrop, and teardown (kernel/fork.c, mm/mmap.c exit_mmap).

import { InvariantViolation } from '../errors.js';
import { atomic_fetch_add, atomic_read, atomic_set } from '../sched/atomics.js';
import { MM, MM_GLOBALS } from '../shm/layout/index.js';
import { kmem_cache_alloc, kmem_cache_free, slab_exhausted } from '../shm/slab.js';
import { rcuwait_init } from '../sync/rcuwait.js';
import { refcount_dec_and_test, refcount_inc, refcount_set } from '../sync/refcount.js';
import { init_rwsem } from '../sync/rwsem.js';
import { seqcount_init } from '../sync/seqcount.js';
import { mm_globals } from './globals.js';
import { pgd_alloc, pgd_free } from './pgtable.js';
import { vma_tree_init } from './vma_tree.js';

/** mm_alloc(): a new, empty mm with mm_count 1. Throws SlabExhausted naming --max-mms. */
export function mm_alloc(): number {
  const g = mm_globals();
  const mm = kmem_cache_alloc(g.mmCache);
  if (mm === 0) throw slab_exhausted(g.mmCache);
  refcount_set(mm + MM.mm_count, 1);
  atomic_set(mm + MM.mm_id, atomic_fetch_add(g.ptr + MM_GLOBALS.next_mm_id, 1) + 1);
  init_rwsem(mm + MM.mmap_lock);
  seqcount_init(mm + MM.mm_lock_seq);
  rcuwait_init(mm + MM.vma_writer_wait);
  vma_tree_init(mm + MM.mm_mt);
  atomic_set(mm + MM.map_count, 0);
  atomic_set(mm + MM.nr_ptes, 0);
  atomic_set(mm + MM.pgd, pgd_alloc());
  // RELEASE: the mm is fully initialised before anyone can see it alive.
  atomic_set(mm + MM.mm_alive, 1);
  return mm;
}

/** mmgrab(): pin the mm_struct itself (not its address space). */
export function mmgrab(mm: number): void {
  refcount_inc(mm + MM.mm_count);
}

/** mmdrop(): unpin; the last drop frees the mm_struct (its address space must be gone). */
export function mmdrop(mm: number): void {
  if (!refcount_dec_and_test(mm + MM.mm_count)) return;
  if (atomic_read(mm + MM.map_count) !== 0) {
    throw new InvariantViolation(
      `__mmdrop: mm ${mm} still has ${atomic_read(mm + MM.map_count)} VMAs`,
    );
  }
  atomic_set(mm + MM.mm_alive, 0);
  pgd_free(atomic_read(mm + MM.pgd));
  atomic_set(mm + MM.pgd, 0);
  kmem_cache_free(mm_globals().mmCache, mm);
}

/**
 * KERNEL.md §7.6: "the woken mm is alive". With `id` (the mm_id read while the caller still held
 * something that pinned this mm), also "it is the same mm": a KASAN-like identity check. mm_id is
 * unique per mm_alloc, so it is the debug generation of the mm_struct slot, and the slab poisons
 * it on free. A use of an mm that was freed and handed out again is a use-after-free as much as
 * a use of a free one (the mm_struct cache is not SLAB_TYPESAFE_BY_RCU), but mm_alive alone
 * cannot see it once the slot is live again.
 */
export function mm_assert_alive(mm: number, what: string, id = 0): void {
  if (atomic_read(mm + MM.mm_alive) !== 1) {
    throw new InvariantViolation(`${what}: mm ${mm} is not alive`);
  }
  if (id !== 0) {
    const now = atomic_read(mm + MM.mm_id);
    if (now !== id) {
      throw new InvariantViolation(
        `${what}: mm ${mm} was freed and reallocated (mm id ${id} then, ${now} now)`,
      );
    }
  }
}
