// Random sequences of mmap / munmap / mprotect / madvise / fault from one thread, on every
// scheme, checked after every step against a plain reference model (sorted ranges + present
// pages); fast-check shrinks a failure to a minimal sequence.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EEXIST, ENOMEM } from '../../src/errors.js';
import { check_world_quiescent } from '../../src/harness/checks.js';
import { count_present, TASK_SIZE_PAGES } from '../../src/mm/pgtable.js';
import {
  do_madvise_dontneed,
  do_mmap,
  do_mprotect,
  do_munmap,
  handle_user_fault,
  read_maps,
  VM_FAULT_SIGSEGV,
} from '../../src/ops/index.js';
import { atomic_read } from '../../src/sched/atomics.js';
import { scheme } from '../../src/schemes/active.js';
import { MM } from '../../src/shm/layout/index.js';
import { mm_create, SCHEMES, world_create } from '../../src/workload/world.js';

interface Range {
  start: number;
  end: number;
  flags: number;
}

/** A model VMA: its range, and its anon_vma's identity (0 until its first fault). */
interface ModelVma extends Range {
  anon: number;
}

/** The reference: what Linux's anonymous mappings would look like after the same calls. */
class Model {
  vmas: ModelVma[] = [];
  present = new Set<number>();
  private anons = 0;

  /** What maps shows: the ranges and flags. */
  maps(): Range[] {
    return this.vmas.map(({ start, end, flags }) => ({ start, end, flags }));
  }

  private sort(): void {
    this.vmas.sort((a, b) => a.start - b.start);
  }

  private mergeAround(lo: number, hi: number): void {
    this.sort();
    const out: ModelVma[] = [];
    for (const v of this.vmas) {
      const last = out[out.length - 1];
      if (
        last !== undefined &&
        last.end === v.start &&
        last.flags === v.flags &&
        // two different anon_vmas never merge; the survivor keeps the one there is
        (last.anon === 0 || v.anon === 0 || last.anon === v.anon) &&
        v.start >= lo &&
        last.end <= hi
      ) {
        last.end = v.end;
        if (last.anon === 0) last.anon = v.anon;
      } else out.push({ ...v });
    }
    this.vmas = out;
  }

  private cut(start: number, end: number): void {
    const out: ModelVma[] = [];
    for (const v of this.vmas) {
      if (v.end <= start || v.start >= end) out.push(v);
      else {
        // a split: both parts share the anon_vma
        if (v.start < start) out.push({ start: v.start, end: start, flags: v.flags, anon: v.anon });
        if (v.end > end) out.push({ start: end, end: v.end, flags: v.flags, anon: v.anon });
      }
    }
    this.vmas = out;
    this.sort();
  }

  private covered(start: number, end: number): boolean {
    let at = start;
    for (const v of this.vmas) {
      if (v.end <= at) continue;
      if (v.start > at) return false;
      at = v.end;
      if (at >= end) return true;
    }
    return at >= end;
  }

  mmap(addr: number, pages: number, flags: number): number {
    const end = addr + pages;
    if (this.vmas.some((v) => v.start < end && v.end > addr)) return EEXIST;
    // Merged with the neighbour below, above, or both (not both when their anon_vmas differ).
    const prev = this.vmas.find((v) => v.end === addr && v.flags === flags);
    let next = this.vmas.find((v) => v.start === end && v.flags === flags);
    if (prev !== undefined && next !== undefined && prev.anon !== 0 && next.anon !== 0) {
      if (prev.anon !== next.anon) next = undefined;
    }
    if (prev !== undefined) {
      prev.end = end;
      if (next !== undefined) {
        prev.end = next.end;
        if (prev.anon === 0) prev.anon = next.anon;
        this.vmas = this.vmas.filter((v) => v !== next);
      }
    } else if (next !== undefined) next.start = addr;
    else this.vmas.push({ start: addr, end, flags, anon: 0 });
    this.sort();
    return addr;
  }

  munmap(start: number, pages: number): number {
    this.cut(start, start + pages);
    for (const p of [...this.present]) if (p >= start && p < start + pages) this.present.delete(p);
    return 0;
  }

  mprotect(start: number, pages: number, flags: number): number {
    const end = start + pages;
    if (!this.covered(start, end)) return ENOMEM;
    const inside = this.vmas.filter((v) => v.end > start && v.start < end);
    this.cut(start, end);
    for (const v of inside) {
      const part = { start: Math.max(v.start, start), end: Math.min(v.end, end), flags };
      this.vmas.push({ ...part, anon: v.anon });
    }
    this.mergeAround(start - 1, end + 1);
    return 0;
  }

  madvise(start: number, pages: number): number {
    const end = start + pages;
    for (const p of [...this.present]) {
      if (p >= start && p < end) this.present.delete(p);
    }
    return this.covered(start, end) ? 0 : ENOMEM;
  }

  fault(addr: number, write: boolean): number {
    const v = this.vmas.find((r) => r.start <= addr && addr < r.end);
    if (v === undefined) return VM_FAULT_SIGSEGV;
    if (write ? (v.flags & 2) === 0 : (v.flags & 3) === 0) return VM_FAULT_SIGSEGV;
    if (!this.present.has(addr) && v.anon === 0) {
      // anon_vma_prepare: a compatible neighbour's (the one below first), else a new one
      const n = [
        this.vmas.find((r) => r.end === v.start && r.flags === v.flags && r.anon !== 0),
        this.vmas.find((r) => r.start === v.end && r.flags === v.flags && r.anon !== 0),
      ].find((r) => r !== undefined);
      v.anon = n?.anon ?? ++this.anons;
    }
    this.present.add(addr);
    return 0;
  }
}

const BASE = 4096;
const SPAN = 96;
// Mostly on a grid of 4 pages, so that ranges touch and overlap often (merges, splits, holes).
const addr = fc.oneof(
  fc.integer({ min: 0, max: SPAN / 4 }).map((k) => BASE + 4 * k),
  fc.integer({ min: BASE, max: BASE + SPAN }),
);
const len = fc.oneof(
  fc.integer({ min: 1, max: 6 }).map((k) => 4 * k),
  fc.integer({ min: 1, max: 24 }),
);
const prot = fc.constantFrom(0, 1, 3);
const op = fc.oneof(
  fc.record({ k: fc.constant('mmap' as const), a: addr, n: len, p: prot }),
  // right after an existing VMA (index into the model's list): the merge path
  fc.record({ k: fc.constant('mmapNext' as const), i: fc.nat(), n: len, p: prot }),
  fc.record({ k: fc.constant('munmap' as const), a: addr, n: len }),
  fc.record({ k: fc.constant('mprotect' as const), a: addr, n: len, p: prot }),
  fc.record({ k: fc.constant('madvise' as const), a: addr, n: len }),
  fc.record({ k: fc.constant('fault' as const), a: addr, w: fc.boolean() }),
  fc.record({ k: fc.constant('fault' as const), a: addr, w: fc.boolean() }),
);

describe.each(SCHEMES)('%s against the reference model', (name) => {
  it('agrees after every step of random operation sequences', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 40 }), (ops) => {
        world_create({ scheme: name, maxVmas: 256, frames: 1024, maxTasks: 4 });
        const mm = mm_create();
        const model = new Model();
        for (const o of ops) {
          let got: number;
          let want: number;
          switch (o.k) {
            case 'mmap':
              got = do_mmap(mm, o.a, o.n, o.p);
              want = model.mmap(o.a, o.n, o.p);
              break;
            case 'mmapNext': {
              const v = model.vmas[o.i % Math.max(1, model.vmas.length)];
              const at = v === undefined ? BASE : v.end;
              got = do_mmap(mm, at, o.n, o.p);
              want = model.mmap(at, o.n, o.p);
              break;
            }
            case 'munmap':
              got = do_munmap(mm, o.a, o.n);
              want = model.munmap(o.a, o.n);
              break;
            case 'mprotect':
              got = do_mprotect(mm, o.a, o.n, o.p);
              want = model.mprotect(o.a, o.n, o.p);
              break;
            case 'madvise':
              got = do_madvise_dontneed(mm, o.a, o.n);
              want = model.madvise(o.a, o.n);
              break;
            case 'fault':
              got = handle_user_fault(mm, o.a, o.w);
              want = model.fault(o.a, o.w);
              break;
          }
          expect(got, JSON.stringify(o)).toBe(want);
          const seen: Range[] = [];
          read_maps(mm, true, (start, end, flags) => seen.push({ start, end, flags }));
          expect(seen, JSON.stringify(o)).toEqual(model.maps());
          expect(count_present(atomic_read(mm + MM.pgd))).toBe(model.present.size);
          scheme().barrier();
          check_world_quiescent([mm]);
        }
        expect(do_munmap(mm, 0, TASK_SIZE_PAGES)).toBe(0);
        scheme().barrier();
        check_world_quiescent([mm]);
      }),
      { numRuns: 60 },
    );
  });
});
