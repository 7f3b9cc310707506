// What each worker role does per step, against the operations (src/ops) — the job module the
// bench worker loads for real runs.
//
//   faulter  touches every page of its regions once per round (in order, or a fresh shuffle),
//            each touch a page fault on a non-present page; then MADV_DONTNEED's each region,
//            one region per step, so the next round faults again. The madvise is its own kind,
//            never counted as fault latency.
//   writer   picks an operation by weight: mmap an unrelated VMA (the next step unmaps it),
//            mprotect a faulters' VMA (flipping read-write / read-only), read the maps, or
//            MADV_DONTNEED a faulters' VMA. Think time runs between steps, untimed.

import { UsageError } from '../errors.js';
import {
  srcu_kworker_register,
  srcu_kworker_step,
  srcu_kworker_unregister,
} from '../mm/srcu_work.js';
import {
  do_madvise_dontneed,
  do_mmap,
  do_mprotect,
  do_munmap,
  handle_user_fault,
  PROT_READ,
  PROT_WRITE,
  read_maps,
  set_fault_cost,
  VM_FAULT_SIGSEGV,
} from '../ops/index.js';
import { scheme } from '../schemes/active.js';
import type { Job, JobInit } from './job.js';
import { thinkTime } from './loop.js';
import type { FaultCost, WriterOp } from './spec.js';
import { world_attach } from './world.js';

/** A range of pages: [start, start + pages). */
export interface PageRange {
  readonly start: number;
  readonly pages: number;
}

/** The spread layout's VMAs: `count` of `pages` pages, VMA i at base + i * stride. */
export interface SpreadArgs {
  readonly base: number;
  readonly stride: number;
  readonly count: number;
  readonly pages: number;
  /** Zipf-like picks (s = 1) instead of uniform ones */
  readonly zipf: boolean;
  /** pages a faulter holds present before it zaps its oldest */
  readonly ring: number;
}

export interface FaulterArgs {
  readonly mm: number;
  readonly regions: readonly PageRange[];
  /** the spread layout (regions is empty then) */
  readonly spread: SpreadArgs | null;
  /** the churn layout: regions are not mapped; the faulter maps and unmaps them each round */
  readonly churn: boolean;
  readonly access: 'sequential' | 'random' | 'uniform' | 'zipf';
  readonly writeFraction: number;
  readonly faultCost: FaultCost;
  readonly seed: number;
}

export interface WriterArgs {
  readonly mm: number;
  readonly ops: Readonly<Partial<Record<WriterOp, number>>>;
  readonly thinkUs: number;
  /** size of the VMAs mmapMunmap maps */
  readonly pages: number;
  /** the faulters' VMAs, for mprotect and madvise (or `spread`'s, when that is set) */
  readonly targets: readonly PageRange[];
  readonly spread: SpreadArgs | null;
  readonly seed: number;
}

export const FAULTER_KINDS = ['fault', 'madvise'] as const;
export const CHURN_FAULTER_KINDS = ['fault', 'mmap', 'munmap'] as const;
export const WRITER_KINDS = ['mmap', 'munmap', 'mprotect', 'maps', 'madvise'] as const;

export function attach(sab: SharedArrayBuffer, taskId: number): void {
  world_attach(sab, taskId);
}

/** xorshift32: a small deterministic generator per worker. Returns [0, 1). */
function rng(seed: number): () => number {
  let x = seed | 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}

function shuffle(a: Int32Array, rand: () => number): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
}

export function createJob(init: JobInit): Job {
  if (init.role === 'faulter') return faulter(init.args as FaulterArgs);
  if (init.role === 'writer') return writer(init.args as WriterArgs, init.run);
  if (init.role === 'kworker') return kworker(init.taskId);
  throw new UsageError(`job role ${init.role}: allowed faulter, writer, kworker`);
}

export const KWORKER_KINDS = ['work', 'idle'] as const;

/**
 * srcu_spf's kworker (call_srcu runs): the task that waits out SRCU grace periods and runs the
 * frees munmap and merges queued, in its own thread, as the kernel's SRCU workqueue does. Its
 * steps are a batch of work or one bounded sleep waiting for some; it stops with the run, after
 * which the others' finish() barriers run what is still queued.
 */
function kworker(taskId: number): Job {
  srcu_kworker_register(taskId);
  return {
    kinds: KWORKER_KINDS,
    step(): number {
      return srcu_kworker_step();
    },
    finish(): void {
      srcu_kworker_unregister();
      scheme().barrier();
    },
  };
}

/**
 * The spread layout's faulter: each fault picks a VMA (uniform, or Zipf-like: rank k with
 * probability about 1/(k ln N), ranks scattered over the address space by a fixed bijection) and
 * a page in it that this faulter does not hold present, faults it, and keeps it in a FIFO; once
 * the FIFO is full, the step zaps the oldest page instead (MADV_DONTNEED of one page, its own
 * kind), so the pages present stay bounded however large the mm.
 */
function spreadFaulter(a: FaulterArgs, s: SpreadArgs): Job {
  set_fault_cost(a.faultCost);
  const rand = rng(a.seed);
  const fifo = new Int32Array(s.ring);
  const held = new Set<number>();
  let head = 0;
  let n = 0;
  const logN = Math.log(s.count + 1);
  // A prime far above any count: rank -> VMA index is a bijection mod count.
  const SCATTER = 2_654_435_761;
  const pickVma = (): number => {
    if (!s.zipf) return Math.floor(rand() * s.count);
    // Inverse of the continuous 1/x density on [1, N+1): rank k has weight about 1/(k+1).
    const rank = Math.min(s.count - 1, Math.floor(Math.exp(rand() * logN)) - 1);
    return (rank * SCATTER) % s.count;
  };
  return {
    kinds: FAULTER_KINDS,
    step(): number {
      if (n === s.ring) {
        const addr = fifo[head]!;
        head = (head + 1) % s.ring;
        n--;
        held.delete(addr);
        const r = do_madvise_dontneed(a.mm, addr, 1);
        if (r !== 0) throw new Error(`madvise(DONTNEED) of page ${addr} returned ${r}`);
        return 1;
      }
      let addr = 0;
      for (let tries = 0; tries < 8; tries++) {
        addr = s.base + pickVma() * s.stride + Math.floor(rand() * s.pages);
        if (!held.has(addr)) break;
      }
      const r = handle_user_fault(a.mm, addr, rand() < a.writeFraction);
      if (r !== 0 && r !== VM_FAULT_SIGSEGV) {
        throw new Error(`fault at page ${addr} returned VM_FAULT 0x${r.toString(16)}`);
      }
      if (!held.has(addr)) {
        held.add(addr);
        fifo[(head + n) % s.ring] = addr;
        n++;
      }
      return 0;
    },
    finish(): void {
      scheme().barrier(); // madvise may free page tables after a grace period
    },
  };
}

/**
 * The churn layout's faulter: for each of its regions in turn, mmap it afresh (at its fixed
 * place, a hole on each side, so it never merges with a neighbour and never inherits an
 * anon_vma), fault each of its pages once (the first of them prepares the anon_vma), munmap it.
 * One step is one of those three, each its own kind.
 */
function churnFaulter(a: FaulterArgs): Job {
  set_fault_cost(a.faultCost);
  const rand = rng(a.seed);
  let reg = 0;
  let page = -1; // -1: the region is not mapped
  return {
    kinds: CHURN_FAULTER_KINDS,
    step(): number {
      const r = a.regions[reg]!;
      if (page < 0) {
        const got = do_mmap(a.mm, r.start, r.pages, PROT_READ | PROT_WRITE);
        if (got !== r.start)
          throw new Error(`mmap of ${r.pages} pages at ${r.start} returned ${got}`);
        page = 0;
        return 1;
      }
      if (page < r.pages) {
        const addr = r.start + page++;
        const ret = handle_user_fault(a.mm, addr, rand() < a.writeFraction);
        if (ret !== 0)
          throw new Error(`fault at page ${addr} returned VM_FAULT 0x${ret.toString(16)}`);
        return 0;
      }
      const ret = do_munmap(a.mm, r.start, r.pages);
      if (ret !== 0) throw new Error(`munmap of ${r.pages} pages at ${r.start} returned ${ret}`);
      page = -1;
      reg = (reg + 1) % a.regions.length;
      return 2;
    },
    finish(): void {
      scheme().barrier(); // munmap freed VMAs and page tables after a grace period
    },
  };
}

function faulter(a: FaulterArgs): Job {
  if (a.spread !== null) return spreadFaulter(a, a.spread);
  if (a.churn) return churnFaulter(a);
  set_fault_cost(a.faultCost);
  const rand = rng(a.seed);
  const total = a.regions.reduce((s, r) => s + r.pages, 0);
  const order = new Int32Array(total);
  let n = 0;
  for (const r of a.regions) for (let p = 0; p < r.pages; p++) order[n++] = r.start + p;
  if (a.access === 'random') shuffle(order, rand);
  let next = 0;
  let zap = 0;
  return {
    kinds: FAULTER_KINDS,
    step(): number {
      if (next < total) {
        const addr = order[next++]!;
        const r = handle_user_fault(a.mm, addr, rand() < a.writeFraction);
        // SIGSEGV is an expected outcome while a writer mprotects the VMA read-only.
        if (r !== 0 && r !== VM_FAULT_SIGSEGV) {
          throw new Error(`fault at page ${addr} returned VM_FAULT 0x${r.toString(16)}`);
        }
        return 0;
      }
      const reg = a.regions[zap++]!;
      const r = do_madvise_dontneed(a.mm, reg.start, reg.pages);
      if (r !== 0)
        throw new Error(`madvise(DONTNEED) of ${reg.pages} pages at ${reg.start} returned ${r}`);
      if (zap === a.regions.length) {
        zap = 0;
        next = 0;
        if (a.access === 'random') shuffle(order, rand);
      }
      return 1;
    },
    finish(): void {
      scheme().barrier();
    },
  };
}

function writer(a: WriterArgs, run: number): Job {
  const rand = rng(a.seed);
  const picks: Array<[WriterOp, number]> = [];
  let sum = 0;
  for (const [op, w] of Object.entries(a.ops) as Array<[WriterOp, number]>) {
    if (w > 0) {
      sum += w;
      picks.push([op, sum]);
    }
  }
  const s = a.spread;
  const nTargets = s !== null ? s.count : a.targets.length;
  const targetAt = (i: number): PageRange =>
    s !== null ? { start: s.base + i * s.stride, pages: s.pages } : a.targets[i]!;
  if (picks.some(([op]) => op === 'mprotect' || op === 'madvise') && nTargets === 0) {
    throw new UsageError('writer: mprotect/madvise need faulters VMAs to act on');
  }
  const readOnly = new Uint8Array(nTargets);
  let mapped = 0;
  let target = 0;
  const pick = (): WriterOp => {
    const x = rand() * sum;
    for (const [op, upTo] of picks) if (x < upTo) return op;
    return picks[picks.length - 1]![0];
  };
  return {
    kinds: WRITER_KINDS,
    step(): number {
      if (mapped !== 0) {
        const r = do_munmap(a.mm, mapped, a.pages);
        if (r !== 0) throw new Error(`munmap of ${a.pages} pages at ${mapped} returned ${r}`);
        mapped = 0;
        return 1;
      }
      switch (pick()) {
        case 'mmapMunmap': {
          const r = do_mmap(a.mm, 0, a.pages, PROT_READ | PROT_WRITE);
          if (r < 0) throw new Error(`mmap of ${a.pages} pages returned ${r}`);
          mapped = r;
          return 0;
        }
        case 'mprotect': {
          // A large mm: the writer changes VMAs all over it, not one after the other.
          const i = s !== null ? Math.floor(rand() * nTargets) : target++ % nTargets;
          const t = targetAt(i);
          readOnly[i] = readOnly[i] === 1 ? 0 : 1;
          const r = do_mprotect(
            a.mm,
            t.start,
            t.pages,
            readOnly[i] ? PROT_READ : PROT_READ | PROT_WRITE,
          );
          if (r !== 0) throw new Error(`mprotect of ${t.pages} pages at ${t.start} returned ${r}`);
          return 2;
        }
        case 'maps': {
          const r = read_maps(a.mm, true);
          if (r < 0) throw new Error(`read_maps returned ${r}`);
          return 3;
        }
        case 'madvise': {
          const t = targetAt(Math.floor(rand() * nTargets));
          const r = do_madvise_dontneed(a.mm, t.start, t.pages);
          if (r !== 0)
            throw new Error(`madvise(DONTNEED) of ${t.pages} pages at ${t.start} returned ${r}`);
          return 4;
        }
      }
    },
    between(): void {
      thinkTime(run, a.thinkUs);
    },
    finish(): void {
      // Deferred frees live in this thread: run them before it leaves (rcu_barrier and co.).
      scheme().barrier();
    },
  };
}
