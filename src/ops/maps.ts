// Reading /proc/pid/maps (fs/proc/task_mmu.c, mm/mmap_lock.c as merged in v6.17). Two ways:
// - under mmap_read_lock_killable: one consistent snapshot, but it blocks writers meanwhile;
// - the per-VMA walk (lock_next_vma): from the last address reported, find the next VMA under
//   RCU and read-lock it with vma_start_read(); a detached VMA means "look again". Bounded, as
//   the merged code is: after one failed lock or one post-lock mismatch it takes
//   mmap_read_lock_killable + vma_start_read_locked() for that VMA
//   (lock_next_vma_under_mmap_lock), never an unbounded RCU retry (the reason the 2025 RCU +
//   seqcount copy was dropped). The gap check after locking (nothing lies between the last
//   address and the locked VMA) re-walks only when mmap_lock_speculate_try_begin/retry say a
//   writer may have changed the tree since the lookup. When even vma_start_read_locked() fails
//   (the reader limit), the rest of the read takes mmap_read_lock (fallback_to_mmap_lock). It
//   may report a VMA twice (never here: it resumes from the previous end) and never reports a
//   false gap for a VMA that stayed mapped throughout.

import { EAGAIN, EINTR } from '../errors.js';
import { mm_globals } from '../mm/globals.js';
import { vma_check_csum } from '../mm/vma.js';
import { vt_find } from '../mm/vma_tree.js';
import { atomic_read, sched_point } from '../sched/atomics.js';
import { BUG, bug_on } from '../sched/bugs.js';
import { CNT } from '../sched/counters.js';
import { SP } from '../sched/points.js';
import { check_abort, count, count_add } from '../sched/task.js';
import { scheme } from '../schemes/active.js';
import {
  mmap_lock_speculate_retry,
  mmap_lock_speculate_try_begin,
  mmap_read_lock,
  mmap_read_lock_killable,
  mmap_read_unlock,
} from '../schemes/mmap.js';
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

/**
 * lock_next_vma_under_mmap_lock(): the next VMA ending above addr, read-locked under the mmap
 * read lock; 0 at the end; EINTR; EAGAIN when its reference count is at the limit.
 */
function lock_next_vma_under_mmap_lock(mm: number, addr: number): number {
  count(CNT.MAPS_LOCK_FALLBACK);
  if (mmap_read_lock_killable(mm) !== 0) return EINTR;
  let vma = vt_find(mm + MM.mm_mt, addr);
  if (vma !== 0 && !scheme().vma_start_read_locked(vma)) vma = EAGAIN;
  mmap_read_unlock(mm);
  return vma;
}

/** lock_next_vma(): the next VMA ending above addr, read-locked; 0 at the end; EINTR; EAGAIN. */
function lock_next_vma(mm: number, addr: number): number {
  const S = scheme();
  const root = mm + MM.mm_mt;
  let misses = 0;
  rcu_read_lock();
  for (;;) {
    // Speculate in case the gap check below needs to know whether the tree may have changed.
    const seq = mmap_lock_speculate_try_begin(mm);
    const found = vt_find(root, addr);
    if (found === 0) {
      rcu_read_unlock();
      return 0;
    }
    sched_point(SP.LOOKUP_TO_LOCK);
    const vma = S.vma_start_read(mm, found);
    if (vma === VMA_LOOKUP_AGAIN) {
      // Detached from under us: look again from addr. Bounded in practice, as in the kernel:
      // each round needs another VMA knocked out between the lookup and the lock.
      if ((++misses & 1023) === 0) check_abort();
      continue;
    }
    if (vma === 0) {
      rcu_read_unlock();
      return lock_next_vma_under_mmap_lock(mm, addr);
    }
    // Locked: the VMA's fields are stable now. It must not have moved behind addr, and when it
    // starts above addr nothing may have been installed in between (a false gap otherwise):
    // re-walk and insist on the same answer, unless no writer took the mmap lock since the
    // lookup (speculation still valid).
    let ok = addr < atomic_read(vma + VMA.vm_end);
    if (ok && addr < atomic_read(vma + VMA.vm_start) && !bug_on(BUG.MAPS_NO_GAP_CHECK)) {
      if (seq < 0 || mmap_lock_speculate_retry(mm, seq)) ok = vt_find(root, addr) === vma;
    }
    rcu_read_unlock();
    if (ok) return vma;
    S.vma_end_read(vma);
    return lock_next_vma_under_mmap_lock(mm, addr);
  }
}

function maps_under_vma_locks(mm: number, out: MapsLine | undefined): number {
  const S = scheme();
  let n = 0;
  let addr = 0;
  for (;;) {
    const vma = lock_next_vma(mm, addr);
    if (vma === EINTR) return EINTR;
    if (vma === EAGAIN) {
      // At the reader limit even under the mmap lock: read the rest under it
      // (fallback_to_mmap_lock takes the non-killable lock).
      mmap_read_lock(mm);
      for (;;) {
        const v = vt_find(mm + MM.mm_mt, addr);
        if (v === 0) break;
        addr = report(v, out);
        n++;
      }
      mmap_read_unlock(mm);
      return n;
    }
    if (vma === 0) break;
    addr = report(vma, out);
    S.vma_end_read(vma);
    n++;
  }
  return n;
}

/**
 * List the mm's VMAs in address order; returns how many were reported, or EINTR. viaVmaLocks
 * uses the per-VMA walk where the scheme's kernel has it (v6.17+), or where it has per-VMA read
 * locks and the walk is backported by name; otherwise the mmap read lock.
 */
export function read_maps(mm: number, viaVmaLocks: boolean, out?: MapsLine): number {
  const S = scheme();
  const perVma = S.perVmaMaps || (S.perVmaReadLock && mm_globals().backportMaps);
  const n = viaVmaLocks && perVma ? maps_under_vma_locks(mm, out) : maps_under_mmap_lock(mm, out);
  if (n >= 0) {
    count(CNT.MAPS_READS);
    count_add(CNT.MAPS_VMAS_REPORTED, n);
  }
  return n;
}
