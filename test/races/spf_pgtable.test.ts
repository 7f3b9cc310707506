// srcu_spf: a speculative fault must not wire up a page-table page for a range that was unmapped
// after its snapshot (the SPF series left page-table allocation to the locked path). Scripted:
// the fault takes its snapshot of V, and just as it looks up the pte page an munmap removes V.

import { afterEach, describe, expect, it } from 'vitest';
import { check_world_quiescent } from '../../src/harness/checks.js';
import { pgd_nr_pte_pages } from '../../src/mm/pgtable.js';
import {
  do_mmap,
  do_munmap,
  handle_user_fault,
  PROT_READ,
  PROT_WRITE,
  VM_FAULT_SIGSEGV,
} from '../../src/ops/index.js';
import { atomic_read, SP_LOAD, set_schedule_hook } from '../../src/sched/atomics.js';
import { CNT } from '../../src/sched/counters.js';
import { sum_counter } from '../../src/sched/task.js';
import { scheme } from '../../src/schemes/active.js';
import { MM, PGD, PGDIR_SHIFT, PTRS_PER_PTE } from '../../src/shm/layout/index.js';
import { mm_create, world_create } from '../../src/workload/world.js';

afterEach(() => set_schedule_hook(null));

describe('srcu_spf speculative fault against munmap', () => {
  it('allocates no page table for the unmapped range and falls back', () => {
    world_create({ scheme: 'srcu_spf', maxVmas: 64, frames: 64, maxTasks: 4 });
    const mm = mm_create();
    // Two pte pages' worth: a first fault in the upper one gives the VMA its anon_vma (the
    // speculative path refuses a VMA without one, as the SPF series did), and leaves the lower
    // one's pte page unallocated for the speculative fault below.
    const addr = PTRS_PER_PTE;
    expect(do_mmap(mm, addr, 2 * PTRS_PER_PTE, PROT_READ | PROT_WRITE)).toBe(addr);
    expect(handle_user_fault(mm, addr + PTRS_PER_PTE, true)).toBe(0);
    const pgd = atomic_read(mm + MM.pgd);
    expect(pgd_nr_pte_pages(pgd)).toBe(1);
    const slot = pgd + PGD.entries + (addr >>> PGDIR_SHIFT);
    let fired = false;
    set_schedule_hook((kind, what) => {
      if (fired || kind !== SP_LOAD || what !== slot) return;
      fired = true;
      expect(do_munmap(mm, addr, 2 * PTRS_PER_PTE)).toBe(0);
    });
    const aborts = sum_counter(CNT.SPF_ABORT, 1);
    const ret = handle_user_fault(mm, addr + 3, true);
    set_schedule_hook(null);
    expect(fired).toBe(true);
    expect(ret).toBe(VM_FAULT_SIGSEGV); // the locked path finds no VMA
    expect(sum_counter(CNT.SPF_ABORT, 1)).toBe(aborts + 1);
    expect(pgd_nr_pte_pages(pgd)).toBe(0);
    scheme().barrier();
    check_world_quiescent([mm]);
  });
});
