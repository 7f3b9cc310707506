// The per-VMA /proc/pid/maps walk must never report a false gap (KERNEL.md §6.7). Scripted:
// the reader finds VMA V = [1000, 1010) for address 0, and just before it locks V an mprotect
// splits V so that a new VMA takes [1000, 1005) and V keeps [1005, 1010). A walk that trusts
// its stale lookup reports only [1005, 1010); pages 1000..1004 were mapped the whole time.

import { afterEach, describe, expect, it } from 'vitest';
import { vt_lookup } from '../../src/mm/vma_tree.js';
import { do_mmap, do_mprotect, PROT_READ, PROT_WRITE, read_maps } from '../../src/ops/index.js';
import {
  atomic_read,
  atomic_set,
  SP_LOAD,
  SP_RMW,
  set_schedule_hook,
} from '../../src/sched/atomics.js';
import { BUG } from '../../src/sched/bugs.js';
import { CNT } from '../../src/sched/counters.js';
import { sum_counter } from '../../src/sched/task.js';
import { VMA_REF_LIMIT } from '../../src/schemes/vma_refcnt.js';
import { MM, REFCOUNT, RWSEM, VMA } from '../../src/shm/layout/index.js';
import { mm_create, world_create } from '../../src/workload/world.js';

afterEach(() => set_schedule_hook(null));

const cases = [
  ['vma_refcnt', 0],
  ['vma_rwsem', 0],
  ['vma_refcnt', BUG.MAPS_NO_GAP_CHECK],
] as const;

describe.each(cases)('%s maps walk (bugs %i)', (name, bugs) => {
  it('reports a VMA split off below the one it found, not a gap', () => {
    world_create({ scheme: name, maxVmas: 64, frames: 64, maxTasks: 4, bugs, backports: ['maps'] });
    const mm = mm_create();
    expect(do_mmap(mm, 1000, 10, PROT_READ | PROT_WRITE)).toBe(1000);
    const v = vt_lookup(mm + MM.mm_mt, 1000);
    // the reader's lock step on V: the refcount increment, or the rwsem trylock's cmpxchg
    const lockWord = name === 'vma_refcnt' ? v + VMA.vm_refcnt : v + VMA.vm_lock + RWSEM.count;
    let fired = false;
    set_schedule_hook((kind, what) => {
      if (fired || kind !== SP_RMW || what !== lockWord) return;
      fired = true; // once, and not for the writer's own steps below
      expect(do_mprotect(mm, 1005, 5, PROT_READ)).toBe(0);
      expect(atomic_read(v + VMA.vm_start)).toBe(1005); // V kept the upper part
    });
    const seen: string[] = [];
    read_maps(mm, true, (s, e, f) => seen.push(`${s}-${e}:${f}`));
    set_schedule_hook(null);
    expect(fired).toBe(true);
    if (bugs === 0) {
      expect(seen).toEqual(['1000-1005:3', '1005-1010:1']);
      // One mismatch after locking is enough: that VMA is taken under the mmap lock instead
      // of walking again under RCU (bounded, as lock_next_vma is).
      expect(sum_counter(CNT.MAPS_LOCK_FALLBACK, 4)).toBe(1);
    } else {
      // maps-no-gap-check: pages 1000..1004 were mapped throughout, yet not reported.
      expect(seen).toEqual(['1005-1010:1']);
    }
  });

  // vma_refcnt only: the vma_rwsem era's mm_lock_seq is a plain counter, so speculation may
  // start from an odd value there and re-walk anyway.
  it.runIf(name === 'vma_refcnt' && bugs === 0)(
    're-walks only when a writer may have changed the tree since the lookup',
    () => {
      world_create({ scheme: name, maxVmas: 64, frames: 64, maxTasks: 4, backports: ['maps'] });
      const mm = mm_create();
      // Three VMAs with gaps before each: every step of the walk finds a VMA above its address.
      for (const a of [1000, 2000, 3000])
        expect(do_mmap(mm, a, 10, PROT_READ | PROT_WRITE)).toBe(a);
      let rootLoads = 0;
      set_schedule_hook((kind, what) => {
        if (kind === SP_LOAD && what === mm + MM.mm_mt) rootLoads++;
      });
      const seen: string[] = [];
      read_maps(mm, true, (s, e) => seen.push(`${s}-${e}`));
      set_schedule_hook(null);
      expect(seen).toEqual(['1000-1010', '2000-2010', '3000-3010']);
      // One lookup per VMA plus the one that finds the end; no re-walk (7 loads without the
      // speculation).
      expect(rootLoads).toBe(4);
      expect(sum_counter(CNT.MAPS_LOCK_FALLBACK, 4)).toBe(0);
    },
  );
});

describe('vma_refcnt maps walk at the reader limit', () => {
  it('reads the rest under the mmap lock when even vma_start_read_locked fails', () => {
    world_create({ scheme: 'vma_refcnt', maxVmas: 64, frames: 64, maxTasks: 4 });
    const mm = mm_create();
    for (const a of [1000, 2000, 3000]) expect(do_mmap(mm, a, 10, PROT_READ | PROT_WRITE)).toBe(a);
    const v = vt_lookup(mm + MM.mm_mt, 2000);
    // As if VMA_REF_LIMIT - 1 readers held the middle VMA.
    atomic_set(v + VMA.vm_refcnt + REFCOUNT.refs, VMA_REF_LIMIT);
    let mmapLocked = 0;
    set_schedule_hook((kind, what) => {
      // every successful mmap read lock is an RMW on the count word that adds a reader bias
      if (kind === SP_RMW && what === mm + MM.mmap_lock + RWSEM.count) mmapLocked++;
    });
    const seen: string[] = [];
    read_maps(mm, true, (s, e) => seen.push(`${s}-${e}`));
    set_schedule_hook(null);
    expect(seen).toEqual(['1000-1010', '2000-2010', '3000-3010']);
    expect(sum_counter(CNT.MAPS_LOCK_FALLBACK, 4)).toBe(1);
    // lock + unlock in lock_next_vma_under_mmap_lock, lock + unlock for the rest of the read
    expect(mmapLocked).toBe(4);
    expect(atomic_read(v + VMA.vm_refcnt + REFCOUNT.refs)).toBe(VMA_REF_LIMIT);
    atomic_set(v + VMA.vm_refcnt + REFCOUNT.refs, 1);
  });
});
