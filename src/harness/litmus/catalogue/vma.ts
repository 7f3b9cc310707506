// vma_start_read() against vma_mark_detached(), on the v6.15 per-VMA locks
// (src/schemes/vma_refcnt.ts). An instance is one mm_struct and one vm_area_struct; the writer
// plays the mmap write-lock holder of that mm (it bumps mm_lock_seq as mmap_write_lock does;
// it is the mm's only writer, so no rwsem is needed).
//
//   reader: vma_start_read(mm, vma); if locked: pause, look at `wlocked`, vma_end_read(vma)
//   writer: mm_lock_seq++ (odd); vma_start_write(vma); wlocked = 1; vma_mark_detached(vma);
//           read vm_refcnt; detached = 1; vma_end_write_all(mm)
//
// Every other instance (`held`, set by init) runs the detach race of v6 10/16 with holds
// (hold.ts, each a bounded spin on a shared word, HOLD_SPINS): the reader is preempted after its
// early sequence check (BEFORE_REF_INC) until the writer has write-locked the VMA (`wlocked`);
// the writer, between write-locking and detaching (munmap's page-table work), goes on once the
// reader has taken its reference (`refd`, which the reader sets at AFTER_REF_INC); the reader,
// preempted there, holds that reference until the detacher has looked at vm_refcnt
// (`detached`). So the stray reference, otherwise a few instructions long, is there when the
// detacher looks. With the fix the detacher waits for the reader, which holds to the bound, then
// finds the sequence match and drops it. The other instances run free, the race unscripted.
//
// Results: r0 the reader (0 NULL: write-locked, 1 read-locked, 2 -EAGAIN: detached, 3 read-locked
// while the writer believed it held the VMA write-locked); r1 vm_refcnt as the detacher saw it
// right after vma_mark_detached() returned (it believes the VMA unused: must be 0); r2 the final
// vm_refcnt.

import { atomic_read, atomic_set, cpu_relax } from '../../../sched/atomics.js';
import { SP } from '../../../sched/points.js';
import { vma_refcnt } from '../../../schemes/vma_refcnt.js';
import { MM, VMA } from '../../../shm/layout/index.js';
import { rcuwait_init } from '../../../sync/rcuwait.js';
import { refcount_read, refcount_set } from '../../../sync/refcount.js';
import { seqcount_init, write_seqcount_begin } from '../../../sync/seqcount.js';
import { defineLitmus, type LitmusSpec, type LitmusTest } from '../define.js';
import { hold_until, with_holds } from '../hold.js';
import { set_result } from '../mem.js';

// Fixed offsets: a module's constants are computed when it is imported, and the main thread
// imports this one before the buffer's layout (padding on or off) is configured, a worker after.
// Both layouts fit (prepare checks).
const MM_AT = 0;
const VMA_AT = 256;
const WLOCKED = 512;
const DETACHED = 513;
const HELD = 514;
const REFD = 515;
/**
 * The bound of each hold, in cpu_relax() calls (tens of µs): well above the writer's
 * vma_start_write and vma_mark_detached when they do not wait.
 */
const HOLD_SPINS = 2000;
/** Instances this thread has initialised: every other one runs with the holds. */
let inits = 0;

function detach(bugs: LitmusSpec['bugs']): LitmusTest {
  return defineLitmus({
    name: bugs === undefined ? 'vma-detach' : `vma-detach+${bugs.join('+')}`,
    description:
      'vma_start_read against vma_start_write + vma_mark_detached: a reader never holds a VMA the writer believes write-locked, nor keeps a reference on one the detacher believes unused',
    module: import.meta.url,
    words: REFD + 1,
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
      atomic_set(s + DETACHED, 0);
      atomic_set(s + HELD, inits++ & 1);
      atomic_set(s + REFD, 0);
    },
    actors: [
      (s, r) => {
        const vma = s + VMA_AT;
        const start = (): number => vma_refcnt.vma_start_read(s + MM_AT, vma);
        const got =
          atomic_read(s + HELD) === 0
            ? start()
            : with_holds(
                [
                  { at: SP.BEFORE_REF_INC, p: s + WLOCKED, spins: HOLD_SPINS },
                  { at: SP.AFTER_REF_INC, mark: s + REFD, p: s + DETACHED, spins: HOLD_SPINS },
                ],
                start,
              );
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
        if (atomic_read(s + HELD) !== 0) hold_until(s + REFD, HOLD_SPINS);
        vma_refcnt.vma_mark_detached(vma);
        set_result(r + 1, refcount_read(vma + VMA.vm_refcnt));
        atomic_set(s + DETACHED, 1);
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
    // A broken variant stops at its first FORBIDDEN outcome: a generous bound costs nothing.
    iterations: bugs === undefined ? 5_000 : 20_000,
  });
}

// detach-no-wait: vma_mark_detached() goes on past the stray reader's reference, so the detacher
// reads vm_refcnt 1 (r1) while the reader still holds it. Without the holds this reference lives
// only between the reader's increment and its sequence re-check, a few instructions; on the
// 2-core machine it did not show in 3,000-5,000 free-running instances.
export const VMA_TESTS: readonly LitmusTest[] = [detach(undefined), detach(['detach-no-wait'])];
