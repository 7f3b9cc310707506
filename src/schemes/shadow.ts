// Shadow lock state for the exclusion invariant (KERNEL.md §7.1), live when assertions are on.
// It is kept beside the real lock, never consulted by it, so a broken lock is caught by it.
//
// VMA.shadow_readers holds the number of successful read locks in its low bits and
// SHADOW_WRITER while a writer owns the VMA: from the moment vma_start_write() has excluded the
// readers until vma_end_write_all() releases every VMA of the write cycle. A reader that gets a
// lock while SHADOW_WRITER is set, or a writer that finds readers inside, is a violation.

import { InvariantViolation } from '../errors.js';
import {
  atomic_fetch_add,
  atomic_fetch_and,
  atomic_fetch_or,
  atomic_read,
} from '../sched/atomics.js';
import { VMA } from '../shm/layout/index.js';

export const SHADOW_WRITER = 1 << 30;
const READERS_MASK = SHADOW_WRITER - 1;

/** VMAs this thread write-locked in the current mmap write cycle. */
const owned: number[] = [];

export function shadow_reader_enter(vma: number): void {
  const old = atomic_fetch_add(vma + VMA.shadow_readers, 1);
  if ((old & SHADOW_WRITER) !== 0) {
    atomic_fetch_add(vma + VMA.shadow_readers, -1);
    throw new InvariantViolation(`vma ${vma}: a read lock succeeded while a writer owns the VMA`);
  }
}

export function shadow_reader_exit(vma: number): void {
  if ((atomic_fetch_add(vma + VMA.shadow_readers, -1) & READERS_MASK) <= 0) {
    throw new InvariantViolation(`vma ${vma}: read unlock without a read lock`);
  }
}

/** The writer has excluded the readers: from now until vma_end_write_all none may get in. */
export function shadow_writer_begin(vma: number, where: string): void {
  const old = atomic_fetch_or(vma + VMA.shadow_readers, SHADOW_WRITER);
  if ((old & SHADOW_WRITER) === 0) owned.push(vma);
  if ((old & READERS_MASK) !== 0) {
    throw new InvariantViolation(
      `${where}: vma ${vma} write-locked with ${old & READERS_MASK} readers inside`,
    );
  }
}

/** vma_end_write_all(): every VMA of the cycle is open to readers again. */
export function shadow_writer_end_all(): void {
  for (const vma of owned) atomic_fetch_and(vma + VMA.shadow_readers, ~SHADOW_WRITER);
  owned.length = 0;
}

/**
 * A write-locked VMA is freed before vma_end_write_all() (munmap under the downgraded lock, a
 * merge under the write lock): its cycle ends here, so the end of the cycle never writes to a
 * freed object.
 */
export function shadow_writer_forget(vma: number): void {
  const i = owned.indexOf(vma);
  if (i < 0) return;
  atomic_fetch_and(vma + VMA.shadow_readers, ~SHADOW_WRITER);
  owned.splice(i, 1);
}

export function shadow_assert_no_readers(vma: number, where: string): void {
  const n = atomic_read(vma + VMA.shadow_readers) & READERS_MASK;
  if (n !== 0) {
    throw new InvariantViolation(`${where}: vma ${vma} write-locked with ${n} readers inside`);
  }
}

/** A fresh VMA: no readers, no writer. */
export function shadow_reset_owned(): void {
  owned.length = 0;
}
