// Race script 2: detach ordering (the Dec 2024 refcount series: munmap write-locks a VMA, then
// detaches it).
//
// A fault finds the VMA and passes vma_start_read's early sequence check, and stops before its
// increment. munmap runs to the end. In the merged order (the fixed variant) it write-locks the
// VMA first: the offset excludes readers while vm_lock_seq is set, so the fault's reader either
// sees the sequence and backs off or is waited for; then vma_mark_detached drops the attach
// reference 1 -> 0 and the VMA is freed. The late increment finds 0, the fault looks the address
// up again, falls back to mmap_lock and gets SIGSEGV. The alternative (BUG.DETACH_BEFORE_WRITE_LOCK)
// detaches first: the count drops while the VMA is not write-locked, so nothing tells a reader
// between its lookup and its increment to back off. The kernel's vma_mark_detached() asserts the
// write lock (VM_BUG_ON_VMA), and so does faultline's: munmap dies there, on every run, whatever
// the reader does (here it goes on to lock the VMA and fault it in).

import { vt_lookup } from '../../../mm/vma_tree.js';
import {
  do_mmap,
  do_munmap,
  handle_user_fault,
  PROT_READ,
  PROT_WRITE,
  VM_FAULT_SIGSEGV,
} from '../../../ops/index.js';
import { atomic_read } from '../../../sched/atomics.js';
import { MM, VMA } from '../../../shm/layout/index.js';
import { mm_create } from '../../../workload/world.js';
import type { RaceScript } from '../scenario.js';

const ADDR = 100;

const script: RaceScript = {
  name: 'detach-order',
  summary: 'munmap: write-lock then detach (merged), or detach then write-lock (the alternative)',
  thread:
    'per-VMA refcount series, linux-mm Dec 2024 (Suren Baghdasaryan, Peter Zijlstra, Vlastimil Babka): vma_start_write before vma_mark_detached',
  world: { scheme: 'vma_refcnt' },
  bugs: ['detach-before-write-lock'],
  broken:
    'munmap drops the attach reference of a VMA it has not write-locked: vma_mark_detached asserts the write lock and fires',
  fixed:
    'munmap write-locks, then detaches; the late reader finds the count 0, looks again and gets SIGSEGV',
  setup() {
    const mm = mm_create();
    if (do_mmap(mm, ADDR, 4, PROT_READ | PROT_WRITE) !== ADDR) throw new Error('mmap failed');
    return { mm, vma: vt_lookup(mm + MM.mm_mt, ADDR) };
  },
  tasks: [
    { name: 'fault', run: (env) => handle_user_fault(env['mm'] as number, ADDR + 1, false) },
    { name: 'munmap', run: (env) => do_munmap(env['mm'] as number, ADDR, 4) },
  ],
  schedule: [
    ['fault', 'BEFORE_REF_INC'],
    ['munmap', 'end'],
    ['fault', 'end'],
    ['munmap', 'end'],
  ],
  check(env, exec) {
    const [fault, unmap] = exec.tasks;
    if (unmap?.state === 'failed' && /not write-locked/.test(unmap.error ?? '')) {
      return {
        ok: false,
        text: `munmap detached a VMA it had not write-locked (${unmap.error}); the fault ${fault?.state === 'done' ? `returned ${fault.result}` : fault?.state}`,
      };
    }
    if (exec.outcome !== 'done' || fault?.state !== 'done' || unmap?.state !== 'done') {
      return {
        ok: false,
        text: `unexpected: ${exec.outcome}; fault ${fault?.state} ${fault?.error ?? ''}; munmap ${unmap?.state} ${unmap?.error ?? ''}`,
      };
    }
    const left = atomic_read((env['mm'] as number) + MM.map_count);
    if (unmap.result !== 0 || left !== 0) {
      return { ok: false, text: `munmap returned ${unmap.result}, ${left} VMA(s) left` };
    }
    if (fault.result === VM_FAULT_SIGSEGV) {
      return { ok: true, text: 'write-locked, then detached; the late fault got SIGSEGV' };
    }
    if (fault.result === 0)
      return { ok: true, text: 'the fault ran before the munmap (returned 0)' };
    return { ok: false, text: `the fault returned ${fault.result} (0 or SIGSEGV expected)` };
  },
  describe(env) {
    const vma = env['vma'] as number;
    return { [vma + VMA.vm_refcnt]: 'vma.vm_refcnt', [vma + VMA.vm_lock_seq]: 'vma.vm_lock_seq' };
  },
};

export default script;
