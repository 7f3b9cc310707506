// Layout of the VMA index (src/mm/vma_tree*.ts): a B-tree over page ranges, copied on write.
//
// Both node kinds (leaf and internal) share one struct, so one slab holds them all. A node is
// written only while it is private to the writer's transaction; once a root that reaches it is
// published, every word of it is immutable until it is freed after an RCU grace period.

import { defineStruct } from './struct.js';

/** Slots per node (entries in a leaf, children in an internal node). */
export const VT_FANOUT = 20;
/**
 * Fewest slots a node other than the root may hold. Splitting a full node that gains one more
 * slot gives halves of VT_MIN and VT_MIN + 1; merging two nodes at VT_MIN - 1 and VT_MIN gives
 * at most VT_FANOUT - 1.
 *
 * Height bound: a tree of height h ≥ 2 holds at least 2 · VT_MIN^(h-1) entries, so with
 * VT_MIN = 10 a height of 7 needs 2,000,000 entries: 1,000,000 entries fit in height ≤ 6.
 */
export const VT_MIN = VT_FANOUT / 2;
/** Deepest tree the code walks: 2 · VT_MIN^(VT_MAX_HEIGHT-1) is far beyond 2^31 entries. */
export const VT_MAX_HEIGHT = 12;

/** The largest page number an entry may end at (exclusive end): the index space is [0, 2^31-1). */
export const VT_LIMIT = 0x7fffffff;

/** Tag in the high half of NODE.meta; a freed (poisoned) node fails the tag check. */
export const VT_NODE_TAG = 0x7e1e;
/** NODE.meta bits 0..7: slots in use. */
export const VT_META_COUNT_MASK = 0xff;
/** NODE.meta bits 8..11: the node's level (0 = leaf). */
export const VT_META_LEVEL_SHIFT = 8;
export const VT_META_LEVEL_MASK = 0xf;
/** NODE.meta bits 16..30: VT_NODE_TAG. */
export const VT_META_TAG_SHIFT = 16;

export const VT_NODE = defineStruct('vma_tree_node', {
  /**
   * count | level << 8 | VT_NODE_TAG << 16.
   *   count: 1..VT_FANOUT in a leaf (the root leaf too: an empty tree has root NULL);
   *          2..VT_FANOUT in the root when it is internal; VT_MIN..VT_FANOUT in any other node.
   *   level: 0 for a leaf; a child's level is its parent's minus one (all leaves at level 0).
   */
  meta: 1,
  /**
   * end[i], i < count, strictly increasing.
   *   leaf:     the exclusive end page of entry i, start[i] < end[i] ≤ VT_LIMIT.
   *   internal: the end of the last entry under child i.
   * First in the node: a lookup reads only this array until it picks a slot.
   */
  end: VT_FANOUT,
  /**
   * start[i], i < count: leaf: the first page of entry i (0 ≤ start[i], end[i-1] ≤ start[i]);
   * internal: the start of the first entry under child i.
   */
  start: VT_FANOUT,
  /** leaf: the entry's value (a VMA pointer, never 0); internal: the child node pointer. */
  slot: VT_FANOUT,
  /**
   * internal only: the largest free range strictly between two entries under child i, in pages
   * (0 if child i holds one entry); lets the top-down gap search skip whole subtrees.
   * Unused (0) in a leaf.
   */
  gap: VT_FANOUT,
});

/** Words per node (no hot fields: the same with padding on or off). */
export const VT_NODE_WORDS = 1 + 4 * VT_FANOUT;
if (VT_NODE.SIZE !== VT_NODE_WORDS) {
  throw new Error(
    `vma_tree_node: ${VT_NODE.SIZE} words declared, VT_NODE_WORDS says ${VT_NODE_WORDS}`,
  );
}
