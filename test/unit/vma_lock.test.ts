// Per-VMA lock semantics, one thread at a time: what a reader sees while a writer holds the
// mmap write lock and has write-locked a VMA, and after the write cycle ends.

import { describe, expect, it } from 'vitest';
import { vt_lookup } from '../../src/mm/vma_tree.js';
import { do_mmap, handle_user_fault, PROT_READ, PROT_WRITE } from '../../src/ops/index.js';
import { atomic_read } from '../../src/sched/atomics.js';
import { CNT } from '../../src/sched/counters.js';
import { sum_counter } from '../../src/sched/task.js';
import { scheme } from '../../src/schemes/active.js';
import { mmap_write_lock, mmap_write_unlock } from '../../src/schemes/mmap.js';
import { VMA_LOOKUP_AGAIN } from '../../src/schemes/scheme.js';
import { VMA_LOCK_OFFSET } from '../../src/schemes/vma_refcnt.js';
import { MM, VMA } from '../../src/shm/layout/index.js';
import { mm_create, world_create } from '../../src/workload/world.js';

describe.each(['vma_rwsem', 'vma_refcnt'] as const)('%s read lock against a writer', (name) => {
  it('fails while the VMA is write-locked and succeeds once the cycle ends', () => {
    world_create({ scheme: name, maxVmas: 64, frames: 64, maxTasks: 4 });
    const mm = mm_create();
    expect(do_mmap(mm, 100, 8, PROT_READ | PROT_WRITE)).toBe(100);
    // a first fault prepares the anon_vma (vma_rwsem's era refuses a VMA without one)
    expect(handle_user_fault(mm, 100, true)).toBe(0);
    const vma = vt_lookup(mm + MM.mm_mt, 104);
    const S = scheme();

    const r = S.lock_vma_under_rcu(mm, 104);
    expect(r).toBe(vma);
    S.vma_end_read(r);

    mmap_write_lock(mm);
    S.vma_start_write(vma);
    S.vma_assert_write_locked(vma);
    const aborts = sum_counter(CNT.VMA_LOCK_ABORT, 1);
    expect(S.lock_vma_under_rcu(mm, 104)).toBe(0); // never a false "unlocked"
    expect(sum_counter(CNT.VMA_LOCK_ABORT, 1)).toBe(aborts + 1);
    expect(S.vma_start_read(mm, vma)).toBe(0);
    mmap_write_unlock(mm);

    const again = S.lock_vma_under_rcu(mm, 104);
    expect(again).toBe(vma);
    if (name === 'vma_refcnt') expect(atomic_read(vma + VMA.vm_refcnt)).toBe(2);
    S.vma_end_read(again);
    if (name === 'vma_refcnt') expect(atomic_read(vma + VMA.vm_refcnt)).toBe(1);
  });
});

describe('vma_refcnt reference counts', () => {
  it('a write lock leaves vm_refcnt at 1 and no offset behind', () => {
    world_create({ scheme: 'vma_refcnt', maxVmas: 64, frames: 64, maxTasks: 4 });
    const mm = mm_create();
    do_mmap(mm, 100, 8, PROT_READ);
    const vma = vt_lookup(mm + MM.mm_mt, 100);
    const S = scheme();
    mmap_write_lock(mm);
    S.vma_start_write(vma);
    expect(atomic_read(vma + VMA.vm_refcnt)).toBe(1);
    expect(atomic_read(vma + VMA.vm_lock_seq)).toBe(atomic_read(mm + MM.mm_lock_seq));
    expect(atomic_read(mm + MM.mm_lock_seq) & 1).toBe(1);
    S.vma_mark_detached(vma);
    expect(atomic_read(vma + VMA.vm_refcnt)).toBe(0);
    // still write-locked: the early sequence check says "locked" first
    expect(S.vma_start_read(mm, vma)).toBe(0);
    mmap_write_unlock(mm);
    expect(atomic_read(mm + MM.mm_lock_seq) & 1).toBe(0);
    // detached and unlocked: the increment from 0 fails with "look again"
    expect(S.vma_start_read(mm, vma)).toBe(VMA_LOOKUP_AGAIN);
    expect(atomic_read(vma + VMA.vm_refcnt)).toBe(0);
    // re-attach (legal only write-locked): a detached VMA write-locks without waiting
    mmap_write_lock(mm);
    S.vma_start_write(vma);
    S.vma_mark_attached(vma);
    expect(atomic_read(vma + VMA.vm_refcnt)).toBe(1);
    expect(atomic_read(vma + VMA.vm_refcnt) & VMA_LOCK_OFFSET).toBe(0);
    mmap_write_unlock(mm);
    const r = S.lock_vma_under_rcu(mm, 100);
    expect(r).toBe(vma);
    S.vma_end_read(r);
  });
});
