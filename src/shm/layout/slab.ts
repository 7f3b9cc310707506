// Layout of the slab allocator (src/shm/slab.ts): the cache descriptor, its global free list and
// the per-task object caches.

import { alignUp, defineStruct, LINE_WORDS, layoutPadding } from './struct.js';
import { SPINLOCK } from './sync.js';

/** 'SLAB' in ASCII: KMEM_CACHE.magic of a live cache descriptor. */
export const KMEM_CACHE_MAGIC = 0x42414c53;

/** Longest cache name or knob, in characters (stored 4 per word, NUL-padded). */
export const KMEM_NAME_CHARS = 32;
export const KMEM_NAME_WORDS = KMEM_NAME_CHARS / 4;

/** KMEM_CACHE.flags bits */
export const SLAB_TYPESAFE_BY_RCU = 1 << 0;
export const SLAB_POISON = 1 << 1;

/** Written over every word of a freed object of a SLAB_POISON cache (the kernel's POISON_FREE). */
export const KMEM_POISON_FREE = 0x6b6b6b6b;

/**
 * The per-object state word (one per object, in the cache's metadata, never inside the object):
 *   0  FREE       on the global list or in a per-task cache
 *   1  ALLOCATED  handed out by kmem_cache_alloc, not yet freed
 * kmem_cache_alloc moves FREE→ALLOCATED and kmem_cache_free ALLOCATED→FREE, each with an xchg,
 * so a double free (or an allocator that hands out an object twice) is caught at once.
 */
export const KMEM_OBJ_FREE = 0;
export const KMEM_OBJ_ALLOCATED = 1;

/** Objects one per-task cache holds at most. */
export const KMEM_PCP_MAX = 255;
/** Objects moved at once between a per-task cache and the global list. */
export const KMEM_PCP_BATCH = 64;
/** Bits of the per-task ctl word that hold the count (the rest is the version). */
export const KMEM_PCP_COUNT_BITS = 8;
export const KMEM_PCP_COUNT_MASK = (1 << KMEM_PCP_COUNT_BITS) - 1;
/** Added to a ctl word to bump its version (wraps in 32 bits; the count bits are untouched). */
export const KMEM_PCP_VERSION_ONE = 1 << KMEM_PCP_COUNT_BITS;

if (KMEM_PCP_MAX > KMEM_PCP_COUNT_MASK || KMEM_PCP_BATCH > KMEM_PCP_MAX) {
  throw new Error('slab layout: KMEM_PCP_MAX must fit the count bits and hold one batch');
}

/** The global free list: a singly linked list threaded through each free object's freeptr word. */
export const KMEM_LIST = defineStruct('kmem_list', {
  /** guards head, nr_free and every link of the list */
  lock: { struct: SPINLOCK },
  /** first free object (a pointer), 0 when empty */
  head: 1,
  /**
   * free objects: those on the list plus the never-used ones from `fresh` on; read without the
   * lock only for statistics and a cheap peek
   */
  nr_free: 1,
  /**
   * index of the first object never handed out: objects fresh..capacity-1 are free but on no
   * list (a refill takes them in address order once the list is empty), so creating a cache
   * touches none of its objects — a large slab costs nothing until it is used
   */
  fresh: 1,
  /**
   * objects in flight: taken from the list or a per-task cache and not yet visible in the next
   * one (a refill, a steal or a flush between its claim and its publish); raised before the
   * objects leave view, lowered after they are visible again
   */
  in_flight: 1,
  /** bumped after every move completes: an allocator that saw it change looks again */
  moves: 1,
});

/** A cache descriptor. Everything but `list` is written once by kmem_cache_create. */
export const KMEM_CACHE = defineStruct('kmem_cache', {
  /** KMEM_CACHE_MAGIC */
  magic: 1,
  /** SLAB_* */
  flags: 1,
  /** words the caller asked for */
  obj_words: 1,
  /** words from one object to the next: obj_words rounded up to the alignment */
  stride: 1,
  /** number of objects */
  capacity: 1,
  /** pointer to object 0 */
  base: 1,
  /** which word of a free object holds the free-list link */
  freeptr_offset: 1,
  /** pointer to `capacity` state words (KMEM_OBJ_*) */
  state: 1,
  /** pointer to the per-task caches, one per task slot */
  pcp: 1,
  /** words from one per-task cache to the next (a cache-line multiple when padding is on) */
  pcp_stride: 1,
  /** number of per-task caches (= max_tasks at creation) */
  nr_pcp: 1,
  /** the cache's name, for error messages in any thread */
  name: KMEM_NAME_WORDS,
  /** the user setting that raises the capacity, e.g. '--max-vmas' */
  knob: KMEM_NAME_WORDS,
  /** the global free list: every task that refills or flushes writes it */
  list: { struct: KMEM_LIST, hot: true },
});

/** A per-task cache of free objects (the kernel's per-CPU slab). */
export const KMEM_PCP = defineStruct('kmem_pcp', {
  /**
   * (version << KMEM_PCP_COUNT_BITS) | count. Slots objs[0 .. count-1] hold free objects.
   * The owner pops and pushes with a cmpxchg that bumps the version; another task that finds
   * the global list empty steals all `count` objects with one cmpxchg to count 0. Slots at or
   * above `count` belong to the owner alone.
   */
  ctl: 1,
  objs: KMEM_PCP_MAX,
});

/** Words from one per-task cache to the next: whole cache lines when padding is on. */
export function kmem_pcp_stride(): number {
  return layoutPadding() ? alignUp(KMEM_PCP.SIZE, LINE_WORDS) : KMEM_PCP.SIZE;
}
