// srcu_spf as the SPF series did it, scripted in one thread with a schedule hook (a speculative
// fault takes no lock, so it can run inside a writer's window):
//   - each modification has its own sequence bracket: between two of them, under the mmap write
//     lock, a speculative fault may snapshot the VMA as it now is; a snapshot taken before the
//     change fails its validation after it;
//   - a VMA removed from the index is dead: a fault that found it before munmap but snapshots
//     only after every bracket of that munmap closed sees an unchanged sequence, and only the
//     dead check stops it from installing a PTE no VMA covers.

import { afterEach, describe, expect, it } from 'vitest';
import { check_world_quiescent } from '../../src/harness/checks.js';
import { VM_WRITE } from '../../src/mm/vma.js';
import {
  do_mmap,
  do_mprotect,
  do_munmap,
  handle_user_fault,
  PROT_READ,
  PROT_WRITE,
  VM_FAULT_SIGSEGV,
} from '../../src/ops/index.js';
import { atomic_read, SP_NAMED, set_schedule_hook } from '../../src/sched/atomics.js';
import { sched_label } from '../../src/sched/labels.js';
import { scheme } from '../../src/schemes/active.js';
import { srcu_spf_fault_flags } from '../../src/schemes/srcu_spf.js';
import { MM } from '../../src/shm/layout/index.js';
import { mm_create, world_create } from '../../src/workload/world.js';

afterEach(() => set_schedule_hook(null));

const ADDR = 4096;
const RW = PROT_READ | PROT_WRITE;

function world(): number {
  world_create({ scheme: 'srcu_spf', maxVmas: 64, frames: 64, maxTasks: 4 });
  return mm_create();
}

describe('srcu_spf: per-modification brackets', () => {
  it('lets a fault snapshot a VMA between modifications, and fails one taken before', () => {
    const mm = world();
    expect(do_mmap(mm, ADDR, 8, RW)).toBe(ADDR);
    expect(handle_user_fault(mm, ADDR, true)).toBe(0); // anon_vma and the pte page
    const S = scheme();
    const LOCKED = 9; // SP.MMAP_WRITE_LOCKED
    const CHANGED = sched_label('mprotect:changed');
    let early = 0;
    let earlyValid = true;
    let during = -1;
    let duringFlags = -1;
    set_schedule_hook((kind, what) => {
      if (kind !== SP_NAMED) return;
      if (what === LOCKED && early === 0) {
        // Before mprotect changes anything: a snapshot of the VMA as it was, left open.
        early = S.lock_vma_under_rcu(mm, ADDR + 2);
      } else if (what === CHANGED && during < 0) {
        // Flags changed, mmap write lock still held: the bracket has closed. The early
        // snapshot no longer validates; a new one may be taken (one speculation at a time).
        earlyValid = S.vma_fault_still_valid(early);
        S.vma_end_read(early);
        const v = S.lock_vma_under_rcu(mm, ADDR + 3);
        during = v;
        duringFlags = srcu_spf_fault_flags();
        if (v !== 0) S.vma_end_read(v);
      }
    });
    // The early snapshot sits inside an open SRCU section while mprotect changes the VMA.
    expect(do_mprotect(mm, ADDR, 8, PROT_READ)).toBe(0);
    set_schedule_hook(null);
    expect(early).not.toBe(0);
    expect(during).toBe(early); // the same VMA, snapshotted mid-cycle
    expect(duringFlags & VM_WRITE).toBe(0); // and it copied the new flags
    expect(earlyValid).toBe(false); // the change since the snapshot
    S.barrier();
    check_world_quiescent([mm]);
  });
});

describe('srcu_spf: the dead check', () => {
  it('stops a fault that found the VMA before munmap and snapshots after it', () => {
    const mm = world();
    // V and a neighbour W in the same page-table page (a hole between: no merge), so munmap
    // of V keeps the pte page and the stale fault has somewhere to install.
    expect(do_mmap(mm, ADDR, 8, RW)).toBe(ADDR);
    expect(do_mmap(mm, ADDR + 9, 4, RW)).toBe(ADDR + 9);
    expect(handle_user_fault(mm, ADDR, true)).toBe(0); // V's anon_vma
    expect(handle_user_fault(mm, ADDR + 9, true)).toBe(0);
    const LOOKUP = sched_label('srcu_spf:lookup');
    let unmapped = -1;
    set_schedule_hook((kind, what) => {
      if (kind !== SP_NAMED || what !== LOOKUP || unmapped >= 0) return;
      // The fault found V and stops; munmap removes V, zaps and closes every bracket.
      unmapped = do_munmap(mm, ADDR, 8);
    });
    const r = handle_user_fault(mm, ADDR + 3, true);
    set_schedule_hook(null);
    expect(unmapped).toBe(0);
    // Only W's page is left; the fault fell back and found no VMA.
    expect(atomic_read(mm + MM.nr_ptes)).toBe(1);
    expect(r).toBe(VM_FAULT_SIGSEGV);
    scheme().barrier();
    check_world_quiescent([mm]);
  });
});
