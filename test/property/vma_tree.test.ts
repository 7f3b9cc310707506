// The VMA index against a plain sorted array: random sequences of insert, remove, split (one
// entry → two in one transaction), merge (two → one in one transaction), munmap (several → none
// in one transaction) and aborted transactions, checked after every step. fast-check shrinks a
// failing sequence to a minimal one.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ENOMEM } from '../../src/errors.js';
import {
  VtRange,
  vma_tree_attach,
  vma_tree_create_cache,
  vma_tree_init,
  vt_check,
  vt_count,
  vt_find_gap_topdown,
  vt_find_range,
  vt_for_each,
  vt_lookup_range,
  vt_next_range,
  vt_txn_abort,
  vt_txn_begin,
  vt_txn_commit,
  vt_txn_insert,
  vt_txn_remove,
} from '../../src/mm/vma_tree.js';
import { task_attach } from '../../src/sched/task.js';
import { arena_alloc, createArena } from '../../src/shm/arena.js';
import { VT_LIMIT } from '../../src/shm/layout/index.js';
import { kmem_cache_stats } from '../../src/shm/slab.js';
import { rcu_barrier, rcu_init } from '../../src/sync/rcu.js';

/** Pages the model spreads entries over: small, so entries touch and gaps close. */
const SPACE = 4000;

interface Entry {
  start: number;
  end: number;
  vma: number;
}

type Op =
  | { kind: 'insert'; at: number; len: number }
  | { kind: 'remove'; k: number }
  | { kind: 'split'; k: number; cut: number }
  | { kind: 'merge'; k: number }
  | { kind: 'munmap'; k: number; n: number }
  | { kind: 'aborted'; at: number; len: number; k: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant('insert' as const),
      at: fc.nat(SPACE - 1),
      len: fc.integer({ min: 1, max: 40 }),
    }),
    weight: 5,
  },
  { arbitrary: fc.record({ kind: fc.constant('remove' as const), k: fc.nat() }), weight: 1 },
  {
    arbitrary: fc.record({ kind: fc.constant('split' as const), k: fc.nat(), cut: fc.nat() }),
    weight: 2,
  },
  { arbitrary: fc.record({ kind: fc.constant('merge' as const), k: fc.nat() }), weight: 2 },
  {
    arbitrary: fc.record({
      kind: fc.constant('munmap' as const),
      k: fc.nat(),
      n: fc.integer({ min: 1, max: 30 }),
    }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('aborted' as const),
      at: fc.nat(SPACE - 1),
      len: fc.integer({ min: 1, max: 40 }),
      k: fc.nat(),
    }),
    weight: 1,
  },
);

/** Index of the first model entry with end > addr (find_vma), or model.length. */
function firstEndAbove(model: Entry[], addr: number): number {
  let lo = 0;
  let hi = model.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (model[mid]!.end > addr) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

let nextVma = 1;

/**
 * Apply op to tree and model together. Ops are interpreted against the current model so that
 * every generated sequence is valid (an insert into an occupied page is a no-op), which keeps
 * shrinking meaningful.
 */
function apply(root: number, model: Entry[], op: Op): void {
  const pick = (k: number): number => k % model.length;
  switch (op.kind) {
    case 'insert': {
      const i = firstEndAbove(model, op.at);
      if (i < model.length && model[i]!.start <= op.at) return; // occupied
      const end = Math.min(op.at + op.len, i < model.length ? model[i]!.start : VT_LIMIT);
      const e = { start: op.at, end, vma: nextVma++ };
      vt_txn_begin(root);
      vt_txn_insert(e.start, e.end, e.vma);
      vt_txn_commit();
      model.splice(i, 0, e);
      return;
    }
    case 'remove': {
      if (model.length === 0) return;
      const i = pick(op.k);
      vt_txn_begin(root);
      expect(vt_txn_remove(model[i]!.start, model[i]!.end)).toBe(model[i]!.vma);
      vt_txn_commit();
      model.splice(i, 1);
      return;
    }
    case 'split': {
      if (model.length === 0) return;
      const i = pick(op.k);
      const old = model[i]!;
      if (old.end - old.start < 2) return;
      const mid = old.start + 1 + (op.cut % (old.end - old.start - 1));
      const a = { start: old.start, end: mid, vma: old.vma };
      const b = { start: mid, end: old.end, vma: nextVma++ };
      vt_txn_begin(root);
      vt_txn_remove(old.start, old.end);
      vt_txn_insert(a.start, a.end, a.vma);
      vt_txn_insert(b.start, b.end, b.vma);
      vt_txn_commit();
      model.splice(i, 1, a, b);
      return;
    }
    case 'merge': {
      if (model.length < 2) return;
      const i = op.k % (model.length - 1);
      const a = model[i]!;
      const b = model[i + 1]!;
      // the union also covers the gap between them, which is free
      const m = { start: a.start, end: b.end, vma: a.vma };
      vt_txn_begin(root);
      vt_txn_remove(a.start, a.end);
      vt_txn_remove(b.start, b.end);
      vt_txn_insert(m.start, m.end, m.vma);
      vt_txn_commit();
      model.splice(i, 2, m);
      return;
    }
    case 'munmap': {
      if (model.length === 0) return;
      const i = pick(op.k);
      const n = Math.min(op.n, model.length - i);
      vt_txn_begin(root);
      for (let j = i; j < i + n; j++) vt_txn_remove(model[j]!.start, model[j]!.end);
      vt_txn_commit();
      model.splice(i, n);
      return;
    }
    case 'aborted': {
      // change a lot, then throw it all away
      vt_txn_begin(root);
      for (let j = 0; j < Math.min(model.length, 25); j++) {
        const e = model[(op.k + j) % model.length]!;
        vt_txn_remove(e.start, e.end);
      }
      const i = firstEndAbove(model, op.at);
      if (!(i < model.length && model[i]!.start <= op.at)) {
        vt_txn_insert(op.at, op.at + 1, 999_999);
      }
      vt_txn_abort();
      return;
    }
  }
}

const out = new VtRange();

/** expect() costs microseconds; the probes below run millions of times, so compare by hand. */
function same(got: unknown, want: unknown, what: string): void {
  if (got !== want) throw new Error(`${what}: got ${String(got)}, want ${String(want)}`);
}

/** Compare every query against the model at the interesting addresses. */
function compare(root: number, model: Entry[]): void {
  same(vt_check(root).entries, model.length, 'vt_check entries');
  same(vt_count(root), model.length, 'vt_count');
  const probes = new Set<number>([0, SPACE + 50]);
  for (const e of model) {
    for (const a of [e.start - 1, e.start, e.start + 1, e.end - 1, e.end]) {
      if (a >= 0) probes.add(a);
    }
  }
  for (const a of probes) {
    const i = firstEndAbove(model, a);
    const f = model[i];
    // find_vma
    same(vt_find_range(root, a, out), f?.vma ?? 0, `find(${a})`);
    if (f !== undefined) same(`${out.start},${out.end}`, `${f.start},${f.end}`, `find(${a}) range`);
    // vma_lookup
    const hit = f !== undefined && f.start <= a ? f : undefined;
    same(vt_lookup_range(root, a, out), hit?.vma ?? 0, `lookup(${a})`);
    // next: first entry starting at or after a
    const nx = f === undefined ? undefined : f.start >= a ? f : model[i + 1];
    same(vt_next_range(root, a, out), nx?.vma ?? 0, `next(${a})`);
    if (nx !== undefined)
      same(`${out.start},${out.end}`, `${nx.start},${nx.end}`, `next(${a}) range`);
  }
  const walked: Entry[] = [];
  vt_for_each(root, 0, VT_LIMIT, (start, end, vma) => walked.push({ start, end, vma }));
  expect(walked).toEqual(model);
  const window = SPACE + 100;
  const free: Array<[number, number]> = [];
  let prev = 0;
  for (const e of model) {
    free.push([prev, e.start]);
    prev = e.end;
  }
  free.push([prev, VT_LIMIT]);
  for (const pages of [1, 3, 17]) {
    let want = ENOMEM;
    for (let k = free.length - 1; k >= 0 && want === ENOMEM; k--) {
      const hi = Math.min(free[k]![1], window);
      if (hi - free[k]![0] >= pages) want = hi - pages;
    }
    same(vt_find_gap_topdown(root, pages, 0, window), want, `gap(${pages})`);
  }
}

describe('vma tree against a sorted-array model', () => {
  it('agrees after every step of random transaction sequences', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 800 }),
        fc.array(opArb, { minLength: 1, maxLength: 120 }),
        (prefill, ops) => {
          // each run (and each shrinking attempt) on its own arena: a failure leaves nothing behind
          vt_txn_abort();
          createArena({ sizeMiB: 4, maxTasks: 2, padding: false });
          task_attach(0);
          rcu_init();
          const cache = vma_tree_create_cache(5000, { poison: true });
          vma_tree_attach(cache);
          const root = arena_alloc(1, 16, 'mm');
          vma_tree_init(root);
          const model: Entry[] = [];
          // a prefilled tree, in one transaction, so that splits and merges reach height 3
          vt_txn_begin(root);
          for (let i = 0; i < prefill; i++) {
            const e = { start: i * 5, end: i * 5 + 3, vma: nextVma++ };
            vt_txn_insert(e.start, e.end, e.vma);
            model.push(e);
          }
          vt_txn_commit();
          compare(root, model);
          for (const op of ops) {
            apply(root, model, op);
            compare(root, model);
          }
          // tear down: every node back to the slab once its grace period ends
          vt_txn_begin(root);
          for (const e of model) vt_txn_remove(e.start, e.end);
          vt_txn_commit();
          rcu_barrier();
          expect(kmem_cache_stats(cache).allocated).toBe(0);
        },
      ),
      { numRuns: 40 },
    );
  });
});
