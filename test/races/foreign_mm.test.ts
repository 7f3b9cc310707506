// A reader that takes a reference on a VMA slot reused by another mm (vma_refcnt,
// SLAB_TYPESAFE_BY_RCU) must back off without harm, and must pin the other mm across its put:
// the put may wake a writer in that mm, which could otherwise be freed under it (Jann Horn,
// 2025). The schedule hook stops the reader exactly at its put, to look at the other mm then.

import { afterEach, describe, expect, it } from 'vitest';
import { vt_lookup } from '../../src/mm/vma_tree.js';
import { do_mmap, do_munmap, PROT_READ } from '../../src/ops/index.js';
import { atomic_read, SP_RMW, set_schedule_hook } from '../../src/sched/atomics.js';
import { CNT } from '../../src/sched/counters.js';
import { sum_counter } from '../../src/sched/task.js';
import { scheme } from '../../src/schemes/active.js';
import { MM, VMA } from '../../src/shm/layout/index.js';
import { rcu_read_lock, rcu_read_unlock } from '../../src/sync/rcu.js';
import { mm_create, world_create } from '../../src/workload/world.js';

afterEach(() => set_schedule_hook(null));

describe('vma_refcnt: a VMA slot reused by another mm', () => {
  it('a stale reader backs off, pins the other mm across its put, and leaves no trace', () => {
    world_create({ scheme: 'vma_refcnt', maxVmas: 64, frames: 64, maxTasks: 4 });
    const a = mm_create();
    const b = mm_create();
    expect(do_mmap(a, 100, 4, PROT_READ)).toBe(100);
    const v = vt_lookup(a + MM.mm_mt, 100);
    // A reader of mm a found v under RCU ... and before it locks v, v is unmapped and its slot
    // is reused at once (type-safe slab) for a mapping of mm b.
    expect(do_munmap(a, 100, 4)).toBe(0);
    expect(do_mmap(b, 500, 4, PROT_READ)).toBe(500);
    expect(vt_lookup(b + MM.mm_mt, 500)).toBe(v);
    expect(atomic_read(v + VMA.vm_mm)).toBe(b);

    const S = scheme();
    const foreign = sum_counter(CNT.VMA_FOREIGN_MM, 1);
    let pinnedAtPut = -1;
    let armed = true;
    set_schedule_hook((kind, what) => {
      // The reader's own increment is the first RMW on vm_refcnt; its put is the next one.
      if (kind === SP_RMW && what === v + VMA.vm_refcnt) {
        if (!armed) pinnedAtPut = atomic_read(b + MM.mm_count);
        armed = false;
      }
    });
    rcu_read_lock();
    const got = S.vma_start_read(a, v);
    rcu_read_unlock();
    set_schedule_hook(null);

    expect(got).toBe(0); // backed off: a false "locked", the fault falls back
    expect(sum_counter(CNT.VMA_FOREIGN_MM, 1)).toBe(foreign + 1);
    expect(pinnedAtPut).toBe(2); // mm b was pinned (mmgrab) while the reference dropped
    expect(atomic_read(b + MM.mm_count)).toBe(1);
    expect(atomic_read(b + MM.mm_alive)).toBe(1);
    expect(atomic_read(v + VMA.vm_refcnt)).toBe(1);
    // b's own readers are unaffected
    const r = S.lock_vma_under_rcu(b, 501);
    expect(r).toBe(v);
    S.vma_end_read(r);
    // and a's lookup of the old address finds nothing
    expect(S.lock_vma_under_rcu(a, 100)).toBe(0);
  });
});
