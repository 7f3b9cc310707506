// Reading /proc/pid/maps (fs/proc/task_mmu.c). Two ways:
// - under mmap_read_lock_killable: one consistent snapshot, but it blocks writers meanwhile;
// - the 2025 per-VMA walk (lock_next_vma): from the last address reported, find the next VMA
//   under RCU and read-lock it with vma_start_read(); a detached VMA means "look again"; when the
//   lock cannot be had, fall back to mmap_read_lock_killable + vma_start_read_locked() for that
//   one VMA. It may report a VMA twice (never here: it resumes from the previous end) and never
//   reports a false gap for a VMA that stayed mapped throughout.

import { EINTR } from '../errors.js';
import { mm_globals } from '../mm/globals.js';
import { vma_check_csum } from '../mm/vma.js';
import { vt_find } from '../mm/vma_tree.js';
import { atomic_read, sched_point } from '../sched/atomics.js';
import { CNT } from '../sched/counters.js';
import { SP } from '../sched/points.js';
import { check_abort, count, count_add } from '../sched/task.js';
import { scheme } from '../schemes/active.js';
import { mmap_read_lock_killable, mmap_read_unlock } from '../schemes/mmap.js';
import { VMA_LOOKUP_AGAIN } from '../schemes/scheme.js';
import { MM, VMA } from '../shm/layout/index.js';
import { rcu_read_lock, rcu_read_unlock } from '../sync/rcu.js';

/** What one line of the listing reports. */
export type MapsLine = (start: number, end: number, flags: number) => void;

function report(vma: number, out: MapsLine | undefined): number {
  if (mm_globals().assertions) vma_check_csum(vma);
  const end = atomic_read(vma + VMA.vm_end);
  out?.(atomic_read(vma + VMA.vm_start), end, atomic_read(vma + VMA.vm_flags));
  return end;
}

function maps_under_mmap_lock(mm: number, out: MapsLine | undefined): number {
  if (mmap_read_lock_killable(mm) !== 0) return EINTR;
  let n = 0;
  let addr = 0;
  for (;;) {
    const vma = vt_find(mm + MM.mm_mt, addr);
    if (vma === 0) break;
    addr = report(vma, out);
    n++;
  }
  mmap_read_unlock(mm);
  return n;
}

/** lock_next_vma(): the next VMA ending above addr, read-locked; 0 at the end; EINTR. */
function lock_next_vma(mm: number, addr: number): number {
  const S = scheme();
  let misses = 0;
  rcu_read_lock();
  for (;;) {
    const vma = vt_find(mm + MM.mm_mt, addr);
    if (vma === 0) {
      rcu_read_unlock();
      return 0;
    }
    sched_point(SP.LOOKUP_TO_LOCK);
    const got = S.vma_start_read(mm, vma);
    if (got === VMA_LOOKUP_AGAIN) {
      if ((++misses & 1023) === 0) check_abort();
      continue;
    }
    if (got !== 0) {
      // Locked, but the index may have changed between the walk and the lock: a split left a
      // new VMA below this one, or the slot was reused further up. Walk again and insist on the
      // same answer, so that nothing between addr and this VMA is skipped (never a false gap).
      // Under our lock the VMA's fields and its index entry agree.
      if (atomic_read(vma + VMA.vm_mm) === mm && vt_find(mm + MM.mm_mt, addr) === vma) {
        rcu_read_unlock();
        return vma;
      }
      S.vma_end_read(vma);
      if ((++misses & 1023) === 0) check_abort();
      continue;
    }
    // Contended: fall back to the mmap lock for this one VMA.
    rcu_read_unlock();
    if (mmap_read_lock_killable(mm) !== 0) return EINTR;
    const v = vt_find(mm + MM.mm_mt, addr);
    const ok = v !== 0 && S.vma_start_read_locked(v);
    mmap_read_unlock(mm);
    if (v === 0) return 0;
    if (ok) return v;
    rcu_read_lock(); // at the reader limit: try again
  }
}

function maps_under_vma_locks(mm: number, out: MapsLine | undefined): number {
  const S = scheme();
  let n = 0;
  let addr = 0;
  for (;;) {
    const vma = lock_next_vma(mm, addr);
    if (vma === EINTR) return EINTR;
    if (vma === 0) break;
    addr = report(vma, out);
    S.vma_end_read(vma);
    n++;
  }
  return n;
}

/**
 * List the mm's VMAs in address order; returns how many were reported, or EINTR. viaVmaLocks
 * uses the per-VMA walk where the scheme has per-VMA read locks.
 */
export function read_maps(mm: number, viaVmaLocks: boolean, out?: MapsLine): number {
  const n =
    viaVmaLocks && scheme().perVmaReadLock
      ? maps_under_vma_locks(mm, out)
      : maps_under_mmap_lock(mm, out);
  if (n >= 0) {
    count(CNT.MAPS_READS);
    count_add(CNT.MAPS_VMAS_REPORTED, n);
  }
  return n;
}
