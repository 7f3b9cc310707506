// Race script 7: the foreign-mm wake-up use-after-free (Jann Horn, 2025; KERNEL.md §6.4).
//
// Set-up plays the part script slot-reuse runs live: a fault of mm a found its VMA under RCU,
// and before it locked it the VMA was unmapped and the slab handed the slot to a new mapping of
// mm b. The run: the stale reader takes its reference on the slot (b's now) and stops. b's
// munmap write-locks the VMA: it adds the offset, publishes itself on b's vma_writer_wait and
// stops before it checks the count. The reader sees vm_mm is not a and drops its reference; the
// count now says "writer only", so the put owes b's writer a wake-up, and the reader stops just
// before sending it. b's munmap checks the count, needs no wake-up, finishes, and b exits: its
// last mmdrop frees the mm. The reader then wakes the writer of b. Fixed, it pinned b with
// mmgrab() before the put, so b is still there (the reader's mmdrop frees it after); without the
// pin (BUG.PUT_NO_MMGRAB) the wake-up touches a freed mm: mm_assert_alive in the put catches it.

import { mmdrop } from '../../../mm/mm.js';
import { vt_lookup } from '../../../mm/vma_tree.js';
import { do_mmap, do_munmap, PROT_READ } from '../../../ops/index.js';
import { atomic_read } from '../../../sched/atomics.js';
import { scheme } from '../../../schemes/active.js';
import { VMA_LOOKUP_AGAIN } from '../../../schemes/scheme.js';
import { MM, RCUWAIT, VMA } from '../../../shm/layout/index.js';
import { rcu_read_lock, rcu_read_unlock } from '../../../sync/rcu.js';
import { mm_create } from '../../../workload/world.js';
import type { RaceScript } from '../scenario.js';

const A_ADDR = 100;
const B_ADDR = 500;
const PAGES = 4;

const script: RaceScript = {
  name: 'foreign-mm-wakeup',
  summary: "a stale reader's put wakes the writer of another mm, which may have exited",
  thread:
    'Jann Horn, linux-mm 2025: "mm: pin the other mm across vma_refcount_put()" (mmgrab/mmdrop in vma_start_read)',
  world: { scheme: 'vma_refcnt' },
  bugs: ['put-no-mmgrab'],
  broken: "the put's wake-up touches mm b after b's munmap finished and b exited: a use after free",
  fixed: "mmgrab keeps mm b alive across the put; the reader's mmdrop frees it after the wake-up",
  setup() {
    const a = mm_create();
    const b = mm_create();
    if (do_mmap(a, A_ADDR, PAGES, PROT_READ) !== A_ADDR) throw new Error('mmap of a failed');
    const slot = vt_lookup(a + MM.mm_mt, A_ADDR); // the reader's lookup, under RCU
    if (do_munmap(a, A_ADDR, PAGES) !== 0) throw new Error('munmap of a failed');
    if (do_mmap(b, B_ADDR, PAGES, PROT_READ) !== B_ADDR) throw new Error('mmap of b failed');
    if (vt_lookup(b + MM.mm_mt, B_ADDR) !== slot) throw new Error('b did not reuse the slot');
    return { a, b, slot };
  },
  tasks: [
    {
      name: 'stale reader of a',
      run(env) {
        rcu_read_lock();
        const got = scheme().vma_start_read(env['a'] as number, env['slot'] as number);
        rcu_read_unlock();
        if (got > 0) scheme().vma_end_read(got);
        return got;
      },
    },
    {
      name: 'munmap b, exit b',
      run(env) {
        const b = env['b'] as number;
        const ret = do_munmap(b, B_ADDR, PAGES);
        // b exits: its only mapping is gone, so of exit_mmap() only the last mmdrop() is left
        // (walking the whole empty address space would take more steps than a run may).
        mmdrop(b);
        return ret;
      },
    },
  ],
  schedule: [
    ['stale reader of a', 'AFTER_REF_INC'],
    ['munmap b, exit b', 'rcuwait_wait_event:published'],
    ['stale reader of a', 'FOREIGN_PUT_BEFORE_WAKE'],
    ['munmap b, exit b', 'end'],
    ['stale reader of a', 'end'],
  ],
  check(env, exec) {
    const [reader, writer] = exec.tasks;
    if (reader?.state === 'failed' && /freed mm/.test(reader.error ?? '')) {
      return {
        ok: false,
        text: `use after free: the put woke the writer of mm b after b was freed (${reader.error})`,
      };
    }
    if (exec.outcome !== 'done' || reader?.state !== 'done' || writer?.state !== 'done') {
      return {
        ok: false,
        text: `unexpected: ${exec.outcome}; reader ${reader?.state} ${reader?.error ?? ''}; writer ${writer?.state} ${writer?.error ?? ''}`,
      };
    }
    const alive = atomic_read((env['b'] as number) + MM.mm_alive) === 1;
    // The slot is b's, so the reader never gets a's VMA: it backs off (0), or finds the slot
    // detached (-EAGAIN: look again) once b's munmap is past it.
    if (
      (reader.result !== 0 && reader.result !== VMA_LOOKUP_AGAIN) ||
      writer.result !== 0 ||
      alive
    ) {
      return {
        ok: false,
        text: `reader returned ${reader.result}, munmap ${writer.result}, mm b ${alive ? 'still alive' : 'freed'}`,
      };
    }
    return {
      ok: true,
      text:
        reader.result === 0
          ? "the reader backed off from b's VMA; mm b was freed only after its wake-up"
          : 'the reader found the slot detached (look again); mm b exited and was freed',
    };
  },
  describe(env) {
    const slot = env['slot'] as number;
    const b = env['b'] as number;
    return {
      [slot + VMA.vm_refcnt]: 'slot.vm_refcnt',
      [slot + VMA.vm_mm]: 'slot.vm_mm',
      [b + MM.mm_count]: 'b.mm_count',
      [b + MM.mm_alive]: 'b.mm_alive',
      [b + MM.vma_writer_wait + RCUWAIT.task]: 'b.vma_writer_wait.task',
    };
  },
};

export default script;
