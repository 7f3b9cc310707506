// Thread bodies for test/unit/frames.test.ts and test/unit/pgtable.test.ts.

import { InvariantViolation } from '../../src/errors.js';
import {
  alloc_frame,
  frame_pool_empty,
  frame_ptr,
  free_frame,
  zero_frame,
} from '../../src/mm/frames.js';
import {
  free_pgtables,
  mk_pte,
  PTRS_PER_PTE,
  pte_none,
  pte_offset_map_lock,
  pte_pfn,
  pte_unmap_unlock,
  ptep_get,
  set_pte_at,
  zap_pte_range,
} from '../../src/mm/pgtable.js';
import { atomic_fetch_add, atomic_read, atomic_set } from '../../src/sched/atomics.js';
import { check_abort, current_id, park } from '../../src/sched/task.js';

function xorshift(seed: number): (n: number) => number {
  let s = seed | 1;
  return (n: number): number => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) % n;
  };
}

/**
 * Hold up to `maxHold` frames at a time (allocating 3 steps in 4), `rounds` alloc-or-free steps. Each frame held carries
 * the holder's id and a private token in its first two words, checked before it is freed.
 */
export function frameChurn(a: {
  rounds: number;
  maxHold: number;
  seed: number;
  sync: number;
  parties: number;
}): {
  allocs: number;
  empty: number;
} {
  const me = current_id();
  startTogether(a.sync, a.parties);
  const rnd = xorshift(a.seed);
  const held: number[] = [];
  const tokens: number[] = [];
  let allocs = 0;
  let empty = 0;
  for (let r = 0; r < a.rounds; r++) {
    if ((r & 255) === 0) check_abort();
    if (rnd(4) !== 0 && held.length < a.maxHold) {
      const pfn = alloc_frame();
      if (pfn === 0) {
        empty++;
        continue;
      }
      allocs++;
      const tok = (me << 24) | r;
      atomic_set(frame_ptr(pfn), me);
      atomic_set(frame_ptr(pfn) + 1, tok);
      held.push(pfn);
      tokens.push(tok);
    } else if (held.length > 0) {
      const i = rnd(held.length);
      const pfn = held[i]!;
      const p = frame_ptr(pfn);
      if (atomic_read(p) !== me || atomic_read(p + 1) !== tokens[i]) {
        throw new InvariantViolation(`task ${me}: frame ${pfn} changed while held`);
      }
      held[i] = held[held.length - 1]!;
      tokens[i] = tokens[tokens.length - 1]!;
      held.pop();
      tokens.pop();
      free_frame(pfn);
    }
  }
  for (const pfn of held) free_frame(pfn);
  return { allocs, empty };
}

/**
 * do_anonymous_page in miniature: for each page in `addrs` (in the order given, `passes` times
 * over), take a zeroed frame, lock the PTE, install it if none is there, else give the frame
 * back. Returns how many PTEs this task installed.
 */
export function faultPages(a: {
  pgd: number;
  addrs: number[];
  passes: number;
  sync?: number;
  parties?: number;
}): number {
  let installed = 0;
  if (a.sync !== undefined) startTogether(a.sync, a.parties ?? 1);
  for (let pass = 0; pass < a.passes; pass++) {
    check_abort();
    for (const addr of a.addrs) {
      const pfn = alloc_frame();
      if (pfn === 0) throw frame_pool_empty();
      zero_frame(pfn);
      const ptep = pte_offset_map_lock(a.pgd, addr, true);
      if (ptep === 0) throw new InvariantViolation(`no pte page for page ${addr}`);
      if (pte_none(ptep_get(ptep))) {
        set_pte_at(ptep, mk_pte(pfn, true));
        atomic_set(frame_ptr(pfn), addr); // the page's contents name its address
        installed++;
      } else {
        const cur = pte_pfn(ptep_get(ptep));
        if (atomic_read(frame_ptr(cur)) !== addr) {
          throw new InvariantViolation(`page ${addr} maps frame ${cur} of another page`);
        }
        free_frame(pfn);
      }
      pte_unmap_unlock(a.pgd, addr);
    }
  }
  if (a.sync !== undefined) atomic_fetch_add(a.sync + 1, 1);
  return installed;
}

/** A start barrier on word `sync`: return once `parties` tasks have arrived. */
function startTogether(sync: number, parties: number): void {
  atomic_fetch_add(sync, 1);
  while (atomic_read(sync) < parties) {
    check_abort();
    park(1);
  }
}

/**
 * munmap beside live faults: the lower half of each pte page in [start, end) is an unmapped
 * range whose tables free_pgtables tries to free; the upper half is a neighbour that other
 * tasks fault in. Zapping the upper half now and then empties a page, so it really is freed
 * while faulters are about to lock it.
 */
export function zapLoop(a: {
  pgd: number;
  start: number;
  end: number;
  sync: number;
  parties: number;
  faulters: number;
}): {
  zapped: number;
  tablesFreed: number;
  rounds: number;
} {
  let zapped = 0;
  let tablesFreed = 0;
  let rounds = 0;
  startTogether(a.sync, a.parties);
  // Word sync+1 counts faulters done: run exactly as long as they do.
  for (; atomic_read(a.sync + 1) < a.faulters; rounds++) {
    check_abort();
    for (let p = a.start; p < a.end; p += PTRS_PER_PTE) {
      zapped += zap_pte_range(a.pgd, p + PTRS_PER_PTE / 2, p + PTRS_PER_PTE);
      tablesFreed += free_pgtables(a.pgd, p, p + PTRS_PER_PTE / 2);
    }
  }
  return { zapped, tablesFreed, rounds };
}
