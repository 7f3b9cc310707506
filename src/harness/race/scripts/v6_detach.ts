// Race script 1: the v6 detach race (Peter Zijlstra on per-VMA locks v6 10/16, 2023).
//
// A fault finds the VMA and passes vma_start_read's early sequence check, and stops. munmap
// write-locks the VMA (vma_start_write) and stops before detaching it. The fault then takes its
// reference (the increment succeeds: the writer holds no exclusion any more) and stops before
// its sequence re-check. munmap goes on: vma_mark_detached drops the attach
// reference. The fixed code sees the count is not 0 and waits for the stray reader, which re-
// checks the sequence, finds the VMA write-locked, drops its reference and wakes the writer;
// the VMA is then freed at count 0, and the fault falls back to mmap_lock and gets SIGSEGV.
// The v6 code (BUG.DETACH_NO_WAIT) goes on with the reader's reference still counted and frees
// a VMA that is not detached: vm_area_free catches it.

import {
  do_mmap,
  do_munmap,
  handle_user_fault,
  PROT_READ,
  PROT_WRITE,
  VM_FAULT_SIGSEGV,
} from '../../../ops/index.js';
import { mm_create } from '../../../workload/world.js';
import type { RaceScript } from '../scenario.js';

const ADDR = 100;

const script: RaceScript = {
  name: 'v6-detach',
  summary: 'a reader that increments between vma_start_write and vma_mark_detached',
  thread:
    'per-VMA locks v6 10/16, linux-mm 2023 (Peter Zijlstra): the second wait in vma_mark_detached',
  world: { scheme: 'vma_refcnt' },
  bugs: ['detach-no-wait'],
  broken: 'munmap frees the VMA with the reader\'s reference counted: "not detached"',
  fixed: 'vma_mark_detached waits for the stray reader; it backs off and the VMA is freed at 0',
  setup() {
    const mm = mm_create();
    if (do_mmap(mm, ADDR, 4, PROT_READ | PROT_WRITE) !== ADDR) throw new Error('mmap failed');
    return { mm };
  },
  tasks: [
    { name: 'fault', run: (env) => handle_user_fault(env['mm'] as number, ADDR + 1, false) },
    { name: 'munmap', run: (env) => do_munmap(env['mm'] as number, ADDR, 4) },
  ],
  schedule: [
    ['fault', 'BEFORE_REF_INC'],
    ['munmap', 'WRITE_BEFORE_DETACH'],
    ['fault', 'AFTER_REF_INC'],
    ['munmap', 'end'],
    ['fault', 'end'],
    ['munmap', 'end'],
  ],
  check(_env, exec) {
    const [fault, unmap] = exec.tasks;
    if (unmap?.state === 'failed') {
      return {
        ok: false,
        text: `use after free: munmap freed a VMA a reader still holds (${unmap.error ?? ''})`,
      };
    }
    if (exec.outcome === 'done' && fault?.state === 'done' && unmap?.state === 'done') {
      return fault.result === VM_FAULT_SIGSEGV
        ? {
            ok: true,
            text: 'the detach waited for the stray reader; the fault backed off and got SIGSEGV',
          }
        : {
            ok: true,
            text: `the detach waited for the stray reader (fault returned ${fault.result})`,
          };
    }
    return {
      ok: false,
      text: `unexpected: ${exec.outcome}, fault ${fault?.state} ${fault?.error ?? ''}, munmap ${unmap?.state}`,
    };
  },
};

export default script;
