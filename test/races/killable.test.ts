// KERNEL.md §7.8: a killable VMA write lock that is killed while readers hold the VMA returns
// -EINTR with vm_lock_seq unchanged and no exclusion left behind (v6.15+: VMA_LOCK_OFFSET
// cleared; 6.4–6.14: the vm_lock rw_semaphore's waiter gone), and the VMA stays usable.

import { describe, expect, it } from 'vitest';
import { EINTR } from '../../src/errors.js';
import { check_world_quiescent } from '../../src/harness/checks.js';
import { vt_lookup } from '../../src/mm/vma_tree.js';
import {
  do_mmap,
  do_munmap,
  handle_user_fault,
  PROT_READ,
  PROT_WRITE,
  VM_FAULT_RETRY,
} from '../../src/ops/index.js';
import { atomic_read, atomic_set } from '../../src/sched/atomics.js';
import { flush_signals, kill_task } from '../../src/sched/task.js';
import { scheme } from '../../src/schemes/active.js';
import { mmap_write_lock, mmap_write_unlock } from '../../src/schemes/mmap.js';
import { arena_alloc, task_ptr } from '../../src/shm/arena.js';
import { MM, RWSEM, TASK, TASK_KILLABLE, VMA } from '../../src/shm/layout/index.js';
import { rwsem_check_invariants, rwsem_wait_list } from '../../src/sync/rwsem.js';
import { mm_create, world_create } from '../../src/workload/world.js';
import { runThreads, sleep, until } from '../helpers/threads.js';

/** The writer reacts within a few ms; 4 s turns a hang into a failure. */
const BOUND_MS = 4000;

// vma_rwsem's kernels (6.4-6.13) had no killable VMA write lock: there it is the named
// backport 'killable'.
describe.each(['vma_refcnt', 'vma_rwsem'] as const)(
  '%s: killed vma_start_write_killable',
  (name) => {
    it('returns -EINTR and leaves the VMA exactly as it was', async () => {
      const { sab } = world_create({
        scheme: name,
        maxVmas: 64,
        frames: 64,
        maxTasks: 4,
        backports: name === 'vma_rwsem' ? ['killable'] : [],
      });
      const mm = mm_create();
      expect(do_mmap(mm, 100, 4, PROT_READ | PROT_WRITE)).toBe(100);
      expect(handle_user_fault(mm, 100, false)).toBe(0); // the anon_vma: vma_rwsem's era needs it
      const vma = vt_lookup(mm + MM.mm_mt, 100);
      const holding = arena_alloc(1, 16);
      const release = arena_alloc(1, 16);
      const writerTask = task_ptr(2);
      flush_signals(writerTask);
      const run = runThreads(sab, 'test/threads/killable', [
        { taskId: 1, fn: 'reader', args: { mm, addr: 101, holding, release } },
        { taskId: 2, fn: 'writer', args: { mm, vma, holding } },
      ]);
      // wait (bounded) until the writer sleeps killably, waiting for the reader
      await until(
        () => atomic_read(writerTask + TASK.state) === TASK_KILLABLE,
        'the writer sleeps killably',
        BOUND_MS,
      );
      kill_task(writerTask);
      // the writer returns on its own while the reader still holds the VMA
      await until(
        () => atomic_read(mm + MM.mmap_lock + RWSEM.count) === 0,
        'the killed writer drops the mmap lock',
        BOUND_MS,
      );
      atomic_set(release, 1);
      const [, w] = (await run) as [
        number,
        { ret: number; seqBefore: number; seqAfter: number; refcntAfter: number },
      ];
      expect(w.ret).toBe(EINTR);
      expect(w.seqAfter).toBe(w.seqBefore);
      if (name === 'vma_refcnt')
        expect(w.refcntAfter).toBe(2); // the reader's reference, no offset
      else rwsem_check_invariants(vma + VMA.vm_lock);
      flush_signals(writerTask);
      // usable afterwards: lock, detach, free
      mmap_write_lock(mm);
      expect(scheme().vma_start_write_killable(vma)).toBe(0);
      mmap_write_unlock(mm);
      expect(do_munmap(mm, 100, 4)).toBe(0);
      scheme().barrier();
      check_world_quiescent([mm]);
    });
  },
);

// The fault's classic path after a failed trylock: since v6.5 (lock_mm_and_find_vma) a killed
// faulter leaves the mmap lock's queue with VM_FAULT_RETRY; before, x86 took a non-killable
// mmap_read_lock, so the killed faulter waits for the writer like everyone else (one of the
// ingredients of the 2016 OOM-reaper deadlock, KERNEL.md §6.6).
describe.each([
  ['mmap_lock', false],
  ['vma_refcnt', true],
] as const)('%s: a killed fault waiting for the mmap lock', (name, killable) => {
  it(
    killable ? 'returns VM_FAULT_RETRY at once' : 'waits for the writer, then faults',
    async () => {
      const { sab } = world_create({ scheme: name, maxVmas: 64, frames: 64, maxTasks: 4 });
      const mm = mm_create();
      expect(do_mmap(mm, 100, 4, PROT_READ | PROT_WRITE)).toBe(100);
      const vma = vt_lookup(mm + MM.mm_mt, 100);
      const done = arena_alloc(1, 16);
      const faulterTask = task_ptr(1);
      flush_signals(faulterTask);
      mmap_write_lock(mm);
      scheme().vma_start_write(vma); // so the per-VMA path falls back too
      const run = runThreads(sab, 'test/threads/killable', [
        { taskId: 1, fn: 'faulter', args: { mm, addr: 101, done } },
      ]);
      const sem = mm + MM.mmap_lock;
      try {
        await until(() => rwsem_wait_list(sem).length === 1, 'the faulter queues', BOUND_MS);
        kill_task(faulterTask);
        if (killable) {
          await until(() => atomic_read(done) === 1, 'the killed faulter returns', BOUND_MS);
          expect(rwsem_wait_list(sem)).toEqual([]);
        } else {
          await sleep(50);
          expect(atomic_read(done)).toBe(0);
          expect(rwsem_wait_list(sem).map((w) => w.task)).toEqual([1]);
        }
      } finally {
        mmap_write_unlock(mm);
      }
      const [ret] = (await run) as [number];
      expect(ret).toBe(killable ? VM_FAULT_RETRY : 0);
      expect(atomic_read(mm + MM.nr_ptes)).toBe(killable ? 0 : 1);
      flush_signals(faulterTask);
    },
  );
});
