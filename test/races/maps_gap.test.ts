// The per-VMA /proc/pid/maps walk must never report a false gap (KERNEL.md §6.7). Scripted:
// the reader finds VMA V = [1000, 1010) for address 0, and just before it locks V an mprotect
// splits V so that a new VMA takes [1000, 1005) and V keeps [1005, 1010). A walk that trusts
// its stale lookup reports only [1005, 1010); pages 1000..1004 were mapped the whole time.

import { afterEach, describe, expect, it } from 'vitest';
import { vt_lookup } from '../../src/mm/vma_tree.js';
import { do_mmap, do_mprotect, PROT_READ, PROT_WRITE, read_maps } from '../../src/ops/index.js';
import { atomic_read, SP_RMW, set_schedule_hook } from '../../src/sched/atomics.js';
import { MM, RWSEM, VMA } from '../../src/shm/layout/index.js';
import { mm_create, world_create } from '../../src/workload/world.js';

afterEach(() => set_schedule_hook(null));

describe.each(['vma_refcnt', 'vma_rwsem'] as const)('%s maps walk', (name) => {
  it('reports a VMA split off below the one it found, not a gap', () => {
    world_create({ scheme: name, maxVmas: 64, frames: 64, maxTasks: 4 });
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
    expect(seen).toEqual(['1000-1005:3', '1005-1010:1']);
  });
});
