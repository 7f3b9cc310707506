// Race script 6: a VMA slot freed and reused by another mm between the lookup and the lock
// (v6.15's SLAB_TYPESAFE_BY_RCU VMAs, Dec 2024, v5 4/6: the vm_mm re-check).
//
// A fault on mm a finds its VMA in a's index under RCU and stops before locking it. Another
// thread unmaps that VMA; the slab hands the slot out again at once (type-safe reuse, no grace
// period) for a new mapping of mm b, and b's writer write-locks it (as an mprotect would) and
// stops there. The fault resumes on the slot it found: vm_lock_seq is b's sequence, which says
// nothing against a's, so the early check passes and the increment succeeds (the writer's
// exclusion is over: the offset is gone). The fixed code re-checks vm_mm after the increment,
// sees b, drops the reference (pinning b across the put) and falls back to a's mmap_lock, where
// the address is unmapped: SIGSEGV. Without the re-check (BUG.NO_MM_RECHECK) it compares the
// slot's vm_lock_seq with a's sequence, finds no match and enters a VMA that b's writer holds
// write-locked: the shadow exclusion check (KERNEL.md §7.1) catches the read lock.

import { vt_lookup } from '../../../mm/vma_tree.js';
import {
  do_mmap,
  do_munmap,
  handle_user_fault,
  PROT_READ,
  PROT_WRITE,
  VM_FAULT_SIGSEGV,
} from '../../../ops/index.js';
import { atomic_read, sched_point } from '../../../sched/atomics.js';
import { sched_label } from '../../../sched/labels.js';
import { scheme } from '../../../schemes/active.js';
import { mmap_write_lock, mmap_write_unlock } from '../../../schemes/mmap.js';
import { MM, VMA } from '../../../shm/layout/index.js';
import { mm_create } from '../../../workload/world.js';
import type { RaceScript } from '../scenario.js';

const A_ADDR = 100;
const B_ADDR = 500;
const PAGES = 4;
/** b's writer holds the reused slot write-locked */
const B_LOCKED = sched_label('slot-reuse:b_write_locked');

const script: RaceScript = {
  name: 'slot-reuse',
  summary: 'a VMA slot freed and reused by another mm between the lookup and the lock',
  thread:
    'SLAB_TYPESAFE_BY_RCU VMAs, linux-mm Dec 2024 (Suren Baghdasaryan, v5 4/6; Vlastimil Babka, Peter Zijlstra): the vm_mm re-check',
  world: { scheme: 'vma_refcnt' },
  bugs: ['no-mm-recheck'],
  broken:
    "the fault of mm a read-locks the slot mm b's writer holds write-locked: the exclusion check fires",
  fixed:
    'the fault sees vm_mm is b after its increment, backs off (mmgrab around the put) and gets SIGSEGV',
  setup() {
    const a = mm_create();
    const b = mm_create();
    if (do_mmap(a, A_ADDR, PAGES, PROT_READ | PROT_WRITE) !== A_ADDR)
      throw new Error('mmap failed');
    return { a, b, slot: vt_lookup(a + MM.mm_mt, A_ADDR) };
  },
  tasks: [
    {
      name: 'fault on mm a',
      run: (env) => handle_user_fault(env['a'] as number, A_ADDR + 1, false),
    },
    {
      name: 'munmap a, mmap b, lock',
      run(env) {
        const a = env['a'] as number;
        const b = env['b'] as number;
        if (do_munmap(a, A_ADDR, PAGES) !== 0) throw new Error('munmap of a failed');
        if (do_mmap(b, B_ADDR, PAGES, PROT_READ) !== B_ADDR) throw new Error('mmap of b failed');
        // b's writer: the write lock an mprotect or munmap of b would take on this VMA.
        mmap_write_lock(b);
        const vma = vt_lookup(b + MM.mm_mt, B_ADDR);
        scheme().vma_start_write(vma);
        sched_point(B_LOCKED);
        mmap_write_unlock(b);
        return vma === (env['slot'] as number) ? 1 : 0;
      },
    },
  ],
  schedule: [
    ['fault on mm a', 'LOOKUP_TO_LOCK'],
    ['munmap a, mmap b, lock', 'slot-reuse:b_write_locked'],
    ['fault on mm a', 'end'],
    ['munmap a, mmap b, lock', 'end'],
  ],
  check(env, exec) {
    const [fault, writer] = exec.tasks;
    if (fault?.state === 'failed' && /read lock succeeded while a writer/.test(fault.error ?? '')) {
      return {
        ok: false,
        text: `mm a's fault read-locked a VMA of mm b that b's writer holds write-locked (${fault.error})`,
      };
    }
    if (exec.outcome !== 'done' || fault?.state !== 'done' || writer?.state !== 'done') {
      return {
        ok: false,
        text: `unexpected: ${exec.outcome}; fault ${fault?.state} ${fault?.error ?? ''}; writer ${writer?.state} ${writer?.error ?? ''}`,
      };
    }
    const slot = env['slot'] as number;
    const reused = writer.result === 1 ? 'the slot was reused by b' : 'b got another slot';
    const count = atomic_read(slot + VMA.vm_refcnt);
    // A fault that ran before the munmap succeeds (0); one after it, or one that backed off
    // from b's VMA, finds a's address unmapped (SIGSEGV). Either way b's count is back to 1.
    if ((fault.result !== 0 && fault.result !== VM_FAULT_SIGSEGV) || count !== 1) {
      return {
        ok: false,
        text: `the fault returned ${fault.result} (0 or SIGSEGV expected); the slot's vm_refcnt is ${count} (1 expected); ${reused}`,
      };
    }
    return fault.result === VM_FAULT_SIGSEGV
      ? { ok: true, text: `${reused}; the fault found a's VMA gone (SIGSEGV); vm_refcnt back to 1` }
      : { ok: true, text: `${reused}; the fault ran before the munmap (returned 0)` };
  },
  describe(env) {
    const slot = env['slot'] as number;
    return {
      [slot + VMA.vm_refcnt]: 'slot.vm_refcnt',
      [slot + VMA.vm_mm]: 'slot.vm_mm',
      [slot + VMA.vm_lock_seq]: 'slot.vm_lock_seq',
    };
  },
};

export default script;
