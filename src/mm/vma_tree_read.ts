// VMA index readers: find_vma, vma_lookup, the next entry, range walks, the top-down gap search.
//
// Memory ordering: each call loads the root ONCE with an ACQUIRE load (rcu_dereference), which
// pairs with the RELEASE store in vt_txn_commit(); everything reachable from that root was
// written before the store and stays unchanged until a grace period after it is replaced, so
// one call sees exactly one published version of the tree, never a half-built one and never a
// mix of two. Callers hold rcu_read_lock() (or the mmap lock, which excludes writers); two calls
// may see two different versions.
//
// Contract, as the kernel's lockless VMA lookup: a reader may see the tree as it was before a
// concurrent transaction or as it is after it, never an intermediate state, so it never sees a
// false gap inside a range that both versions cover.

import { ENOMEM, InvariantViolation } from '../errors.js';
import { atomic_read, atomic_read_once } from '../sched/atomics.js';
import { VT_LIMIT, VT_MAX_HEIGHT } from '../shm/layout/index.js';
import {
  n_end,
  n_first_end_above,
  n_gap,
  n_meta,
  n_slot,
  n_start,
  vt_bad_node,
  vt_meta_count,
  vt_meta_level,
  vt_meta_ok,
} from './vma_tree_node.js';

/** An entry as stored in the tree. Reuse one per caller: lookups fill it without allocating. */
export class VtRange {
  /** first page (inclusive) */
  start = 0;
  /** end page (exclusive) */
  end = 0;
  /** the stored value (a VMA pointer), 0 when nothing was found */
  vma = 0;
}

const scratch = new VtRange();

/** rcu_dereference(root): ACQUIRE, pairs with the RELEASE store in vt_txn_commit(). */
function load_root(root: number): number {
  return atomic_read(root);
}

/** The slot index in the leaf the last vt_descend() returned (valid only when it returned a leaf). */
let foundIdx = 0;

/**
 * The one descent every lookup shares: from node n (a root loaded once), the leaf holding the
 * first entry with end > addr, its index left in foundIdx; 0 when no entry ends above addr.
 * Levels must fall by one per step, so a corrupted tree can not loop. Module state instead of
 * an out-object: the fault path's walk fills nothing it does not read.
 */
function vt_descend(n: number, addr: number): number {
  let above = VT_MAX_HEIGHT;
  while (n !== 0) {
    const meta = n_meta(n);
    const level = vt_meta_level(meta);
    if (!vt_meta_ok(meta) || level >= above) vt_bad_node(n, meta);
    above = level;
    const c = vt_meta_count(meta);
    const i = n_first_end_above(n, c, addr);
    if (i === c) return 0;
    if (level === 0) {
      foundIdx = i;
      return n;
    }
    n = n_slot(n, i);
  }
  return 0;
}

/**
 * From node n (a root loaded once), the first entry with end > addr. Fills `out` (zeros when
 * none) and returns its value or 0.
 */
export function __vt_find(n: number, addr: number, out: VtRange): number {
  const leaf = vt_descend(n, addr);
  if (leaf === 0) {
    out.start = 0;
    out.end = 0;
    out.vma = 0;
    return 0;
  }
  const i = foundIdx;
  const s = n_slot(leaf, i);
  out.start = n_start(leaf, i);
  out.end = n_end(leaf, i);
  out.vma = s;
  return s;
}

/** find_vma(): the first entry with end > addr, or 0. */
export function vt_find(root: number, addr: number): number {
  return __vt_find(load_root(root), addr, scratch);
}

/** find_vma() that also reports the entry's stored [start, end) in `out`. */
export function vt_find_range(root: number, addr: number, out: VtRange): number {
  return __vt_find(load_root(root), addr, out);
}

/**
 * rcu_dereference(root) for the fault path's walk: a plain load (still a schedule point), as the
 * kernel's rcu_dereference is READ_ONCE with dependency ordering. The node loads that follow
 * take their addresses from its value, and every CPU V8 runs on orders a load after the load its
 * address depends on (x86 keeps all loads in order; arm64 keeps address-dependent ones), and no
 * JIT speculates an address. The JS memory model has no such "consume" ordering, so the load is
 * used only where the result is checked again under an ACQUIRE: every vt_lookup() caller is
 * either under the mmap lock (whose acquisition orders the root) or re-checks what it found
 * after vma_start_read()'s ACQUIRE increment (vm_mm, vm_lock_seq, the range) or under the
 * page-table lock (srcu_spf), so a stale VMA pointer cannot give a wrong lock. In the formal
 * model a reader could still see a fresh node's words before their initialising stores, and
 * vt_descend's node check would throw (vt_bad_node): a false report, not a silent error; on the
 * hardware V8 runs on it cannot happen. The other readers keep the ACQUIRE load (load_root).
 */
function load_root_dep(root: number): number {
  return atomic_read_once(root);
}

/** vma_lookup(): the entry whose [start, end) contains addr, or 0. The fault path's walk. */
export function vt_lookup(root: number, addr: number): number {
  const leaf = vt_descend(load_root_dep(root), addr);
  if (leaf === 0) return 0;
  const i = foundIdx;
  return n_start(leaf, i) <= addr ? n_slot(leaf, i) : 0;
}

/** vma_lookup() that also reports the entry's stored range in `out` (zeros when none). */
export function vt_lookup_range(root: number, addr: number, out: VtRange): number {
  const v = __vt_find(load_root(root), addr, out);
  if (v !== 0 && out.start <= addr) return v;
  out.start = 0;
  out.end = 0;
  out.vma = 0;
  return 0;
}

/**
 * The first entry that starts at or after addr (an entry containing addr but starting below it
 * is skipped), or 0. Iterate as /proc/maps does with `addr = out.end` after each entry.
 */
export function vt_next(root: number, addr: number): number {
  return vt_next_range(root, addr, scratch);
}

export function vt_next_range(root: number, addr: number, out: VtRange): number {
  const n = load_root(root);
  const v = __vt_find(n, addr, out);
  if (v === 0 || out.start >= addr) return v;
  // out contains addr: the next entry is the first one ending above it (same version: same n).
  return __vt_find(n, out.end, out);
}

/**
 * Call fn for each entry that overlaps [start, end), in address order, all from one version of
 * the tree. Returns how many it called fn for. fn runs inside the caller's read section.
 */
export function vt_for_each(
  root: number,
  start: number,
  end: number,
  fn: (start: number, end: number, vma: number) => void,
): number {
  const n = load_root(root);
  const r = new VtRange();
  let k = 0;
  let addr = start;
  while (addr < end) {
    const v = __vt_find(n, addr, r);
    if (v === 0 || r.start >= end) break;
    fn(r.start, r.end, v);
    k++;
    addr = r.end;
  }
  return k;
}

/** Number of entries (walks every node: O(n / VT_FANOUT)). */
export function vt_count(root: number): number {
  const n = load_root(root);
  return n === 0 ? 0 : count_under(n);
}

function count_under(n: number): number {
  const meta = n_meta(n);
  if (!vt_meta_ok(meta)) vt_bad_node(n, meta);
  const c = vt_meta_count(meta);
  if (vt_meta_level(meta) === 0) return c;
  let k = 0;
  for (let i = 0; i < c; i++) k += count_under(n_slot(n, i));
  return k;
}

/** Levels from the root to the leaves: 0 for an empty tree, 1 for a lone leaf. */
export function vt_height(root: number): number {
  const n = load_root(root);
  return n === 0 ? 0 : vt_meta_level(n_meta(n)) + 1;
}

// ---- the top-down gap search (unmapped_area_topdown / mas_empty_area_rev) -----------------

let gPages = 0;
let gLow = 0;
let gHigh = 0;

/** Highest start of `gPages` pages inside free range [gs, ge) ∩ [gLow, gHigh), or -1. */
function window_fit(gs: number, ge: number): number {
  const lo = Math.max(gs, gLow);
  const hi = Math.min(ge, gHigh);
  return hi - lo >= gPages ? hi - gPages : -1;
}

/** Highest fit among the free ranges strictly between entries under node n, or -1. */
function gap_under(n: number): number {
  const meta = n_meta(n);
  if (!vt_meta_ok(meta)) vt_bad_node(n, meta);
  const leaf = vt_meta_level(meta) === 0;
  for (let i = vt_meta_count(meta) - 1; i >= 0; i--) {
    if (!leaf && n_gap(n, i) >= gPages) {
      // Child i's inner gaps lie inside [start[i], end[i]); skip it unless that meets the window.
      const lo = Math.max(n_start(n, i), gLow);
      const hi = Math.min(n_end(n, i), gHigh);
      if (hi - lo >= gPages) {
        const r = gap_under(n_slot(n, i));
        if (r >= 0) return r;
      }
    }
    if (i === 0) break;
    const ge = n_start(n, i);
    // Every free range from here down ends at or below ge.
    if (ge - gLow < gPages) return -1;
    const r = window_fit(n_end(n, i - 1), ge);
    if (r >= 0) return r;
  }
  return -1;
}

/**
 * The highest page a such that [a, a + pages) is free and inside [low, high); ENOMEM if there
 * is none. For mmap(addr = 0): read under the mmap lock (or rcu_read_lock for a hint).
 */
export function vt_find_gap_topdown(
  root: number,
  pages: number,
  low: number,
  high: number,
): number {
  if (
    !Number.isInteger(pages) ||
    !Number.isInteger(low) ||
    !Number.isInteger(high) ||
    pages < 1 ||
    low < 0 ||
    high > VT_LIMIT ||
    low > high
  ) {
    throw new InvariantViolation(
      `vt_find_gap_topdown: pages ${pages} in [${low}, ${high}): need pages ≥ 1, 0 ≤ low ≤ high ≤ ${VT_LIMIT}`,
    );
  }
  gPages = pages;
  gLow = low;
  gHigh = high;
  const n = load_root(root);
  if (n === 0) return or_enomem(window_fit(0, VT_LIMIT));
  const meta = n_meta(n);
  if (!vt_meta_ok(meta)) vt_bad_node(n, meta);
  const c = vt_meta_count(meta);
  let r = window_fit(n_end(n, c - 1), VT_LIMIT);
  if (r < 0) r = gap_under(n);
  if (r < 0) r = window_fit(0, n_start(n, 0));
  return or_enomem(r);
}

function or_enomem(r: number): number {
  return r >= 0 ? r : ENOMEM;
}
