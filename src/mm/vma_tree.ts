// The VMA index: page ranges [start, end) → VMA pointer, an RCU-safe B-tree with path copying.
// It plays the role of the kernel's maple tree (mm->mm_mt, include/linux/maple_tree.h, used
// through mm/vma.h's vma iterator) without reproducing it: a plain B-tree whose writers copy
// every node they change and publish the new version with one store of the root word.
//
// Memory ordering (the details live in each part):
//   - vt_txn_commit() stores the new root with RELEASE; every reader loads it once per call
//     with ACQUIRE (rcu_dereference). Nodes are immutable once published, so a reader sees one
//     whole version: the one before a transaction or the one after, never a half-built tree.
//   - Replaced nodes are freed with call_rcu, after a grace period: a reader inside
//     rcu_read_lock() may still walk them.
//   - Writers are serialized by the caller (the mmap write lock); the tree takes no lock.
//
// Parts: vma_tree_node.ts (node words, node slab), vma_tree_read.ts (lookups, gap search),
// vma_tree_txn.ts (transactions), vma_tree_check.ts (invariants).

import { atomic_set } from '../sched/atomics.js';
import { node_cache_attach } from './vma_tree_node.js';
import { __vt_txn_forget } from './vma_tree_txn.js';

export { VT_FANOUT, VT_LIMIT, VT_MIN, VT_NODE_WORDS } from '../shm/layout/index.js';

export * from './vma_tree_check.js';
export {
  vma_tree_cache,
  vma_tree_create_cache,
  vt_nodes_needed,
} from './vma_tree_node.js';
export * from './vma_tree_read.js';
export * from './vma_tree_txn.js';

/** An empty tree in root word `root` (set-up, or under the mmap write lock with no readers). */
export function vma_tree_init(root: number): void {
  atomic_set(root, 0);
}

/**
 * Make `cache` (from vma_tree_create_cache) this thread's node slab; once per thread and per
 * buffer. Drops any transaction a previous run on this thread left open (a harness abort can
 * unwind through a writer between vt_txn_begin and vt_txn_commit).
 */
export function vma_tree_attach(cache: number): void {
  __vt_txn_forget();
  node_cache_attach(cache);
}
