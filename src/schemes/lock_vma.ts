// What the two per-VMA lock designs share (include/linux/mmap_lock.h, mm/mmap_lock.c): the
// lookup-and-lock loop of lock_vma_under_rcu(), the sequence-based write-lock assertion, and
// RCU-deferred work. Each scheme supplies only its own vma_start_read()/vma_end_read().

import { InvariantViolation } from '../errors.js';
import { vt_lookup } from '../mm/vma_tree.js';
import { atomic_read, atomic_read_once, sched_point } from '../sched/atomics.js';
import { BUG, bug_on } from '../sched/bugs.js';
import { CNT } from '../sched/counters.js';
import { SP } from '../sched/points.js';
import { check_abort, count } from '../sched/task.js';
import { MM, VMA } from '../shm/layout/index.js';
import { rcu_barrier, rcu_process_callbacks, rcu_read_lock, rcu_read_unlock } from '../sync/rcu.js';
import { mm_lock_seq } from './mmap.js';
import { type Scheme, VMA_LOOKUP_AGAIN } from './scheme.js';
import { shadow_assert_no_readers } from './shadow.js';

/**
 * lock_vma_under_rcu(): walk the index under RCU and read-lock the VMA containing addr with the
 * scheme's vma_start_read(). A detached VMA (VMA_LOOKUP_AGAIN) counts VMA_LOCK_MISS and walks
 * again; a VMA locked by a writer, reused by another mm or no longer covering addr aborts
 * (VMA_LOCK_ABORT, return 0: the caller falls back to the mmap lock). The checks after the lock
 * read fields the reference keeps stable.
 *
 * The first walk is written out here and the retries in lock_vma_retry(), with the same steps:
 * the fault path stays small enough for the JIT to inline the walk and the lock into it.
 */
export function lock_vma_under_rcu(S: Scheme, mm: number, addr: number): number {
  rcu_read_lock();
  const vma = vt_lookup(mm + MM.mm_mt, addr);
  if (vma !== 0) {
    sched_point(SP.LOOKUP_TO_LOCK);
    const got = S.vma_start_read(mm, vma);
    if (got === VMA_LOOKUP_AGAIN) return lock_vma_retry(S, mm, addr);
    if (got !== 0 && vma_lock_checked(S, mm, addr, got)) {
      rcu_read_unlock();
      return got;
    }
  }
  rcu_read_unlock();
  count(CNT.VMA_LOCK_ABORT);
  return 0;
}

/** lock_vma_under_rcu() after its first walk found a detached VMA: count the miss, walk again. */
function lock_vma_retry(S: Scheme, mm: number, addr: number): number {
  count(CNT.VMA_LOCK_MISS);
  let misses = 1;
  for (;;) {
    const vma = vt_lookup(mm + MM.mm_mt, addr);
    if (vma === 0) break;
    sched_point(SP.LOOKUP_TO_LOCK);
    const got = S.vma_start_read(mm, vma);
    if (got === VMA_LOOKUP_AGAIN) {
      count(CNT.VMA_LOCK_MISS);
      // The detacher has yet to publish the index without it; a dead run must not spin here.
      if ((++misses & 1023) === 0) check_abort();
      continue;
    }
    if (got === 0 || !vma_lock_checked(S, mm, addr, got)) break;
    rcu_read_unlock();
    return got;
  }
  rcu_read_unlock();
  count(CNT.VMA_LOCK_ABORT);
  return 0;
}

/**
 * The checks after the lock: the VMA may have been split, shrunk or moved between the lookup
 * and the lock, so the range is checked again under it. False: the checks failed and the lock
 * is dropped. The passing case inline, the rest in vma_lock_recheck().
 */
function vma_lock_checked(S: Scheme, mm: number, addr: number, vma: number): boolean {
  sched_point(SP.BEFORE_RANGE_CHECK);
  const mmOk = atomic_read_once(vma + VMA.vm_mm) === mm;
  const inRange =
    mmOk &&
    addr >= atomic_read_once(vma + VMA.vm_start) &&
    addr < atomic_read_once(vma + VMA.vm_end);
  if (inRange && S.anonVmaFastPath !== 'abort') return true;
  // The broken variant trusts the lookup's range (its switch is tested only on a miss, so the
  // fixed path pays nothing for it); a VMA of another mm fails either way.
  return vma_lock_recheck(S, vma, inRange || (mmOk && bug_on(BUG.NO_RANGE_RECHECK)));
}

/** vma_lock_checked() off its fast path: `pass` says whether the vm_mm and range checks passed. */
function vma_lock_recheck(S: Scheme, vma: number, pass: boolean): boolean {
  if (!pass) {
    S.vma_end_read(vma);
    return false;
  }
  // v6.4-v6.9: a VMA without an anon_vma is left to the mmap lock path, which may look at
  // its neighbours to prepare one (checked after the lock: set once, it cannot be unset).
  if (S.anonVmaFastPath === 'abort' && atomic_read_once(vma + VMA.anon_vma) === 0) {
    S.vma_end_read(vma);
    count(CNT.ANON_VMA_ABORT);
    return false;
  }
  return true;
}

/** vma_assert_write_locked(): vm_lock_seq equals the mm's sequence, and no reader is inside. */
export function vma_assert_write_locked_seq(vma: number): void {
  const mm = atomic_read(vma + VMA.vm_mm);
  if (atomic_read(vma + VMA.vm_lock_seq) !== mm_lock_seq(mm)) {
    throw new InvariantViolation(`vma ${vma} is not write-locked`);
  }
  shadow_assert_no_readers(vma, 'vma_assert_write_locked');
}

/** Deferred work for schemes whose only deferred frees are RCU's (the index's nodes, VMAs). */
export const rcu_deferred = {
  process_deferred(): void {
    rcu_process_callbacks();
  },
  barrier(): void {
    rcu_barrier();
  },
};
