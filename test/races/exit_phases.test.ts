// exit_mmap in two phases, as the kernel's: the pages are zapped under mmap_read_lock, so the
// OOM reaper's mmap_read_trylock gets in meanwhile; the page tables and the VMAs go under
// mmap_write_lock, when the trylock fails. Scripted on one thread: the schedule hook stands in
// for the reaper at exit's first update of the mm's page count (phase 1) and at its first
// page-table free (phase 2).

import { afterEach, describe, expect, it } from 'vitest';
import { mm_globals } from '../../src/mm/globals.js';
import { mmgrab } from '../../src/mm/mm.js';
import { pgd_nr_pte_pages } from '../../src/mm/pgtable.js';
import {
  do_mmap,
  exit_mmap,
  handle_user_fault,
  oom_reap_once,
  PROT_READ,
  PROT_WRITE,
} from '../../src/ops/index.js';
import {
  atomic_read,
  atomic_set,
  SP_RMW,
  SP_STORE,
  set_schedule_hook,
} from '../../src/sched/atomics.js';
import { SCHEMES } from '../../src/schemes/index.js';
import { mmap_read_trylock, mmap_read_unlock } from '../../src/schemes/mmap.js';
import { MM, MM_GLOBALS, PGD, PTRS_PER_PTE } from '../../src/shm/layout/index.js';
import { mm_create, world_create } from '../../src/workload/world.js';

afterEach(() => set_schedule_hook(null));

describe('exit_mmap: zap under the read lock, tear down under the write lock', () => {
  for (const name of SCHEMES) {
    it(`${name}: the OOM reaper gets in during the zap, not during the page-table free`, () => {
      world_create({ scheme: name, maxVmas: 64, frames: 64, maxTasks: 4 });
      const mm = mm_create();
      // Two VMAs in two pte pages, two pages faulted in each.
      const a = PTRS_PER_PTE;
      const b = 3 * PTRS_PER_PTE;
      for (const at of [a, b]) {
        expect(do_mmap(mm, at, 4, PROT_READ | PROT_WRITE)).toBe(at);
        for (const p of [0, 2]) expect(handle_user_fault(mm, at + p, true)).toBe(0);
      }
      const pgd = atomic_read(mm + MM.pgd);
      expect(pgd_nr_pte_pages(pgd)).toBe(2);
      expect(atomic_read(mm + MM.nr_ptes)).toBe(4);
      // The OOM killer chose this mm (out_of_memory's claim, without the kill).
      const g = mm_globals().ptr;
      mmgrab(mm);
      atomic_set(g + MM_GLOBALS.oom_victim, mm);
      let reaped = -2;
      let trylockInFree: boolean | null = null;
      let inside = false;
      set_schedule_hook((kind, what) => {
        if (inside) return;
        inside = true;
        try {
          if (reaped === -2 && kind === SP_RMW && what === mm + MM.nr_ptes) {
            // Phase 1 has zapped the first VMA and is about to account for it: the reaper
            // takes the read lock and zaps the rest.
            reaped = oom_reap_once();
          } else if (
            trylockInFree === null &&
            kind === SP_STORE &&
            what >= pgd + PGD.entries &&
            what < pgd + PGD.entries + PTRS_PER_PTE
          ) {
            // Phase 2 unlinks a pte page: the write lock is held.
            trylockInFree = mmap_read_trylock(mm);
            if (trylockInFree) mmap_read_unlock(mm);
          }
        } finally {
          inside = false;
        }
      });
      exit_mmap(mm);
      set_schedule_hook(null);
      // The reaper got in (the pages of the VMA exit had not reached yet: 2, + 1) and let go.
      expect(reaped).toBe(3);
      expect(atomic_read(g + MM_GLOBALS.oom_victim)).toBe(0);
      expect(trylockInFree).toBe(false);
      expect(atomic_read(mm + MM.mm_alive)).not.toBe(1); // freed (poisoned)
    });
  }
});
