// Thread bodies for test/races/killable.test.ts.

import { handle_user_fault } from '../../src/ops/index.js';
import { atomic_read, atomic_set } from '../../src/sched/atomics.js';
import { schedule_timeout } from '../../src/sched/task.js';
import { scheme } from '../../src/schemes/active.js';
import { mmap_write_lock, mmap_write_unlock } from '../../src/schemes/mmap.js';
import { VMA } from '../../src/shm/layout/index.js';
import { world_bind } from '../../src/workload/world.js';

/** Hold a VMA read lock from `holding` := 1 until `release` is set. */
export function reader(a: { mm: number; addr: number; holding: number; release: number }): number {
  world_bind();
  const S = scheme();
  const vma = S.lock_vma_under_rcu(a.mm, a.addr);
  if (vma === 0) throw new Error('reader could not lock the VMA');
  atomic_set(a.holding, 1);
  while (atomic_read(a.release) === 0) schedule_timeout(5);
  S.vma_end_read(vma);
  return vma;
}

/** Under the mmap write lock, try to write-lock the VMA killably; report what was left. */
export function writer(a: { mm: number; vma: number; holding: number }): {
  ret: number;
  seqBefore: number;
  seqAfter: number;
  refcntAfter: number;
} {
  world_bind();
  const S = scheme();
  while (atomic_read(a.holding) === 0) schedule_timeout(5);
  mmap_write_lock(a.mm);
  const seqBefore = atomic_read(a.vma + VMA.vm_lock_seq);
  const ret = S.vma_start_write_killable(a.vma);
  const seqAfter = atomic_read(a.vma + VMA.vm_lock_seq);
  const refcntAfter = atomic_read(a.vma + VMA.vm_refcnt);
  mmap_write_unlock(a.mm);
  return { ret, seqBefore, seqAfter, refcntAfter };
}

/** One write fault at addr; `done` := 1 once it returned. Returns handle_user_fault's code. */
export function faulter(a: { mm: number; addr: number; done: number }): number {
  world_bind();
  const ret = handle_user_fault(a.mm, a.addr, true);
  atomic_set(a.done, 1);
  return ret;
}
