// Race script 5: a speculative fault racing munmap (the 2020 "Splitting the mmap_sem" thread:
// speculative faults with VMAs freed after an SRCU grace period; the SPF series' validation).
//
// The fault (at page 3 of an 8-page VMA) finds the VMA inside its SRCU read section and takes
// the VMA's sequence snapshot, and stops there. munmap of pages 2..5 runs to the end: it splits
// the VMA (each change of its range inside a sequence bracket), marks the middle dead and removes
// it from the index, zaps its PTEs under the page-table locks (another bracket) and queues it
// for call_srcu (the fault's SRCU section keeps it readable); the page-table page stays, pages
// 0..1 and 6..7 still use it. The fault resumes, allocates a frame and takes the page-table
// lock. Its validation there (the VMA is dead, and its sequence moved) sees the change and falls
// back to the mmap_lock path, which finds no VMA: SIGSEGV, as if the fault came after the
// munmap. Without the validation (BUG.SPF_NO_VALIDATION) it installs the page into the range
// munmap has already unmapped and zapped: a PTE that no VMA covers.

import {
  do_mmap,
  do_munmap,
  handle_user_fault,
  PROT_READ,
  PROT_WRITE,
  VM_FAULT_SIGSEGV,
} from '../../../ops/index.js';
import { atomic_read } from '../../../sched/atomics.js';
import { MM } from '../../../shm/layout/index.js';
import { mm_create } from '../../../workload/world.js';
import type { RaceScript } from '../scenario.js';

const ADDR = 4096;
const PAGES = 8;

const script: RaceScript = {
  name: 'spf-munmap',
  summary: 'a speculative fault under SRCU racing munmap, caught by validation under the ptl',
  thread:
    '"Splitting the mmap_sem", linux-mm 2020 (Peter Zijlstra, Matthew Wilcox); the SPF series 2014-2021',
  world: { scheme: 'srcu_spf' },
  bugs: ['spf-no-validation'],
  broken: 'the fault installs a page after munmap zapped the hole: a PTE no VMA covers',
  fixed:
    'the dead and sequence checks under the ptl see the munmap; the fault falls back and gets SIGSEGV',
  setup() {
    const mm = mm_create();
    if (do_mmap(mm, ADDR, PAGES, PROT_READ | PROT_WRITE) !== ADDR) throw new Error('mmap failed');
    // One page faulted in beforehand, so the page-table page exists (a speculative fault
    // never allocates one).
    if (handle_user_fault(mm, ADDR, true) !== 0) throw new Error('first fault failed');
    return { mm };
  },
  tasks: [
    {
      name: 'speculative fault',
      run(env) {
        return handle_user_fault(env['mm'] as number, ADDR + 3, true);
      },
    },
    {
      name: 'munmap',
      run(env) {
        return do_munmap(env['mm'] as number, ADDR + 2, 4);
      },
    },
  ],
  schedule: [
    ['speculative fault', 'srcu_spf:snapshot'],
    ['munmap', 'end'],
    ['speculative fault', 'end'],
  ],
  check(env, exec) {
    const [fault, unmap] = exec.tasks;
    if (exec.outcome !== 'done' || fault?.state !== 'done' || unmap?.state !== 'done') {
      return {
        ok: false,
        text: `unexpected: ${exec.outcome}; fault ${fault?.state} ${fault?.error ?? ''}; munmap ${unmap?.state} ${unmap?.error ?? ''}`,
      };
    }
    // Page 0, faulted in by set-up, is the only PTE that may be left.
    const ptes = atomic_read((env['mm'] as number) + MM.nr_ptes);
    if (ptes !== 1) {
      return {
        ok: false,
        text: `the fault installed a page in the unmapped hole: ${ptes - 1} PTE(s) no VMA covers (fault returned ${fault.result})`,
      };
    }
    if (fault.result === VM_FAULT_SIGSEGV) {
      return {
        ok: true,
        text: 'the fault saw the munmap under the ptl, fell back, and got SIGSEGV',
      };
    }
    return { ok: true, text: `no PTE left behind (fault returned ${fault.result})` };
  },
  describe(env) {
    return { [(env['mm'] as number) + MM.nr_ptes]: 'mm.nr_ptes' };
  },
};

export default script;
