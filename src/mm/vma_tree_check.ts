// vt_check: the VMA index's invariants, walked from one published root (validate_mm() for the
// maple tree). Live in tests and stress runs. Call it under the mmap lock or rcu_read_lock().
//
// Memory ordering: as the readers (vma_tree_read.ts): one ACQUIRE load of the root, pairing
// with the RELEASE store in vt_txn_commit(), then plain loads of immutable nodes.

import { InvariantViolation } from '../errors.js';
import { atomic_read } from '../sched/atomics.js';
import {
  VT_FANOUT,
  VT_LIMIT,
  VT_MAX_HEIGHT,
  VT_META_TAG_SHIFT,
  VT_MIN,
  VT_NODE_TAG,
} from '../shm/layout/index.js';
import {
  n_end,
  n_gap,
  n_inner_gap,
  n_meta,
  n_slot,
  n_start,
  vt_meta_count,
  vt_meta_level,
} from './vma_tree_node.js';

export interface VtStats {
  /** entries */
  readonly entries: number;
  /** nodes reachable from the root */
  readonly nodes: number;
  /** levels (0 when empty) */
  readonly height: number;
}

let lastEnd = 0;
let nodes = 0;
let seen = new Set<number>();

function fail(n: number, what: string): never {
  throw new InvariantViolation(`vma tree: node ${n}: ${what}`);
}

/** Check the subtree at n (at `level`), return its entry count. */
function check_node(n: number, level: number, isRoot: boolean): number {
  if (n <= 0) fail(n, 'NULL or negative child pointer');
  if (seen.has(n)) fail(n, 'reachable twice');
  seen.add(n);
  nodes++;
  const meta = n_meta(n);
  if (meta >>> VT_META_TAG_SHIFT !== VT_NODE_TAG)
    fail(n, `bad tag in meta 0x${(meta >>> 0).toString(16)}`);
  if (vt_meta_level(meta) !== level)
    fail(n, `level ${vt_meta_level(meta)}, expected ${level} (unbalanced)`);
  const c = vt_meta_count(meta);
  const min = isRoot ? (level === 0 ? 1 : 2) : VT_MIN;
  if (c < min || c > VT_FANOUT) fail(n, `holds ${c} slots; allowed ${min}..${VT_FANOUT}`);
  if (level === 0) {
    for (let i = 0; i < c; i++) {
      const s = n_start(n, i);
      const e = n_end(n, i);
      if (!(s >= 0 && s < e && e <= VT_LIMIT)) fail(n, `entry ${i} [${s}, ${e}) is not a range`);
      if (s < lastEnd) fail(n, `entry ${i} [${s}, ${e}) overlaps or precedes the end ${lastEnd}`);
      if (n_slot(n, i) === 0) fail(n, `entry ${i} [${s}, ${e}) stores NULL`);
      lastEnd = e;
    }
    return c;
  }
  let k = 0;
  for (let i = 0; i < c; i++) {
    const child = n_slot(n, i);
    k += check_node(child, level - 1, false);
    const cc = vt_meta_count(n_meta(child));
    const s = n_start(child, 0);
    const e = n_end(child, cc - 1);
    const g = n_inner_gap(child);
    if (n_start(n, i) !== s || n_end(n, i) !== e || n_gap(n, i) !== g) {
      fail(
        n,
        `slot ${i} summary (${n_start(n, i)}, ${n_end(n, i)}, gap ${n_gap(n, i)}) differs from its child's (${s}, ${e}, gap ${g})`,
      );
    }
  }
  return k;
}

/** Check the subtree whose root node is n (0: empty). Throws InvariantViolation. */
export function vt_check_node(n: number): VtStats {
  lastEnd = 0;
  nodes = 0;
  seen = new Set<number>();
  if (n === 0) return { entries: 0, nodes: 0, height: 0 };
  const level = vt_meta_level(n_meta(n));
  if (level >= VT_MAX_HEIGHT) fail(n, `root level ${level} ≥ ${VT_MAX_HEIGHT}`);
  const entries = check_node(n, level, true);
  seen = new Set<number>();
  return { entries, nodes, height: level + 1 };
}

/**
 * Invariants: every node live (tag), counts within bounds (fill), all leaves at one depth
 * (balanced), entries sorted and non-overlapping ranges with non-NULL values, and each parent
 * slot's (start, end, gap) summary equal to its child's. Returns the tree's size figures.
 */
export function vt_check(root: number): VtStats {
  // ACQUIRE: pairs with the RELEASE store in vt_txn_commit().
  return vt_check_node(atomic_read(root));
}
