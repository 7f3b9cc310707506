// The page fault, written once for every scheme (arch/x86/mm/fault.c do_user_addr_fault,
// mm/memory.c handle_mm_fault / do_anonymous_page).
//
// Fast path: the scheme's lock_vma_under_rcu(); the handler runs with FAULT_FLAG_VMA_LOCK and,
// unless it returns RETRY or COMPLETED (it already dropped the VMA lock), the caller drops it.
// RETRY counts VMA_LOCK_RETRY and takes the classic path: mmap_read_trylock, else
// mmap_read_lock_killable; find_vma; handle_mm_fault; mmap_read_unlock. Under a VMA lock the
// handler never sleeps on the mmap lock.
//
// anon_vma: the first anonymous fault in a VMA attaches its anon_vma (__anon_vma_prepare, which
// looks at the neighbouring VMAs and so needs the mmap lock). Under a VMA lock, v6.10+
// (vmf_anon_prepare) trylocks the mmap lock for it and otherwise drops the VMA lock and returns
// RETRY; 6.4-6.9's lock_vma_under_rcu refused such a VMA outright (Scheme.anonVmaFastPath).
//
// Fault retry: with a sleeping fault cost in `retry` mode (an I/O wait, the kernel's default for
// file and swap I/O), the fault drops its lock, waits, and returns VM_FAULT_RETRY; the caller
// retries with FAULT_FLAG_TRIED, and the retry finds the data ready (a minor fault, no wait).
// Under a VMA lock that is v6.7+'s rule (Scheme.ioWaitFastPath 'drop'); before, the fault left
// the VMA lock at once for the mmap lock path, which then waited as above ('bail'). In `hold`
// mode the fault sleeps holding its lock: the pessimistic case.
//
// The work is real: a frame from the pool, zeroed (4 KiB), installed under the page-table lock.
// The optional fault cost (spin / sleep) is spent after the frame is zeroed and before the PTE is
// installed: while the fault holds its VMA lock, SRCU section or mmap read lock.

import { EINTR, InvariantViolation } from '../errors.js';
import { alloc_frame, free_frame, zero_frame } from '../mm/frames.js';
import { mm_globals } from '../mm/globals.js';
import {
  mk_pte,
  pte_none,
  pte_offset_map_lock,
  pte_unmap_unlock,
  ptep_get,
  set_pte_at,
} from '../mm/pgtable.js';
import { VM_READ, VM_WRITE, vma_check_csum } from '../mm/vma.js';
import { vt_find } from '../mm/vma_tree.js';
import { atomic_fetch_add, atomic_read, atomic_set, sched_point } from '../sched/atomics.js';
import { CNT } from '../sched/counters.js';
import { EV } from '../sched/events.js';
import { SP } from '../sched/points.js';
import { count, sleep_us, spin_ns, trace } from '../sched/task.js';
import { scheme } from '../schemes/active.js';
import {
  mmap_assert_locked,
  mmap_read_lock,
  mmap_read_lock_killable,
  mmap_read_trylock,
  mmap_read_unlock,
} from '../schemes/mmap.js';
import { srcu_spf_fault_flags } from '../schemes/srcu_spf.js';
import { MM, PGD, VMA } from '../shm/layout/index.js';
import { spin_lock, spin_unlock } from '../sync/spinlock.js';
import { alloc_frame_wait } from './oom.js';

/** VM_FAULT_* results (include/linux/mm_types.h values). 0 is success. */
export const VM_FAULT_OOM = 0x0001;
export const VM_FAULT_SIGBUS = 0x0002;
/** the fault did I/O (or waited for it): the retry it asks for may skip the wait */
export const VM_FAULT_MAJOR = 0x0004;
export const VM_FAULT_SIGSEGV = 0x0040;
export const VM_FAULT_RETRY = 0x0400;
export const VM_FAULT_COMPLETED = 0x4000;

export const FAULT_FLAG_WRITE = 1 << 0;
/** the fault was retried after a VM_FAULT_RETRY that waited: the data is ready now */
export const FAULT_FLAG_TRIED = 1 << 5;
/**
 * A fault on behalf of another process (get_user_pages through access_remote_vm): its page
 * allocation waits for memory, invoking the OOM killer, instead of failing (src/ops/oom.ts).
 */
export const FAULT_FLAG_REMOTE = 1 << 7;
export const FAULT_FLAG_VMA_LOCK = 1 << 12;

/**
 * What a fault costs beyond zeroing its page. A sleep is an I/O wait: `wait` says whether the
 * fault holds its lock across it ('hold', the default) or drops it and retries ('retry').
 */
export type FaultCost =
  | { readonly kind: 'zero' }
  | { readonly kind: 'spin'; readonly ns: number }
  | { readonly kind: 'sleep'; readonly us: number; readonly wait?: 'hold' | 'retry' };

let cost: FaultCost = { kind: 'zero' };

/** The work each fault of this thread does while it holds its lock, beyond zeroing the page. */
export function set_fault_cost(c: FaultCost): void {
  cost = c;
}

function spend_fault_cost(flags: number): void {
  if (cost.kind === 'spin') spin_ns(cost.ns);
  // A retried fault finds its data read in by the first attempt: no second wait.
  else if (cost.kind === 'sleep' && (flags & FAULT_FLAG_TRIED) === 0) sleep_us(cost.us);
}

/**
 * The I/O wait of a fault in `retry` mode (filemap_fault / folio_lock_or_retry): drop the lock
 * the fault holds, wait, and return RETRY | MAJOR (the lock is already released). Under a VMA
 * lock before v6.7 (Scheme.ioWaitFastPath 'bail'), the fault only drops the VMA lock and returns
 * RETRY: the mmap lock path does the waiting.
 */
function fault_wait_io_retry(mm: number, vma: number, flags: number, us: number): number {
  if ((flags & FAULT_FLAG_VMA_LOCK) !== 0) {
    const S = scheme();
    S.vma_end_read(vma);
    if (S.ioWaitFastPath === 'bail') return VM_FAULT_RETRY;
  } else {
    mmap_read_unlock(mm);
  }
  sleep_us(us);
  count(CNT.FAULT_IO_RETRY);
  return VM_FAULT_RETRY | VM_FAULT_MAJOR;
}

/**
 * __anon_vma_prepare(): give the VMA an anon_vma, under the mmap lock (read is enough): reuse a
 * compatible neighbour's (find_mergeable_anon_vma reads the adjacent VMAs, which only the mmap
 * lock keeps still), else a new one. Set once, under the mm's page_table_lock: of two faults
 * racing here, the second sees the first's and leaves it.
 */
function anon_vma_prepare(mm: number, vma: number): void {
  if (mm_globals().assertions) mmap_assert_locked(mm);
  const start = atomic_read(vma + VMA.vm_start);
  const end = atomic_read(vma + VMA.vm_end);
  const flags = atomic_read(vma + VMA.vm_flags);
  let av = 0;
  for (const n of [
    start > 0 ? vt_find(mm + MM.mm_mt, start - 1) : 0,
    vt_find(mm + MM.mm_mt, end),
  ]) {
    if (
      n !== 0 &&
      (atomic_read(n + VMA.vm_end) === start || atomic_read(n + VMA.vm_start) === end) &&
      atomic_read(n + VMA.vm_flags) === flags
    ) {
      av = atomic_read(n + VMA.anon_vma);
      if (av !== 0) break;
    }
  }
  const ptl = atomic_read(mm + MM.pgd) + PGD.page_table_lock;
  spin_lock(ptl);
  if (atomic_read(vma + VMA.anon_vma) === 0) {
    atomic_set(vma + VMA.anon_vma, av === 0 ? vma : av);
    count(CNT.ANON_VMA_PREPARE);
  }
  spin_unlock(ptl);
}

/**
 * vmf_anon_prepare(): 0 once the VMA has an anon_vma. Under a VMA lock: with the mmap lock
 * trylocked; if that fails, the VMA lock is dropped and the fault returns RETRY, to be retried
 * under the mmap lock (a fault never sleeps on the mmap lock while holding a VMA lock).
 */
function vmf_anon_prepare(mm: number, vma: number, flags: number): number {
  if (atomic_read(vma + VMA.anon_vma) !== 0) return 0;
  const vmaLocked = (flags & FAULT_FLAG_VMA_LOCK) !== 0;
  if (vmaLocked) {
    const S = scheme();
    if (S.anonVmaFastPath === 'abort') {
      // The fast path let through a VMA it should have refused: set-once words never go back
      // to 0, so this is a missing check, not a race.
      throw new InvariantViolation(
        `${S.name}: fault under a VMA lock on vma ${vma} without an anon_vma; its era refuses it in lock_vma_under_rcu`,
      );
    }
    if (!mmap_read_trylock(mm)) {
      count(CNT.ANON_VMA_RETRY);
      S.vma_end_read(vma);
      return VM_FAULT_RETRY;
    }
  }
  anon_vma_prepare(mm, vma);
  if (vmaLocked) mmap_read_unlock(mm);
  return 0;
}

/**
 * The VMA flags a fault decides on: the live word under a lock; for a speculative fault the copy
 * taken at its snapshot (the SPF series' vmf->vma_flags), which its validation vouches for.
 */
function fault_vma_flags(vma: number, flags: number): number {
  if ((flags & FAULT_FLAG_VMA_LOCK) !== 0 && scheme().speculative) return srcu_spf_fault_flags();
  return atomic_read(vma + VMA.vm_flags);
}

function access_error(vma: number, write: boolean, flags = 0): boolean {
  const f = fault_vma_flags(vma, flags);
  return write ? (f & VM_WRITE) === 0 : (f & (VM_READ | VM_WRITE)) === 0;
}

/**
 * KERNEL.md §7.5: the PTE about to be installed lies in a VMA of this mm that covers the address
 * and allows the access. Under the VMA lock (or the mmap lock) these fields are stable, so a
 * mismatch means the lock admitted a fault it should have refused (a missing re-check).
 */
function fault_assert_covered(mm: number, vma: number, addr: number, flags: number): void {
  const vm = atomic_read(vma + VMA.vm_mm);
  const s = atomic_read(vma + VMA.vm_start);
  const e = atomic_read(vma + VMA.vm_end);
  if (vm !== mm || addr < s || addr >= e || access_error(vma, (flags & FAULT_FLAG_WRITE) !== 0)) {
    throw new InvariantViolation(
      `fault at page ${addr} of mm ${mm} lands in vma ${vma} [${s}, ${e}) of mm ${vm} flags ${atomic_read(vma + VMA.vm_flags)}: not covered or not allowed`,
    );
  }
}

/**
 * do_anonymous_page(): install a zeroed frame at addr. With FAULT_FLAG_VMA_LOCK the scheme
 * validates under the page-table lock; on failure the handler drops the VMA lock itself and
 * returns RETRY.
 */
function do_anonymous_page(mm: number, vma: number, addr: number, flags: number): number {
  const prep = vmf_anon_prepare(mm, vma, flags);
  if (prep !== 0) return prep;
  if (cost.kind === 'sleep' && cost.wait === 'retry' && (flags & FAULT_FLAG_TRIED) === 0) {
    return fault_wait_io_retry(mm, vma, flags, cost.us);
  }
  const pgd = atomic_read(mm + MM.pgd);
  const pfn = (flags & FAULT_FLAG_REMOTE) !== 0 ? alloc_frame_wait() : alloc_frame();
  if (pfn === 0) return VM_FAULT_OOM;
  zero_frame(pfn);
  spend_fault_cost(flags);
  // A speculative fault must not wire up a page-table page for a range that may be unmapped
  // by now (the SPF series left that to the locked path): no table, no speculation.
  const speculative = (flags & FAULT_FLAG_VMA_LOCK) !== 0 && scheme().speculative;
  const ptep = pte_offset_map_lock(pgd, addr, !speculative);
  if (ptep === 0) {
    free_frame(pfn);
    if (!speculative) return VM_FAULT_OOM;
    count(CNT.SPF_ABORT);
    scheme().vma_end_read(vma);
    return VM_FAULT_RETRY;
  }
  if ((flags & FAULT_FLAG_VMA_LOCK) !== 0 && !scheme().vma_fault_still_valid(vma)) {
    pte_unmap_unlock(pgd, addr);
    free_frame(pfn);
    scheme().vma_end_read(vma);
    return VM_FAULT_RETRY;
  }
  if (!speculative && mm_globals().assertions) fault_assert_covered(mm, vma, addr, flags);
  if (pte_none(ptep_get(ptep))) {
    const writable = (fault_vma_flags(vma, flags) & VM_WRITE) !== 0;
    set_pte_at(ptep, mk_pte(pfn, writable));
    atomic_fetch_add(mm + MM.nr_ptes, 1);
    count(CNT.FAULT_PAGES_INSTALLED);
  } else {
    free_frame(pfn); // another thread faulted the page in first
  }
  pte_unmap_unlock(pgd, addr);
  return 0;
}

/** handle_mm_fault(): the VMA is locked (VMA lock, SRCU snapshot or mmap read lock). */
export function handle_mm_fault(mm: number, vma: number, addr: number, flags: number): number {
  if (mm_globals().assertions) {
    const S = scheme();
    // A speculative fault (srcu_spf) holds no lock: its fields may change under it, and its
    // validation under the page-table lock is what catches that.
    if ((flags & FAULT_FLAG_VMA_LOCK) === 0 || S.perVmaReadLock) {
      vma_check_csum(vma);
      // KERNEL.md §7.5: the VMA a fault holds contains the address.
      const start = atomic_read(vma + VMA.vm_start);
      const end = atomic_read(vma + VMA.vm_end);
      if (addr < start || addr >= end) {
        throw new InvariantViolation(
          `handle_mm_fault: address ${addr} is outside the VMA it holds, vma ${vma} [${start}, ${end})`,
        );
      }
    }
    if ((flags & FAULT_FLAG_VMA_LOCK) !== 0) S.vma_assert_locked(vma);
  }
  sched_point(SP.FAULT_LOCKED);
  return do_anonymous_page(mm, vma, addr, flags);
}

/**
 * A user-space access to page `addr` faulted. Returns 0, or a VM_FAULT_* code (SIGSEGV for an
 * address outside every VMA or an access the VMA does not allow).
 */
export function handle_user_fault(mm: number, addr: number, write: boolean): number {
  const S = scheme();
  let flags = write ? FAULT_FLAG_WRITE : 0;
  count(CNT.FAULTS);
  trace(EV.FAULT_BEGIN, addr, flags);

  // Counted as arch/x86/mm/fault.c counts: SUCCESS for a fault the VMA lock finished (an
  // access error included), RETRY for one that had to take the mmap lock after all.
  const vma = S.lock_vma_under_rcu(mm, addr);
  if (vma !== 0) {
    if (!access_error(vma, write, FAULT_FLAG_VMA_LOCK)) {
      const ret = handle_mm_fault(mm, vma, addr, flags | FAULT_FLAG_VMA_LOCK);
      if ((ret & (VM_FAULT_RETRY | VM_FAULT_COMPLETED)) === 0) S.vma_end_read(vma);
      if ((ret & VM_FAULT_RETRY) === 0) {
        count(CNT.VMA_LOCK_SUCCESS);
        trace(EV.FAULT_END, addr, ret);
        return ret;
      }
      count(CNT.VMA_LOCK_RETRY);
      // It waited for its I/O with the VMA lock dropped: the retry need not wait again.
      if ((ret & VM_FAULT_MAJOR) !== 0) flags |= FAULT_FLAG_TRIED;
    } else if (!S.speculative) {
      S.vma_end_read(vma);
      count(CNT.VMA_LOCK_SUCCESS);
      count(CNT.FAULT_SEGV);
      return VM_FAULT_SIGSEGV;
    } else {
      // Speculative flags are unvalidated: let the locked path decide (the SPF series aborts).
      S.vma_end_read(vma);
      count(CNT.SPF_ABORT);
      count(CNT.VMA_LOCK_RETRY);
    }
  }

  // The classic path: lock_mm_and_find_vma() (v6.5+), or the trylock-then-mmap_read_lock that
  // x86 did before it.
  count(CNT.MMAP_LOCK_FALLBACK);
  for (;;) {
    if (!mmap_read_trylock(mm)) {
      if (!S.faultFallbackKillable) mmap_read_lock(mm);
      else if (mmap_read_lock_killable(mm) === EINTR) return VM_FAULT_RETRY; // killed: exiting
    }
    const v = vt_find(mm + MM.mm_mt, addr);
    if (v === 0 || atomic_read(v + VMA.vm_start) > addr || access_error(v, write)) {
      mmap_read_unlock(mm);
      count(CNT.FAULT_SEGV);
      return VM_FAULT_SIGSEGV;
    }
    const ret = handle_mm_fault(mm, v, addr, flags);
    if ((ret & VM_FAULT_RETRY) !== 0) {
      // The handler dropped the mmap lock to wait for I/O: look the VMA up again and finish.
      flags |= FAULT_FLAG_TRIED;
      continue;
    }
    mmap_read_unlock(mm);
    trace(EV.FAULT_END, addr, ret);
    return ret;
  }
}

/**
 * access_remote_vm(): another process touches page `addr` of `mm` (a /proc/pid/cmdline or
 * /proc/pid/mem read, ptrace): under the mmap read lock, and faulting the page in if needed with
 * an allocation that waits for memory (FAULT_FLAG_REMOTE). The lock is taken killable, as the current
 * kernel's __access_remote_vm does (mm/memory.c: a killed caller reads 0 bytes); in 2016 it
 * was a plain down_read, but the 2016 deadlock does not hang on that: its reader already holds
 * the lock when it waits for memory. Returns 0, SIGSEGV for an address no VMA covers, VM_FAULT_OOM when
 * the caller itself was chosen by the OOM killer, or VM_FAULT_RETRY when it was killed while it
 * waited for the lock (the kernel returns 0 bytes read).
 */
export function access_remote_vm(mm: number, addr: number, write: boolean): number {
  let flags = FAULT_FLAG_REMOTE | (write ? FAULT_FLAG_WRITE : 0);
  for (;;) {
    if (mmap_read_lock_killable(mm) === EINTR) return VM_FAULT_RETRY;
    const v = vt_find(mm + MM.mm_mt, addr);
    if (v === 0 || atomic_read(v + VMA.vm_start) > addr || access_error(v, write)) {
      mmap_read_unlock(mm);
      return VM_FAULT_SIGSEGV;
    }
    const ret = handle_mm_fault(mm, v, addr, flags);
    if ((ret & VM_FAULT_RETRY) !== 0) {
      flags |= FAULT_FLAG_TRIED; // the lock was dropped for the I/O wait
      continue;
    }
    mmap_read_unlock(mm);
    return ret;
  }
}
