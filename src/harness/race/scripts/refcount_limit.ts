// Race script 13: refcount_inc_not_zero_limited against a writer's VMA_LOCK_OFFSET (v6.15's
// vm_refcnt; KERNEL.md §3).
//
// mprotect write-locks the VMA: it adds VMA_LOCK_OFFSET to vm_refcnt, finds no reader to wait
// for, and stops with the readers excluded, before it sets vm_lock_seq. A fault's per-VMA lock
// (lock_vma_under_rcu, the first thing a fault does) now passes the early sequence check
// (vm_lock_seq is not yet the mm's) and tries its increment. The reader's increment is limited
// to VMA_REF_LIMIT, below the offset, so with the offset added it fails whatever the count: the
// fault would fall back to mmap_lock and wait for the writer. Without the limit
// (BUG.REFCOUNT_UNLIMITED) the increment succeeds, the sequence re-check still sees the old
// vm_lock_seq, and the reader is inside while the writer believes it excluded every reader: the
// writer's shadow check finds the reader when it takes the VMA. (The reader is the lock alone,
// not a whole fault, so that explore's search stays small.)

import { vt_lookup } from '../../../mm/vma_tree.js';
import { do_mmap, do_mprotect, PROT_READ, PROT_WRITE } from '../../../ops/index.js';
import { atomic_read, sched_point } from '../../../sched/atomics.js';
import { sched_label } from '../../../sched/labels.js';
import { scheme } from '../../../schemes/active.js';
import { MM, VMA } from '../../../shm/layout/index.js';
import { mm_create } from '../../../workload/world.js';
import type { RaceScript } from '../scenario.js';

const ADDR = 100;
const PAGES = 4;
/** the reader holds the VMA read-locked */
const INSIDE = sched_label('refcount-limit:reader_inside');

const script: RaceScript = {
  name: 'refcount-limit',
  summary: "a reader's limited increment against a writer's VMA_LOCK_OFFSET",
  thread:
    'per-VMA refcount series, linux-mm Dec 2024-Feb 2025 (Suren Baghdasaryan): refcount_inc_not_zero_limited() and VMA_REF_LIMIT < VMA_LOCK_OFFSET',
  world: { scheme: 'vma_refcnt' },
  bugs: ['refcount-unlimited'],
  broken:
    'the unlimited increment lets the fault in after the writer added the offset: a reader inside a write-locked VMA',
  fixed: 'the limited increment fails while the offset is set: the fault falls back to mmap_lock',
  setup() {
    const mm = mm_create();
    if (do_mmap(mm, ADDR, PAGES, PROT_READ | PROT_WRITE) !== ADDR) throw new Error('mmap failed');
    return { mm, vma: vt_lookup(mm + MM.mm_mt, ADDR) };
  },
  tasks: [
    { name: 'mprotect', run: (env) => do_mprotect(env['mm'] as number, ADDR, PAGES, PROT_READ) },
    {
      name: 'fault: per-VMA lock',
      run(env) {
        const S = scheme();
        const vma = S.lock_vma_under_rcu(env['mm'] as number, ADDR + 1);
        if (vma === 0) return 0; // a fault would fall back to mmap_read_lock here
        sched_point(INSIDE);
        S.vma_end_read(vma);
        return 1;
      },
    },
  ],
  schedule: [
    ['mprotect', 'WRITE_EXCLUDED'],
    ['fault: per-VMA lock', 'refcount-limit:reader_inside'],
    ['mprotect', 'end'],
    ['fault: per-VMA lock', 'end'],
  ],
  check(env, exec) {
    const [writer, fault] = exec.tasks;
    if (writer?.state === 'failed' && /readers inside/.test(writer.error ?? '')) {
      return {
        ok: false,
        text: `a reader got in past VMA_LOCK_OFFSET: the writer write-locked the VMA with the reader inside (${writer.error})`,
      };
    }
    if (exec.outcome !== 'done' || writer?.state !== 'done' || fault?.state !== 'done') {
      return {
        ok: false,
        text: `unexpected: ${exec.outcome}; mprotect ${writer?.state} ${writer?.error ?? ''}; fault ${fault?.state} ${fault?.error ?? ''}`,
      };
    }
    const count = atomic_read((env['vma'] as number) + VMA.vm_refcnt);
    if (writer.result !== 0 || count !== 1) {
      return {
        ok: false,
        text: `mprotect returned ${writer.result}, vm_refcnt ${count} (0 and 1 expected)`,
      };
    }
    return fault.result === 0
      ? { ok: true, text: "the reader's increment was refused; it would fall back to mmap_lock" }
      : { ok: true, text: 'the reader read-locked the VMA outside the write cycle' };
  },
  describe(env) {
    const vma = env['vma'] as number;
    return { [vma + VMA.vm_refcnt]: 'vma.vm_refcnt', [vma + VMA.vm_lock_seq]: 'vma.vm_lock_seq' };
  },
};

export default script;
