// Race script 8: the 2^31 sequence-wrap question (KERNEL.md §6.2), for one per-VMA lock scheme
// (this file: vma_refcnt, the default export; seq_wrap_rwsem.ts: vma_rwsem).
//
// vma_start_write() returns at once when vm_lock_seq equals the mm's sequence: "this VMA is
// already write-locked in this write cycle". Sequences are u32 and wrap. A VMA whose last write
// lock (or never-locked UINT_MAX) equals the value the mm's sequence comes back to after one
// full turn is taken by that write cycle's writer without excluding anyone. Is a reader inside
// then? The script answers by running it, with the mm's sequence forced near the wrap:
//
// Set-up maps V (the VMA a fault reads) and W (another VMA), and measures one write cycle: how
// much mm_lock_seq moves while the write lock is held and per cycle. The broken variant then
// sets mm_lock_seq to the value it would have after the mm's write cycles had gone almost a full
// turn without touching V: two cycles short of V's vm_lock_seq. The run: a fault on V takes V's
// read lock (its sequence checks see no match) and stops inside. The writer runs two real write
// cycles: an mprotect of W, then it write-locks V and counts the readers inside V (the shadow
// count, KERNEL.md §7.1). The fixed variant starts from the sequence the mm really has: the
// writer waits for the reader, 0 inside. In the broken one the counter wraps through 0 during the
// run and, if the fast path is fooled, the writer holds V with the reader inside. The verdict and
// the number of write cycles a real process needs are computed from what the run measured.

import { vt_lookup } from '../../../mm/vma_tree.js';
import {
  do_mmap,
  do_mprotect,
  handle_user_fault,
  PROT_READ,
  PROT_WRITE,
} from '../../../ops/index.js';
import { atomic_read, atomic_set, sched_point } from '../../../sched/atomics.js';
import { sched_label } from '../../../sched/labels.js';
import { scheme } from '../../../schemes/active.js';
import { mm_lock_seq, mmap_write_lock, mmap_write_unlock } from '../../../schemes/mmap.js';
import { SHADOW_WRITER } from '../../../schemes/shadow.js';
import { MM, SEQCOUNT, VMA } from '../../../shm/layout/index.js';
import { mm_create } from '../../../workload/world.js';
import type { RaceScript } from '../scenario.js';

const V_ADDR = 100;
const W_ADDR = 200;
const PAGES = 4;
/** The assumed rate of write cycles of one mm (one mprotect() or mmap()/munmap() ~1 µs). */
export const ASSUMED_CYCLES_PER_SECOND = 1e6;
const WRITE_LOCKED = sched_label('seq-wrap:v_write_locked');

const hex = (v: number): string => `0x${(v >>> 0).toString(16).padStart(8, '0')}`;

/** The script for one scheme. */
export function seqWrapScript(which: 'vma_refcnt' | 'vma_rwsem'): RaceScript {
  const world = { scheme: which } as const;
  return {
    name: which === 'vma_refcnt' ? 'seq-wrap' : 'seq-wrap-rwsem',
    summary: `${which}: mm_lock_seq wrapped round to a VMA's vm_lock_seq; does vma_start_write still exclude a reader?`,
    thread:
      'KERNEL.md §6.2, the sequence-wrap question; vma_start_read(): "False locked result is possible if mm_lock_seq overflows"',
    worlds: { fixed: world, broken: world },
    bugs: [],
    broken: `mm_lock_seq forced one turn on (${which}): the writer's fast path takes V with the reader inside`,
    fixed: 'mm_lock_seq as the mm has it: vma_start_write waits for the reader',
    setup(variant) {
      const mm = mm_create();
      if (do_mmap(mm, V_ADDR, PAGES, PROT_READ | PROT_WRITE) !== V_ADDR) throw new Error('mmap V');
      if (do_mmap(mm, W_ADDR, PAGES, PROT_READ | PROT_WRITE) !== W_ADDR) throw new Error('mmap W');
      const v = vt_lookup(mm + MM.mm_mt, V_ADDR);
      // One write cycle, measured: the sequence while the lock is held, and after.
      const s0 = mm_lock_seq(mm);
      mmap_write_lock(mm);
      const held = mm_lock_seq(mm);
      mmap_write_unlock(mm);
      const s1 = mm_lock_seq(mm);
      const inc = (s1 - s0) >>> 0;
      const lockOff = (held - s0) >>> 0;
      const vSeq = atomic_read(v + VMA.vm_lock_seq);
      let start = s1;
      if (variant === 'broken') {
        // The value after the W cycle and the V cycle's lock lands on V's vm_lock_seq.
        start = (vSeq - inc - lockOff) | 0;
        atomic_set(mm + MM.mm_lock_seq + SEQCOUNT.sequence, start);
      }
      // Write cycles the forced value stands for (0 in the fixed variant).
      const skipped = inc === 0 ? 0 : ((start - s1) >>> 0) / inc;
      return { mm, v, inc, lockOff, vSeq, start, skipped };
    },
    tasks: [
      {
        name: 'fault on V',
        run: (env) => handle_user_fault(env['mm'] as number, V_ADDR + 1, false),
      },
      {
        name: 'writer: W, then V',
        run(env) {
          const mm = env['mm'] as number;
          const v = env['v'] as number;
          if (do_mprotect(mm, W_ADDR, PAGES, PROT_READ) !== 0) throw new Error('mprotect W failed');
          mmap_write_lock(mm);
          scheme().vma_start_write(v);
          // Readers inside V now: vma_start_write must have excluded them all.
          const inside = atomic_read(v + VMA.shadow_readers) & (SHADOW_WRITER - 1);
          sched_point(WRITE_LOCKED);
          mmap_write_unlock(mm);
          return inside;
        },
      },
    ],
    schedule: [
      ['fault on V', 'FAULT_LOCKED'],
      ['writer: W, then V', 'seq-wrap:v_write_locked'],
      ['fault on V', 'end'],
      ['writer: W, then V', 'end'],
    ],
    check(env, exec) {
      const [fault, writer] = exec.tasks;
      if (exec.outcome !== 'done' || fault?.state !== 'done' || writer?.state !== 'done') {
        return {
          ok: false,
          text: `unexpected: ${exec.outcome}; fault ${fault?.state} ${fault?.error ?? ''}; writer ${writer?.state} ${writer?.error ?? ''}`,
        };
      }
      const mm = env['mm'] as number;
      const inc = env['inc'] as number;
      const start = env['start'] as number;
      const end = mm_lock_seq(mm);
      const atV = atomic_read((env['v'] as number) + VMA.vm_lock_seq);
      const wrapped = end >>> 0 < start >>> 0;
      const run = `mm_lock_seq ${hex(start)} -> ${hex(end)}${wrapped ? ' (wrapped through 0)' : ''}, +${inc} per write cycle`;
      const inside = writer.result;
      if (inside === 0) {
        return {
          ok: true,
          text: `no: vma_start_write excluded the reader (0 inside V at ${hex(atV)}); ${run}`,
        };
      }
      // A full turn of the u32 sequence, in write cycles, and at the assumed rate.
      const period = 2 ** 32 / inc;
      const minutes = period / ASSUMED_CYCLES_PER_SECOND / 60;
      const hold =
        (env['lockOff'] as number) === 0
          ? 'across one other write cycle and into the next (the sequence moves only at unlock)'
          : 'from the last unlocked value into the next write cycle';
      return {
        ok: false,
        text:
          `yes: vma_start_write found vm_lock_seq == mm_lock_seq == ${hex(atV)}, skipped excluding readers, and holds V with ${inside} reader inside; ${run}. ` +
          `A real process needs 2^32/${inc} = ${period} write cycles of this mm that leave V alone (the forced start stood for ${env['skipped']}), ` +
          `about ${minutes.toFixed(0)} min at an assumed ${ASSUMED_CYCLES_PER_SECOND.toExponential(0)} write cycles/s, and a reader holding V ${hold}`,
      };
    },
    describe(env) {
      const v = env['v'] as number;
      const mm = env['mm'] as number;
      return {
        [v + VMA.vm_lock_seq]: 'V.vm_lock_seq',
        [mm + MM.mm_lock_seq + SEQCOUNT.sequence]: 'mm_lock_seq',
        [v + VMA.shadow_readers]: 'V readers (shadow)',
      };
    },
  };
}

export default seqWrapScript('vma_refcnt');
