import { describe, expect, it } from 'vitest';
import { ENOMEM, InvariantViolation, LockStateError } from '../../src/errors.js';
import {
  __vt_find,
  VtRange,
  vt_check,
  vt_count,
  vt_find,
  vt_find_gap_topdown,
  vt_find_range,
  vt_for_each,
  vt_height,
  vt_insert,
  vt_lookup,
  vt_lookup_range,
  vt_next,
  vt_next_range,
  vt_nodes_needed,
  vt_remove,
  vt_txn_abort,
  vt_txn_begin,
  vt_txn_build,
  vt_txn_commit,
  vt_txn_insert,
  vt_txn_open,
  vt_txn_remove,
} from '../../src/mm/vma_tree.js';
import { n_count, n_level, n_slot } from '../../src/mm/vma_tree_node.js';
import { atomic_read } from '../../src/sched/atomics.js';
import { arena_alloc } from '../../src/shm/arena.js';
import { VT_LIMIT } from '../../src/shm/layout/index.js';
import { kmem_cache_stats } from '../../src/shm/slab.js';
import {
  rcu_barrier,
  rcu_process_callbacks,
  rcu_read_lock,
  rcu_read_unlock,
} from '../../src/sync/rcu.js';
import { runThreads } from '../helpers/threads.js';
import { type BuildResult, rng, setupTree, type TreeSetup } from '../threads/vma_tree.js';

type Tree = TreeSetup;

/** A fresh arena with RCU, a poisoning node slab and one empty tree. */
function setup(nodes = 4096, sizeMiB = 16): Tree {
  return setupTree({ nodes, sizeMiB });
}

function allocated(t: Tree): number {
  return kmem_cache_stats(t.cache).allocated;
}

/** After every grace period ends, the slab holds exactly the nodes the tree reaches. */
function expectNoLeak(t: Tree): void {
  rcu_barrier();
  expect(allocated(t)).toBe(vt_check(t.root).nodes);
}

function shuffle<T>(a: T[], r: (n: number) => number): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = r(i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

describe('vma tree: lookups at the edges', () => {
  it('an empty tree finds nothing and has one free range', () => {
    const t = setup();
    expect(vt_find(t.root, 0)).toBe(0);
    expect(vt_lookup(t.root, 0)).toBe(0);
    expect(vt_next(t.root, 0)).toBe(0);
    expect(vt_count(t.root)).toBe(0);
    expect(vt_height(t.root)).toBe(0);
    expect(vt_check(t.root)).toEqual({ entries: 0, nodes: 0, height: 0 });
    expect(vt_find_gap_topdown(t.root, 10, 0, 100)).toBe(90);
    expect(vt_find_gap_topdown(t.root, 1, 0, VT_LIMIT)).toBe(VT_LIMIT - 1);
    const out = new VtRange();
    out.vma = 7;
    expect(vt_find_range(t.root, 5, out)).toBe(0);
    expect([out.start, out.end, out.vma]).toEqual([0, 0, 0]);
  });

  it('finds one entry at start, at end-1, never at end', () => {
    const t = setup();
    vt_insert(t.root, 10, 20, 111);
    const out = new VtRange();
    // find_vma: first entry with end > addr
    expect(vt_find(t.root, 0)).toBe(111);
    expect(vt_find(t.root, 9)).toBe(111);
    expect(vt_find(t.root, 10)).toBe(111);
    expect(vt_find(t.root, 19)).toBe(111);
    expect(vt_find(t.root, 20)).toBe(0);
    // vma_lookup: containing entry
    expect(vt_lookup(t.root, 9)).toBe(0);
    expect(vt_lookup_range(t.root, 10, out)).toBe(111);
    expect([out.start, out.end, out.vma]).toEqual([10, 20, 111]);
    expect(vt_lookup(t.root, 19)).toBe(111);
    expect(vt_lookup_range(t.root, 20, out)).toBe(0);
    expect([out.start, out.end, out.vma]).toEqual([0, 0, 0]);
    // next: first entry starting at or after addr
    expect(vt_next(t.root, 0)).toBe(111);
    expect(vt_next(t.root, 10)).toBe(111);
    expect(vt_next(t.root, 11)).toBe(0);
    expect(vt_next(t.root, 19)).toBe(0);
    expect(vt_check(t.root)).toEqual({ entries: 1, nodes: 1, height: 1 });
  });

  it('sees the gap between two entries and iterates in order', () => {
    const t = setup();
    vt_insert(t.root, 30, 40, 222);
    vt_insert(t.root, 10, 20, 111);
    const out = new VtRange();
    expect(vt_lookup(t.root, 20)).toBe(0);
    expect(vt_lookup(t.root, 29)).toBe(0);
    expect(vt_find_range(t.root, 20, out)).toBe(222);
    expect([out.start, out.end]).toEqual([30, 40]);
    expect(vt_next_range(t.root, 15, out)).toBe(222);
    expect([out.start, out.end]).toEqual([30, 40]);
    expect(vt_next(t.root, 30)).toBe(222);
    expect(vt_next(t.root, 31)).toBe(0);
    const seen: number[][] = [];
    expect(vt_for_each(t.root, 0, 100, (s, e, v) => seen.push([s, e, v]))).toBe(2);
    expect(seen).toEqual([
      [10, 20, 111],
      [30, 40, 222],
    ]);
    // overlap semantics: [19, 31) meets both; [20, 30) meets neither
    expect(vt_for_each(t.root, 19, 31, () => {})).toBe(2);
    expect(vt_for_each(t.root, 20, 30, () => {})).toBe(0);
    expect(vt_for_each(t.root, 39, 40, () => {})).toBe(1);
  });

  it('entries may touch: [a,b) then [b,c)', () => {
    const t = setup();
    vt_insert(t.root, 0, 5, 1);
    vt_insert(t.root, 5, 9, 2);
    vt_insert(t.root, 9, VT_LIMIT, 3);
    expect(vt_lookup(t.root, 4)).toBe(1);
    expect(vt_lookup(t.root, 5)).toBe(2);
    expect(vt_lookup(t.root, 9)).toBe(3);
    expect(vt_lookup(t.root, VT_LIMIT - 1)).toBe(3);
    expect(vt_find(t.root, VT_LIMIT)).toBe(0);
    expect(vt_find_gap_topdown(t.root, 1, 0, VT_LIMIT)).toBe(ENOMEM);
  });
});

describe('vma tree: a packed build (vt_txn_build)', () => {
  it('fills nodes to the fan-out, keeps every node at VT_MIN or more, and finds every entry', () => {
    for (const n of [1, 19, 20, 21, 39, 40, 41, 400, 401, 8421]) {
      const t = setup(4096);
      const starts = Array.from({ length: n }, (_, i) => 10 + 3 * i);
      const ends = starts.map((s) => s + 2);
      const vmas = starts.map((_, i) => i + 1);
      vt_txn_begin(t.root);
      vt_txn_build(starts, ends, vmas);
      vt_txn_commit();
      const st = vt_check(t.root); // every node's fill, order and summaries
      expect(st.entries).toBe(n);
      // Packed: as few leaves as the fan-out allows, and the height that follows.
      let level = n;
      let want = 0;
      let height = 0;
      do {
        level = Math.ceil(level / 20);
        want += level;
        height++;
      } while (level > 1);
      expect(st.nodes, `${n} entries`).toBe(want);
      expect(st.height).toBe(height);
      for (let i = 0; i < n; i++) {
        expect(vt_lookup(t.root, starts[i]!)).toBe(i + 1);
        expect(vt_lookup(t.root, starts[i]! + 1)).toBe(i + 1);
        expect(vt_lookup(t.root, starts[i]! + 2)).toBe(0);
      }
      // A packed tree is an ordinary tree: inserts and removes keep it valid.
      vt_insert(t.root, 9, 10, 999_999);
      vt_remove(t.root, starts[0]!, ends[0]!);
      expect(vt_check(t.root).entries).toBe(n);
      expectNoLeak(t);
    }
  });

  it('refuses a non-empty tree, unordered or overlapping entries, and leaves the tree as it was', () => {
    const t = setup();
    vt_txn_begin(t.root);
    expect(() => vt_txn_build([10, 11], [12, 13], [1, 2])).toThrow(/not after/);
    expect(vt_txn_open()).toBe(false);
    vt_txn_begin(t.root);
    expect(() => vt_txn_build([10], [12], [0])).toThrow(InvariantViolation);
    vt_insert(t.root, 1, 2, 7);
    vt_txn_begin(t.root);
    expect(() => vt_txn_build([10], [12], [1])).toThrow(/not empty/);
    expect(vt_check(t.root).entries).toBe(1);
    expectNoLeak(t);
  });
});

/** Slot counts of every node, level by level from the root (the tree's whole shape). */
function shapeOf(root: number): number[][] {
  const levels: number[][] = [];
  let nodes = [atomic_read(root)].filter((n) => n !== 0);
  while (nodes.length > 0) {
    levels.push(nodes.map(n_count));
    if (n_level(nodes[0]!) === 0) break;
    nodes = nodes.flatMap((n) => Array.from({ length: n_count(n) }, (_, i) => n_slot(n, i)));
  }
  return levels;
}

describe('vma tree: an appended build (vt_txn_build, appended)', () => {
  it('builds exactly the tree that inserting the entries in address order builds', () => {
    const t = setup(4096);
    const b = arena_alloc(1, 16, 'second root');
    const sizes = [
      ...Array.from({ length: 45 }, (_, i) => i + 1),
      199,
      200,
      201,
      210,
      211,
      401,
      2101,
      8421,
    ];
    for (const n of sizes) {
      const starts = Array.from({ length: n }, (_, i) => 10 + 3 * i);
      const ends = starts.map((s) => s + 1 + (s & 1));
      const vmas = starts.map((_, i) => i + 1);
      vt_txn_begin(t.root);
      for (let i = 0; i < n; i++) vt_txn_insert(starts[i]!, ends[i]!, vmas[i]!);
      vt_txn_commit();
      vt_txn_begin(b);
      vt_txn_build(starts, ends, vmas, 'appended');
      vt_txn_commit();
      const grown = vt_check(t.root);
      expect(vt_check(b), `${n} entries`).toEqual(grown);
      expect(shapeOf(b), `${n} entries`).toEqual(shapeOf(t.root));
      const got: number[] = [];
      vt_for_each(b, 0, VT_LIMIT, (s, e, v) => got.push(s, e, v));
      expect(got).toEqual(starts.flatMap((s, i) => [s, ends[i]!, vmas[i]!]));
      // An ordinary tree: inserts and removes keep it valid.
      vt_insert(b, 9, 10, 999_999);
      vt_remove(b, starts[0]!, ends[0]!);
      expect(vt_check(b).entries).toBe(n);
      vt_txn_begin(t.root);
      for (let i = 0; i < n; i++) vt_txn_remove(starts[i]!, ends[i]!);
      vt_txn_commit();
      vt_txn_begin(b);
      vt_txn_remove(9, 10);
      for (let i = 1; i < n; i++) vt_txn_remove(starts[i]!, ends[i]!);
      vt_txn_commit();
      rcu_barrier();
      expect(allocated(t)).toBe(0);
    }
  });
});

describe('vma tree: misuse and transactions', () => {
  it('refuses overlaps, bad ranges and missing entries, and leaves the tree as it was', () => {
    const t = setup();
    vt_insert(t.root, 10, 20, 1);
    const before = atomic_read(t.root);
    expect(() => vt_insert(t.root, 19, 25, 2)).toThrow(InvariantViolation);
    expect(() => vt_insert(t.root, 5, 11, 2)).toThrow(/overlaps the stored \[10, 20\)/);
    expect(() => vt_insert(t.root, 12, 13, 2)).toThrow(InvariantViolation);
    expect(() => vt_insert(t.root, 30, 30, 2)).toThrow(/need 0 ≤ start < end/);
    expect(() => vt_insert(t.root, -1, 3, 2)).toThrow(InvariantViolation);
    expect(() => vt_insert(t.root, 30, 40, 0)).toThrow(/value 0/);
    expect(() => vt_remove(t.root, 10, 19)).toThrow(/no such entry \(found \[10, 20\)\)/);
    expect(() => vt_remove(t.root, 20, 30)).toThrow(/found nothing/);
    expect(vt_txn_open()).toBe(false); // each failure aborted its transaction
    expect(atomic_read(t.root)).toBe(before);
    expect(vt_lookup(t.root, 15)).toBe(1);
    expectNoLeak(t);
  });

  it('needs an open transaction, and only one', () => {
    const t = setup();
    expect(() => vt_txn_insert(1, 2, 3)).toThrow(LockStateError);
    expect(() => vt_txn_commit()).toThrow(LockStateError);
    vt_txn_begin(t.root);
    expect(() => vt_txn_begin(t.root)).toThrow(/is open/);
    expect(vt_txn_abort()).toBe(true);
    expect(vt_txn_abort()).toBe(false);
  });

  it('attaching to a new buffer drops a transaction an aborted run left open', () => {
    const t = setup();
    vt_txn_begin(t.root);
    vt_txn_insert(1, 2, 3);
    const u = setup(); // vma_tree_attach on a new arena
    expect(vt_txn_open()).toBe(false);
    vt_insert(u.root, 1, 2, 3);
    expect(vt_lookup(u.root, 1)).toBe(3);
  });

  it('abort publishes nothing and frees every node the transaction made', () => {
    const t = setup();
    for (let i = 0; i < 300; i++) vt_insert(t.root, i * 10, i * 10 + 5, i + 1);
    rcu_barrier();
    const root0 = atomic_read(t.root);
    const nodes0 = allocated(t);
    vt_txn_begin(t.root);
    for (let i = 0; i < 300; i++) vt_txn_insert(i * 10 + 5, i * 10 + 10, 1000 + i);
    for (let i = 0; i < 100; i++) vt_txn_remove(i * 10, i * 10 + 5);
    expect(allocated(t)).toBeGreaterThan(nodes0);
    vt_txn_abort();
    expect(atomic_read(t.root)).toBe(root0);
    expect(allocated(t)).toBe(nodes0);
    expect(vt_count(t.root)).toBe(300);
    expect(vt_lookup(t.root, 7)).toBe(0);
    expectNoLeak(t);
  });

  it('a split (remove one, insert two) is one version: the old root still shows the whole entry', () => {
    const t = setup();
    for (let i = 0; i < 100; i++) vt_insert(t.root, i * 10, i * 10 + 10, i + 1);
    const old = atomic_read(t.root);
    vt_txn_begin(t.root);
    vt_txn_remove(500, 510);
    vt_txn_insert(500, 503, 900);
    vt_txn_insert(503, 510, 901);
    expect(atomic_read(t.root)).toBe(old); // nothing published yet
    vt_txn_commit();
    const out = new VtRange();
    expect(__vt_find(old, 505, out)).toBe(51);
    expect([out.start, out.end]).toEqual([500, 510]);
    expect(vt_lookup_range(t.root, 505, out)).toBe(901);
    expect([out.start, out.end]).toEqual([503, 510]);
    expectNoLeak(t);
  });

  it('frees the replaced nodes only after a grace period', () => {
    const t = setup();
    for (let i = 0; i < 1000; i++) vt_insert(t.root, i * 4, i * 4 + 3, i + 1);
    rcu_barrier();
    const live0 = vt_check(t.root).nodes;
    expect(allocated(t)).toBe(live0);
    expect(vt_height(t.root)).toBe(3);

    rcu_read_lock(); // a reader that loaded the old root
    const old = atomic_read(t.root);
    vt_txn_begin(t.root);
    vt_txn_remove(400, 403);
    const retired = vt_txn_commit(); // the path, and a sibling if the leaf was rebalanced
    expect(retired).toBeGreaterThanOrEqual(3);
    expect(allocated(t)).toBe(vt_check(t.root).nodes + retired);
    expect(rcu_process_callbacks()).toBe(0); // our own read section blocks the grace period
    expect(allocated(t)).toBe(vt_check(t.root).nodes + retired);
    expect(__vt_find(old, 400, new VtRange())).toBe(101); // the old version is intact
    rcu_read_unlock();

    rcu_barrier();
    expect(allocated(t)).toBe(vt_check(t.root).nodes);
    expect(vt_lookup(t.root, 400)).toBe(0);
  });

  it('copies a node touched twice in one transaction only once', () => {
    const t = setup();
    for (let i = 0; i < 1000; i++) vt_insert(t.root, i * 4, i * 4 + 3, i + 1);
    rcu_barrier();
    const before = allocated(t);
    vt_txn_begin(t.root);
    // four changes in one leaf (entries 100..109, 10 of them: no split, no rebalance): the
    // root-to-leaf path is copied once
    vt_txn_insert(423, 424, 7000);
    vt_txn_remove(420, 423);
    vt_txn_insert(420, 421, 7001);
    vt_txn_insert(421, 423, 7002);
    expect(allocated(t) - before).toBe(3);
    expect(vt_txn_commit()).toBe(3);
    expectNoLeak(t);
  });
});

describe('vma tree: many entries', () => {
  it('inserts and removes 5,000 entries in random order, staying balanced and exact', () => {
    const t = setup(8192);
    const r = rng(42);
    const n = 5000;
    const order = shuffle(
      Array.from({ length: n }, (_, i) => i),
      r,
    );
    for (const i of order) vt_insert(t.root, i * 3, i * 3 + 2, i + 1);
    const st = vt_check(t.root);
    expect(st.entries).toBe(n);
    for (let k = 0; k < 2000; k++) {
      const a = r(n * 3 + 5);
      const i = Math.floor(a / 3);
      expect(vt_lookup(t.root, a)).toBe(i < n && a % 3 < 2 ? i + 1 : 0);
      expect(vt_find(t.root, a)).toBe(i < n ? (a % 3 < 2 ? i + 1 : i + 2 <= n ? i + 2 : 0) : 0);
    }
    for (const i of order.slice(0, n / 2)) vt_remove(t.root, i * 3, i * 3 + 2);
    expect(vt_check(t.root).entries).toBe(n / 2);
    for (const i of order.slice(n / 2)) vt_remove(t.root, i * 3, i * 3 + 2);
    expect(vt_check(t.root).entries).toBe(0);
    expect(atomic_read(t.root)).toBe(0);
    expectNoLeak(t);
    expect(allocated(t)).toBe(0);
  });

  it('finds the highest free range that fits, as a scan of every gap does', () => {
    const t = setup(8192);
    const r = rng(7);
    const starts: Array<[number, number]> = [];
    let a = 5;
    for (let i = 0; i < 3000; i++) {
      const len = 1 + r(8);
      starts.push([a, a + len]);
      a += len + (r(4) === 0 ? r(40) : 0);
    }
    vt_txn_begin(t.root);
    for (const [s, e] of starts) vt_txn_insert(s, e, s + 1);
    vt_txn_commit();
    const brute = (pages: number, low: number, high: number): number => {
      // free ranges, highest first
      const free: Array<[number, number]> = [];
      let prev = 0;
      for (const [s, e] of starts) {
        free.push([prev, s]);
        prev = e;
      }
      free.push([prev, VT_LIMIT]);
      for (let k = free.length - 1; k >= 0; k--) {
        const lo = Math.max(free[k]![0], low);
        const hi = Math.min(free[k]![1], high);
        if (hi - lo >= pages) return hi - pages;
      }
      return ENOMEM;
    };
    const top = a + 10;
    for (let k = 0; k < 3000; k++) {
      const pages = 1 + r(45);
      const low = r(top);
      const high = low + r(top - low + 1);
      expect(vt_find_gap_topdown(t.root, pages, low, high)).toBe(brute(pages, low, high));
    }
    expect(vt_find_gap_topdown(t.root, 1, 0, VT_LIMIT)).toBe(VT_LIMIT - 1);
    expect(vt_find_gap_topdown(t.root, 5, 0, 5)).toBe(0);
    expect(vt_find_gap_topdown(t.root, 6, 0, 5)).toBe(ENOMEM);
    expect(() => vt_find_gap_topdown(t.root, 0, 0, 5)).toThrow(InvariantViolation);
    expect(() => vt_find_gap_topdown(t.root, 1, 6, 5)).toThrow(InvariantViolation);
  });
});

describe('vma tree: 100,000 entries (1,000,000: test/stress/vma_tree_1m.test.ts)', () => {
  it('stays logarithmic and looks up 10,000 random addresses exactly', async () => {
    const n = 100_000;
    const t = setupTree({ nodes: vt_nodes_needed(n) + 10_000, sizeMiB: 32 });
    // Built in a worker: the compiled code runs several times faster than under vitest's
    // module transform (every imported call becomes a getter call there).
    const results = (await runThreads(
      t.sab,
      'test/threads/vma_tree',
      [
        {
          taskId: 1,
          fn: 'buildAndProbeThread',
          args: { root: t.root, cache: t.cache, n, batch: 5_000, probes: 10_000 },
        },
      ],
      120_000,
    )) as BuildResult[];
    const st = results[0]!;
    expect(st.entries).toBe(n);
    expect(st.wrong).toBe(0);
    // a height-6 tree needs 2 · VT_MIN^5 = 200,000 entries
    expect(st.height).toBeLessThanOrEqual(5);
    expect(vt_height(t.root)).toBe(st.height);
    expect(kmem_cache_stats(t.cache).allocated).toBe(st.nodes);
  });
});
