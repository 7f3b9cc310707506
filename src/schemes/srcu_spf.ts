// srcu_spf: speculative page faults (the 2014–2021 proposals) with SRCU-delayed VMA freeing, as
// Peter Zijlstra suggested in the 2020 "Splitting the mmap_sem" thread. Never merged.
//
// A fault takes no lock at all on its VMA: inside an SRCU read section it finds the VMA (the
// index walk itself is under RCU), snapshots the VMA's seqcount (must be even), does the fault's
// work, and validates the snapshot under the page-table lock just before installing the PTE. A
// writer makes the seqcount odd (write_seqcount_begin) before it changes or detaches a VMA and
// even again when the mmap write lock is dropped; munmap zaps PTEs only after that, taking the
// same page-table locks. So a fault either validates before the writer's change (and its PTE is
// zapped after) or sees the change and falls back to the mmap_lock path.
//
// Memory ordering: the snapshot is raw_seqcount_try_begin (ACQUIRE); the validation is
// read_seqcount_retry under the ptl (smp_rmb + compare), pairing with write_seqcount_begin's
// store + smp_wmb in the writer. The ptl orders the validation against the zap.
// VMAs are freed after an SRCU grace period (call_srcu, or synchronize_srcu: the
// MMG_FLAG_SYNC_SRCU switch), and so are page-table pages, so a speculative walker never touches
// freed memory.

import { InvariantViolation } from '../errors.js';
import { mm_globals } from '../mm/globals.js';
import { vt_lookup } from '../mm/vma_tree.js';
import { atomic_read, sched_point } from '../sched/atomics.js';
import { BUG, bug_on } from '../sched/bugs.js';
import { CNT } from '../sched/counters.js';
import { EV } from '../sched/events.js';
import { sched_label } from '../sched/labels.js';
import { count, trace } from '../sched/task.js';
import { MM, VMA } from '../shm/layout/index.js';
import { kmem_cache_free, kmem_cache_obj_allocated } from '../shm/slab.js';
import { rcu_barrier, rcu_process_callbacks, rcu_read_lock, rcu_read_unlock } from '../sync/rcu.js';
import {
  raw_seqcount_try_begin,
  read_seqcount_retry,
  write_seqcount_begin,
  write_seqcount_end,
} from '../sync/seqcount.js';
import {
  call_srcu,
  srcu_barrier,
  srcu_process_callbacks,
  srcu_read_lock,
  srcu_read_unlock,
  synchronize_srcu,
} from '../sync/srcu.js';
import { mmap_assert_write_locked } from './mmap.js';
import type { Scheme } from './scheme.js';

/** A race script can stop a speculative fault right after its snapshot. */
const SP_SNAPSHOT = sched_label('srcu_spf:snapshot');

// One speculative fault at a time per thread: its SRCU index and snapshot live here.
let spfIdx = -1;
let spfSeq = 0;
let spfVma = 0;
/** VMAs whose seqcount this thread made odd in the current mmap write cycle. */
const seqBegun: number[] = [];

/** Forget this thread's speculation and write-cycle state (a new world, or after a throw). */
export function srcu_spf_reset(): void {
  spfIdx = -1;
  spfSeq = 0;
  spfVma = 0;
  seqBegun.length = 0;
}

function ssp(): number {
  return mm_globals().srcu;
}

export const srcu_spf: Scheme = {
  name: 'srcu_spf',
  summary:
    'speculative faults: SRCU read section, seqcount snapshot, validate under the ptl (never merged)',
  kernel: 'the speculative page fault series, 2014–2021 (never merged)',
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
    let seq = -1;
    if (vma !== 0) seq = raw_seqcount_try_begin(vma + VMA.vm_seq);
    rcu_read_unlock();
    if (
      vma === 0 ||
      seq === -1 ||
      atomic_read(vma + VMA.vm_mm) !== mm ||
      addr < atomic_read(vma + VMA.vm_start) ||
      addr >= atomic_read(vma + VMA.vm_end)
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
    // Under the page-table lock: nothing about the VMA changed since the snapshot.
    // BUG.SPF_NO_VALIDATION trusts the snapshot instead: an munmap that ran since is missed.
    if (!bug_on(BUG.SPF_NO_VALIDATION) && read_seqcount_retry(vma + VMA.vm_seq, spfSeq)) {
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

  vma_start_write(vma: number): void {
    // Once per write cycle: odd until vma_end_write_all(), so speculative faults fail.
    if ((atomic_read(vma + VMA.vm_seq) & 1) !== 0) return;
    write_seqcount_begin(vma + VMA.vm_seq);
    seqBegun.push(vma);
  },
  vma_start_write_killable(vma: number): number {
    srcu_spf.vma_start_write(vma);
    return 0;
  },
  vma_mark_attached(vma: number): void {
    // A VMA re-attached after a failed munmap is still mid-change: end it with the others.
    if ((atomic_read(vma + VMA.vm_seq) & 1) !== 0 && !seqBegun.includes(vma)) seqBegun.push(vma);
  },
  vma_mark_detached(vma: number): void {
    // A detached VMA keeps its odd sequence: no speculative fault validates against it again.
    const i = seqBegun.indexOf(vma);
    if (i < 0)
      throw new InvariantViolation(`srcu_spf: detaching vma ${vma} that is not write-locked`);
    seqBegun.splice(i, 1);
  },
  vma_end_write_all(mm: number): void {
    for (const vma of seqBegun) write_seqcount_end(vma + VMA.vm_seq);
    seqBegun.length = 0;
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
      for (const vma of vmas) call_srcu(ssp(), () => kmem_cache_free(cache, vma));
    }
  },
  pgtable_free_deferred() {
    const s = ssp();
    return (free: () => void) => call_srcu(s, free);
  },
  process_deferred(): void {
    rcu_process_callbacks();
    srcu_process_callbacks(ssp());
  },
  barrier(): void {
    rcu_barrier();
    srcu_barrier(ssp());
  },
  vma_assert_write_locked(vma: number): void {
    mmap_assert_write_locked(atomic_read(vma + VMA.vm_mm));
    if ((atomic_read(vma + VMA.vm_seq) & 1) === 0) {
      throw new InvariantViolation(`srcu_spf: vma ${vma} changed without write_seqcount_begin`);
    }
  },
  vma_assert_locked(): void {},
};
