// srcu_spf: speculative page faults as Laurent Dufour's series did them (v1–v11, 2017–2018, on
// Peter Zijlstra's 2014 RFC; SRCU-freed VMAs as suggested again in the 2020 "Splitting the
// mmap_sem" thread). Never merged.
//
// A fault takes no lock at all on its VMA: inside an SRCU read section it finds the VMA (the
// index walk itself is under RCU), snapshots the VMA's sequence count (odd: a writer is inside,
// give up), checks the VMA is not dead, copies the fields it works with (range, flags), does the
// fault's work on those copies, and re-validates under the page-table lock just before
// installing the PTE: not dead, and the sequence unchanged (the series' vma_has_changed()).
//
// Writers bracket each modification of a VMA (its range or flags in mprotect, split, merge; the
// zap of its pages in munmap) with vm_write_begin()/vm_write_end(), under the mmap write lock,
// not one odd span for the whole write cycle: between two modifications the sequence is even and
// a speculative fault on the VMA may proceed on the fields as they now are. A VMA taken out of
// the index is marked dead (the series tested RB_EMPTY_NODE on the unlinked rb node): a fault
// that found the VMA before it was removed but snapshots only after every bracket of its munmap
// has closed sees an unchanged sequence, and only the dead check stops it. munmap marks the VMA
// dead before it zaps under the page-table locks, so a fault either validated before the zap
// (and its PTE is zapped) or sees the mark.
//
// Memory ordering: the snapshot is raw_seqcount_try_begin (ACQUIRE); the validation reads the
// dead mark and then the sequence under the ptl (smp_rmb + compare), pairing with the writer's
// RMW increments (full barriers) and the dead mark's store before the zap's ptl. VMAs are freed
// after an SRCU grace period (call_srcu, or synchronize_srcu: the MMG_FLAG_SYNC_SRCU switch), and
// so are page-table pages, so a speculative walker never touches freed memory.

import { InvariantViolation } from '../errors.js';
import { mm_globals } from '../mm/globals.js';
import {
  srcu_wq_barrier,
  srcu_wq_has_worker,
  srcu_wq_queue,
  srcu_wq_run,
} from '../mm/srcu_work.js';
import { vt_lookup } from '../mm/vma_tree.js';
import { atomic_read, atomic_set, sched_point } from '../sched/atomics.js';
import { BUG, bug_on } from '../sched/bugs.js';
import { CNT } from '../sched/counters.js';
import { EV } from '../sched/events.js';
import { sched_label } from '../sched/labels.js';
import { count, trace } from '../sched/task.js';
import { MM, SRCU_WORK_PTE_PAGE, SRCU_WORK_VMA, VMA } from '../shm/layout/index.js';
import { kmem_cache_free, kmem_cache_obj_allocated } from '../shm/slab.js';
import { rcu_barrier, rcu_process_callbacks, rcu_read_lock, rcu_read_unlock } from '../sync/rcu.js';
import {
  raw_seqcount_try_begin,
  read_seqcount_retry,
  write_seqcount_begin,
  write_seqcount_end,
} from '../sync/seqcount.js';
import { srcu_barrier, srcu_read_lock, srcu_read_unlock, synchronize_srcu } from '../sync/srcu.js';
import { mmap_assert_write_locked } from './mmap.js';
import type { Scheme } from './scheme.js';

/** A race script can stop a speculative fault between finding the VMA and its snapshot, */
const SP_LOOKUP = sched_label('srcu_spf:lookup');
/** and right after its snapshot. */
const SP_SNAPSHOT = sched_label('srcu_spf:snapshot');

// One speculative fault at a time per thread: its SRCU index, snapshot and copied fields.
let spfIdx = -1;
let spfSeq = 0;
let spfVma = 0;
let spfFlags = 0;

/** Forget this thread's speculation state (a new world, or after a throw). */
export function srcu_spf_reset(): void {
  spfIdx = -1;
  spfSeq = 0;
  spfVma = 0;
  spfFlags = 0;
}

/**
 * The flags the current speculative fault copied at its snapshot (the series' vmf->vma_flags):
 * what it decides on, never the live word, which a writer may be changing.
 */
export function srcu_spf_fault_flags(): number {
  return spfFlags;
}

/** The series' dead check: the VMA has been taken out of the index (RB_EMPTY_NODE). */
export function srcu_spf_vma_dead(vma: number): boolean {
  return atomic_read(vma + VMA.detached) !== 0;
}

function queuePteFree(_free: () => void, pt: number): void {
  srcu_wq_queue(SRCU_WORK_PTE_PAGE, pt);
}

function ssp(): number {
  return mm_globals().srcu;
}

export const srcu_spf: Scheme = {
  name: 'srcu_spf',
  summary:
    'speculative faults: SRCU read section, seqcount snapshot, validate under the ptl (never merged)',
  kernel:
    'the speculative page fault series (never merged): v9–v11 (2018) per-change VMA sequence and dead check; VMAs freed by SRCU with callbacks on a kworker, as before v7',
  seqOddWhileWriteLocked: true,
  faultFallbackKillable: false,
  typesafeVmas: false,
  perVmaReadLock: false,
  perVmaMaps: false,
  perVmaMadvise: false,
  speculative: true,
  anonVmaFastPath: 'abort',
  ioWaitFastPath: 'bail',

  lock_vma_under_rcu(mm: number, addr: number): number {
    const idx = srcu_read_lock(ssp());
    rcu_read_lock(); // the index's nodes are RCU-freed; the VMA itself is SRCU-freed
    const vma = vt_lookup(mm + MM.mm_mt, addr);
    rcu_read_unlock();
    let seq = -1;
    let start = 0;
    let end = 0;
    if (vma !== 0) {
      // The SRCU section keeps the VMA's memory; from here on it may be changed or removed.
      sched_point(SP_LOOKUP);
      seq = raw_seqcount_try_begin(vma + VMA.vm_seq);
      // The copies the fault works on (the series' vmf fields), read after the snapshot: a
      // change made since shows as a new sequence at the validation.
      start = atomic_read(vma + VMA.vm_start);
      end = atomic_read(vma + VMA.vm_end);
      spfFlags = atomic_read(vma + VMA.vm_flags);
    }
    if (
      vma === 0 ||
      seq === -1 ||
      srcu_spf_vma_dead(vma) ||
      atomic_read(vma + VMA.vm_mm) !== mm ||
      addr < start ||
      addr >= end
    ) {
      srcu_read_unlock(ssp(), idx);
      count(CNT.VMA_LOCK_ABORT);
      return 0;
    }
    // No anon_vma yet: preparing one needs the mmap lock, so the speculation stops here.
    if (atomic_read(vma + VMA.anon_vma) === 0) {
      srcu_read_unlock(ssp(), idx);
      count(CNT.ANON_VMA_ABORT);
      count(CNT.SPF_ABORT);
      return 0;
    }
    spfIdx = idx;
    spfSeq = seq;
    spfVma = vma;
    trace(EV.VMA_START_READ, vma, seq);
    sched_point(SP_SNAPSHOT);
    return vma;
  },

  vma_end_read(vma: number): void {
    if (vma !== spfVma || spfIdx < 0) {
      throw new InvariantViolation(`srcu_spf: vma_end_read(${vma}) without a speculative fault`);
    }
    const idx = spfIdx;
    spfIdx = -1;
    spfVma = 0;
    srcu_read_unlock(ssp(), idx);
  },

  vma_fault_still_valid(vma: number): boolean {
    // KERNEL.md §7.3 for SRCU-freed VMAs: one found inside this read section cannot be freed
    // before the section ends. A free slot here means a grace period ended too early.
    const g = mm_globals();
    if (g.assertions && !kmem_cache_obj_allocated(g.vmaCache, vma)) {
      throw new InvariantViolation(
        `srcu_spf: vma ${vma} was freed while a speculative fault's SRCU read section still uses it`,
      );
    }
    // Under the page-table lock: the VMA is still in the index (dead mark first, then the
    // sequence, as vma_has_changed read them) and nothing about it changed since the snapshot.
    // BUG.SPF_NO_VALIDATION trusts the snapshot instead: an munmap that ran since is missed.
    if (
      !bug_on(BUG.SPF_NO_VALIDATION) &&
      (srcu_spf_vma_dead(vma) || read_seqcount_retry(vma + VMA.vm_seq, spfSeq))
    ) {
      count(CNT.SPF_ABORT);
      return false;
    }
    count(CNT.SPF_SUCCESS);
    return true;
  },

  vma_start_read(): number {
    return 0; // no per-VMA read lock: maps readers use the mmap lock
  },
  vma_start_read_locked(): boolean {
    return true;
  },

  vma_start_write(): void {
    // No per-VMA write lock: the mmap write lock serialises writers, and each modification is
    // bracketed on its own (vm_write_begin/end).
  },
  vma_start_write_killable(): number {
    return 0;
  },
  vm_write_begin(vma: number): void {
    write_seqcount_begin(vma + VMA.vm_seq);
  },
  vm_write_end(vma: number): void {
    write_seqcount_end(vma + VMA.vm_seq);
  },
  vma_mark_attached(vma: number): void {
    // In the index again (or for the first time): no longer dead. RELEASE; the index
    // transaction's commit publishes it to lookups afterwards.
    atomic_set(vma + VMA.detached, 0);
  },
  vma_mark_detached(vma: number): void {
    // Dead from here on: a speculative fault that found it validates against this mark.
    atomic_set(vma + VMA.detached, 1);
  },
  vma_end_write_all(mm: number): void {
    write_seqcount_end(mm + MM.mm_lock_seq);
  },
  vmas_free(vmas: readonly number[]): void {
    const cache = mm_globals().vmaCache;
    if (vmas.length === 0) return;
    if (mm_globals().syncSrcu) {
      // One grace period for the whole batch: "stupid slow", as the thread put it, and the
      // switch is there to measure how slow.
      synchronize_srcu(ssp());
      for (const vma of vmas) kmem_cache_free(cache, vma);
    } else {
      // call_srcu: the SRCU work queue, run by the kworker when one runs.
      for (const vma of vmas) srcu_wq_queue(SRCU_WORK_VMA, vma);
    }
  },
  pgtable_free_deferred() {
    return queuePteFree;
  },
  process_deferred(): void {
    rcu_process_callbacks();
    // With a kworker the frees are its work, not the caller's.
    if (!srcu_wq_has_worker()) srcu_wq_run(false);
  },
  barrier(): void {
    rcu_barrier();
    srcu_barrier(ssp());
    // While a kworker runs, what is queued is its work: it drains the queue when it stops
    // (srcu_kworker_unregister), after every entry queued while it was registered.
    if (!srcu_wq_has_worker()) srcu_wq_barrier();
  },
  vma_assert_write_locked(vma: number): void {
    // The mmap write lock is all a writer holds between its modifications; during one, the
    // sequence is odd (vma_modify asserts that).
    mmap_assert_write_locked(atomic_read(vma + VMA.vm_mm));
  },
  vma_assert_locked(): void {},
};
