// Race script: why classic SRCU scans both indexes (the double scan), part of the 2020
// "Splitting the mmap_sem" thread's SRCU-freed VMAs: a reader that loaded srcu_idx, was
// preempted across a whole grace period, and then counted itself on the old index.
//
// The reader loads srcu_idx (0) and stops. Another task's grace period (any updater of the same
// srcu_struct) flips the index to 1 and drains index 0 (empty). The reader now increments
// lock[0] (a late reader on the non-current index) and picks up the object. The updater
// unpublishes it and starts its grace period: scan 1 must wait for index 0 to drain before
// flipping. Skipping scan 1 (BUG.SRCU_SKIP_FIRST_INDEX), it flips the index back to 0 and scan 2
// checks index 1: empty. The grace period ends, the object is freed (poisoned), and the reader
// reads poison. Found by explore without the schedule only with two preemptions (the reader
// stopped after its index load, and again after it picked up the pointer).

import { atomic_read, atomic_set, sched_point } from '../../../sched/atomics.js';
import { sched_label } from '../../../sched/labels.js';
import { arena_alloc } from '../../../shm/arena.js';
import { LINE_WORDS, SRCU } from '../../../shm/layout/index.js';
import {
  init_srcu_struct,
  srcu_read_lock,
  srcu_read_unlock,
  synchronize_srcu,
} from '../../../sync/srcu.js';
import type { RaceScript } from '../scenario.js';

const GOT_PTR = sched_label('reader:got_ptr');
const LIVE = 0x600d;
const POISON = 0x6b6b6b6b;

const script: RaceScript = {
  name: 'srcu-late-reader',
  summary: 'an SRCU reader preempted across a grace period, and the scan that waits for it',
  thread: '"Splitting the mmap_sem", linux-mm 2020 (SRCU-freed VMAs); classic SRCU double scan',
  bugs: ['srcu-skip-first-index'],
  broken: 'the second grace period ends while the late reader holds the object: it reads poison',
  fixed: 'scan 1 waits for the late reader on the non-current index; the object outlives it',
  setup() {
    const ssp = init_srcu_struct();
    const obj = arena_alloc(1, LINE_WORDS, 'object');
    const ptr = arena_alloc(1, LINE_WORDS, 'pointer');
    atomic_set(obj, LIVE);
    atomic_set(ptr, obj);
    return { ssp, obj, ptr };
  },
  tasks: [
    {
      name: 'reader',
      run(env) {
        const ssp = env['ssp'] as number;
        const idx = srcu_read_lock(ssp);
        const p = atomic_read(env['ptr'] as number);
        sched_point(GOT_PTR);
        const v = p === 0 ? LIVE : atomic_read(p);
        srcu_read_unlock(ssp, idx);
        return v;
      },
    },
    {
      name: 'updater',
      run(env) {
        const ssp = env['ssp'] as number;
        atomic_set(env['ptr'] as number, 0); // unpublish
        synchronize_srcu(ssp);
        atomic_set(env['obj'] as number, POISON); // free
        return 0;
      },
    },
    {
      name: 'other gp',
      run(env) {
        synchronize_srcu(env['ssp'] as number);
        return 0;
      },
    },
  ],
  schedule: [
    ['reader', 'srcu_read_lock:idx_loaded'],
    ['other gp', 'end'],
    ['reader', 'reader:got_ptr'],
    ['updater', 'end'],
    ['reader', 'end'],
    ['updater', 'end'],
  ],
  check(_env, exec) {
    const [reader, updater, other] = exec.tasks;
    if (exec.outcome !== 'done' || exec.tasks.some((t) => t.state !== 'done')) {
      return {
        ok: false,
        text: `unexpected: ${exec.outcome}, reader ${reader?.state}, updater ${updater?.state}, other ${other?.state}`,
      };
    }
    if (reader?.result === POISON) {
      return {
        ok: false,
        text: 'use after free: the reader read the object after the grace period freed it',
      };
    }
    return { ok: true, text: 'the reader read a live object; the free waited for it' };
  },
  describe(env) {
    return {
      [env['obj'] as number]: 'object',
      [env['ptr'] as number]: 'pointer',
      [(env['ssp'] as number) + SRCU.srcu_waiting]: 'srcu_waiting',
      [(env['ssp'] as number) + SRCU.srcu_idx]: 'srcu_idx',
    };
  },
};

export default script;
