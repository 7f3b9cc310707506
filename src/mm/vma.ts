// vm_area_struct: allocation, initialisation and the fields every scheme shares
// (mirrors include/linux/mm.h and mm/vma_init.c of v6.15).
//
// Memory ordering: vm_start, vm_end, vm_flags and vm_csum change only under the mmap write
// lock with the VMA write-locked (or before it is attached); lockless readers read them with
// atomic loads and check them again once they hold the VMA lock. vm_mm is read locklessly too
// ("unstable RCU readers may read this").

import { InvariantViolation } from '../errors.js';
import { atomic_read, atomic_set } from '../sched/atomics.js';
import { VMA } from '../shm/layout/index.js';
import { kmem_cache_alloc, slab_exhausted } from '../shm/slab.js';
import { refcount_set } from '../sync/refcount.js';
import { init_rwsem } from '../sync/rwsem.js';
import { seqcount_init } from '../sync/seqcount.js';
import { mm_globals } from './globals.js';

/** vm_flags bits. PROT_* map onto the low bits, as in the kernel's calc_vm_prot_bits(). */
export const VM_READ = 1 << 0;
export const VM_WRITE = 1 << 1;
export const VM_EXEC = 1 << 2;
export const VM_SHARED = 1 << 3;
/** the bits mprotect may change */
export const VM_ACCESS_FLAGS = VM_READ | VM_WRITE | VM_EXEC;

export const PROT_NONE = 0;
export const PROT_READ = VM_READ;
export const PROT_WRITE = VM_WRITE;
export const PROT_EXEC = VM_EXEC;

/** vm_lock_seq of a VMA never locked: UINT_MAX as an Int32 word. */
export const VM_LOCK_SEQ_NONE = -1;

/** The checksum of a VMA's identity fields (KERNEL.md §7.9: no torn reads). */
export function vma_csum(start: number, end: number, mm: number, flags: number): number {
  let h = Math.imul(start ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ end ^ (h >>> 13), 0xc2b2ae35);
  h = Math.imul(h ^ mm ^ (h >>> 16), 0x27d4eb2f);
  return (h ^ flags ^ (h >>> 15)) | 0;
}

/**
 * vm_area_alloc(): a fresh VMA of `mm`, detached (vm_refcnt 0), never locked
 * (vm_lock_seq = UINT_MAX). For the type-safe slab the object may be a slot that lockless
 * readers still look at: vm_refcnt is already 0 there (freed ⇒ 0) and is NOT written, so a
 * reader's increment keeps failing until vma_mark_attached() publishes it (RELEASE).
 * Returns 0 when the slab is exhausted (the caller handles it, like the kernel's -ENOMEM).
 */
export function vm_area_alloc(mm: number): number {
  const g = mm_globals();
  const vma = kmem_cache_alloc(g.vmaCache);
  if (vma === 0) return 0;
  vma_init_fields(vma, mm, g.typesafeVmas);
  return vma;
}

export function vm_area_alloc_or_throw(mm: number): number {
  const vma = vm_area_alloc(mm);
  if (vma === 0) throw slab_exhausted(mm_globals().vmaCache);
  return vma;
}

function vma_init_fields(vma: number, mm: number, typesafe: boolean): void {
  // In a type-safe slab vm_refcnt is deliberately not written: see vm_area_alloc(). Elsewhere
  // nobody can see the object yet, and it may hold the slab's poison.
  if (!typesafe) refcount_set(vma + VMA.vm_refcnt, 0);
  else if (atomic_read(vma + VMA.vm_refcnt) !== 0) {
    throw new InvariantViolation(
      `vm_area_alloc: slot ${vma} has vm_refcnt ${atomic_read(vma + VMA.vm_refcnt)}; a free VMA must be 0`,
    );
  }
  atomic_set(vma + VMA.vm_mm, mm);
  atomic_set(vma + VMA.vm_lock_seq, VM_LOCK_SEQ_NONE);
  atomic_set(vma + VMA.detached, 1);
  atomic_set(vma + VMA.anon_vma, 0);
  atomic_set(vma + VMA.shadow_readers, 0);
  init_rwsem(vma + VMA.vm_lock);
  // srcu_spf: a new object starts a fresh, even sequence. No speculative reader can hold the
  // slot: it was freed only after an SRCU grace period.
  seqcount_init(vma + VMA.vm_seq);
}

/**
 * Store a VMA's range and flags (and its checksum). Internal: every caller goes through
 * vma_init_range() (a VMA not yet attached) or vma_modify() (an attached one, asserting the
 * write lock) in src/ops/vma_ops.ts.
 */
export function __vma_set(vma: number, start: number, end: number, flags: number): void {
  const mm = atomic_read(vma + VMA.vm_mm);
  atomic_set(vma + VMA.vm_start, start);
  atomic_set(vma + VMA.vm_end, end);
  atomic_set(vma + VMA.vm_flags, flags);
  atomic_set(vma + VMA.vm_csum, vma_csum(start, end, mm, flags));
}

export function vma_start(vma: number): number {
  return atomic_read(vma + VMA.vm_start);
}

export function vma_end(vma: number): number {
  return atomic_read(vma + VMA.vm_end);
}

export function vma_flags(vma: number): number {
  return atomic_read(vma + VMA.vm_flags);
}

export function vma_mm(vma: number): number {
  return atomic_read(vma + VMA.vm_mm);
}

/** Throws if a VMA held locked shows a torn or foreign identity (assertions on). */
export function vma_check_csum(vma: number): void {
  const s = atomic_read(vma + VMA.vm_start);
  const e = atomic_read(vma + VMA.vm_end);
  const m = atomic_read(vma + VMA.vm_mm);
  const f = atomic_read(vma + VMA.vm_flags);
  if (atomic_read(vma + VMA.vm_csum) !== vma_csum(s, e, m, f)) {
    throw new InvariantViolation(
      `torn VMA read: vma ${vma} [${s}, ${e}) mm ${m} flags ${f} does not match its checksum`,
    );
  }
}
