// The primitives' uncontended fast paths, in one run, each against one atomic add on the same
// machine: `npm run bench:primitives -- [--time MS] [--json FILE]`.
//
// Each tinybench sample times a batch of BATCH operations with process.hrtime and reports the
// mean per operation (a single operation is far below the timer's resolution). Every case runs
// its own loop, so the JIT specialises each one and no case pays for a shared indirect call.
// The loop's own cost is in every row, the atomic-add row included, so the ratios are slightly
// compressed towards 1. ns/op is the median of the samples (batch means): on a shared,
// oversubscribed machine a preempted batch inflates the mean, not the median; the ratio to
// one atomic add is taken between medians. Park/unpark round trips are measured elsewhere.
//
// To add a row: append a PrimitiveCase to CASES. setup() runs once, after the arena exists
// and task 0 is attached, and returns the batch loop; the loop must do exactly n operations.

import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { Bench } from 'tinybench';
import { UsageError } from '../src/errors.js';
import {
  vma_tree_attach,
  vma_tree_cache,
  vma_tree_create_cache,
  vma_tree_init,
  vt_check,
  vt_lookup,
  vt_nodes_needed,
  vt_txn_begin,
  vt_txn_build,
  vt_txn_commit,
  vt_txn_insert,
} from '../src/mm/vma_tree.js';
import { do_mmap, PROT_READ, PROT_WRITE } from '../src/ops/index.js';
import { atomic_fetch_add, atomic_fetch_add_unhooked, atomic_read } from '../src/sched/atomics.js';
import { set_tracing } from '../src/sched/task.js';
import { scheme } from '../src/schemes/active.js';
import { arena_alloc } from '../src/shm/arena.js';
import {
  COMPLETION,
  LINE_WORDS,
  MM,
  RCUWAIT,
  REFCOUNT,
  RWSEM,
  SEQCOUNT,
  SPINLOCK,
  VMA,
  VT_NODE_WORDS,
  WORD_BYTES,
} from '../src/shm/layout/index.js';
import { configureLayout } from '../src/shm/layout/struct.js';
import { kmem_cache_alloc, kmem_cache_create, kmem_cache_free } from '../src/shm/slab.js';
import { complete, init_completion, try_wait_for_completion } from '../src/sync/completion.js';
import {
  type RcuFlavor,
  rcu_init,
  rcu_quiescent_state,
  rcu_read_lock,
  rcu_read_lock_held,
  rcu_read_unlock,
  rcu_state_ptr,
  rcu_thread_offline,
  rcu_thread_online,
  rcu_use_state,
} from '../src/sync/rcu.js';
import { rcuwait_init, rcuwait_wake_up } from '../src/sync/rcuwait.js';
import {
  __refcount_inc_not_zero_limited_acquire,
  refcount_dec_and_test,
  refcount_inc_limited_ok,
  refcount_set,
} from '../src/sync/refcount.js';
import {
  down_read,
  down_write,
  init_rwsem,
  rwsem_is_locked,
  up_read,
  up_write,
} from '../src/sync/rwsem.js';
import { read_seqcount_begin, read_seqcount_retry, seqcount_init } from '../src/sync/seqcount.js';
import { spin_lock, spin_lock_init, spin_unlock } from '../src/sync/spinlock.js';
import {
  init_srcu_struct,
  srcu_read_lock,
  srcu_read_lock_held,
  srcu_read_unlock,
} from '../src/sync/srcu.js';
import { mm_create, world_create } from '../src/workload/world.js';
import { drawKeys, keyAddress, treeEntries } from './lookup_tree.js';

/** Operations per timed sample. */
const BATCH = 1000;
/** The row every other row is divided by. */
const BASELINE = 'atomic_fetch_add';
/**
 * How many times the baseline row is measured, spread evenly through the run (before the first
 * row, between rows, after the last). On some machines one Atomics.add costs about 9 ns in one
 * process or row and 13-15 ns in another; a ratio taken against one measurement of it inherits
 * that. The ratios divide by the median of these measurements, and the report prints them all.
 */
const BASELINE_REPEATS = 5;

export interface PrimitiveCase {
  readonly name: string;
  /** what one operation is, for the table */
  readonly op: string;
  /** the RCU flavour the row runs under (qsbr: the bench thread is online); default memb */
  readonly rcu?: RcuFlavor;
  /** allocate and initialise; return a loop doing exactly n operations */
  readonly setup: () => (n: number) => void;
}

/** Fail loudly if a fast path took a path it must not in an uncontended run. */
function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`bench case went wrong: ${what}`);
}

const line = (words: number): number => arena_alloc(words, LINE_WORDS);

/** Index sizes the lookup rows run at (DESIGN.md: 1M no more than 2x 1k). */
const LOOKUP_SIZES = [1000, 100_000, 1_000_000] as const;
/** Sizes also measured in a tree built packed (every node full), as fork() copies an mm. */
const PACKED_SIZES = [1000, 1_000_000] as const;

function fmtSize(n: number): string {
  return n >= 1_000_000 ? `${n / 1_000_000}M` : n >= 1000 ? `${n / 1000}k` : String(n);
}

export const CASES: PrimitiveCase[] = [
  {
    name: BASELINE,
    op: 'Atomics.add on a private line',
    setup: () => {
      const p = line(1);
      return (n) => {
        for (let i = 0; i < n; i++) atomic_fetch_add(p, 1);
      };
    },
  },
  {
    name: 'atomic add, no sched point',
    op: 'Atomics.add without the (switched-off) schedule-point check: its cost is the gap',
    setup: () => {
      const p = line(1);
      return (n) => {
        for (let i = 0; i < n; i++) atomic_fetch_add_unhooked(p, 1);
      };
    },
  },
  {
    name: 'atomic_read',
    op: 'Atomics.load',
    setup: () => {
      const p = line(1);
      let sink = 0;
      return (n) => {
        for (let i = 0; i < n; i++) sink = (sink + atomic_read(p)) | 0;
        check(sink === 0, 'atomic_read of a zero word');
      };
    },
  },
  {
    name: 'refcount get/put',
    op: '__refcount_inc_not_zero_limited_acquire + refcount_dec_and_test',
    setup: () => {
      const r = line(REFCOUNT.SIZE);
      const limit = (1 << 30) - 1; // VMA_REF_LIMIT
      refcount_set(r, 1);
      return (n) => {
        for (let i = 0; i < n; i++) {
          const old = __refcount_inc_not_zero_limited_acquire(r, limit);
          if (!refcount_inc_limited_ok(old, limit) || refcount_dec_and_test(r)) {
            check(false, 'refcount get/put from 1');
          }
        }
      };
    },
  },
  {
    name: 'seqcount read',
    op: 'read_seqcount_begin + read_seqcount_retry',
    setup: () => {
      const s = line(SEQCOUNT.SIZE);
      seqcount_init(s);
      return (n) => {
        let retries = 0;
        for (let i = 0; i < n; i++) if (read_seqcount_retry(s, read_seqcount_begin(s))) retries++;
        check(retries === 0, 'seqcount retry with no writer');
      };
    },
  },
  {
    name: 'spin_lock/unlock',
    op: 'spin_lock + spin_unlock',
    setup: () => {
      const l = line(SPINLOCK.SIZE);
      spin_lock_init(l);
      return (n) => {
        for (let i = 0; i < n; i++) {
          spin_lock(l);
          spin_unlock(l);
        }
      };
    },
  },
  {
    name: 'rcuwait_wake_up, no waiter',
    op: 'rcuwait_wake_up on an empty rcuwait',
    setup: () => {
      const w = line(RCUWAIT.SIZE);
      rcuwait_init(w);
      return (n) => {
        let woke = 0;
        for (let i = 0; i < n; i++) if (rcuwait_wake_up(w)) woke++;
        check(woke === 0, 'rcuwait_wake_up found a waiter');
      };
    },
  },
  {
    name: 'complete/try_wait',
    op: 'complete + try_wait_for_completion',
    setup: () => {
      const c = line(COMPLETION.SIZE);
      init_completion(c);
      return (n) => {
        let missed = 0;
        for (let i = 0; i < n; i++) {
          complete(c);
          if (!try_wait_for_completion(c)) missed++;
        }
        check(missed === 0, 'try_wait after complete');
      };
    },
  },
  ...(['memb', 'qsbr'] as const).map(
    (rcu): PrimitiveCase => ({
      name: `rcu_read_lock/unlock ${rcu}`,
      op: `rcu_read_lock + rcu_read_unlock, outermost, ${rcu === 'qsbr' ? 'online task' : 'slot xchg in and out'}`,
      rcu,
      setup: () => (n) => {
        for (let i = 0; i < n; i++) {
          rcu_read_lock();
          rcu_read_unlock();
        }
        check(!rcu_read_lock_held(), 'rcu read section left open');
      },
    }),
  ),
  {
    name: 'rcu_quiescent_state qsbr',
    op: "rcu_quiescent_state with no grace period pending: the worker loop's per-op cost",
    rcu: 'qsbr',
    setup: () => (n) => {
      for (let i = 0; i < n; i++) rcu_quiescent_state();
    },
  },
  {
    name: 'srcu_read_lock/unlock',
    op: 'srcu_read_lock + srcu_read_unlock, flight recorder off',
    setup: () => {
      const ssp = init_srcu_struct();
      return (n) => {
        for (let i = 0; i < n; i++) srcu_read_unlock(ssp, srcu_read_lock(ssp));
        check(!srcu_read_lock_held(ssp), 'srcu read section left open');
      };
    },
  },
  {
    name: 'down_read/up_read',
    op: 'down_read + up_read, uncontended rwsem, flight recorder off',
    setup: () => {
      const sem = line(RWSEM.SIZE);
      init_rwsem(sem);
      return (n) => {
        for (let i = 0; i < n; i++) {
          down_read(sem);
          up_read(sem);
        }
        check(!rwsem_is_locked(sem), 'rwsem left locked after down_read/up_read');
      };
    },
  },
  {
    name: 'down_write/up_write',
    op: 'down_write + up_write, uncontended rwsem, flight recorder off',
    setup: () => {
      const sem = line(RWSEM.SIZE);
      init_rwsem(sem);
      return (n) => {
        for (let i = 0; i < n; i++) {
          down_write(sem);
          up_write(sem);
        }
        check(!rwsem_is_locked(sem), 'rwsem left locked after down_write/up_write');
      };
    },
  },
  {
    name: 'kmem_cache_alloc/free',
    op: 'kmem_cache_alloc + kmem_cache_free, per-task cache hit, typesafe cache',
    setup: () => {
      const c = kmem_cache_create('bench', 16, 64, { typesafeByRcu: true });
      return (n) => {
        for (let i = 0; i < n; i++) {
          const p = kmem_cache_alloc(c);
          if (p === 0) check(false, 'kmem_cache_alloc of a 64-object cache returned 0');
          kmem_cache_free(c, p);
        }
      };
    },
  },
  // The DESIGN.md target: the vma_refcnt fault fast path against one atomic add. Two rows:
  // the per-VMA lock itself, and all the locking a fault does before and after its work.
  {
    name: 'vma_refcnt start_read/end_read',
    op: 'vma_start_read + vma_end_read: limited acquire increment, checks, release put',
    setup: () => {
      const { mm, vma } = faultWorld();
      const S = scheme();
      return (n) => {
        for (let i = 0; i < n; i++) {
          const v = S.vma_start_read(mm, vma);
          if (v !== vma) check(false, 'vma_start_read failed uncontended');
          S.vma_end_read(v);
        }
      };
    },
  },
  ...(['memb', 'qsbr'] as const).map(
    (rcu): PrimitiveCase => ({
      name: `vma_refcnt lock_vma_under_rcu ${rcu}`,
      op: `lock_vma_under_rcu + vma_end_read: RCU section (${rcu}), index walk, lock, range check, unlock`,
      rcu,
      setup: () => {
        const { mm, vma } = faultWorld();
        const S = scheme();
        return (n) => {
          for (let i = 0; i < n; i++) {
            const v = S.lock_vma_under_rcu(mm, FAULT_BASE + (i & 63));
            if (v !== vma) check(false, 'lock_vma_under_rcu failed uncontended');
            S.vma_end_read(v);
          }
        };
      },
    }),
  ),
  {
    name: 'index walk, small mm',
    op: 'vt_lookup in an mm of one VMA (the walk inside lock_vma_under_rcu)',
    setup: () => {
      const { mm, vma } = faultWorld();
      return (n) => {
        let miss = 0;
        for (let i = 0; i < n; i++)
          if (vt_lookup(mm + MM.mm_mt, FAULT_BASE + (i & 63)) !== vma) miss++;
        check(miss === 0, 'vt_lookup missed');
      };
    },
  },
  ...LOOKUP_SIZES.map(
    (size): PrimitiveCase => ({
      name: `index lookup ${fmtSize(size)} VMAs`,
      op: `vt_lookup of a random one of ${size.toLocaleString('en-US')} VMAs`,
      setup: () => lookupLoop(bigTree(size), size, size),
    }),
  ),
  ...PACKED_SIZES.map(
    (size): PrimitiveCase => ({
      name: `index lookup ${fmtSize(size)} VMAs, packed`,
      op: `vt_lookup of a random one of ${size.toLocaleString('en-US')} VMAs in a tree built packed (vt_txn_build, as fork's bulk copy)`,
      setup: () => lookupLoop(bigTree(size, true), size, size),
    }),
  ),
  {
    name: `index lookup ${fmtSize(LOOKUP_SIZES.at(-1)!)} VMAs, hot 1k`,
    op: `vt_lookup of a random one of 1,000 neighbouring VMAs in the ${LOOKUP_SIZES.at(-1)!.toLocaleString('en-US')}-VMA tree (same depth, cached path)`,
    setup: () => lookupLoop(bigTree(LOOKUP_SIZES.at(-1)!), LOOKUP_SIZES.at(-1)!, 1000),
  },
];

const FAULT_BASE = 4096;

const trees = new Map<string, number>();

/**
 * A tree of `size` entries as an mm grows by mmap (inserted one by one in address order, in one
 * transaction), or `packed` (vt_txn_build: every node full). Its own node slab, so the world's
 * stays small; lookups allocate nothing.
 */
function bigTree(size: number, packed = false): number {
  const key = `${size}${packed ? 'p' : ''}`;
  const have = trees.get(key);
  if (have !== undefined) return have;
  const cache = vma_tree_create_cache(vt_nodes_needed(size));
  const old = vma_tree_cache();
  vma_tree_attach(cache);
  const root = line(1);
  vma_tree_init(root);
  const { starts, ends, slots } = treeEntries(size);
  vt_txn_begin(root);
  if (packed) vt_txn_build(starts, ends, slots);
  else for (let i = 0; i < size; i++) vt_txn_insert(starts[i]!, ends[i]!, slots[i]!);
  vt_txn_commit();
  vma_tree_attach(old);
  trees.set(key, root);
  return root;
}

/** Random keys per lookup row: drawn before timing, read in order (the prefetcher streams them). */
const LOOKUP_KEYS = 1 << 20;

/**
 * Lookups of random entries among `window` entries centred in a tree of `size`. The keys are
 * drawn before the row is timed, so a row times the lookup and one array read, not a random
 * number generator and a division; LOOKUP_KEYS of them, so the 1M row's working set is the
 * whole tree, not the few thousand leaves a short key cycle would keep in cache.
 */
function lookupLoop(root: number, size: number, window: number): (n: number) => void {
  const lo = (size - window) >> 1;
  const keys = drawKeys(LOOKUP_KEYS, lo, window);
  let at = 0;
  return (n) => {
    let bad = 0;
    for (let i = 0; i < n; i++) {
      const k = keys[at]!;
      at = (at + 1) & (LOOKUP_KEYS - 1);
      if (vt_lookup(root, keyAddress(k)) !== k + 1) bad++;
    }
    check(bad === 0, 'vt_lookup of a bench tree missed');
  };
}

/** Extra MiB the bench world needs for its lookup trees. */
function treeMiB(): number {
  const nodes = [...LOOKUP_SIZES, ...PACKED_SIZES].reduce((s, n) => s + vt_nodes_needed(n), 0);
  return Math.ceil((nodes * VT_NODE_WORDS * WORD_BYTES) / (1 << 20)) + 8;
}

export interface MemoryFigures {
  /** one vm_area_struct, with the bench world's padding (on) and without */
  readonly vmaBytesPadded: number;
  readonly vmaBytesUnpadded: number;
  readonly nodeBytes: number;
  /** per lookup-tree size: nodes, height, index bytes per VMA, total bytes per VMA */
  readonly trees: ReadonlyArray<{
    readonly vmas: number;
    /** built by vt_txn_build (every node full) rather than by inserts in address order */
    readonly packed: boolean;
    readonly nodes: number;
    readonly height: number;
    readonly indexBytesPerVma: number;
    readonly bytesPerVmaPadded: number;
    readonly bytesPerVmaUnpadded: number;
  }>;
}

function memoryFigures(vmaBytesUnpadded: number): MemoryFigures {
  const nodeBytes = VT_NODE_WORDS * WORD_BYTES;
  const vmaBytesPadded = VMA.SIZE * WORD_BYTES;
  return {
    vmaBytesPadded,
    vmaBytesUnpadded,
    nodeBytes,
    trees: [
      ...LOOKUP_SIZES.map((vmas) => ({ vmas, packed: false })),
      ...PACKED_SIZES.map((vmas) => ({ vmas, packed: true })),
    ].flatMap(({ vmas, packed }) => {
      const root = trees.get(`${vmas}${packed ? 'p' : ''}`);
      if (root === undefined) return [];
      const st = vt_check(root);
      const indexBytesPerVma = (st.nodes * nodeBytes) / vmas;
      return {
        vmas,
        packed,
        nodes: st.nodes,
        height: st.height,
        indexBytesPerVma,
        bytesPerVmaPadded: vmaBytesPadded + indexBytesPerVma,
        bytesPerVmaUnpadded: vmaBytesUnpadded + indexBytesPerVma,
      };
    }),
  };
}

let theFaultWorld: { mm: number; vma: number } | null = null;

/** One mm with one 64-page VMA in the bench's world (vma_refcnt, assertions off), shared. */
function faultWorld(): { mm: number; vma: number } {
  if (theFaultWorld !== null) return theFaultWorld;
  const mm = mm_create();
  if (do_mmap(mm, FAULT_BASE, 64, PROT_READ | PROT_WRITE) !== FAULT_BASE) check(false, 'mmap');
  theFaultWorld = { mm, vma: vt_lookup(mm + MM.mm_mt, FAULT_BASE) };
  return theFaultWorld;
}

export interface PrimitiveRow {
  readonly name: string;
  readonly op: string;
  /** median over the samples of the per-batch mean */
  readonly nsPerOp: number;
  readonly nsPerOpMean: number;
  /** relative margin of error of the mean, in % */
  readonly rme: number;
  readonly samples: number;
  /** nsPerOp / the atomic_fetch_add row's nsPerOp (the median of its measurements) */
  readonly ratioToAtomicAdd: number;
}

export interface PrimitiveReport {
  readonly suite: 'primitives';
  readonly machine: { readonly cores: number; readonly cpuModel: string; readonly node: string };
  readonly batch: number;
  readonly timeMsPerCase: number;
  readonly rows: readonly PrimitiveRow[];
  /**
   * ns/op of each measurement of the baseline row, in run order (spread through the run); the
   * atomic_fetch_add row and every ratio use their median
   */
  readonly baselineNs: readonly number[];
  /** shared memory per VMA, index nodes included */
  readonly memory: MemoryFigures;
}

/** Run the cases in one tinybench run, in one thread, on one fresh arena. */
export async function runPrimitives(
  cases: readonly PrimitiveCase[],
  timeMs: number,
): Promise<PrimitiveReport> {
  configureLayout({ padding: false });
  const vmaBytesUnpadded = VMA.SIZE * WORD_BYTES;
  // A whole world (arena, RCU, slabs, frames), so that the fault-path rows have an mm model;
  // the primitive rows take their objects from the same arena. Its RCU is qsbr; a second
  // rcu_state runs the memb rows (each row switches to its own before it is timed).
  world_create({
    scheme: 'vma_refcnt',
    assertions: false,
    padding: true,
    maxTasks: 2,
    maxMms: 2,
    maxVmas: 64,
    frames: 64,
    extraMiB: cases.some((c) => c.name.startsWith('index lookup')) ? treeMiB() : 0,
    rcu: 'qsbr',
  });
  const rcuStates = { qsbr: rcu_state_ptr(), memb: rcu_init({ flavor: 'memb', debug: false }) };
  const useRcu = (f: RcuFlavor): void => {
    rcu_use_state(rcuStates[f]);
    if (f === 'qsbr') rcu_thread_online();
  };
  // Every row runs with the flight recorder off, as a benchmark world does.
  set_tracing(false);
  const bench = new Bench({
    name: 'faultline primitives',
    time: timeMs,
    warmupTime: timeMs,
    throws: true,
  });
  const baseCase = cases.find((c) => c.name === BASELINE);
  if (baseCase === undefined) throw new Error(`the ${BASELINE} row is missing`);
  const others = cases.filter((c) => c !== baseCase);
  // The baseline's k-th measurement goes before other row round(k * others / (repeats - 1)):
  // the first before every row, the last after them all, the rest evenly between.
  const order: { c: PrimitiveCase; name: string }[] = [];
  let k = 0;
  for (let i = 0; i <= others.length; i++) {
    while (k < BASELINE_REPEATS && Math.round((k * others.length) / (BASELINE_REPEATS - 1)) === i) {
      order.push({ c: baseCase, name: k === 0 ? BASELINE : `${BASELINE} #${k + 1}` });
      k++;
    }
    const c = others[i];
    if (c !== undefined) order.push({ c, name: c.name });
  }
  for (const { c, name } of order) {
    const rcu = c.rcu ?? 'memb';
    useRcu(rcu);
    const loop = c.setup(); // the baseline: a fresh private line for each measurement
    rcu_thread_offline();
    bench.add(
      name,
      () => {
        const t0 = process.hrtime.bigint();
        loop(BATCH);
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        return { overriddenDuration: ms / BATCH, overriddenIterationCost: ms };
      },
      {
        async: false,
        beforeAll: () => useRcu(rcu),
        afterAll: () => rcu_thread_offline(),
      },
    );
  }
  await bench.run();
  const measured = bench.tasks.map((t) => {
    const r = t.result;
    if (r.state !== 'completed') throw new Error(`case ${t.name}: ${r.state}`);
    return { name: t.name, lat: r.latency };
  });
  const isBase = (name: string): boolean => name === BASELINE || name.startsWith(`${BASELINE} #`);
  const baseMs = measured.filter((m) => isBase(m.name)).map((m) => m.lat.p50);
  const base = median(baseMs);
  const baseMeans = measured.filter((m) => isBase(m.name)).map((m) => m.lat.mean);
  const first = measured.find((m) => m.name === BASELINE);
  if (first === undefined) throw new Error(`the ${BASELINE} row is missing`);
  // One baseline row, at the top, carrying the median; the other rows in the cases' order.
  const byName = new Map(measured.map((m) => [m.name, m]));
  const rows = [baseCase, ...others].map((c) => {
    const m = byName.get(c.name);
    if (m === undefined) throw new Error(`case ${c.name}: not measured`);
    const p50 = c === baseCase ? base : m.lat.p50;
    return {
      name: c.name,
      op: c === baseCase ? `${c.op} (median of ${baseMs.length} measurements)` : c.op,
      nsPerOp: p50 * 1e6,
      nsPerOpMean: (c === baseCase ? median(baseMeans) : m.lat.mean) * 1e6,
      rme: m.lat.rme,
      samples: m.lat.samplesCount,
      ratioToAtomicAdd: p50 / base,
    };
  });
  const cpu = cpus();
  return {
    suite: 'primitives',
    machine: { cores: cpu.length, cpuModel: cpu[0]?.model ?? 'unknown', node: process.version },
    batch: BATCH,
    timeMsPerCase: timeMs,
    rows,
    baselineNs: baseMs.map((ms) => ms * 1e6),
    memory: memoryFigures(vmaBytesUnpadded),
  };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  if (s.length === 0) throw new Error('median of nothing');
  return s.length % 2 === 1 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
}

export function renderPrimitives(rep: PrimitiveReport): string {
  const head = ['case', 'ns/op', 'mean', '±%', 'x atomic add', 'one op is'];
  const body = rep.rows.map((r) => [
    r.name,
    r.nsPerOp.toFixed(1),
    r.nsPerOpMean.toFixed(1),
    r.rme.toFixed(1),
    r.ratioToAtomicAdd.toFixed(2),
    r.op,
  ]);
  const all = [head, ...body];
  const width = head.map((_, c) => Math.max(...all.map((row) => (row[c] ?? '').length)));
  const fmt = (row: string[]): string =>
    row
      .map((cell, c) =>
        c === 0 || c === row.length - 1 ? cell.padEnd(width[c]!) : cell.padStart(width[c]!),
      )
      .join('  ')
      .trimEnd();
  const m = rep.machine;
  return [
    `primitives, uncontended, one thread: ${m.cores} cores (${m.cpuModel}), node ${m.node}; ` +
      `${rep.batch} ops per sample, ${rep.timeMsPerCase} ms per case`,
    fmt(head),
    ...body.map(fmt),
    `x atomic add: each row's ns/op divided by the median of ${rep.baselineNs.length} measurements of ` +
      `${BASELINE} spread through the run (${rep.baselineNs.map((ns) => ns.toFixed(1)).join(', ')} ns, in ` +
      'run order): the cost of one Atomics.add can change between phases of a run on a shared ' +
      'or virtual machine, so one measurement of it could skew every ratio',
    '',
    ...memoryLines(rep.memory),
    '',
  ].join('\n');
}

function memoryLines(m: MemoryFigures): string[] {
  const out = [
    `shared memory per VMA: vm_area_struct ${m.vmaBytesUnpadded} B (padding off), ${m.vmaBytesPadded} B (padding on, as runs use); index node ${m.nodeBytes} B (fan-out 20)`,
  ];
  for (const t of m.trees) {
    out.push(
      `  ${t.vmas.toLocaleString('en-US').padStart(9)} VMAs${t.packed ? ', packed' : ''}: ${t.nodes.toLocaleString('en-US')} nodes, height ${t.height}, index ${t.indexBytesPerVma.toFixed(1)} B/VMA; total ${t.bytesPerVmaUnpadded.toFixed(1)} B/VMA unpadded, ${t.bytesPerVmaPadded.toFixed(1)} B/VMA padded`,
    );
  }
  return out;
}

const USAGE = `usage: npm run bench:primitives -- [--time MS] [--json FILE] [--only TEXT]
  --time MS    measuring time per case, 50..60000 (default 1000)
  --json FILE  also write the figures as JSON
  --only TEXT  run only the rows whose name contains TEXT (and the atomic-add row), e.g.
               --only lock_vma or --only 'index lookup'
`;

interface Args {
  readonly timeMs: number;
  readonly json: string | null;
  readonly only: string | null;
}

function parseArgs(argv: readonly string[]): Args | null {
  let timeMs = 1000;
  let json: string | null = null;
  let only: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    if (a === '--help' || a === '-h') return null;
    if (a === '--time') {
      const t = Number(v);
      if (v === undefined || !Number.isInteger(t) || t < 50 || t > 60_000) {
        throw new UsageError(`--time ${v ?? ''}: allowed: whole milliseconds 50..60000`);
      }
      timeMs = t;
      i++;
    } else if (a === '--json') {
      if (v === undefined || v.startsWith('--')) throw new UsageError('--json: needs a FILE');
      json = v;
      i++;
    } else if (a === '--only') {
      if (v === undefined || v === '' || !CASES.some((c) => c.name.includes(v))) {
        throw new UsageError(
          `--only ${v ?? ''}: matches no row; allowed: part of a row name (${CASES.map((c) => c.name).join(', ')})`,
        );
      }
      only = v;
      i++;
    } else {
      throw new UsageError(
        `${a}: unknown option; allowed: --time MS, --json FILE, --only TEXT, --help`,
      );
    }
  }
  return { timeMs, json, only };
}

async function main(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv);
  if (args === null) {
    process.stdout.write(USAGE);
    return 0;
  }
  const only = args.only;
  const cases =
    only === null ? CASES : CASES.filter((c) => c.name === BASELINE || c.name.includes(only));
  const rep = await runPrimitives(cases, args.timeMs);
  process.stdout.write(renderPrimitives(rep));
  if (args.json !== null) writeFileSync(args.json, `${JSON.stringify(rep, null, 2)}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`primitives: ${err.message}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(
        `primitives: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
      );
      process.exitCode = 1;
    }
  },
);
