// The stress run's checks: what is validated at a quiescent point (every worker asleep at the
// pause barrier, or the run over), and how a violation is filed under one named check.
//
// At rest (KERNEL.md §7): every live mm's index is a valid tree whose entries match their VMAs,
// each VMA attached, unlocked, checksummed, with no shadow reader; map_count and nr_ptes agree;
// every PTE lies inside a VMA; frames allocated = mapped (§7.9) and the VMA slab holds exactly
// the indexed VMAs (check_world_quiescent); the mmap_lock of each mm is free and its wait list
// agrees with its count bits (§7.7); no writer waits on vma_writer_wait; mm_count is 1 (no
// leaked mmgrab); the mm_struct slab holds exactly the live mms; each slab's free structures
// are consistent; no refcount warning was raised anywhere.

import { InvariantViolation } from '../../errors.js';
import { mm_globals } from '../../mm/globals.js';
import { TASK_SIZE_PAGES } from '../../mm/pgtable.js';
import { vt_for_each } from '../../mm/vma_tree.js';
import { atomic_read } from '../../sched/atomics.js';
import { scheme } from '../../schemes/active.js';
import { MM, MM_GLOBALS, RWSEM, STRESS, STRESS_MM_SLOTS, VMA } from '../../shm/layout/index.js';
import { kmem_cache_stats } from '../../shm/slab.js';
import { kmem_cache_verify } from '../../shm/slab_check.js';
import { refcount_warnings_total } from '../../sync/refcount.js';
import { rwsem_check_invariants } from '../../sync/rwsem.js';
import { check_world_quiescent } from '../checks.js';

/** The named checks: one JUnit testcase each per scheme; every counter must stay zero. */
export const CHECKS = {
  exclusion: 'no reader inside a write-locked VMA (§7.1)',
  'fault-coverage': 'every fault lands in a VMA of its mm that covers it and allows it (§7.5)',
  'torn-read': 'no torn VMA read: checksums hold (§7.9)',
  'refcount-range': 'reference counts stay in their legal ranges, no refcount warning (§7.2)',
  'seq-parity': 'mm_lock_seq odd exactly while the mmap write lock is held (§7.4)',
  'write-lock': 'VMA fields, attach and detach change only under the VMA write lock (§7.4)',
  'use-after-free': 'no use of a freed or poisoned object; a woken mm is alive (§7.3, §7.6)',
  'maps-gap': 'a /proc/pid/maps walk shows no false gap (§6.7)',
  'quiescent-index': 'at rest: index ⇔ VMAs, map_count (§7.4)',
  'quiescent-refcount': 'at rest: refcounts at rest, no leaked lock or reference',
  'quiescent-ptes': 'at rest: every PTE inside a VMA, nr_ptes exact (§7.9)',
  'quiescent-frames': 'at rest: frames allocated = mapped; slabs hold exactly the live objects',
  'quiescent-rwsem': 'at rest: rwsem bits ⇔ wait queues (§7.7)',
  'lost-wakeup': 'no wait slice timed out with its condition already true (§7.6)',
  'rwsem-handoff':
    'no rwsem taken past its first waiter once the handoff is owed to it (a timed-out writer refused): no writer starvation (§7.7)',
  hang: 'no task without progress for the watchdog bound',
  'lock-state': 'no lock used against its contract',
  other: 'no unexpected error from an operation',
} as const;

export type CheckName = keyof typeof CHECKS;
export const CHECK_NAMES = Object.keys(CHECKS) as CheckName[];

const RULES: ReadonlyArray<[RegExp, CheckName]> = [
  [/false gap/, 'maps-gap'],
  [/read lock succeeded while a writer|write-locked with \d+ readers inside/, 'exclusion'],
  [/not covered or not allowed|outside the VMA/, 'fault-coverage'],
  [/mm_lock_seq/, 'seq-parity'],
  [/not write-locked|without the write lock/, 'write-lock'],
  [/torn VMA read/, 'torn-read'],
  [/legal range|refcount warning|saturat|underflow|overflow/i, 'refcount-range'],
  [/poison|not alive|use-after-free|double (free|hand)|freed/i, 'use-after-free'],
  [/index says|map_count|names mm|in the index but|vma_tree|tree node/, 'quiescent-index'],
  [/at rest has|leaked|mm_count|still referenced|not detached|rcuwait/, 'quiescent-refcount'],
  [/PTE|nr_ptes/, 'quiescent-ptes'],
  [/frames:|slab|kmem_cache/, 'quiescent-frames'],
  [/rwsem at|WAITERS|HANDOFF/, 'quiescent-rwsem'],
];

/** File a failure under one check: by the error's kind, then by what its message says. */
export function classify(kind: string, message: string): CheckName {
  if (kind === 'Watchdog' || kind === 'StartTimeout' || kind === 'PauseTimeout') return 'hang';
  if (kind === 'LostWakeup') return 'lost-wakeup';
  if (kind === 'HandoffBypass') return 'rwsem-handoff';
  for (const [re, name] of RULES) if (re.test(message)) return name;
  if (kind === 'LockStateError') return 'lock-state';
  return 'other';
}

/** The live mms of the run: the stress block's slots. */
export function live_mms(stress: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < STRESS_MM_SLOTS; i++) {
    const mm = atomic_read(stress + STRESS.mms + i);
    if (mm !== 0) out.push(mm);
  }
  return out;
}

function fail(what: string): never {
  throw new InvariantViolation(what);
}

/**
 * Validate the world at rest. Throws InvariantViolation naming the first broken invariant.
 * Call only while no task runs an operation (the pause barrier, or after the run).
 */
export function check_quiescent(stress: number): void {
  const S = scheme();
  const g = mm_globals();
  const mms = live_mms(stress);
  check_world_quiescent(mms);
  for (const mm of mms) {
    const sem = mm + MM.mmap_lock;
    rwsem_check_invariants(sem);
    const c = atomic_read(sem + RWSEM.count);
    if (c !== 0) fail(`mm ${mm}: mmap_lock at rest has count 0x${(c >>> 0).toString(16)} (leaked)`);
    const w = atomic_read(mm + MM.vma_writer_wait);
    if (w !== 0) fail(`mm ${mm}: vma_writer_wait at rest holds task ${w} (leaked rcuwait waiter)`);
    // The OOM killer pins its victim with mmgrab() until the reaper has reaped it.
    const pinned = atomic_read(g.ptr + MM_GLOBALS.oom_victim) === mm ? 1 : 0;
    const n = atomic_read(mm + MM.mm_count);
    if (n !== 1 + pinned) {
      fail(`mm ${mm}: mm_count at rest is ${n}; expected ${1 + pinned} (leaked mmgrab)`);
    }
    if (S.name === 'vma_rwsem') {
      vt_for_each(mm + MM.mm_mt, 0, TASK_SIZE_PAGES, (_s, _e, vma) => {
        rwsem_check_invariants(vma + VMA.vm_lock);
        const vc = atomic_read(vma + VMA.vm_lock + RWSEM.count);
        if (vc !== 0)
          fail(`vma ${vma}: vm_lock at rest has count 0x${(vc >>> 0).toString(16)} (leaked)`);
      });
    }
  }
  kmem_cache_verify(g.vmaCache);
  kmem_cache_verify(g.mmCache);
  const m = kmem_cache_stats(g.mmCache).allocated;
  if (m !== mms.length) fail(`mm_struct slab: ${m} allocated, ${mms.length} live mms (leaked)`);
  const warns = refcount_warnings_total();
  if (warns !== 0) fail(`${warns} refcount warning(s) raised (saturation, underflow or overflow)`);
}
