// vma_start_read() against vma_mark_detached(), on the v6.15 per-VMA locks
// (src/schemes/vma_refcnt.ts). An instance is one mm_struct and one vm_area_struct; the writer
// plays the mmap write-lock holder of that mm (it bumps mm_lock_seq as mmap_write_lock does;
// it is the mm's only writer, so no rwsem is needed).
//
//   reader: vma_start_read(mm, vma); if locked: pause, look at `wlocked`, vma_end_read(vma)
//   writer: mm_lock_seq++ (odd); vma_start_write(vma); wlocked = 1; vma_mark_detached(vma);
//           read vm_refcnt; vma_end_write_all(mm)
//
// Results: r0 the reader (0 NULL: write-locked, 1 read-locked, 2 -EAGAIN: detached, 3 read-locked
// while the writer believed it held the VMA write-locked); r1 vm_refcnt as the detacher saw it
// right after vma_mark_detached() returned (it believes the VMA unused: must be 0); r2 the final
// vm_refcnt.

import { atomic_read, atomic_set, cpu_relax } from '../../../sched/atomics.js';
import { vma_refcnt } from '../../../schemes/vma_refcnt.js';
import { MM, VMA } from '../../../shm/layout/index.js';
import { rcuwait_init } from '../../../sync/rcuwait.js';
import { refcount_read, refcount_set } from '../../../sync/refcount.js';
import { seqcount_init, write_seqcount_begin } from '../../../sync/seqcount.js';
import { defineLitmus, type LitmusSpec, type LitmusTest } from '../define.js';
import { set_result } from '../mem.js';

// Fixed offsets: a module's constants are computed when it is imported, and the main thread
// imports this one before the buffer's layout (padding on or off) is configured, a worker after.
// Both layouts fit (prepare checks).
const MM_AT = 0;
const VMA_AT = 256;
const WLOCKED = 512;

function detach(bugs: LitmusSpec['bugs']): LitmusTest {
  return defineLitmus({
    name: bugs === undefined ? 'vma-detach' : `vma-detach+${bugs.join('+')}`,
    description:
      'vma_start_read against vma_start_write + vma_mark_detached: a reader never holds a VMA the writer believes write-locked, nor keeps a reference on one the detacher believes unused',
    module: import.meta.url,
    words: WLOCKED + 1,
    results: 3,
    ...(bugs === undefined ? {} : { bugs }),
    prepare: () => {
      if (MM.SIZE > VMA_AT || VMA.SIZE > WLOCKED - VMA_AT) {
        throw new RangeError(`vma-detach: mm_struct ${MM.SIZE} or VMA ${VMA.SIZE} words too big`);
      }
    },
    init: (s) => {
      const mm = s + MM_AT;
      const vma = s + VMA_AT;
      atomic_set(mm + MM.mm_alive, 1);
      seqcount_init(mm + MM.mm_lock_seq);
      rcuwait_init(mm + MM.vma_writer_wait);
      atomic_set(vma + VMA.vm_mm, mm);
      atomic_set(vma + VMA.vm_lock_seq, -1); // UINT_MAX: never write-locked
      refcount_set(vma + VMA.vm_refcnt, 1); // attached
      atomic_set(s + WLOCKED, 0);
    },
    actors: [
      (s, r) => {
        const vma = s + VMA_AT;
        const got = vma_refcnt.vma_start_read(s + MM_AT, vma);
        if (got > 0) {
          // Hold the read lock a moment, as a fault would, then look for the writer.
          for (let k = 0; k < 32; k++) cpu_relax();
          set_result(r, atomic_read(s + WLOCKED) === 0 ? 1 : 3);
          vma_refcnt.vma_end_read(vma);
        } else set_result(r, got === 0 ? 0 : 2);
      },
      (s, r) => {
        const mm = s + MM_AT;
        const vma = s + VMA_AT;
        write_seqcount_begin(mm + MM.mm_lock_seq); // mmap_write_lock()'s bump: now odd
        vma_refcnt.vma_start_write(vma);
        atomic_set(s + WLOCKED, 1);
        vma_refcnt.vma_mark_detached(vma);
        set_result(r + 1, refcount_read(vma + VMA.vm_refcnt));
        vma_refcnt.vma_end_write_all(mm);
      },
    ],
    arbiter: (s, r) => set_result(r + 2, refcount_read(s + VMA_AT + VMA.vm_refcnt)),
    outcomes: [
      {
        id: '0, 0, 0',
        expect: 'ACCEPTABLE',
        desc: 'the reader found the VMA write-locked and backed off',
      },
      {
        id: '1, 0, 0',
        expect: 'ACCEPTABLE',
        desc: 'the reader got in first; the writer waited for it',
      },
      { id: '2, 0, 0', expect: 'ACCEPTABLE', desc: 'the reader found the VMA detached (-EAGAIN)' },
      {
        id: '3, *, *',
        expect: 'FORBIDDEN',
        desc: 'the reader held the VMA read-locked while the writer believed it held it write-locked',
      },
      {
        id: '*, *, *',
        expect: 'FORBIDDEN',
        desc: 'the detacher believed the VMA unused while a reader still held a reference',
      },
    ],
    instances: 128,
    iterations: 5_000,
  });
}

// The broken variant detach-no-wait (issue 8b) joins here once it is in src/sched/bugs.ts's code.
export const VMA_TESTS: readonly LitmusTest[] = [detach(undefined)];
