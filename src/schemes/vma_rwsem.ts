// vma_rwsem: per-VMA locks as in Linux 6.4–6.13: a per-VMA rw_semaphore (vm_lock), vm_lock_seq,
// a `detached` flag, and VMAs freed only after an RCU grace period (no type-safe reuse).
//
// Memory ordering:
// - mm_lock_seq is not odd/even here: it is bumped only in vma_end_write_all(), a RELEASE that
//   pairs with the reader's ACQUIRE re-check after down_read_trylock().
// - A reader takes vm_lock with down_read_trylock (ACQUIRE) and then re-checks vm_lock_seq
//   against mm_lock_seq: a writer sets vm_lock_seq while holding vm_lock for write, so a reader
//   that got the read lock either sees the new vm_lock_seq (and backs off) or got in before the
//   writer, which then waited for it in down_write.
// - `detached` is set under the VMA write lock before the VMA leaves the tree; a reader that
//   found the VMA under RCU checks it after locking (→ VMA_LOCK_MISS, look up again).
// - The VMA's memory stays valid for every RCU reader: it is freed by call_rcu().

import { EINTR, InvariantViolation } from '../errors.js';
import { mm_globals } from '../mm/globals.js';
import { atomic_fetch_add, atomic_read, atomic_set, sched_point } from '../sched/atomics.js';
import { EV } from '../sched/events.js';
import { SP } from '../sched/points.js';
import { trace } from '../sched/task.js';
import { MM, VMA } from '../shm/layout/index.js';
import { kmem_cache_free } from '../shm/slab.js';
import { call_rcu, rcu_read_lock, rcu_read_unlock } from '../sync/rcu.js';
import {
  down_read_trylock,
  down_write,
  down_write_killable,
  rwsem_is_locked,
  up_read,
  up_write,
} from '../sync/rwsem.js';
import { raw_read_seqcount } from '../sync/seqcount.js';
import { lock_vma_under_rcu, rcu_deferred, vma_assert_write_locked_seq } from './lock_vma.js';
import { mm_lock_seq } from './mmap.js';
import { type Scheme, VMA_LOOKUP_AGAIN } from './scheme.js';
import {
  shadow_reader_enter,
  shadow_reader_exit,
  shadow_writer_begin,
  shadow_writer_end_all,
} from './shadow.js';

/** vma_start_read(): read-locked VMA, or 0 (locked by a writer, or a false "locked"). */
function vma_start_read_rwsem(mm: number, vma: number): number {
  // Early pessimistic check; a false "locked" is harmless.
  if (atomic_read(vma + VMA.vm_lock_seq) === atomic_read(mm + MM.mm_lock_seq)) return 0;
  sched_point(SP.BEFORE_REF_INC);
  // trylock: never sleep on a VMA lock in the fault path; fails while a writer holds or waits.
  if (!down_read_trylock(vma + VMA.vm_lock)) return 0;
  sched_point(SP.AFTER_REF_INC);
  // ACQUIRE re-check: pairs with the RELEASE bump in vma_end_write_all().
  if (atomic_read(vma + VMA.vm_lock_seq) === raw_read_seqcount(mm + MM.mm_lock_seq)) {
    up_read(vma + VMA.vm_lock);
    return 0;
  }
  trace(EV.VMA_START_READ, vma, 0);
  return vma;
}

function vma_start_write_rwsem(vma: number, killable: boolean): number {
  const mm = atomic_read(vma + VMA.vm_mm);
  const seq = mm_lock_seq(mm);
  if (atomic_read(vma + VMA.vm_lock_seq) === seq) return 0;
  if (killable) {
    if (down_write_killable(vma + VMA.vm_lock) !== 0) return EINTR;
  } else {
    down_write(vma + VMA.vm_lock);
  }
  sched_point(SP.WRITE_EXCLUDED);
  atomic_set(vma + VMA.vm_lock_seq, seq);
  if (__faultline_assertions) shadow_writer_begin(vma, 'vma_start_write');
  up_write(vma + VMA.vm_lock);
  trace(EV.VMA_START_WRITE, vma, seq);
  sched_point(SP.WRITE_LOCKED);
  return 0;
}

const vma_assert_write_locked = vma_assert_write_locked_seq;

export const vma_rwsem: Scheme = {
  name: 'vma_rwsem',
  summary: 'per-VMA rw_semaphore + vm_lock_seq + detached flag, RCU-freed VMAs (Linux 6.4–6.13)',
  kernel:
    'v6.4–v6.13 per-VMA rw_semaphore with the v6.4 fault path (a VMA without an anon_vma refused, an I/O wait left to the mmap lock); maps and MADV_DONTNEED under the mmap lock',
  seqOddWhileWriteLocked: false,
  faultFallbackKillable: true,
  typesafeVmas: false,
  perVmaReadLock: true,
  perVmaMaps: false,
  perVmaMadvise: false,
  speculative: false,
  anonVmaFastPath: 'abort',
  ioWaitFastPath: 'bail',

  lock_vma_under_rcu(mm: number, addr: number): number {
    return lock_vma_under_rcu(vma_rwsem, mm, addr);
  },

  vma_end_read(vma: number): void {
    if (__faultline_assertions) shadow_reader_exit(vma);
    trace(EV.VMA_END_READ, vma, 0);
    // up_read() may still touch vm_lock after a writer took it, detached the VMA and queued its
    // free: the RCU section keeps the memory alive until up_read() is done (as 6.4-6.13 do).
    rcu_read_lock();
    up_read(vma + VMA.vm_lock);
    rcu_read_unlock();
  },

  vma_fault_still_valid(): boolean {
    return true;
  },

  vma_start_read(mm: number, vma: number): number {
    const got = vma_start_read_rwsem(mm, vma);
    if (got === 0) return 0;
    if (atomic_read(vma + VMA.detached) !== 0) {
      up_read(vma + VMA.vm_lock);
      return VMA_LOOKUP_AGAIN;
    }
    if (__faultline_assertions) shadow_reader_enter(vma);
    return got;
  },

  vma_start_read_locked(vma: number): boolean {
    // Under the mmap read lock no writer can hold vm_lock; the trylock fails only if one waits,
    // which the mmap read lock also excludes.
    const ok = down_read_trylock(vma + VMA.vm_lock);
    if (ok && __faultline_assertions) shadow_reader_enter(vma);
    return ok;
  },

  vma_start_write(vma: number): void {
    vma_start_write_rwsem(vma, false);
  },

  vm_write_begin(): void {},
  vm_write_end(): void {},
  vma_start_write_killable(vma: number): number {
    // 6.4-6.13 had no killable VMA write lock: a fatal signal does not get a writer out of the
    // wait, unless the feature is backported by name.
    return vma_start_write_rwsem(vma, mm_globals().backportKillable);
  },

  vma_mark_attached(vma: number): void {
    if (__faultline_assertions) vma_assert_write_locked(vma);
    atomic_set(vma + VMA.detached, 0);
    trace(EV.VMA_MARK_ATTACHED, vma, 0);
  },

  vma_mark_detached(vma: number): void {
    if (__faultline_assertions) vma_assert_write_locked(vma);
    atomic_set(vma + VMA.detached, 1);
    trace(EV.VMA_MARK_DETACHED, vma, 0);
  },

  vma_end_write_all(mm: number): void {
    if (__faultline_assertions) shadow_writer_end_all();
    // RELEASE: one increment unlocks every VMA locked in this cycle.
    atomic_fetch_add(mm + MM.mm_lock_seq, 1);
  },

  vmas_free(vmas: readonly number[]): void {
    const cache = mm_globals().vmaCache;
    for (const vma of vmas) {
      if (atomic_read(vma + VMA.detached) === 0) {
        throw new InvariantViolation(`vm_area_free: vma ${vma} is not detached`);
      }
      // RCU readers may still look at it, and a late one may take vm_lock for a moment before
      // it sees `detached` and lets go: the memory waits for a grace period.
      call_rcu(() => kmem_cache_free(cache, vma));
    }
  },

  pgtable_free_deferred() {
    return null;
  },

  ...rcu_deferred,

  vma_assert_write_locked,

  vma_assert_locked(vma: number): void {
    if (!rwsem_is_locked(vma + VMA.vm_lock)) vma_assert_write_locked(vma);
  },
};
