// Invariant checks over a quiescent world (KERNEL.md §7): run between the steps of a property
// test and after every multi-threaded run, when no worker is inside an operation.

import { InvariantViolation } from '../errors.js';
import { frames_stats } from '../mm/frames.js';
import { mm_globals } from '../mm/globals.js';
import { count_present, TASK_SIZE_PAGES, walk_ptes } from '../mm/pgtable.js';
import { vma_check_csum } from '../mm/vma.js';
import { vt_check, vt_count, vt_for_each } from '../mm/vma_tree.js';
import { atomic_read } from '../sched/atomics.js';
import { scheme } from '../schemes/active.js';
import { VMA_LOCK_OFFSET } from '../schemes/vma_refcnt.js';
import { MM, VMA } from '../shm/layout/index.js';
import { kmem_cache_stats } from '../shm/slab.js';

export interface MmSnapshot {
  readonly vmas: ReadonlyArray<{ start: number; end: number; flags: number }>;
  readonly ptes: number;
}

/**
 * Check one mm at rest: the index is a valid tree whose entries match their VMAs; map_count
 * agrees; every VMA is attached, unlocked and checksummed; no PTE lies outside a VMA; nr_ptes
 * counts the present PTEs. Returns what it saw.
 */
export function check_mm_quiescent(mm: number): MmSnapshot {
  const root = mm + MM.mm_mt;
  vt_check(root);
  const S = scheme();
  const vmas: Array<{ start: number; end: number; flags: number }> = [];
  vt_for_each(root, 0, TASK_SIZE_PAGES, (start, end, vma) => {
    const vs = atomic_read(vma + VMA.vm_start);
    const ve = atomic_read(vma + VMA.vm_end);
    if (vs !== start || ve !== end) {
      throw new InvariantViolation(
        `index says [${start}, ${end}) but vma ${vma} says [${vs}, ${ve})`,
      );
    }
    if (atomic_read(vma + VMA.vm_mm) !== mm) {
      throw new InvariantViolation(
        `vma ${vma} in mm ${mm}'s index names mm ${atomic_read(vma + VMA.vm_mm)}`,
      );
    }
    vma_check_csum(vma);
    if (S.name === 'vma_refcnt') {
      const c = atomic_read(vma + VMA.vm_refcnt);
      if (c !== 1) {
        throw new InvariantViolation(
          `vma ${vma} at rest has vm_refcnt ${c}${(c & VMA_LOCK_OFFSET) !== 0 ? ' (offset still set)' : ''}; expected 1`,
        );
      }
    }
    if (S.name === 'vma_rwsem' && atomic_read(vma + VMA.detached) !== 0) {
      throw new InvariantViolation(`vma ${vma} is in the index but marked detached`);
    }
    if (S.name === 'srcu_spf' && (atomic_read(vma + VMA.vm_seq) & 1) !== 0) {
      throw new InvariantViolation(`vma ${vma} at rest has an odd vm_seq`);
    }
    if (atomic_read(vma + VMA.shadow_readers) !== 0) {
      throw new InvariantViolation(
        `vma ${vma} at rest has ${atomic_read(vma + VMA.shadow_readers)} shadow readers`,
      );
    }
    vmas.push({ start, end, flags: atomic_read(vma + VMA.vm_flags) });
  });
  const mc = atomic_read(mm + MM.map_count);
  if (mc !== vmas.length || vt_count(root) !== vmas.length) {
    throw new InvariantViolation(`mm ${mm}: map_count ${mc}, index holds ${vmas.length}`);
  }
  if ((atomic_read(mm + MM.mm_lock_seq) & 1) !== 0 && S.seqOddWhileWriteLocked) {
    throw new InvariantViolation(`mm ${mm}: mm_lock_seq is odd with no writer`);
  }
  const pgd = atomic_read(mm + MM.pgd);
  let i = 0;
  walk_ptes(pgd, 0, TASK_SIZE_PAGES, (addr) => {
    while (i < vmas.length && vmas[i]!.end <= addr) i++;
    const v = vmas[i];
    if (v === undefined || addr < v.start) {
      throw new InvariantViolation(`mm ${mm}: a PTE at page ${addr} lies outside every VMA`);
    }
  });
  const ptes = count_present(pgd);
  if (ptes !== atomic_read(mm + MM.nr_ptes)) {
    throw new InvariantViolation(
      `mm ${mm}: ${ptes} present PTEs, nr_ptes says ${atomic_read(mm + MM.nr_ptes)}`,
    );
  }
  return { vmas, ptes };
}

/**
 * Frames allocated = mapped + free: with every mm at rest and every deferred free run, the
 * frames in use are exactly the present PTEs of the given mms. Also the VMA slab holds exactly
 * the VMAs in the indexes.
 */
export function check_world_quiescent(mms: readonly number[]): void {
  let ptes = 0;
  let vmas = 0;
  for (const mm of mms) {
    const s = check_mm_quiescent(mm);
    ptes += s.ptes;
    vmas += s.vmas.length;
  }
  const f = frames_stats();
  if (f.allocated !== ptes || f.allocated + f.free !== f.total) {
    throw new InvariantViolation(
      `frames: ${f.allocated} allocated, ${ptes} mapped, ${f.free} free of ${f.total}`,
    );
  }
  const v = kmem_cache_stats(mm_globals().vmaCache);
  if (v.allocated !== vmas) {
    throw new InvariantViolation(`vma slab: ${v.allocated} allocated, ${vmas} in the indexes`);
  }
}
