// Race script 3: a fault preempted while it holds its lock (the 2022 per-VMA locks thread).
//
// Three VMAs. A fault on A is preempted inside handle_mm_fault, holding what its scheme locks a
// fault with. Then an munmap of B and a fault on C run. With per-VMA locks (vma_refcnt, the
// fixed variant) the preempted fault holds only A's VMA lock: the munmap of B takes the mmap
// write lock, write-locks B alone and finishes, and the fault on C finishes too. With one
// mmap_lock (the broken variant: the design before 6.4) the preempted fault holds mmap_lock for
// reading: the munmap queues for the write lock and the fault on C queues behind the writer,
// so nothing else in the address space moves until the preempted fault runs again.

import {
  do_mmap,
  do_munmap,
  handle_user_fault,
  PROT_READ,
  PROT_WRITE,
} from '../../../ops/index.js';
import { mm_create } from '../../../workload/world.js';
import type { RaceScript } from '../scenario.js';

const A = 1 << 12;
const B = 2 << 12;
const C = 3 << 12;

const script: RaceScript = {
  name: 'preempted-reader',
  summary: 'a fault preempted holding its lock: one VMA blocked, or the whole address space',
  thread:
    'per-VMA locks, linux-mm 2022 (Suren Baghdasaryan, Michel Lespinasse): a preempted mmap_lock reader blocks every writer',
  worlds: { fixed: { scheme: 'vma_refcnt' }, broken: { scheme: 'mmap_lock' } },
  bugs: [],
  broken:
    'mmap_lock: the munmap of another VMA and a fault on a third both wait for the preempted fault',
  fixed:
    'per-VMA locks: the munmap of another VMA and a fault on a third finish while the fault is preempted',
  setup() {
    const mm = mm_create();
    for (const at of [A, B, C]) {
      if (do_mmap(mm, at, 4, PROT_READ | PROT_WRITE) !== at) throw new Error('mmap failed');
    }
    return { mm };
  },
  tasks: [
    { name: 'fault on A', run: (env) => handle_user_fault(env['mm'] as number, A + 1, true) },
    { name: 'munmap B', run: (env) => do_munmap(env['mm'] as number, B, 4) },
    { name: 'fault on C', run: (env) => handle_user_fault(env['mm'] as number, C + 1, true) },
  ],
  schedule: [
    ['fault on A', 'FAULT_LOCKED'],
    ['munmap B', 'end'],
    ['fault on C', 'end'],
    ['fault on A', 'end'],
    ['munmap B', 'end'],
    ['fault on C', 'end'],
  ],
  check(_env, exec) {
    if (exec.outcome !== 'done' || exec.tasks.some((t) => t.state !== 'done')) {
      return {
        ok: false,
        text: `unexpected: ${exec.outcome}, ${exec.tasks.map((t) => `${t.name} ${t.state} ${t.error ?? ''}`).join('; ')}`,
      };
    }
    // The claim, in any schedule: while the fault on A stands preempted at FAULT_LOCKED,
    // holding what its scheme locks a fault with, the others can still move. It fails when A
    // passed that point alone (its first time there: a retry under mmap_lock is not the claim):
    // the munmap of B and the fault on C, not finished, could none of them step until A did.
    // The script's own schedule holds A there while B and C run as far as they can, so under
    // mmap_lock it fails on every run; explore finds the same in the schedules that switch
    // away from A while it holds mmap_lock.
    const held = exec.labels.find((l) => l.task === 0 && l.label === 'FAULT_LOCKED');
    if (held === undefined) {
      return { ok: false, text: 'unexpected: the fault on A never reached FAULT_LOCKED' };
    }
    if (!held.alone) {
      return {
        ok: true,
        text: 'the munmap of B and the fault on C never waited for the preempted fault on A',
      };
    }
    return {
      ok: false,
      text: 'what was left of the munmap of B and the fault on C could not move until the preempted fault on A did (the whole address space waited)',
    };
  },
};

export default script;
