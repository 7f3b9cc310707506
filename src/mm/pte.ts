// PTE values and PTE words: the encoding of src/shm/layout/pgtable.ts behind small named
// functions (the kernel's pte_none, pte_present, pte_pfn, mk_pte, set_pte_at, ptep_get).
//
// Memory ordering: a PTE word is written under its pte page's ptl with an atomic store and read
// with an atomic load (READ_ONCE), so lockless walkers always see a whole PTE, old or new.

import { InvariantViolation } from '../errors.js';
import { atomic_read, atomic_set, atomic_xchg } from '../sched/atomics.js';
import { _PAGE_PRESENT, _PAGE_RW, PTE_PFN_MAX, PTE_PFN_SHIFT } from '../shm/layout/index.js';

// ---- PTE values ----------------------------------------------------------------------------

export function pte_none(pte: number): boolean {
  return pte === 0;
}

export function pte_present(pte: number): boolean {
  return (pte & _PAGE_PRESENT) !== 0;
}

export function pte_write(pte: number): boolean {
  return (pte & _PAGE_RW) !== 0;
}

export function pte_pfn(pte: number): number {
  return pte >>> PTE_PFN_SHIFT;
}

/** A present PTE mapping frame `pfn`, writable or read-only. */
export function mk_pte(pfn: number, writable: boolean): number {
  if (pfn < 1 || pfn > PTE_PFN_MAX) throw new InvariantViolation(`mk_pte: pfn ${pfn} out of range`);
  return (pfn << PTE_PFN_SHIFT) | _PAGE_PRESENT | (writable ? _PAGE_RW : 0);
}

export function pte_wrprotect(pte: number): number {
  return pte & ~_PAGE_RW;
}

export function pte_mkwrite(pte: number): number {
  return pte | _PAGE_RW;
}

// ---- PTE words -----------------------------------------------------------------------------

/** Store a PTE. Under the pte page's ptl; atomic because lockless walkers read it. */
export function set_pte_at(ptep: number, pte: number): void {
  atomic_set(ptep, pte);
}

/** Load a PTE (READ_ONCE): under the ptl, or locklessly. */
export function ptep_get(ptep: number): number {
  return atomic_read(ptep);
}

/** Clear a PTE and return what it held. Under the ptl. */
export function ptep_get_and_clear(ptep: number): number {
  return atomic_xchg(ptep, 0);
}
