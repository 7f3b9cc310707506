// The fault retry protocol (KERNEL.md, fault path): a fault that must wait for I/O drops its lock,
// waits, returns VM_FAULT_RETRY, and is retried with FAULT_FLAG_TRIED, which finds the data ready
// (no second wait). While it waits, in `retry` mode, it holds no lock: the mmap lock is free, and
// so is the VMA lock (v6.7+ drops it; vma_rwsem's 6.4 era leaves the VMA lock at once for the
// mmap lock path, which drops that). In `hold` mode it sleeps holding what it took.

import { describe, expect, it } from 'vitest';
import { vt_lookup } from '../../src/mm/vma_tree.js';
import { do_mmap, handle_user_fault, PROT_READ, PROT_WRITE } from '../../src/ops/index.js';
import { atomic_read } from '../../src/sched/atomics.js';
import { CNT } from '../../src/sched/counters.js';
import { reset_counters, sum_counter } from '../../src/sched/task.js';
import { task_ptr } from '../../src/shm/arena.js';
import { MM, RWSEM, TASK, TASK_UNINTERRUPTIBLE, VMA } from '../../src/shm/layout/index.js';
import { mm_create, SCHEMES, world_create } from '../../src/workload/world.js';
import { runThreads, until } from '../helpers/threads.js';

const TASKS = 4;
/** Long enough to look at the locks while the fault sleeps; not a timing assertion. */
const WAIT_US = 250_000;

describe.each(SCHEMES)('%s: a fault waiting for I/O', (name) => {
  it.each(['retry', 'hold'] as const)('%s: the locks it holds while it waits', async (wait) => {
    const { sab } = world_create({ scheme: name, maxVmas: 64, frames: 64, maxTasks: TASKS });
    const mm = mm_create();
    expect(do_mmap(mm, 100, 8, PROT_READ | PROT_WRITE)).toBe(100);
    expect(handle_user_fault(mm, 100, true)).toBe(0); // the anon_vma is ready: no detour for it
    const vma = vt_lookup(mm + MM.mm_mt, 100);
    reset_counters(TASKS);
    const run = runThreads(sab, 'test/threads/fault_retry', [
      { taskId: 1, fn: 'faulter', args: { mm, addr: 101, us: WAIT_US, wait } },
    ]);
    const t = task_ptr(1);
    await until(
      () => atomic_read(t + TASK.state) === TASK_UNINTERRUPTIBLE,
      'the fault sleeps for its I/O',
      5000,
    );
    const mmapHeld = atomic_read(mm + MM.mmap_lock + RWSEM.count) !== 0;
    const vmaHeld =
      name === 'vma_refcnt'
        ? atomic_read(vma + VMA.vm_refcnt) > 1
        : name === 'vma_rwsem'
          ? atomic_read(vma + VMA.vm_lock + RWSEM.count) !== 0
          : false; // srcu_spf holds an SRCU section, mmap_lock no VMA lock
    expect(await run).toEqual([0]);
    const c = (k: keyof typeof CNT): number => sum_counter(CNT[k], TASKS);
    expect(c('FAULT_PAGES_INSTALLED')).toBe(1);
    if (wait === 'retry') {
      expect({ mmapHeld, vmaHeld }).toEqual({ mmapHeld: false, vmaHeld: false });
      expect(c('FAULT_IO_RETRY')).toBe(1); // one wait: the retry was a minor fault
      expect(c('MMAP_LOCK_FALLBACK')).toBe(1);
      if (name !== 'mmap_lock') expect(c('VMA_LOCK_RETRY')).toBe(1);
    } else {
      expect({ mmapHeld, vmaHeld }).toEqual({
        mmapHeld: name === 'mmap_lock',
        vmaHeld: name === 'vma_refcnt' || name === 'vma_rwsem',
      });
      expect(c('FAULT_IO_RETRY')).toBe(0);
      expect(c('MMAP_LOCK_FALLBACK')).toBe(name === 'mmap_lock' ? 1 : 0);
    }
  });
});
