// Thread bodies for test/stress/schemes.test.ts: faulters and writers on one mm, every scheme.

import {
  do_madvise_dontneed,
  do_mmap,
  do_mprotect,
  do_munmap,
  handle_user_fault,
  PROT_READ,
  PROT_WRITE,
  read_maps,
  VM_FAULT_SIGSEGV,
} from '../../src/ops/index.js';
import { atomic_fetch_add, atomic_read } from '../../src/sched/atomics.js';
import { scheme } from '../../src/schemes/active.js';
import { world_bind } from '../../src/workload/world.js';

const RW = PROT_READ | PROT_WRITE;

export interface FaulterArgs {
  mm: number;
  priv: number;
  shared: number;
  pages: number;
  iters: number;
  /** a word each faulter bumps when it is done; the writers run until all are */
  done: number;
}

/** Writers run at least `min` rounds and until `faulters` faulters have finished. */
function keepGoing(it: number, min: number, done: number, faulters: number): boolean {
  return it < min || atomic_read(done) < faulters;
}

/** Fault every page of a private and the shared region, then zap them; repeat. */
export function faulter(a: FaulterArgs): { faults: number; segv: number; bad: string[] } {
  world_bind();
  let faults = 0;
  let segv = 0;
  const bad: string[] = [];
  for (let it = 0; it < a.iters; it++) {
    for (let p = 0; p < a.pages; p++) {
      const r = handle_user_fault(a.mm, a.priv + p, (p & 1) === 0);
      faults++;
      if (r !== 0) bad.push(`private fault at ${a.priv + p}: ${r}`);
      const s = handle_user_fault(a.mm, a.shared + p, (it & 1) === 0);
      faults++;
      if (s === VM_FAULT_SIGSEGV) segv++;
      else if (s !== 0) bad.push(`shared fault at ${a.shared + p}: ${s}`);
    }
    if (do_madvise_dontneed(a.mm, a.priv, a.pages) !== 0) bad.push('madvise private');
    if (do_madvise_dontneed(a.mm, a.shared, a.pages) !== 0) bad.push('madvise shared');
    scheme().process_deferred();
  }
  atomic_fetch_add(a.done, 1);
  scheme().barrier();
  return { faults, segv, bad: bad.slice(0, 10) };
}

/** mmap + fault + munmap churn of unrelated VMAs, alternating between two mms. */
export function churn(a: { mms: number[]; iters: number; done: number; faulters: number }): {
  ops: number;
  mmaps: number;
  munmaps: number;
  faults: number;
  bad: string[];
} {
  world_bind();
  const bad: string[] = [];
  let ops = 0;
  let mmaps = 0;
  let munmaps = 0;
  let faults = 0;
  for (let it = 0; keepGoing(it, a.iters, a.done, a.faulters); it++) {
    const mm = a.mms[it % a.mms.length]!;
    const at = do_mmap(mm, 0, 8, RW);
    mmaps++;
    if (at < 0) {
      bad.push(`mmap: ${at}`);
      continue;
    }
    for (let p = 0; p < 8; p += 3) {
      if (handle_user_fault(mm, at + p, true) !== 0) bad.push(`churn fault ${at + p}`);
      faults++;
    }
    // unmap in two steps: a split, then the rest
    if (do_munmap(mm, at, 3) !== 0) bad.push('munmap head');
    if (do_munmap(mm, at + 3, 5) !== 0) bad.push('munmap tail');
    munmaps += 2;
    ops += 3;
  }
  scheme().barrier();
  return { ops, mmaps, munmaps, faults, bad: bad.slice(0, 10) };
}

/**
 * mprotect the middle of the shared region back and forth, and list the maps through the
 * per-VMA walk: the permanent regions must always be covered (never a false gap).
 */
export function protector(a: {
  mm: number;
  shared: number;
  pages: number;
  permanent: Array<[number, number]>;
  iters: number;
  done: number;
  faulters: number;
}): { ops: number; gaps: number; bad: string[] } {
  world_bind();
  const bad: string[] = [];
  let gaps = 0;
  let ops = 0;
  const mid = a.shared + (a.pages >> 2);
  const len = a.pages >> 1;
  for (let it = 0; keepGoing(it, a.iters, a.done, a.faulters); it++) {
    if (do_mprotect(a.mm, mid, len, PROT_READ) !== 0) bad.push('mprotect ro');
    const seen: Array<[number, number]> = [];
    const n = read_maps(a.mm, true, (s, e) => seen.push([s, e]));
    if (n < 0) bad.push(`read_maps ${n}`);
    for (const [ps, pe] of a.permanent) {
      let at = ps;
      for (const [s, e] of seen) if (s <= at && e > at) at = e;
      if (at < pe) gaps++;
    }
    if (do_mprotect(a.mm, mid, len, RW) !== 0) bad.push('mprotect rw');
    ops += 3;
  }
  scheme().barrier();
  return { ops, gaps, bad: bad.slice(0, 10) };
}
