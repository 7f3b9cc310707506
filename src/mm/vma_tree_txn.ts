// VMA index writers: transactions that copy the nodes they change (path copying) and publish
// the new version with one store.
//
// Memory ordering: inside a transaction every node written is private: allocated in this
// transaction (the `fresh` set) and unreachable from the published root, so plain stores are
// enough. vt_txn_commit() publishes with ONE store of the root word, RELEASE, which pairs with
// the ACQUIRE load of the root in every reader (vma_tree_read.ts load_root): a reader that sees
// the new root sees every word of every node under it. The nodes the new version no longer
// reaches (`retired`) go to call_rcu: a reader that loaded the old root inside rcu_read_lock()
// may still walk them until its rcu_read_unlock(), and the grace period waits for that.
//
// Writers are serialized by the caller (the mmap write lock); the tree does not take a lock.
// A node is copied at most once per transaction: the copy is fresh, and fresh nodes are
// changed in place. A fresh node that a later step drops was never published, so it is freed
// at once; a published node that is dropped or copied is freed after the grace period.
// Any error inside a transaction (overlap, missing entry, slab exhausted) aborts it: the fresh
// nodes are freed, nothing was published, the tree is as before vt_txn_begin().

import { InvariantViolation, LockStateError } from '../errors.js';
import { atomic_read, atomic_set } from '../sched/atomics.js';
import { BUG, bug_on } from '../sched/bugs.js';
import { EV } from '../sched/events.js';
import { trace } from '../sched/task.js';
import { VT_FANOUT, VT_LIMIT, VT_MAX_HEIGHT, VT_MIN } from '../shm/layout/index.js';
import {
  n_copy,
  n_count,
  n_end,
  n_first_end_above,
  n_gap,
  n_inner_gap,
  n_level,
  n_set,
  n_set_meta,
  n_set_slot,
  n_slot,
  n_start,
  node_alloc,
  node_alloc_try,
  node_free,
  node_free_rcu,
  node_zero,
  vt_nodes_needed,
} from './vma_tree_node.js';
import { vt_height } from './vma_tree_read.js';

// ---- transaction state (one open transaction per thread) ---------------------------------

/** The root word of the open transaction; 0 when none is open. */
let txWord = 0;
/** The root that was published when the transaction began. */
let txOld = 0;
/** The working root: fresh once anything changed. */
let txRoot = 0;
/** Nodes allocated in this transaction (never published yet): changed in place. */
const fresh = new Set<number>();
/** Published nodes the working version no longer reaches: freed a grace period after commit. */
let retired: number[] = [];

/** The walk from the root to a leaf: node and slot index per level (index 0 = root). */
const pathNode = new Int32Array(VT_MAX_HEIGHT);
const pathIdx = new Int32Array(VT_MAX_HEIGHT);
let depth = 0;

/**
 * A full node that takes one more slot splits: the left half keeps this many of the
 * VT_FANOUT + 1 slots, the right half (a new node) the rest.
 */
const SPLIT_LEFT = (VT_FANOUT + 1) >>> 1;

/** Two nodes' worth of slots, for splits and rebalancing. */
const xS = new Int32Array(2 * VT_FANOUT);
const xE = new Int32Array(2 * VT_FANOUT);
const xV = new Int32Array(2 * VT_FANOUT);
const xG = new Int32Array(2 * VT_FANOUT);

// ---- node ownership --------------------------------------------------------------------------

// ---- preallocation (vma_iter_prealloc) -------------------------------------------------------

/** Nodes reserved by vt_prealloc(), taken before the slab is asked. One pool per thread. */
const reserve: number[] = [];

/** A node for the working version: from the reserve if there is one, else the slab. */
function take_node(): number {
  const n = reserve.pop();
  if (n === undefined) return node_alloc();
  node_zero(n);
  return n;
}

/** A fresh node the working version dropped: back to the reserve while one is held. */
function give_node(n: number): void {
  if (reserveHeld) reserve.push(n);
  else node_free(n);
}
let reserveHeld = false;

/**
 * vma_iter_prealloc(): before changing anything, reserve the nodes that `stores` index stores
 * (inserts and removes; `inserts` of them inserts) can need at worst on the tree at `root` with
 * `entries` entries. Returns false, with nothing reserved, if the slab cannot supply them: the
 * caller returns -ENOMEM with the world unchanged, instead of running out mid-operation. Every
 * transaction until vt_prealloc_put() takes its nodes from the reserve first.
 *
 * The bound: one store copies at most the root-to-leaf path and adds at most one node per
 * level plus a new root (an insert), or one sibling per level (a remove's rebalance), so
 * 2h + 1 nodes with h the height the tree can have reached; and fresh nodes are all reachable
 * from the working root, so never more than a tree of entries + inserts entries can hold.
 */
export function vt_prealloc(
  root: number,
  entries: number,
  stores: number,
  inserts: number,
): boolean {
  if (reserveHeld) throw new LockStateError('vt_prealloc: a reserve is held (vt_prealloc_put)');
  // A root split needs a full root; a new root has 2 children and gains at most one per
  // insert, so the height grows by one, and by one more per VT_FANOUT - 2 further inserts.
  const h = Math.min(VT_MAX_HEIGHT, vt_height(root) + 1 + Math.floor(inserts / (VT_FANOUT - 2)));
  const need = Math.min(stores * (2 * h + 1), vt_nodes_needed(entries + inserts));
  for (let i = 0; i < need; i++) {
    const n = node_alloc_try(false);
    if (n === 0) {
      for (const m of reserve) node_free(m);
      reserve.length = 0;
      return false;
    }
    reserve.push(n);
  }
  reserveHeld = true;
  return true;
}

/** Give back what the operation did not use of its reserve (never published: freed at once). */
export function vt_prealloc_put(): void {
  for (const n of reserve) node_free(n);
  reserve.length = 0;
  reserveHeld = false;
}

function new_node(level: number): number {
  const c = take_node();
  fresh.add(c);
  n_set_meta(c, 0, level);
  return c;
}

/** A writable version of n: n itself if fresh, else a fresh copy (n is retired). */
function cow(n: number): number {
  if (fresh.has(n)) return n;
  const c = take_node();
  n_copy(c, n);
  fresh.add(c);
  retired.push(n);
  return c;
}

/** Like cow() for a node about to be overwritten whole: no copy of its contents. */
function own(n: number, level: number): number {
  if (fresh.has(n)) return n;
  retired.push(n);
  return new_node(level);
}

/** n leaves the working version. */
function retire(n: number): void {
  if (fresh.delete(n)) give_node(n);
  else retired.push(n);
}

// ---- slot moves ------------------------------------------------------------------------------

function gather(n: number, at: number): number {
  const c = n_count(n);
  for (let i = 0; i < c; i++) {
    xS[at + i] = n_start(n, i);
    xE[at + i] = n_end(n, i);
    xV[at + i] = n_slot(n, i);
    xG[at + i] = n_gap(n, i);
  }
  return c;
}

function scatter(n: number, from: number, c: number, level: number): void {
  for (let i = 0; i < c; i++)
    n_set(n, i, xS[from + i]!, xE[from + i]!, xV[from + i]!, xG[from + i]!);
  n_set_meta(n, c, level);
}

/** Write child's (start, end, pointer, inner gap) into slot i of p. */
function set_summary(p: number, i: number, child: number): void {
  const c = n_count(child);
  n_set(p, i, n_start(child, 0), n_end(child, c - 1), child, n_inner_gap(child));
}

/** Insert a slot at j in fresh node n. Returns the fresh right half if n split, else 0. */
function insert_at(n: number, j: number, s: number, e: number, v: number, g: number): number {
  const c = n_count(n);
  const level = n_level(n);
  if (c < VT_FANOUT) {
    for (let k = c; k > j; k--)
      n_set(n, k, n_start(n, k - 1), n_end(n, k - 1), n_slot(n, k - 1), n_gap(n, k - 1));
    n_set(n, j, s, e, v, g);
    n_set_meta(n, c + 1, level);
    return 0;
  }
  gather(n, 0);
  for (let k = c; k > j; k--) {
    xS[k] = xS[k - 1]!;
    xE[k] = xE[k - 1]!;
    xV[k] = xV[k - 1]!;
    xG[k] = xG[k - 1]!;
  }
  xS[j] = s;
  xE[j] = e;
  xV[j] = v;
  xG[j] = g;
  const left = SPLIT_LEFT;
  const right = new_node(level);
  scatter(n, 0, left, level);
  scatter(right, left, c + 1 - left, level);
  return right;
}

function remove_at(n: number, j: number): void {
  const c = n_count(n);
  for (let k = j; k < c - 1; k++)
    n_set(n, k, n_start(n, k + 1), n_end(n, k + 1), n_slot(n, k + 1), n_gap(n, k + 1));
  n_set_meta(n, c - 1, n_level(n));
}

/**
 * Children li and li + 1 of fresh node p hold too few slots between them on one side: merge
 * them into one if they fit, else split their slots evenly.
 */
function rebalance(p: number, li: number): void {
  const oa = n_slot(p, li);
  const ob = n_slot(p, li + 1);
  const level = n_level(oa);
  const ca = gather(oa, 0);
  const total = ca + gather(ob, ca);
  const a = own(oa, level);
  if (total <= VT_FANOUT) {
    scatter(a, 0, total, level);
    retire(ob);
    remove_at(p, li + 1);
    set_summary(p, li, a);
    return;
  }
  const b = own(ob, level);
  const left = total >>> 1;
  scatter(a, 0, left, level);
  scatter(b, left, total - left, level);
  set_summary(p, li, a);
  set_summary(p, li + 1, b);
}

// ---- walking the working version -----------------------------------------------------------

/**
 * Record the path from the working root to the leaf where an entry starting at addr belongs:
 * at each level the first slot ending above addr (the last slot if none). Returns the leaf;
 * its recorded index is the first entry ending above addr (or its count).
 */
function walk(addr: number): number {
  depth = 0;
  let n = txRoot;
  for (;;) {
    const c = n_count(n);
    let i = n_first_end_above(n, c, addr);
    pathNode[depth] = n;
    if (n_level(n) === 0) {
      pathIdx[depth++] = i;
      return n;
    }
    if (i === c) i = c - 1;
    pathIdx[depth++] = i;
    n = n_slot(n, i);
  }
}

/** Copy the recorded path (each node at most once per transaction) and relink it. */
function make_path_writable(): void {
  for (let d = 0; d < depth; d++) {
    const n = cow(pathNode[d]!);
    pathNode[d] = n;
    if (d === 0) txRoot = n;
    else n_set_slot(pathNode[d - 1]!, pathIdx[d - 1]!, n); // summary rewritten on the way up
  }
}

// ---- the operations --------------------------------------------------------------------------

function __insert(start: number, end: number, vma: number): void {
  if (txRoot === 0) {
    const l = new_node(0);
    n_set(l, 0, start, end, vma, 0);
    n_set_meta(l, 1, 0);
    txRoot = l;
    return;
  }
  const leaf = walk(start);
  const j = pathIdx[depth - 1]!;
  if (j < n_count(leaf) && n_start(leaf, j) < end) {
    throw new InvariantViolation(
      `vt_txn_insert [${start}, ${end}): overlaps the stored [${n_start(leaf, j)}, ${n_end(leaf, j)})`,
    );
  }
  make_path_writable();
  let right = insert_at(pathNode[depth - 1]!, j, start, end, vma, 0);
  for (let d = depth - 2; d >= 0; d--) {
    const p = pathNode[d]!;
    const i = pathIdx[d]!;
    set_summary(p, i, pathNode[d + 1]!);
    if (right !== 0) {
      const rc = n_count(right);
      right = insert_at(
        p,
        i + 1,
        n_start(right, 0),
        n_end(right, rc - 1),
        right,
        n_inner_gap(right),
      );
    }
  }
  if (right !== 0) {
    const level = n_level(txRoot) + 1;
    if (level >= VT_MAX_HEIGHT)
      throw new InvariantViolation(`vma tree: height ${level + 1} > ${VT_MAX_HEIGHT}`);
    const r = new_node(level);
    set_summary(r, 0, txRoot);
    set_summary(r, 1, right);
    n_set_meta(r, 2, level);
    txRoot = r;
  }
}

function __remove(start: number, end: number): number {
  const leaf = txRoot === 0 ? 0 : walk(start);
  const j = leaf === 0 ? 0 : pathIdx[depth - 1]!;
  if (leaf === 0 || j >= n_count(leaf) || n_start(leaf, j) !== start || n_end(leaf, j) !== end) {
    const found =
      leaf !== 0 && j < n_count(leaf) ? `[${n_start(leaf, j)}, ${n_end(leaf, j)})` : 'nothing';
    throw new InvariantViolation(
      `vt_txn_remove [${start}, ${end}): no such entry (found ${found})`,
    );
  }
  const v = n_slot(leaf, j);
  make_path_writable();
  remove_at(pathNode[depth - 1]!, j);
  for (let d = depth - 1; d >= 1; d--) {
    const n = pathNode[d]!;
    const p = pathNode[d - 1]!;
    const i = pathIdx[d - 1]!;
    if (n_count(n) >= VT_MIN) set_summary(p, i, n);
    else rebalance(p, i > 0 ? i - 1 : i);
  }
  const r = txRoot;
  const c = n_count(r);
  if (c === 0) {
    retire(r);
    txRoot = 0;
  } else if (c === 1 && n_level(r) > 0) {
    txRoot = n_slot(r, 0);
    retire(r);
  }
  return v;
}

// ---- the transaction API -------------------------------------------------------------------

function assert_open(what: string): void {
  if (txWord === 0) throw new LockStateError(`${what} outside a transaction (call vt_txn_begin)`);
}

function check_range(what: string, start: number, end: number): void {
  if (
    !Number.isInteger(start) ||
    !Number.isInteger(end) ||
    start < 0 ||
    start >= end ||
    end > VT_LIMIT
  ) {
    throw new InvariantViolation(`${what} [${start}, ${end}): need 0 ≤ start < end ≤ ${VT_LIMIT}`);
  }
}

/** Open a transaction on the tree whose root word is `root`. Caller holds the mmap write lock. */
export function vt_txn_begin(root: number): void {
  if (txWord !== 0)
    throw new LockStateError(`vt_txn_begin: a transaction on root ${txWord} is open`);
  if (!Number.isInteger(root) || root <= 0)
    throw new LockStateError(`vt_txn_begin: root word ${root}`);
  txWord = root;
  txOld = atomic_read(root);
  txRoot = txOld;
}

/** Node sizes for m slots packed VT_FANOUT to a node, the last two sharing the rest (≥ VT_MIN). */
function packed_sizes(m: number): number[] {
  const k = Math.ceil(m / VT_FANOUT);
  if (k <= 1) return [m];
  const sizes = new Array<number>(k).fill(VT_FANOUT);
  const rest = m - (k - 2) * VT_FANOUT; // VT_FANOUT < rest ≤ 2 · VT_FANOUT
  sizes[k - 2] = rest >>> 1;
  sizes[k - 1] = rest - (rest >>> 1);
  return sizes;
}

/**
 * Node sizes for m slots as appending them one by one leaves them: the last node fills up to
 * VT_FANOUT and then splits, keeping SPLIT_LEFT, so every node but the last holds SPLIT_LEFT
 * and the last the rest (VT_FANOUT + 1 - SPLIT_LEFT .. VT_FANOUT). Each split adds a slot to
 * the parent's last node, so every level above follows the same rule.
 */
function appended_sizes(m: number): number[] {
  if (m <= VT_FANOUT) return [m];
  const k = Math.floor((m - (VT_FANOUT + 1 - SPLIT_LEFT)) / SPLIT_LEFT);
  const sizes = new Array<number>(k + 1).fill(SPLIT_LEFT);
  sizes[k] = m - k * SPLIT_LEFT;
  return sizes;
}

/**
 * How vt_txn_build() fills the nodes. `packed`: every node full but the last two of a level,
 * which share the rest (each keeps at least VT_MIN), as the maple tree's bulk mode does when
 * fork() copies an mm: half the nodes of a tree grown by inserts, and often one level less.
 * `appended`: exactly the tree that inserting the entries one by one in address order builds
 * (an mm grown by mmap), without walking it once per entry.
 */
export type VtBuildFill = 'packed' | 'appended';

/**
 * Fill an EMPTY tree with `count` entries at once: entry i is [starts[i], ends[i]) → vmas[i],
 * in increasing address order, not overlapping, the nodes filled as `fill` says (default
 * packed). The nodes are allocated level by level in address order, so neighbours sit next to
 * each other. Like every step of a transaction, nothing is visible before vt_txn_commit().
 */
export function vt_txn_build(
  starts: ArrayLike<number>,
  ends: ArrayLike<number>,
  vmas: ArrayLike<number>,
  fill: VtBuildFill = 'packed',
): void {
  assert_open('vt_txn_build');
  const sizes = fill === 'packed' ? packed_sizes : appended_sizes;
  try {
    const count = starts.length;
    if (txRoot !== 0) throw new InvariantViolation('vt_txn_build: the tree is not empty');
    if (ends.length !== count || vmas.length !== count) {
      throw new InvariantViolation(
        `vt_txn_build: ${count} starts, ${ends.length} ends, ${vmas.length} values`,
      );
    }
    if (count === 0) return;
    let level: number[] = [];
    let i = 0;
    for (const size of sizes(count)) {
      const l = new_node(0);
      for (let k = 0; k < size; k++, i++) {
        const start = starts[i]!;
        const end = ends[i]!;
        const v = vmas[i]!;
        check_range('vt_txn_build', start, end);
        if (i > 0 && start < ends[i - 1]!) {
          throw new InvariantViolation(
            `vt_txn_build [${start}, ${end}): not after [${starts[i - 1]}, ${ends[i - 1]})`,
          );
        }
        if (!Number.isInteger(v) || v === 0)
          throw new InvariantViolation(`vt_txn_build: value ${v}`);
        n_set(l, k, start, end, v, 0);
      }
      n_set_meta(l, size, 0);
      level.push(l);
    }
    for (let h = 1; level.length > 1; h++) {
      if (h >= VT_MAX_HEIGHT)
        throw new InvariantViolation(`vma tree: height ${h + 1} > ${VT_MAX_HEIGHT}`);
      const up: number[] = [];
      let c = 0;
      for (const size of sizes(level.length)) {
        const p = new_node(h);
        for (let k = 0; k < size; k++) set_summary(p, k, level[c++]!);
        n_set_meta(p, size, h);
        up.push(p);
      }
      level = up;
    }
    txRoot = level[0]!;
  } catch (e) {
    vt_txn_abort();
    throw e;
  }
}

/** Store [start, end) → vma. The range must be empty. */
export function vt_txn_insert(start: number, end: number, vma: number): void {
  assert_open('vt_txn_insert');
  try {
    check_range('vt_txn_insert', start, end);
    if (!Number.isInteger(vma) || vma === 0)
      throw new InvariantViolation(`vt_txn_insert: value ${vma}`);
    __insert(start, end, vma);
  } catch (e) {
    vt_txn_abort();
    throw e;
  }
}

/** Remove the entry stored as exactly [start, end). Returns its value. */
export function vt_txn_remove(start: number, end: number): number {
  assert_open('vt_txn_remove');
  try {
    check_range('vt_txn_remove', start, end);
    return __remove(start, end);
  } catch (e) {
    vt_txn_abort();
    throw e;
  }
}

/**
 * Publish the working version with one RELEASE store of the root word (pairs with the ACQUIRE
 * load in every reader), then hand the nodes it replaced to call_rcu. Returns how many nodes
 * were retired.
 */
export function vt_txn_commit(): number {
  assert_open('vt_txn_commit');
  const word = txWord;
  if (atomic_read(word) !== txOld) {
    vt_txn_abort();
    throw new LockStateError(
      `vt_txn_commit: root ${word} changed during the transaction (unserialized writers)`,
    );
  }
  if (txRoot !== txOld) atomic_set(word, txRoot); // RELEASE: pairs with load_root() in readers
  const list = retired;
  retired = [];
  fresh.clear();
  txWord = 0;
  trace(EV.VMA_TREE_COMMIT, txRoot, list.length);
  if (list.length > 0) {
    // Readers that loaded the old root inside rcu_read_lock() may still walk these nodes: they
    // go back to the slab only after a grace period. The broken variant frees them at once.
    if (bug_on(BUG.INDEX_FREE_NO_RCU)) for (const n of list) node_free(n);
    else node_free_rcu(list);
  }
  return list.length;
}

/** Drop the open transaction (if any): free its fresh nodes; nothing was published. */
export function vt_txn_abort(): boolean {
  if (txWord === 0) return false;
  for (const n of fresh) give_node(n);
  fresh.clear();
  retired = [];
  trace(EV.VMA_TREE_ABORT, txWord, 0);
  txWord = 0;
  txRoot = 0;
  return true;
}

/**
 * Forget any open transaction without touching memory: its fresh nodes belong to a buffer this
 * thread is leaving (a worker reused for a new run after an abort unwound mid-transaction).
 */
export function __vt_txn_forget(): void {
  reserve.length = 0;
  reserveHeld = false;
  fresh.clear();
  retired = [];
  txWord = 0;
  txOld = 0;
  txRoot = 0;
}

export function vt_txn_open(): boolean {
  return txWord !== 0;
}

/** The working root node of the open transaction (for vt_check_node in tests). */
export function vt_txn_root(): number {
  assert_open('vt_txn_root');
  return txRoot;
}

/** One-operation transaction: store [start, end) → vma. */
export function vt_insert(root: number, start: number, end: number, vma: number): void {
  vt_txn_begin(root);
  vt_txn_insert(start, end, vma);
  vt_txn_commit();
}

/** One-operation transaction: remove the entry stored as [start, end); returns its value. */
export function vt_remove(root: number, start: number, end: number): number {
  vt_txn_begin(root);
  const v = vt_txn_remove(start, end);
  vt_txn_commit();
  return v;
}
