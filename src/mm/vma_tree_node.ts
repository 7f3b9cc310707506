// VMA index nodes: field access, the node slab, and deferred freeing.
//
// Memory ordering: node words are written with plain stores while the node is private to the
// writer's transaction (allocated in it and not yet reachable from a published root). The
// commit's RELEASE store of the root orders those stores before any reader's ACQUIRE load of
// that root, and a node is freed only after a grace period (call_rcu), so every plain load a
// reader makes of a node it reached from a root it loaded inside rcu_read_lock() reads a word
// that no one writes any more. That is why the readers' plain_read()s below are race-free: the
// "lock" they hold is the RCU read lock, and the node's immutability is the invariant.

import { InvariantViolation, LockStateError } from '../errors.js';
import { plain_fill, plain_rank, plain_read, plain_set } from '../sched/atomics.js';
import {
  VT_FANOUT,
  VT_MAX_HEIGHT,
  VT_META_COUNT_MASK,
  VT_META_LEVEL_MASK,
  VT_META_LEVEL_SHIFT,
  VT_META_TAG_SHIFT,
  VT_MIN,
  VT_NODE,
  VT_NODE_TAG,
} from '../shm/layout/index.js';
import {
  kmem_cache_alloc,
  kmem_cache_create,
  kmem_cache_free,
  slab_exhausted,
} from '../shm/slab.js';
import {
  call_rcu,
  rcu_barrier,
  rcu_pending_callbacks,
  rcu_process_callbacks,
  rcu_read_lock_held,
} from '../sync/rcu.js';

// ---- meta word -----------------------------------------------------------------------------

export function vt_meta(count: number, level: number): number {
  return count | (level << VT_META_LEVEL_SHIFT) | (VT_NODE_TAG << VT_META_TAG_SHIFT);
}

export function vt_meta_count(meta: number): number {
  return meta & VT_META_COUNT_MASK;
}

export function vt_meta_level(meta: number): number {
  return (meta >>> VT_META_LEVEL_SHIFT) & VT_META_LEVEL_MASK;
}

/** The tag is intact and the count is in range: the node was not freed and poisoned. */
export function vt_meta_ok(meta: number): boolean {
  const c = meta & VT_META_COUNT_MASK;
  return meta >>> VT_META_TAG_SHIFT === VT_NODE_TAG && c >= 1 && c <= VT_FANOUT;
}

/**
 * A reader met a node that is not a live node of the tree. With nodes freed only after a grace
 * period this cannot happen; it is how a use-after-free shows when a poisoning slab is used.
 */
export function vt_bad_node(n: number, meta: number): never {
  throw new InvariantViolation(
    `vma tree: node ${n} has meta 0x${(meta >>> 0).toString(16)}: not a live node (freed under a reader?)`,
  );
}

// ---- field access (plain: see the ordering note above) -------------------------------------

export function n_meta(n: number): number {
  return plain_read(n + VT_NODE.meta);
}
export function n_count(n: number): number {
  return plain_read(n + VT_NODE.meta) & VT_META_COUNT_MASK;
}
export function n_level(n: number): number {
  return vt_meta_level(plain_read(n + VT_NODE.meta));
}
export function n_start(n: number, i: number): number {
  return plain_read(n + VT_NODE.start + i);
}
export function n_end(n: number, i: number): number {
  return plain_read(n + VT_NODE.end + i);
}
export function n_slot(n: number, i: number): number {
  return plain_read(n + VT_NODE.slot + i);
}
export function n_gap(n: number, i: number): number {
  return plain_read(n + VT_NODE.gap + i);
}

/** Writers only, on a node private to the open transaction. */
export function n_set_meta(n: number, count: number, level: number): void {
  plain_set(n + VT_NODE.meta, vt_meta(count, level));
}
export function n_set(
  n: number,
  i: number,
  start: number,
  end: number,
  slot: number,
  gap: number,
): void {
  plain_set(n + VT_NODE.start + i, start);
  plain_set(n + VT_NODE.end + i, end);
  plain_set(n + VT_NODE.slot + i, slot);
  plain_set(n + VT_NODE.gap + i, gap);
}
export function n_set_slot(n: number, i: number, slot: number): void {
  plain_set(n + VT_NODE.slot + i, slot);
}

/** Copy a whole node (the source is immutable or private; the target is private). */
export function n_copy(dst: number, src: number): void {
  for (let k = 0; k < VT_NODE.SIZE; k++) plain_set(dst + k, plain_read(src + k));
}

/**
 * Index of the first slot whose end is above addr, or count if none: plain_rank() over the
 * node's ends, which are strictly increasing. One plain span for the whole node, not a load
 * each: the node is immutable while the caller can reach it (see the ordering note above), so
 * under the controlled scheduler its loads commute with every other task's steps and need no
 * schedule point; the span still tells the scheduler's sleep sets which words the step read.
 */
export function n_first_end_above(n: number, count: number, addr: number): number {
  return plain_rank(n + VT_NODE.end, count, addr);
}

/**
 * Largest free range strictly between two entries of node n's subtree: between neighbouring
 * leaf entries, or inside a child, or between neighbouring children.
 */
export function n_inner_gap(n: number): number {
  const c = n_count(n);
  const leaf = n_level(n) === 0;
  let g = 0;
  for (let i = 0; i < c; i++) {
    if (!leaf && n_gap(n, i) > g) g = n_gap(n, i);
    if (i > 0 && n_start(n, i) - n_end(n, i - 1) > g) g = n_start(n, i) - n_end(n, i - 1);
  }
  return g;
}

// ---- the node slab and deferred freeing ----------------------------------------------------
// Three small private seams (node_alloc, node_free, node_free_rcu), so the allocator or the RCU
// flavour can be swapped in one line each.

let nodeCache = 0;

/** Main thread, set-up: the node slab, `capacityNodes` nodes (see vt_nodes_needed). */
export function vma_tree_create_cache(
  capacityNodes: number,
  opts: { readonly poison?: boolean } = {},
): number {
  return kmem_cache_create('vma_tree_node', VT_NODE.SIZE, capacityNodes, {
    poison: opts.poison === true,
    knob: '--max-vmas',
  });
}

/** Make `cache` this thread's node slab (vma_tree_attach in vma_tree.ts wraps this). */
export function node_cache_attach(cache: number): void {
  nodeCache = cache;
}

export function vma_tree_cache(): number {
  return nodeCache;
}

/**
 * Nodes a tree of `entries` entries may need at worst (every node at VT_MIN slots), plus what
 * one transaction copies. Callers add room for nodes waiting out a grace period.
 */
export function vt_nodes_needed(entries: number): number {
  let total = 0;
  let k = Math.max(1, entries);
  do {
    k = Math.ceil(k / VT_MIN);
    total += k;
  } while (k > 1);
  return total + 2 * VT_MAX_HEIGHT;
}

/** A zeroed node, private to the caller. Throws SlabExhausted (naming --max-vmas) when full. */
export function node_alloc(): number {
  const p = node_alloc_try();
  if (p === 0) throw slab_exhausted(nodeCache);
  return p;
}

/**
 * As node_alloc(), but 0 when the slab is full even after waiting for RCU-freed nodes; with
 * zero false the node is not zeroed (a reserve zeroes it when it is taken).
 */
export function node_alloc_try(zero = true): number {
  if (nodeCache === 0) throw new LockStateError('vma tree: no node slab (vma_tree_attach)');
  let p = kmem_cache_alloc(nodeCache);
  if (p === 0) {
    // Nodes may only be waiting out a grace period: run whatever callbacks are ready.
    rcu_process_callbacks();
    p = kmem_cache_alloc(nodeCache);
  }
  if (p === 0 && rcu_pending_callbacks() > 0 && !rcu_read_lock_held()) {
    // Still none, and this task has nodes waiting for a grace period: wait for it, as a
    // sleeping allocation waits for reclaim of RCU-freed memory. Without this, a writer whose
    // grace periods lag (an oversubscribed machine, QSBR readers not yet quiescent) ran out.
    rcu_barrier();
    p = kmem_cache_alloc(nodeCache);
  }
  if (p === 0) return 0;
  if (zero) plain_fill(p, VT_NODE.SIZE, 0); // private: no reader can reach it yet
  return p;
}

/** Zero a node taken from a reserve (private: no reader can reach it yet). */
export function node_zero(n: number): void {
  plain_fill(n, VT_NODE.SIZE, 0);
}

/** Free a node no reader can reach: never published, or its grace period has ended. */
export function node_free(n: number): void {
  kmem_cache_free(nodeCache, n);
}

/** Free nodes that readers may still be walking, once a grace period has ended. */
export function node_free_rcu(nodes: number[]): void {
  const cache = nodeCache;
  call_rcu(() => {
    for (const n of nodes) kmem_cache_free(cache, n);
  });
}
