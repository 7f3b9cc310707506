// Cache misses of an index lookup by the size of the index: `npm run bench:lookup-cache --
// [--lookups N] [--sizes 1000,100000,1000000] [--packed]`. perf's cache counters are not
// available on every VM (not on the 2-core reference machine), so this runs a small lookup
// driver under valgrind's cachegrind, which simulates the caches and counts deterministically:
// instructions, first-level data misses and last-level misses, for a last level the size of
// the machine's L2 and again of its L3 (cachegrind simulates two levels, so one run each).
//
// Each size runs twice per cache shape: the same tree and the same random keys, then N and
// 2N lookups; the difference is N lookups in steady state, without node's start, the tree's
// build, the key drawing or the JIT's compiles (both runs compile the same loop). The tree has
// the entries and the shape of bench:primitives' `index lookup` trees (entry i = [16 + 4i,
// 16 + 4i + 2), the shape inserts in address order grow), but it is built in bulk with
// vt_txn_build(..., 'appended'), which lays the nodes out level by level where inserts
// interleave branch nodes with leaves: its miss counts are for that layout. Or packed
// (--packed). Node runs single-threaded (--single-threaded: no
// background compiler or GC threads), so two runs differ only in their lookup count.

import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../src/errors.js';
import {
  vma_tree_attach,
  vma_tree_create_cache,
  vma_tree_init,
  vt_check,
  vt_lookup,
  vt_nodes_needed,
  vt_txn_begin,
  vt_txn_build,
  vt_txn_commit,
} from '../src/mm/vma_tree.js';
import { task_attach } from '../src/sched/task.js';
import { arena_alloc, createArena } from '../src/shm/arena.js';
import { LINE_WORDS, VT_NODE_WORDS, WORD_BYTES } from '../src/shm/layout/index.js';
import { rcu_init } from '../src/sync/rcu.js';
import { drawKeys, keyAddress, treeEntries } from './lookup_tree.js';

const SIZES = [1000, 100_000, 1_000_000];

// ---- the driver (runs under valgrind) -------------------------------------------------------

/**
 * Build a tree of `size` entries, draw WARMUP + 2 × `measured` keys, look up the first WARMUP
 * (the JIT's tiers up to optimized code, in both runs of a pair alike), then `lookups` more.
 */
function driver(
  size: number,
  warmup: number,
  measured: number,
  lookups: number,
  packed: boolean,
): void {
  const nodes = vt_nodes_needed(size);
  createArena({
    sizeMiB: Math.ceil((nodes * VT_NODE_WORDS * WORD_BYTES) / (1 << 20)) + 8,
    maxTasks: 2,
    padding: true,
  });
  task_attach(0);
  rcu_init();
  vma_tree_attach(vma_tree_create_cache(nodes));
  const root = arena_alloc(1, LINE_WORDS, 'lookup tree root');
  vma_tree_init(root);
  const { starts, ends, slots } = treeEntries(size);
  vt_txn_begin(root);
  vt_txn_build(starts, ends, slots, packed ? 'packed' : 'appended');
  vt_txn_commit();
  // Both runs of a pair draw the same keys; only the number looked up differs.
  const keys = drawKeys(warmup + 2 * measured, 0, size);
  let bad = 0;
  for (let i = 0; i < warmup + lookups; i++) {
    const k = keys[i]!;
    if (vt_lookup(root, keyAddress(k)) !== k + 1) bad++;
  }
  if (bad !== 0) throw new Error(`lookup driver: ${bad} lookups missed`);
  const st = vt_check(root);
  process.stdout.write(`${JSON.stringify({ nodes: st.nodes, height: st.height })}\n`);
}

// ---- the runner ------------------------------------------------------------------------------

interface Args {
  readonly lookups: number;
  readonly sizes: readonly number[];
  readonly packed: boolean;
}

function parseArgs(argv: readonly string[]): Args {
  let lookups = 100_000;
  let sizes = SIZES;
  let packed = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = argv[i + 1];
    if (a === '--lookups') {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1000 || n > 10_000_000) {
        throw new UsageError(`--lookups ${v ?? ''}: allowed whole numbers 1000..10000000`);
      }
      lookups = n;
      i++;
    } else if (a === '--sizes') {
      const list = (v ?? '').split(',').map(Number);
      if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n < 1 || n > 2_000_000)) {
        throw new UsageError(
          `--sizes ${v ?? ''}: allowed a comma list of whole numbers 1..2000000`,
        );
      }
      sizes = list;
      i++;
    } else if (a === '--packed') {
      packed = true;
    } else {
      throw new UsageError(`${a}: allowed --lookups N, --sizes A,B,C, --packed`);
    }
  }
  return { lookups, sizes, packed };
}

/** cachegrind's counts of one run: event name → count. */
type Counts = Record<string, number>;

/**
 * The caches to simulate: this machine's L1s, and as the last level its L2 (1 MiB, 8-way on
 * the reference machine) or its L3 (32 MiB, 16-way). Given explicitly: cachegrind's own probe
 * reads a 320 MiB direct-mapped L3 from this VM's CPUID.
 */
const SHAPES = [
  { name: 'L2', ll: '--LL=1048576,8,64' },
  { name: 'L3', ll: '--LL=33554432,16,64' },
] as const;
const L1 = ['--I1=32768,8,64', '--D1=32768,8,64'];

function cachegrind(
  size: number,
  measured: number,
  lookups: number,
  packed: boolean,
  ll: string,
): { counts: Counts; tree: { nodes: number; height: number }; seconds: number } {
  const out = join(tmpdir(), `faultline-cg-${process.pid}-${size}-${lookups}`);
  const t0 = performance.now();
  const r = spawnSync(
    'valgrind',
    [
      '--tool=cachegrind',
      '--cache-sim=yes',
      ...L1,
      ll,
      `--cachegrind-out-file=${out}`,
      process.execPath,
      '--single-threaded',
      fileURLToPath(import.meta.url),
      '--driver',
      String(size),
      String(measured), // warm-up: as many lookups as are measured
      String(measured),
      String(lookups),
      packed ? 'packed' : 'appended',
    ],
    { encoding: 'utf8', maxBuffer: 1 << 26 },
  );
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) {
    throw new Error(
      `valgrind exited with ${r.status}: ${r.stderr.split('\n').slice(-8).join('\n')}`,
    );
  }
  const text = readFileSync(out, 'utf8');
  rmSync(out, { force: true });
  const events = /^events: (.*)$/m.exec(text)?.[1]?.trim().split(/\s+/);
  const summary = /^summary: (.*)$/m.exec(text)?.[1]?.trim().split(/\s+/).map(Number);
  if (events === undefined || summary === undefined) throw new Error('no cachegrind summary');
  const counts: Counts = {};
  events.forEach((e, i) => {
    counts[e] = summary[i] ?? 0;
  });
  const tree = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as {
    nodes: number;
    height: number;
  };
  return { counts, tree, seconds };
}

function main(): number {
  const argv = process.argv.slice(2);
  if (argv[0] === '--driver') {
    driver(
      Number(argv[1]),
      Number(argv[2]),
      Number(argv[3]),
      Number(argv[4]),
      argv[5] === 'packed',
    );
    return 0;
  }
  let a: Args;
  try {
    a = parseArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`bench:lookup-cache: ${e.message}`);
      return 2;
    }
    throw e;
  }
  if (spawnSync('valgrind', ['--version']).error !== undefined) {
    console.error('bench:lookup-cache: valgrind not found; install it (apt-get install valgrind)');
    return 2;
  }
  const n = a.lookups;
  console.log(
    `index lookups by size under cachegrind: ${n.toLocaleString('en-US')} random lookups (after as many to warm up, runs of ${n} and ${2 * n} lookups, subtracted), tree ${a.packed ? 'packed' : 'grown by inserts in address order'}; D1 32 KiB 8-way, last level L2 1 MiB 8-way or L3 32 MiB 16-way`,
  );
  const head = [
    'VMAs',
    'nodes',
    'height',
    'instr/lookup',
    'D1 miss/lookup',
    'L2 miss/lookup',
    'L3 miss/lookup',
    'valgrind s',
  ];
  // Each row as it is measured (a row takes minutes under valgrind).
  const widths = head.map((h) => Math.max(h.length, 9));
  const print = (r: readonly string[]): void =>
    console.log(r.map((cell, c) => cell.padStart(widths[c]!)).join('  '));
  print(head);
  const per = (b: Counts, s: Counts, keys: readonly string[]): number =>
    keys.reduce((t, k) => t + (b[k] ?? 0) - (s[k] ?? 0), 0) / n;
  for (const size of a.sizes) {
    const miss: number[] = [];
    let instr = 0;
    let d1 = 0;
    let tree = { nodes: 0, height: 0 };
    let seconds = 0;
    for (const shape of SHAPES) {
      const one = cachegrind(size, n, n, a.packed, shape.ll);
      const two = cachegrind(size, n, 2 * n, a.packed, shape.ll);
      seconds += one.seconds + two.seconds;
      tree = two.tree;
      instr = per(two.counts, one.counts, ['Ir']);
      d1 = per(two.counts, one.counts, ['D1mr', 'D1mw']);
      miss.push(per(two.counts, one.counts, ['DLmr', 'DLmw', 'ILmr']));
    }
    print([
      size.toLocaleString('en-US'),
      String(tree.nodes),
      String(tree.height),
      instr.toFixed(0),
      d1.toFixed(2),
      miss[0]!.toFixed(2),
      miss[1]!.toFixed(2),
      seconds.toFixed(0),
    ]);
  }
  return 0;
}

process.exitCode = main();
