// The mmap_lock API every scheme shares (include/linux/mmap_lock.h, v6.15): the rw_semaphore
// calls plus mm_lock_seq, whose increments publish and release VMA write locks.
//
// Memory ordering: mm_lock_seq is written only under the mmap write lock. The increment at
// mmap_write_lock() (write_seqcount_begin, v6.15) happens after down_write() has ACQUIRED the
// lock; the increment in vma_end_write_all() is a RELEASE that pairs with the ACQUIRE load of
// mm_lock_seq in vma_start_read() — after it, every VMA locked in this cycle reads unlocked.
//
// Lock order (written once, here): mmap_lock → VMA lock → page-table lock. Never block on the
// mmap lock while holding a VMA read lock.

import { InvariantViolation } from '../errors.js';
import { mm_globals } from '../mm/globals.js';
import { sched_point } from '../sched/atomics.js';
import { BUG, bug_on } from '../sched/bugs.js';
import { EV } from '../sched/events.js';
import { SP } from '../sched/points.js';
import { trace } from '../sched/task.js';
import { MM } from '../shm/layout/index.js';
import {
  down_read,
  down_read_killable,
  down_read_trylock,
  down_write,
  down_write_killable,
  down_write_trylock,
  downgrade_write,
  rwsem_assert_held,
  rwsem_assert_held_write,
  up_read,
  up_write,
} from '../sync/rwsem.js';
import { raw_read_seqcount, read_seqcount_retry, write_seqcount_begin } from '../sync/seqcount.js';
import { scheme } from './active.js';

export function mmap_read_lock(mm: number): void {
  down_read(mm + MM.mmap_lock);
  trace(EV.MMAP_READ_LOCK, mm, 0);
}

export function mmap_read_trylock(mm: number): boolean {
  const ok = down_read_trylock(mm + MM.mmap_lock);
  if (ok) trace(EV.MMAP_READ_LOCK, mm, 1);
  return ok;
}

/** 0, or EINTR if a fatal signal arrived first. */
export function mmap_read_lock_killable(mm: number): number {
  const ret = down_read_killable(mm + MM.mmap_lock);
  if (ret === 0) trace(EV.MMAP_READ_LOCK, mm, 2);
  return ret;
}

export function mmap_read_unlock(mm: number): void {
  mm_lock_seq_assert(mm, false, 'mmap_read_unlock');
  trace(EV.MMAP_READ_UNLOCK, mm, 0);
  up_read(mm + MM.mmap_lock);
}

function mm_lock_seqcount_begin(mm: number): void {
  if (scheme().seqOddWhileWriteLocked) write_seqcount_begin(mm + MM.mm_lock_seq);
}

export function mmap_write_lock(mm: number): void {
  down_write(mm + MM.mmap_lock);
  mm_lock_seqcount_begin(mm);
  trace(EV.MMAP_WRITE_LOCK, mm, 0);
  sched_point(SP.MMAP_WRITE_LOCKED);
}

/** 0, or EINTR; mm_lock_seq is bumped only on success. */
export function mmap_write_lock_killable(mm: number): number {
  if (bug_on(BUG.MMAP_WRITE_UNINTERRUPTIBLE)) {
    // Before 2016 the writers of munmap/mmap/mprotect took down_write(): a fatal signal does
    // not get them out of the queue.
    mmap_write_lock(mm);
    return 0;
  }
  const ret = down_write_killable(mm + MM.mmap_lock);
  if (ret !== 0) return ret;
  mm_lock_seqcount_begin(mm);
  trace(EV.MMAP_WRITE_LOCK, mm, 1);
  sched_point(SP.MMAP_WRITE_LOCKED);
  return 0;
}

export function mmap_write_trylock(mm: number): boolean {
  if (!down_write_trylock(mm + MM.mmap_lock)) return false;
  mm_lock_seqcount_begin(mm);
  return true;
}

/**
 * KERNEL.md §7.4, live with assertions: mm_lock_seq is odd exactly while the mmap write lock is
 * held (v6.14+ schemes). Checked by the holder, so the value cannot move under the check.
 */
function mm_lock_seq_assert(mm: number, odd: boolean, where: string): void {
  if (!scheme().seqOddWhileWriteLocked || !mm_globals().assertions) return;
  const seq = raw_read_seqcount(mm + MM.mm_lock_seq);
  if ((seq & 1) !== (odd ? 1 : 0)) {
    throw new InvariantViolation(
      `${where}: mm ${mm} mm_lock_seq ${seq} is ${odd ? 'even' : 'odd'} under the ${odd ? 'write' : 'read'} lock`,
    );
  }
}

/** vma_end_write_all() — one increment releases every VMA write lock — then up_write(). */
export function mmap_write_unlock(mm: number): void {
  mm_lock_seq_assert(mm, true, 'mmap_write_unlock');
  scheme().vma_end_write_all(mm);
  trace(EV.MMAP_WRITE_UNLOCK, mm, 0);
  up_write(mm + MM.mmap_lock);
}

/** vma_end_write_all(), then keep the mmap lock for read. */
export function mmap_write_downgrade(mm: number): void {
  mm_lock_seq_assert(mm, true, 'mmap_write_downgrade');
  scheme().vma_end_write_all(mm);
  trace(EV.MMAP_WRITE_UNLOCK, mm, 1);
  downgrade_write(mm + MM.mmap_lock);
}

export function mmap_assert_locked(mm: number): void {
  rwsem_assert_held(mm + MM.mmap_lock);
}

export function mmap_assert_write_locked(mm: number): void {
  rwsem_assert_held_write(mm + MM.mmap_lock);
}

/** The mm's lock sequence as a u32-valued Int32 (ACQUIRE). */
export function mm_lock_seq(mm: number): number {
  return raw_read_seqcount(mm + MM.mm_lock_seq);
}

/**
 * mmap_lock_speculate_try_begin(): an even sequence to speculate from, or -1 (odd: a writer
 * holds the lock). -1 is odd, so it is never a valid start.
 */
export function mmap_lock_speculate_try_begin(mm: number): number {
  const seq = raw_read_seqcount(mm + MM.mm_lock_seq);
  return (seq & 1) === 0 ? seq : -1;
}

/** mmap_lock_speculate_retry(): true if a writer took the lock since `seq`. */
export function mmap_lock_speculate_retry(mm: number, seq: number): boolean {
  return read_seqcount_retry(mm + MM.mm_lock_seq, seq);
}
