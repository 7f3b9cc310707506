// The mm model's globals as this thread sees them: read once from the buffer (ROOT.MM) when
// the thread attaches, then kept in a plain object so hot paths pay no shared load for them.

import { LayoutError } from '../errors.js';
import { atomic_read } from '../sched/atomics.js';
import { get_root } from '../shm/arena.js';
import {
  KMEM_CACHE,
  MM_GLOBALS,
  MMG_FLAG_ASSERTIONS,
  MMG_FLAG_BACKPORT_KILLABLE,
  MMG_FLAG_BACKPORT_MADVISE,
  MMG_FLAG_BACKPORT_MAPS,
  MMG_FLAG_SYNC_SRCU,
  ROOT,
  SLAB_TYPESAFE_BY_RCU,
} from '../shm/layout/index.js';

export interface MmGlobals {
  readonly ptr: number;
  readonly scheme: number;
  readonly assertions: boolean;
  readonly syncSrcu: boolean;
  /**
   * Newer features asked for by name on a scheme whose kernel lacked them (WorldConfig
   * backports): the per-VMA maps walk, the per-VMA MADV_DONTNEED, the killable VMA write lock.
   */
  readonly backportMaps: boolean;
  readonly backportMadvise: boolean;
  readonly backportKillable: boolean;
  readonly vmaCache: number;
  /** the VMA slab is SLAB_TYPESAFE_BY_RCU: a free VMA keeps vm_refcnt 0, never rewritten */
  readonly typesafeVmas: boolean;
  readonly mmCache: number;
  readonly treeCache: number;
  readonly srcu: number;
}

let g: MmGlobals | null = null;

/** Re-read the globals from the buffer (after world_create or world_attach). */
export function mm_globals_load(): MmGlobals {
  const p = get_root(ROOT.MM);
  if (p === 0) throw new LayoutError('the buffer has no mm model (world_create was not run)');
  const flags = atomic_read(p + MM_GLOBALS.flags);
  g = {
    ptr: p,
    scheme: atomic_read(p + MM_GLOBALS.scheme),
    assertions: (flags & MMG_FLAG_ASSERTIONS) !== 0,
    syncSrcu: (flags & MMG_FLAG_SYNC_SRCU) !== 0,
    backportMaps: (flags & MMG_FLAG_BACKPORT_MAPS) !== 0,
    backportMadvise: (flags & MMG_FLAG_BACKPORT_MADVISE) !== 0,
    backportKillable: (flags & MMG_FLAG_BACKPORT_KILLABLE) !== 0,
    vmaCache: atomic_read(p + MM_GLOBALS.vma_cache),
    typesafeVmas:
      (atomic_read(atomic_read(p + MM_GLOBALS.vma_cache) + KMEM_CACHE.flags) &
        SLAB_TYPESAFE_BY_RCU) !==
      0,
    mmCache: atomic_read(p + MM_GLOBALS.mm_cache),
    treeCache: atomic_read(p + MM_GLOBALS.tree_cache),
    srcu: atomic_read(p + MM_GLOBALS.srcu),
  };
  return g;
}

export function mm_globals(): MmGlobals {
  if (g === null) throw new LayoutError('mm model not attached in this thread (call world_attach)');
  return g;
}
