// mmap_lock: Linux before 6.4. No per-VMA lock: every fault takes the mmap_lock for read and
// every mmap/munmap/mprotect takes it for write, so a waiting writer blocks every new fault.
// No reader ever looks at a VMA without the mmap lock, so a detached VMA is freed at once.

import { InvariantViolation } from '../errors.js';
import { mm_globals } from '../mm/globals.js';
import { atomic_read } from '../sched/atomics.js';
import { MM, VMA } from '../shm/layout/index.js';
import { kmem_cache_free } from '../shm/slab.js';
import { write_seqcount_end } from '../sync/seqcount.js';
import { rcu_deferred } from './lock_vma.js';
import { mmap_assert_write_locked } from './mmap.js';
import type { Scheme } from './scheme.js';

export const mmap_lock: Scheme = {
  name: 'mmap_lock',
  summary: 'one mmap_lock rw_semaphore per mm for every fault and every change (Linux < 6.4)',
  kernel: 'before v6.4, and before the v6.5 killable fault path',
  seqOddWhileWriteLocked: true,
  faultFallbackKillable: false,
  typesafeVmas: false,
  perVmaReadLock: false,
  perVmaMaps: false,
  perVmaMadvise: false,
  speculative: false,
  anonVmaFastPath: 'abort',
  ioWaitFastPath: 'bail',

  lock_vma_under_rcu(): number {
    return 0; // always the mmap_lock path
  },
  vma_end_read(vma: number): void {
    throw new InvariantViolation(`mmap_lock scheme: vma_end_read(${vma}) without a VMA lock`);
  },
  vma_fault_still_valid(): boolean {
    return true;
  },
  vma_start_read(): number {
    return 0;
  },
  vma_start_read_locked(): boolean {
    return true; // the mmap read lock is the VMA read lock
  },
  vma_start_write(): void {},
  vm_write_begin(): void {},
  vm_write_end(): void {},
  vma_start_write_killable(): number {
    return 0;
  },
  vma_mark_attached(): void {},
  vma_mark_detached(): void {},
  vma_end_write_all(mm: number): void {
    write_seqcount_end(mm + MM.mm_lock_seq);
  },
  vmas_free(vmas: readonly number[]): void {
    const cache = mm_globals().vmaCache;
    for (const vma of vmas) kmem_cache_free(cache, vma);
  },
  pgtable_free_deferred() {
    return null;
  },
  ...rcu_deferred, // the VMA index's replaced nodes
  vma_assert_write_locked(vma: number): void {
    mmap_assert_write_locked(atomic_read(vma + VMA.vm_mm));
  },
  vma_assert_locked(): void {},
};
