import { describe, expect, it } from 'vitest';
import { EEXIST, EINVAL, ENOMEM } from '../../src/errors.js';
import { check_world_quiescent } from '../../src/harness/checks.js';
import { frames_stats } from '../../src/mm/frames.js';
import {
  MMAP_MIN_PAGE,
  PTRS_PER_PTE,
  pgd_nr_pte_pages,
  TASK_SIZE_PAGES,
} from '../../src/mm/pgtable.js';
import { vma_tree_cache, vt_check, vt_for_each } from '../../src/mm/vma_tree.js';
import {
  do_madvise_dontneed,
  do_mmap,
  do_mprotect,
  do_munmap,
  handle_user_fault,
  inject_munmap_gather_failure,
  mmap_region_many,
  PROT_READ,
  PROT_WRITE,
  read_maps,
  VM_FAULT_SIGSEGV,
} from '../../src/ops/index.js';
import { atomic_read } from '../../src/sched/atomics.js';
import { CNT } from '../../src/sched/counters.js';
import { EV, event_name } from '../../src/sched/events.js';
import { current_id, read_ring, set_tracing, sum_counter } from '../../src/sched/task.js';
import { scheme } from '../../src/schemes/active.js';
import { MM, VMA } from '../../src/shm/layout/index.js';
import { kmem_cache_alloc, kmem_cache_free } from '../../src/shm/slab.js';
import { mm_create, SCHEMES, world_create } from '../../src/workload/world.js';

const RW = PROT_READ | PROT_WRITE;

function listing(mm: number, viaVmaLocks: boolean): string {
  const out: string[] = [];
  read_maps(mm, viaVmaLocks, (s, e, f) => out.push(`${s}-${e}:${f}`));
  return out.join(' ');
}

describe.each(SCHEMES)('operations on %s', (name) => {
  it('mmap, fault, mprotect, madvise, munmap keep the model consistent', () => {
    world_create({ scheme: name, maxVmas: 256, frames: 512, maxTasks: 4 });
    const mm = mm_create();
    const a = do_mmap(mm, 1000, 10, RW);
    expect(a).toBe(1000);
    // merges with the VMA below it
    expect(do_mmap(mm, 1010, 5, RW)).toBe(1010);
    expect(listing(mm, false)).toBe('1000-1015:3');
    expect(do_mmap(mm, 1005, 2, RW)).toBe(EEXIST);
    expect(do_mmap(mm, -1, 2, RW)).toBe(EINVAL);
    expect(do_mmap(mm, TASK_SIZE_PAGES - 1, 2, RW)).toBe(EINVAL);
    for (let p = 1000; p < 1015; p++) expect(handle_user_fault(mm, p, true)).toBe(0);
    expect(handle_user_fault(mm, 999, false)).toBe(VM_FAULT_SIGSEGV);
    expect(frames_stats().allocated).toBe(15);
    check_world_quiescent([mm]);

    // split in the middle, read-only, then a write fault there fails
    expect(do_mprotect(mm, 1004, 3, PROT_READ)).toBe(0);
    expect(listing(mm, true)).toBe('1000-1004:3 1004-1007:1 1007-1015:3');
    expect(do_madvise_dontneed(mm, 1004, 3)).toBe(0);
    expect(handle_user_fault(mm, 1005, true)).toBe(VM_FAULT_SIGSEGV);
    expect(handle_user_fault(mm, 1005, false)).toBe(0);
    check_world_quiescent([mm]);
    // and back: the three merge into one
    expect(do_mprotect(mm, 1004, 3, RW)).toBe(0);
    expect(listing(mm, true)).toBe('1000-1015:3');
    expect(do_mprotect(mm, 990, 20, RW)).toBe(ENOMEM); // a hole below

    // munmap the middle: two VMAs remain, their pages stay
    expect(do_munmap(mm, 1003, 4)).toBe(0);
    expect(listing(mm, true)).toBe('1000-1003:3 1007-1015:3');
    check_world_quiescent([mm]);
    expect(frames_stats().allocated).toBe(11);

    // kernel-chosen address: top-down from the end of the address space
    const b = do_mmap(mm, 0, 8, RW);
    expect(b).toBe(TASK_SIZE_PAGES - 8);
    expect(b).toBeGreaterThanOrEqual(MMAP_MIN_PAGE);
    expect(handle_user_fault(mm, b + 7, true)).toBe(0);
    expect(do_munmap(mm, 0, TASK_SIZE_PAGES)).toBe(0);
    expect(listing(mm, false)).toBe('');
    scheme().barrier();
    check_world_quiescent([mm]);
    expect(frames_stats().allocated).toBe(0);
    expect(sum_counter(CNT.FAULTS, 1)).toBeGreaterThan(0);
  });

  it('munmap frees no pte page a live neighbour shares (free_pgtables floor and ceiling)', () => {
    world_create({ scheme: name, maxVmas: 64, frames: 64, maxTasks: 4 });
    const mm = mm_create();
    const P = PTRS_PER_PTE;
    const base = 8 * P;
    const pgd = atomic_read(mm + MM.pgd);
    // low ends where pte page 1 of the range starts; mid spans pages 1..3; high starts inside
    // page 3. Neither neighbour maps anything yet: the entries cannot tell the kernel's rule.
    expect(do_mmap(mm, base + P - 4, 4, PROT_READ)).toBe(base + P - 4);
    expect(do_mmap(mm, base + P, 2 * P + 10, RW)).toBe(base + P);
    expect(do_mmap(mm, base + 3 * P + 10, 10, PROT_READ)).toBe(base + 3 * P + 10);
    for (const p of [base + P, base + 2 * P, base + 3 * P]) {
      expect(handle_user_fault(mm, p, true)).toBe(0);
    }
    expect(pgd_nr_pte_pages(pgd)).toBe(3);
    expect(do_munmap(mm, base + P, 2 * P + 10)).toBe(0);
    // Pages 1 and 2 lie inside [low's end, high's start): freed. Page 3 also covers high: kept.
    expect(pgd_nr_pte_pages(pgd)).toBe(1);
    expect(sum_counter(CNT.PTE_PAGE_FREE, 1)).toBe(2);
    // A fault in high uses the page that stayed.
    expect(handle_user_fault(mm, base + 3 * P + 12, false)).toBe(0);
    expect(sum_counter(CNT.PTE_PAGE_ALLOC, 1)).toBe(3);
    check_world_quiescent([mm]);
    // With the neighbours gone, the rest goes.
    expect(do_munmap(mm, base, 4 * P)).toBe(0);
    expect(pgd_nr_pte_pages(pgd)).toBe(0);
    scheme().barrier();
    check_world_quiescent([mm]);
  });

  it('munmap frees its VMAs under the downgraded lock, a merge under the write lock', () => {
    world_create({ scheme: name, maxVmas: 64, frames: 64, maxTasks: 4 });
    const mm = mm_create();
    /** The events of the next operation, from its BEGIN event on. */
    const traced = (op: () => number): string[] => {
      set_tracing(true);
      try {
        expect(op()).toBe(0);
      } finally {
        set_tracing(false);
      }
      const ring = read_ring(current_id()).map((e) =>
        e.event === EV.MMAP_WRITE_UNLOCK && e.b === 1 ? 'DOWNGRADE' : event_name(e.event),
      );
      let begin = ring.length - 1;
      while (begin > 0 && !ring[begin]!.endsWith('_BEGIN')) begin--;
      return ring
        .slice(begin)
        .filter((e) => /^(VMA_FREE|MMAP_|DOWNGRADE|MUNMAP_END|MPROTECT_END)/.test(e));
    };
    expect(do_mmap(mm, 100, 4, RW)).toBe(100);
    expect(do_mmap(mm, 104, 4, PROT_READ)).toBe(104);
    expect(do_mmap(mm, 108, 4, RW)).toBe(108);
    expect(traced(() => do_munmap(mm, 100, 4))).toEqual([
      'DOWNGRADE',
      'VMA_FREE',
      'MMAP_READ_UNLOCK',
      'MUNMAP_END',
    ]);
    // 104..108 becomes RW: it merges with 108..112, which is freed before the unlock.
    expect(traced(() => do_mprotect(mm, 104, 4, RW))).toEqual([
      'VMA_FREE',
      'MMAP_WRITE_UNLOCK',
      'MPROTECT_END',
    ]);
    expect(listing(mm, true)).toBe('104-112:3');
    scheme().barrier();
    check_world_quiescent([mm]);
  });

  it('mmap merges with the neighbour above, below, or both', () => {
    world_create({ scheme: name, maxVmas: 64, frames: 64, maxTasks: 4 });
    const mm = mm_create();
    expect(do_mmap(mm, 1010, 5, RW)).toBe(1010);
    expect(handle_user_fault(mm, 1012, true)).toBe(0);
    // Above only: the VMA at 1010 grows down.
    expect(do_mmap(mm, 1005, 5, RW)).toBe(1005);
    expect(listing(mm, true)).toBe('1005-1015:3');
    // Both: the one below grows over the range and the one above, which is freed.
    expect(do_mmap(mm, 1020, 5, RW)).toBe(1020);
    expect(do_mmap(mm, 1015, 5, RW)).toBe(1015);
    expect(listing(mm, true)).toBe('1005-1025:3');
    // Below only: the one above has other flags.
    expect(do_mmap(mm, 1030, 5, PROT_READ)).toBe(1030);
    expect(do_mmap(mm, 1025, 5, RW)).toBe(1025);
    expect(listing(mm, true)).toBe('1005-1030:3 1030-1035:1');
    expect(atomic_read(mm + MM.map_count)).toBe(2);
    for (let p = 1005; p < 1035; p++) expect(handle_user_fault(mm, p, false)).toBe(0);
    scheme().barrier();
    check_world_quiescent([mm]);
    expect(do_munmap(mm, 1005, 30)).toBe(0);
    scheme().barrier();
    check_world_quiescent([mm]);
  });

  it('with the index node slab exhausted, munmap, mmap and mprotect change nothing (-ENOMEM)', () => {
    world_create({ scheme: name, maxVmas: 64, frames: 64, maxTasks: 4 });
    const mm = mm_create();
    expect(do_mmap(mm, 100, 12, RW)).toBe(100);
    expect(do_mmap(mm, 200, 4, PROT_READ)).toBe(200);
    for (let p = 100; p < 112; p++) expect(handle_user_fault(mm, p, true)).toBe(0);
    scheme().barrier();
    const before = listing(mm, true);
    const c = vma_tree_cache();
    const hoard: number[] = [];
    for (let p = kmem_cache_alloc(c); p !== 0; p = kmem_cache_alloc(c)) hoard.push(p);
    // Each needs index nodes (splits, a merge, a new entry): none is left, and it finds out
    // before it touches anything.
    expect(do_munmap(mm, 104, 4)).toBe(ENOMEM);
    expect(do_mmap(mm, 300, 4, RW)).toBe(ENOMEM);
    expect(do_mprotect(mm, 104, 4, PROT_READ)).toBe(ENOMEM);
    expect(listing(mm, true)).toBe(before);
    for (const p of hoard) kmem_cache_free(c, p);
    check_world_quiescent([mm]);
    for (let p = 100; p < 112; p++) expect(handle_user_fault(mm, p, false)).toBe(0);
    expect(frames_stats().allocated).toBe(12);
    expect(do_munmap(mm, 104, 4)).toBe(0);
    expect(listing(mm, true)).toBe('100-104:3 108-112:3 200-204:1');
    scheme().barrier();
    check_world_quiescent([mm]);
  });

  it('a failed munmap re-attaches every VMA it had detached', () => {
    world_create({ scheme: name, maxVmas: 64, frames: 64, maxTasks: 4 });
    const mm = mm_create();
    expect(do_mmap(mm, 100, 4, RW)).toBe(100);
    expect(do_mmap(mm, 104, 4, PROT_READ)).toBe(104);
    expect(do_mmap(mm, 108, 4, RW)).toBe(108);
    inject_munmap_gather_failure(2);
    expect(do_munmap(mm, 100, 12)).toBe(ENOMEM);
    check_world_quiescent([mm]);
    expect(listing(mm, true)).toBe('100-104:3 104-108:1 108-112:3');
    for (let p = 100; p < 112; p++) expect(handle_user_fault(mm, p, false)).toBe(0);
    expect(do_munmap(mm, 100, 12)).toBe(0);
    scheme().barrier();
    check_world_quiescent([mm]);
  });

  it('mmap_region_many builds an empty mm in bulk: the same VMAs and index as mmap one by one', () => {
    world_create({ scheme: name, maxVmas: 6000, frames: 64, maxTasks: 4 });
    for (const [count, pages] of [
      [21, 1],
      [421, 2],
    ] as const) {
      const bulk = mm_create();
      const byOne = mm_create();
      const stride = pages + 1;
      expect(mmap_region_many(bulk, 1000, stride, count, pages, RW)).toBe(0);
      for (let i = 0; i < count; i++) {
        expect(do_mmap(byOne, 1000 + i * stride, pages, RW)).toBe(1000 + i * stride);
      }
      scheme().barrier();
      check_world_quiescent([bulk, byOne]); // vt_check of each index, the VMAs' states
      expect(listing(bulk, true)).toBe(listing(byOne, true));
      expect(atomic_read(bulk + MM.map_count)).toBe(count);
      // The very tree the inserts grew: as many nodes, as many levels.
      expect(vt_check(bulk + MM.mm_mt)).toEqual(vt_check(byOne + MM.mm_mt));
      const words = (mm: number): number[] => {
        const out: number[] = [];
        vt_for_each(mm + MM.mm_mt, 0, TASK_SIZE_PAGES, (_s, _e, v) =>
          out.push(atomic_read(v + VMA.vm_flags), atomic_read(v + VMA.vm_mm) === mm ? 1 : 0),
        );
        return out;
      };
      expect(words(bulk)).toEqual(words(byOne));
      expect(do_munmap(bulk, 1000, count * stride)).toBe(0);
      expect(do_munmap(byOne, 1000, count * stride)).toBe(0);
      scheme().barrier();
      check_world_quiescent([bulk, byOne]);
    }
  });

  it('mmap_region_many maps a large mm in one transaction, or nothing', () => {
    world_create({ scheme: name, maxVmas: 2200, frames: 64, maxTasks: 4 });
    const mm = mm_create();
    expect(mmap_region_many(mm, 1000, 3, 2000, 2, RW)).toBe(0);
    expect(sum_counter(CNT.MMAP_OPS, 1)).toBe(2000);
    const l = listing(mm, true).split(' ');
    expect(l.length).toBe(2000);
    expect(l[0]).toBe('1000-1002:3');
    expect(l[1999]).toBe(`${1000 + 3 * 1999}-${1002 + 3 * 1999}:3`);
    check_world_quiescent([mm]);
    // Overlapping, or right above a VMA it could merge with: nothing is mapped.
    expect(mmap_region_many(mm, 1000 + 3 * 1999, 3, 10, 2, RW)).toBe(EEXIST);
    expect(mmap_region_many(mm, 1002 + 3 * 1999, 3, 10, 2, RW)).toBe(EEXIST);
    expect(mmap_region_many(mm, 100_000, 2, 10, 2, RW)).toBe(EINVAL);
    // The slab runs out half-way: every VMA made so far is freed again.
    expect(mmap_region_many(mm, 100_000, 3, 1000, 1, RW)).toBe(ENOMEM);
    expect(listing(mm, true).split(' ').length).toBe(2000);
    scheme().barrier();
    check_world_quiescent([mm]);
    expect(do_munmap(mm, 1000, 3 * 2000)).toBe(0);
    scheme().barrier();
    check_world_quiescent([mm]);
  });
});
