// Shadow reader counts for the exclusion invariant (KERNEL.md §7.1), live when assertions are on:
// every successful VMA read lock adds one to the VMA's shadow_readers word and every release
// takes it away first, so a writer that believes it has excluded the readers must see 0.

import { InvariantViolation } from '../errors.js';
import { atomic_fetch_add, atomic_read } from '../sched/atomics.js';
import { VMA } from '../shm/layout/index.js';

export function shadow_reader_enter(vma: number): void {
  atomic_fetch_add(vma + VMA.shadow_readers, 1);
}

export function shadow_reader_exit(vma: number): void {
  if (atomic_fetch_add(vma + VMA.shadow_readers, -1) <= 0) {
    throw new InvariantViolation(`vma ${vma}: read unlock without a read lock`);
  }
}

export function shadow_assert_no_readers(vma: number, where: string): void {
  const n = atomic_read(vma + VMA.shadow_readers);
  if (n !== 0) {
    throw new InvariantViolation(`${where}: vma ${vma} write-locked with ${n} readers inside`);
  }
}
