// kmem_cache_verify: a full consistency check of one cache, for tests and stress runs. Kept
// apart from src/shm/slab.ts because nothing on an allocation path needs it.
//
// Memory ordering: none to speak of — it reads with atomic loads and is exact only while no task
// allocates or frees (after the workers stop).

import { InvariantViolation } from '../errors.js';
import { atomic_read } from '../sched/atomics.js';
import {
  KMEM_CACHE,
  KMEM_CACHE_MAGIC,
  KMEM_LIST,
  KMEM_OBJ_FREE,
  KMEM_PCP,
  KMEM_PCP_COUNT_MASK,
} from './layout/index.js';
import {
  type KmemCacheStats,
  kmem_cache_name,
  kmem_cache_obj_index,
  kmem_cache_obj_ptr,
  kmem_cache_stats,
} from './slab.js';

/**
 * Check the free structures against the state words: every object on the global list or in a
 * per-task cache is FREE and appears once, and every FREE object is in one of them. Call only
 * while no task allocates or frees. Throws InvariantViolation naming the first discrepancy.
 */
export function kmem_cache_verify(c: number): KmemCacheStats {
  if (c <= 0 || atomic_read(c + KMEM_CACHE.magic) !== KMEM_CACHE_MAGIC) {
    throw new InvariantViolation(`kmem_cache_verify: ${c} is not a kmem_cache`);
  }
  const name = kmem_cache_name(c);
  const capacity = atomic_read(c + KMEM_CACHE.capacity);
  const state = atomic_read(c + KMEM_CACHE.state);
  const fp = atomic_read(c + KMEM_CACHE.freeptr_offset);
  const seen = new Uint8Array(capacity);
  const see = (p: number, where: string): void => {
    const i = kmem_cache_obj_index(c, p);
    if (seen[i] !== 0)
      throw new InvariantViolation(`${name} slab: object ${p} free twice (${where})`);
    if (atomic_read(state + i) !== KMEM_OBJ_FREE) {
      throw new InvariantViolation(`${name} slab: allocated object ${p} on a free list (${where})`);
    }
    seen[i] = 1;
  };
  const l = c + KMEM_CACHE.list;
  let n = 0;
  for (let p = atomic_read(l + KMEM_LIST.head); p !== 0; p = atomic_read(p + fp)) {
    if (++n > capacity) throw new InvariantViolation(`${name} slab: global free list has a cycle`);
    see(p, 'global list');
  }
  // Never-used objects (from `fresh` on) are free without being on a list.
  const fresh = atomic_read(l + KMEM_LIST.fresh);
  if (!(fresh >= 0 && fresh <= capacity)) {
    throw new InvariantViolation(`${name} slab: fresh index ${fresh} outside 0..${capacity}`);
  }
  for (let i = fresh; i < capacity; i++) see(kmem_cache_obj_ptr(c, i), 'never used');
  if (n + capacity - fresh !== atomic_read(l + KMEM_LIST.nr_free)) {
    throw new InvariantViolation(
      `${name} slab: global list holds ${n} objects and ${capacity - fresh} never used, nr_free says ${atomic_read(l + KMEM_LIST.nr_free)}`,
    );
  }
  const nr = atomic_read(c + KMEM_CACHE.nr_pcp);
  const first = atomic_read(c + KMEM_CACHE.pcp);
  const stride = atomic_read(c + KMEM_CACHE.pcp_stride);
  for (let t = 0; t < nr; t++) {
    const pcp = first + t * stride;
    const k = atomic_read(pcp + KMEM_PCP.ctl) & KMEM_PCP_COUNT_MASK;
    for (let i = 0; i < k; i++) see(atomic_read(pcp + KMEM_PCP.objs + i), `task ${t}'s cache`);
  }
  for (let i = 0; i < capacity; i++) {
    if (atomic_read(state + i) === KMEM_OBJ_FREE && seen[i] === 0) {
      throw new InvariantViolation(
        `${name} slab: free object ${kmem_cache_obj_ptr(c, i)} is on no free list (leaked)`,
      );
    }
  }
  return kmem_cache_stats(c);
}
