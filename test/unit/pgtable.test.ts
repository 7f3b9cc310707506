import { describe, expect, it } from 'vitest';
import { InvariantViolation, LockStateError, SlabExhausted } from '../../src/errors.js';
import { alloc_frame_or_throw, frames_init, frames_stats } from '../../src/mm/frames.js';
import {
  change_pte_range,
  count_present,
  free_pgtables,
  mk_pte,
  pgd_alloc,
  pgd_free,
  pgd_nr_pte_pages,
  pgtable_init,
  pgtable_stats,
  pte_lookup_lockless,
  pte_none,
  pte_offset_map_lock,
  pte_pfn,
  pte_present,
  pte_unmap_unlock,
  pte_write,
  pte_wrprotect,
  ptep_get,
  set_pte_at,
  TASK_SIZE_PAGES,
  walk_ptes,
  zap_pte_range,
} from '../../src/mm/pgtable.js';
import { atomic_read } from '../../src/sched/atomics.js';
import { CNT } from '../../src/sched/counters.js';
import { sum_counter, task_attach } from '../../src/sched/task.js';
import { arena_alloc, createArena } from '../../src/shm/arena.js';
import { PGD, PTE_PAGE, PTRS_PER_PTE } from '../../src/shm/layout/index.js';
import { spin_is_locked } from '../../src/sync/spinlock.js';
import { runThreads } from '../helpers/threads.js';

function world(frames: number, ptePages: number, pgds = 4, sizeMiB = 8): SharedArrayBuffer {
  const a = createArena({ sizeMiB, maxTasks: 8 });
  task_attach(0);
  frames_init(frames);
  pgtable_init(ptePages, pgds);
  return a.sab;
}

/** Map page `addr` to a fresh frame; returns the pfn. */
function map(pgd: number, addr: number, writable = true): number {
  const pfn = alloc_frame_or_throw();
  const ptep = pte_offset_map_lock(pgd, addr, true);
  expect(ptep).not.toBe(0);
  expect(pte_none(ptep_get(ptep))).toBe(true);
  set_pte_at(ptep, mk_pte(pfn, writable));
  pte_unmap_unlock(pgd, addr);
  return pfn;
}

function ptl_of(pgd: number, addr: number): number {
  return atomic_read(pgd + PGD.entries + Math.floor(addr / PTRS_PER_PTE)) + PTE_PAGE.ptl;
}

describe('PTE encoding', () => {
  it('round-trips pfn and permission bits', () => {
    const pte = mk_pte(12345, true);
    expect(pte_present(pte) && pte_write(pte) && !pte_none(pte)).toBe(true);
    expect(pte_pfn(pte)).toBe(12345);
    expect(pte_write(pte_wrprotect(pte))).toBe(false);
    expect(pte_pfn(pte_wrprotect(pte))).toBe(12345);
    expect(pte_none(0) && !pte_present(0)).toBe(true);
    expect(() => mk_pte(0, true)).toThrow(InvariantViolation);
  });
});

describe('page tables', () => {
  it('maps, walks, write-protects, zaps and counts exactly', () => {
    world(32, 8);
    const pgd = pgd_alloc();
    const addrs = [0, 1, 511, 512, 1000, 5000, TASK_SIZE_PAGES - 1];
    const pfns = addrs.map((a) => map(pgd, a));
    expect(count_present(pgd)).toBe(7);
    expect(pgd_nr_pte_pages(pgd)).toBe(4); // pages 0, 1, 9 and the last
    const seen: Array<[number, number]> = [];
    walk_ptes(pgd, 0, TASK_SIZE_PAGES, (a, pte) => seen.push([a, pte_pfn(pte)]));
    expect(seen).toEqual(addrs.map((a, i) => [a, pfns[i]!]));
    expect(pte_pfn(pte_lookup_lockless(pgd, 5000))).toBe(pfns[5]);
    expect(pte_lookup_lockless(pgd, 5001)).toBe(0);
    expect(pte_lookup_lockless(pgd, 9 * PTRS_PER_PTE)).toBe(0);
    expect(frames_stats().allocated).toBe(7);
    expect(change_pte_range(pgd, 0, 600, false)).toBe(4);
    expect(change_pte_range(pgd, 0, 600, false)).toBe(0);
    expect(pte_write(pte_lookup_lockless(pgd, 511))).toBe(false);
    expect(pte_write(pte_lookup_lockless(pgd, 1000))).toBe(true);
    expect(zap_pte_range(pgd, 0, 1000)).toBe(4); // end is exclusive: 1000 stays
    expect(count_present(pgd)).toBe(3);
    expect(frames_stats().allocated).toBe(3);
    expect(zap_pte_range(pgd, 0, TASK_SIZE_PAGES)).toBe(3);
    expect(frames_stats()).toEqual({ total: 32, free: 32, allocated: 0 });
    expect(free_pgtables(pgd, 0, TASK_SIZE_PAGES)).toBe(4);
    pgd_free(pgd);
    expect(pgtable_stats()).toEqual({ ptePages: 0, ptePagesCapacity: 8, pgds: 0 });
  });

  it('pte_offset_map_lock holds the page lock until pte_unmap_unlock', () => {
    world(8, 4);
    const pgd = pgd_alloc();
    expect(pte_offset_map_lock(pgd, 700, false)).toBe(0);
    expect(pgd_nr_pte_pages(pgd)).toBe(0);
    const ptep = pte_offset_map_lock(pgd, 700, true);
    expect(ptep).not.toBe(0);
    expect(spin_is_locked(ptl_of(pgd, 700))).toBe(true);
    pte_unmap_unlock(pgd, 700);
    expect(spin_is_locked(ptl_of(pgd, 700))).toBe(false);
    expect(() => pte_unmap_unlock(pgd, 700)).toThrow(LockStateError);
    expect(() => pte_unmap_unlock(pgd, 5000)).toThrow(LockStateError);
    expect(pte_offset_map_lock(pgd, 701, false)).toBe(ptep + 1);
    pte_unmap_unlock(pgd, 701);
    expect(() => pte_offset_map_lock(pgd, TASK_SIZE_PAGES, true)).toThrow(InvariantViolation);
    expect(() => pte_offset_map_lock(pgd, -1, true)).toThrow(InvariantViolation);
  });

  it('returns 0 when the pte pages run out, and the slabs name their knobs', () => {
    world(8, 2, 1);
    const pgd = pgd_alloc();
    map(pgd, 0);
    map(pgd, 512);
    expect(pte_offset_map_lock(pgd, 1024, true)).toBe(0);
    expect(() => pgd_alloc()).toThrow(SlabExhausted);
    expect(() => pgd_alloc()).toThrow(/^pgd slab full: 1 objects; raise --max-mms$/);
    zap_pte_range(pgd, 0, 1);
    expect(free_pgtables(pgd, 0, 512)).toBe(1);
    expect(pte_offset_map_lock(pgd, 1024, true)).not.toBe(0);
    pte_unmap_unlock(pgd, 1024);
  });

  it('free_pgtables frees empty pages, keeps a neighbour’s, refuses a mapped range', () => {
    world(8, 4);
    const pgd = pgd_alloc();
    map(pgd, 10);
    map(pgd, 600);
    expect(() => pgd_free(pgd)).toThrow(`pgd_free: pgd ${pgd} still has 2 pte pages`);
    expect(() => free_pgtables(pgd, 512, 1024)).toThrow(
      'free_pgtables: page 600 is still mapped in [512, 1024)',
    );
    expect(count_present(pgd)).toBe(2); // the failed call changed nothing
    expect(zap_pte_range(pgd, 0, 512)).toBe(1);
    expect(free_pgtables(pgd, 0, 550)).toBe(1); // [512, 1024) still maps 600: kept
    expect(pgd_nr_pte_pages(pgd)).toBe(1);
    expect(pte_offset_map_lock(pgd, 10, false)).toBe(0);
    expect(pte_pfn(pte_lookup_lockless(pgd, 600))).not.toBe(0);
    zap_pte_range(pgd, 0, TASK_SIZE_PAGES);
    expect(free_pgtables(pgd, 0, TASK_SIZE_PAGES)).toBe(1);
    pgd_free(pgd);
    expect(pgtable_stats().ptePages).toBe(0);
  });

  it('with deferFree, unlinks at once and frees only when the callback runs', () => {
    world(8, 4);
    const pgd = pgd_alloc();
    map(pgd, 3);
    zap_pte_range(pgd, 0, 512);
    const pending: Array<() => void> = [];
    expect(free_pgtables(pgd, 0, 512, (fn) => pending.push(fn))).toBe(1);
    expect(pending.length).toBe(1);
    expect(pgd_nr_pte_pages(pgd)).toBe(0);
    expect(pte_offset_map_lock(pgd, 3, false)).toBe(0);
    expect(pte_lookup_lockless(pgd, 3)).toBe(0);
    expect(pgtable_stats().ptePages).toBe(1); // unlinked, not yet freed
    for (const fn of pending) fn();
    expect(pgtable_stats().ptePages).toBe(0);
    pgd_free(pgd);
  });
});

function shuffled(xs: number[], seed: number): number[] {
  const out = [...xs];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1103515245) + 12345) & 0x7fffffff;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe('page tables under concurrent faults (5 workers)', () => {
  it('installs every PTE exactly once; frames allocated = mapped', async () => {
    const sab = world(3200, 16, 2, 24);
    const pgd = pgd_alloc();
    const base = 40 * PTRS_PER_PTE;
    // Phase 1: different addresses, interleaved, so the workers race to populate each page.
    const a1 = Array.from({ length: 4 * PTRS_PER_PTE }, (_, i) => base + i);
    const r1 = (await runThreads(
      sab,
      'test/threads/pgtable',
      [0, 1, 2, 3, 4].map((w) => ({
        taskId: w + 1,
        fn: 'faultPages',
        args: {
          pgd,
          addrs: shuffled(
            a1.filter((a) => a % 5 === w),
            w + 1,
          ),
          passes: 1,
        },
      })),
    )) as number[];
    expect(r1.reduce((s, n) => s + n, 0)).toBe(a1.length);
    expect(count_present(pgd)).toBe(a1.length);
    expect(pgd_nr_pte_pages(pgd)).toBe(4);
    expect(pgtable_stats().ptePages).toBe(4);
    // Phase 2: every worker faults every address of two more pages; one install each.
    const a2 = Array.from({ length: 2 * PTRS_PER_PTE }, (_, i) => base + 4 * PTRS_PER_PTE + i);
    const r2 = (await runThreads(
      sab,
      'test/threads/pgtable',
      [0, 1, 2, 3, 4].map((w) => ({
        taskId: w + 1,
        fn: 'faultPages',
        args: { pgd, addrs: shuffled(a2, 100 + w), passes: 2 },
      })),
    )) as number[];
    expect(r2.reduce((s, n) => s + n, 0)).toBe(a2.length);
    const mapped = count_present(pgd);
    expect(mapped).toBe(a1.length + a2.length);
    expect(frames_stats()).toEqual({ total: 3200, allocated: mapped, free: 3200 - mapped });
    expect(zap_pte_range(pgd, 0, TASK_SIZE_PAGES)).toBe(mapped);
    expect(free_pgtables(pgd, 0, TASK_SIZE_PAGES)).toBe(6);
    pgd_free(pgd);
    expect(frames_stats().allocated).toBe(0);
    expect(pgtable_stats()).toMatchObject({ ptePages: 0, pgds: 0 });
  });

  it('faults beside a munmap that frees their page tables lose no PTE and leak no frame', async () => {
    const sab = world(1024, 8, 2, 16);
    const pgd = pgd_alloc();
    const start = 8 * PTRS_PER_PTE;
    const end = start + 2 * PTRS_PER_PTE;
    const upper: number[] = [];
    for (let p = start; p < end; p += PTRS_PER_PTE) {
      for (let i = PTRS_PER_PTE / 2; i < PTRS_PER_PTE; i++) upper.push(p + i);
    }
    const sync = arena_alloc(2, 16);
    const res = await runThreads(sab, 'test/threads/pgtable', [
      ...[1, 2, 3, 4].map((t) => ({
        taskId: t,
        fn: 'faultPages',
        args: { pgd, addrs: shuffled(upper, t), passes: 60, sync, parties: 5 },
      })),
      { taskId: 5, fn: 'zapLoop', args: { pgd, start, end, sync, parties: 5, faulters: 4 } },
    ]);
    const installed = (res.slice(0, 4) as number[]).reduce((s, n) => s + n, 0);
    const { zapped, tablesFreed } = res[4] as { zapped: number; tablesFreed: number };
    console.log(
      'DBG',
      JSON.stringify(res[4]),
      installed,
      'retry',
      sum_counter(CNT.PTL_RETRY, 8),
      'alloc',
      sum_counter(CNT.PTE_PAGE_ALLOC, 8),
    );
    // The race really ran: pages were emptied and freed under the faulters' feet.
    expect(zapped).toBeGreaterThan(0);
    expect(tablesFreed).toBeGreaterThan(0);
    const left = count_present(pgd);
    expect(installed - zapped).toBe(left);
    expect(frames_stats().allocated).toBe(left);
    expect(zap_pte_range(pgd, start, end)).toBe(left);
    expect(frames_stats().allocated).toBe(0);
    free_pgtables(pgd, 0, TASK_SIZE_PAGES);
    expect(pgd_nr_pte_pages(pgd)).toBe(0);
    pgd_free(pgd);
    expect(pgtable_stats().ptePages).toBe(0);
    expect(sum_counter(CNT.PTE_PAGE_ALLOC, 8)).toBe(sum_counter(CNT.PTE_PAGE_FREE, 8));
  });
});
