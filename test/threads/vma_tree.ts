// Thread bodies for the VMA index tests (test/stress/vma_tree.test.ts), and the set-up helpers
// the unit and stress tests share (they run in the main thread).
//
// The concurrent test: one writer keeps rewriting a tree that always covers [0, span) exactly
// (each transaction replaces a run of adjacent entries by a new partition of the same pages:
// splits, merges, moved boundaries, several VMAs at once); readers look up random pages under
// rcu_read_lock() and must always find an entry containing the page, with a sane stored range,
// and now and then walk the whole tree and find no gap at all.

import { InvariantViolation } from '../../src/errors.js';
import {
  VtRange,
  vma_tree_attach,
  vma_tree_create_cache,
  vma_tree_init,
  vt_check,
  vt_find,
  vt_for_each,
  vt_lookup_range,
  vt_txn_begin,
  vt_txn_commit,
  vt_txn_insert,
  vt_txn_remove,
} from '../../src/mm/vma_tree.js';
import { atomic_read, atomic_set } from '../../src/sched/atomics.js';
import { check_abort, current_id, task_attach } from '../../src/sched/task.js';
import { arena_alloc, createArena } from '../../src/shm/arena.js';
import {
  rcu_barrier,
  rcu_init,
  rcu_process_callbacks,
  rcu_read_lock,
  rcu_read_unlock,
} from '../../src/sync/rcu.js';

/** Deterministic xorshift32: r(n) is in [0, n). */
export function rng(seed: number): (n: number) => number {
  let x = seed | 0 || 1;
  return (n: number) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

export interface TreeSetup {
  readonly sab: SharedArrayBuffer;
  readonly root: number;
  readonly cache: number;
}

/** Main thread: an arena with RCU, a node slab and one empty tree. */
export function setupTree(opts: {
  readonly nodes: number;
  readonly sizeMiB: number;
  readonly maxTasks?: number;
  readonly poison?: boolean;
}): TreeSetup {
  const a = createArena({ sizeMiB: opts.sizeMiB, maxTasks: opts.maxTasks ?? 4, padding: false });
  task_attach(0);
  rcu_init();
  const cache = vma_tree_create_cache(opts.nodes, { poison: opts.poison ?? true });
  vma_tree_attach(cache);
  const root = arena_alloc(1, 16, 'mm');
  vma_tree_init(root);
  return { sab: a.sab, root, cache };
}

export interface BuildResult {
  readonly entries: number;
  readonly nodes: number;
  readonly height: number;
  /** probes whose vt_lookup_range or vt_find answer differed from the arithmetic truth */
  readonly wrong: number;
}

/**
 * Insert n entries, entry i = [3i, 3i + 1 + (i & 1)) → i + 1, in a random order, `batch` per
 * transaction; then look up `probes` random pages and count wrong answers.
 */
export function buildAndProbe(root: number, n: number, batch: number, probes: number): BuildResult {
  const r = rng(1234);
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = r(i + 1);
    const x = order[i]!;
    order[i] = order[j]!;
    order[j] = x;
  }
  for (let b = 0; b < n; b += batch) {
    vt_txn_begin(root);
    for (let k = b; k < Math.min(n, b + batch); k++) {
      const i = order[k]!;
      vt_txn_insert(3 * i, 3 * i + 1 + (i & 1), i + 1);
    }
    vt_txn_commit();
    rcu_process_callbacks();
  }
  rcu_barrier();
  const st = vt_check(root);
  const out = new VtRange();
  let wrong = 0;
  for (let k = 0; k < probes; k++) {
    const a = r(3 * n + 3);
    const i = Math.floor(a / 3);
    const end = 3 * i + 1 + (i & 1);
    const inside = i < n && a < end;
    const v = vt_lookup_range(root, a, out);
    if (v !== (inside ? i + 1 : 0)) wrong++;
    else if (inside && (out.start !== 3 * i || out.end !== end)) wrong++;
    if (vt_find(root, a) !== (inside ? i + 1 : i + 1 < n ? i + 2 : 0)) wrong++;
  }
  return { ...st, wrong };
}

/**
 * buildAndProbe in a worker thread. Tests run big builds here rather than in the test file:
 * vitest's module transform turns every imported call into a getter call, which makes tight
 * loops several times slower than the compiled code a worker runs.
 */
export function buildAndProbeThread(a: {
  readonly root: number;
  readonly cache: number;
  readonly n: number;
  readonly batch: number;
  readonly probes: number;
}): BuildResult {
  vma_tree_attach(a.cache);
  return buildAndProbe(a.root, a.n, a.batch, a.probes);
}

// ---- the concurrent test -----------------------------------------------------------------

/** The value stored for an entry starting at page s: lets a reader tie value and range. */
export function valueFor(s: number): number {
  return s + 1;
}

/** Main thread: cover [0, span) with entries of 1..2·avg-1 pages, in one transaction. */
export function coverSpan(t: TreeSetup, span: number, avg: number, seed: number): number[] {
  const r = rng(seed);
  const bounds = [0];
  let s = 0;
  while (s < span) {
    s = Math.min(span, s + 1 + r(2 * avg - 1));
    bounds.push(s);
  }
  vt_txn_begin(t.root);
  for (let i = 0; i + 1 < bounds.length; i++) {
    vt_txn_insert(bounds[i]!, bounds[i + 1]!, valueFor(bounds[i]!));
  }
  vt_txn_commit();
  rcu_barrier();
  return bounds;
}

export interface WriterArgs {
  readonly root: number;
  readonly cache: number;
  readonly done: number;
  readonly bounds: number[];
  readonly ops: number;
  readonly seed: number;
}

export interface WriterResult {
  readonly ops: number;
  readonly removed: number;
  readonly inserted: number;
  /** the writer's own record of the final boundaries: entry i = [bounds[i], bounds[i + 1]) */
  readonly bounds: number[];
}

/**
 * The writer (it alone writes: it is its own "mmap write lock"). Each op replaces a run of
 * 1..4 adjacent entries by a random partition of the same pages into 1..4 entries, in one
 * transaction. Runs exactly `ops` ops, then sets `done` and waits out its grace periods.
 */
export function writer(a: WriterArgs): WriterResult {
  vma_tree_attach(a.cache);
  const r = rng(a.seed);
  const b = a.bounds.slice(); // entry i = [b[i], b[i + 1])
  let removed = 0;
  let inserted = 0;
  const cuts: number[] = [];
  for (let op = 0; op < a.ops; op++) {
    const entries = b.length - 1;
    const i = r(entries);
    const run = Math.min(1 + r(4), entries - i);
    const lo = b[i]!;
    const hi = b[i + run]!;
    // a new partition of [lo, hi): up to 3 distinct cut points inside it
    cuts.length = 0;
    const want = Math.min(r(4), hi - lo - 1);
    while (cuts.length < want) {
      const c = lo + 1 + r(hi - lo - 1);
      if (!cuts.includes(c)) cuts.push(c);
    }
    cuts.sort((x, y) => x - y);
    vt_txn_begin(a.root);
    for (let k = i; k < i + run; k++) vt_txn_remove(b[k]!, b[k + 1]!);
    let s = lo;
    for (const c of [...cuts, hi]) {
      vt_txn_insert(s, c, valueFor(s));
      s = c;
    }
    vt_txn_commit();
    removed += run;
    inserted += cuts.length + 1;
    b.splice(i + 1, run - 1, ...cuts);
    if ((op & 15) === 0) {
      rcu_process_callbacks();
      check_abort();
    }
  }
  atomic_set(a.done, 1);
  rcu_barrier();
  return { ops: a.ops, removed, inserted, bounds: b };
}

export interface ReaderArgs {
  readonly root: number;
  readonly done: number;
  readonly span: number;
  /** lookups each reader makes at least, even if the writer finished first */
  readonly minLookups: number;
  readonly seed: number;
}

export interface ReaderResult {
  readonly task: number;
  readonly lookups: number;
  /** lookups that found no entry, or one not containing the page, or a bad range or value */
  readonly failures: number;
  /** full walks of [0, span) */
  readonly walks: number;
  /** walks that found a gap, an overlap or an entry outside [0, span) */
  readonly walkFailures: number;
  /** InvariantViolations thrown by a lookup (a freed, poisoned node met under RCU) */
  readonly poisoned: number;
  /** the first failure seen, for the report */
  readonly first: string;
}

/** A reader: random lookups inside rcu_read_lock(), 32 per read section; a full walk now and then. */
export function reader(a: ReaderArgs): ReaderResult {
  const r = rng(a.seed);
  const out = new VtRange();
  let lookups = 0;
  let failures = 0;
  let walks = 0;
  let walkFailures = 0;
  let poisoned = 0;
  let first = '';
  const note = (what: string): void => {
    if (first === '') first = what;
  };
  for (let round = 0; atomic_read(a.done) === 0 || lookups < a.minLookups; round++) {
    rcu_read_lock();
    try {
      for (let k = 0; k < 32; k++) {
        const addr = r(a.span);
        lookups++;
        const v = vt_lookup_range(a.root, addr, out);
        if (
          v === 0 ||
          !(out.start <= addr && addr < out.end) ||
          out.start < 0 ||
          out.end > a.span ||
          v !== valueFor(out.start)
        ) {
          failures++;
          note(`lookup(${addr}) → ${v} [${out.start}, ${out.end})`);
        }
      }
      if ((round & 63) === 0) {
        walks++;
        let expect = 0;
        let bad = false;
        vt_for_each(a.root, 0, a.span, (s, e, v) => {
          if (s !== expect || e <= s || e > a.span || v !== valueFor(s)) bad = true;
          expect = e;
        });
        if (bad || expect !== a.span) {
          walkFailures++;
          note(`walk ended at ${expect} (bad entry: ${bad})`);
        }
      }
    } catch (e) {
      if (!(e instanceof InvariantViolation)) throw e;
      poisoned++;
      note(e.message);
    } finally {
      rcu_read_unlock();
    }
    if ((round & 255) === 0) check_abort();
  }
  return { task: current_id(), lookups, failures, walks, walkFailures, poisoned, first };
}
