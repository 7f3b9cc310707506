// What a stress run puts to work: a workload (a bench preset, a --workload file, or the stress
// run's own `mixed`), plus the roles only stress has — exiters (whole-mm lifetimes on the same
// buffer), CPU hogs and the killer — and the world it needs.

import { MMAP_MIN_PAGE, PTRS_PER_PTE } from '../../mm/pgtable.js';
import { PRESETS } from '../../workload/presets.js';
import type { WorkloadSpec } from '../../workload/spec.js';

/** The stress run's default: every kind of operation at once on private and shared VMAs. */
export const MIXED: WorkloadSpec = {
  name: 'mixed',
  description:
    'faulters on private and shared VMAs; a writer doing mmap/munmap churn, mprotect split/merge, madvise and maps reading; a maps reader; whole-mm exits',
  vmas: { layout: 'private', count: 1, pages: 48 },
  access: 'random',
  writeFraction: 0.7,
  faultCost: { kind: 'zero' },
  writers: [
    { count: 1, ops: { mmapMunmap: 3, mprotect: 3, madvise: 1, maps: 1 }, thinkUs: 0, pages: 12 },
    { count: 1, ops: { maps: 3, mprotect: 1 }, thinkUs: 50, pages: 8 },
  ],
  srcuFree: ['call_srcu'],
};

/** Shared VMAs every faulter also faults in (mixed only; a preset keeps its own layout). */
export const MIXED_SHARED = { count: 2, pages: 48 } as const;

/**
 * Readers that hold the mmap lock long against a writer: faulters whose faults sleep 2 ms holding
 * mmap_read_lock (I/O, as io-fault's but longer), back to back, and a writer doing mmap/munmap
 * with mmap_write_lock_killable. The writer queues first behind the readers inside, the next
 * faulter queues behind it: the queue shape in which a killed first waiter must wake the readers
 * behind it (rwsem-killed-no-wake).
 */
export const READER_STREAM: WorkloadSpec = {
  name: 'reader-stream',
  description:
    'faulters holding mmap_read_lock 2 ms per fault back to back, and two mmap/munmap writers queued between them',
  vmas: { layout: 'private', count: 1, pages: 64 },
  access: 'sequential',
  writeFraction: 1,
  faultCost: { kind: 'sleep', us: 2000 },
  writers: [{ count: 2, ops: { mmapMunmap: 1 }, thinkUs: 0, pages: 8 }],
  srcuFree: ['call_srcu'],
};

/**
 * Memory runs out: a small frame pool that the victim's faulters run dry, a remote reader
 * (access_remote_vm) that holds the victim's mmap_lock for read while its allocation waits for
 * memory, an OOM killer (called from that allocation), the OOM reaper, and the victim's writer
 * doing munmap/mprotect with mmap_write_lock_killable (src/ops/oom.ts; STRESS_EXTRAS.oom).
 */
export const OOM: WorkloadSpec = {
  name: 'oom',
  description:
    'a frame pool the faulters run dry; a remote reader waiting for memory under mmap_read_lock; the OOM killer, the OOM reaper, and a writer of the victim',
  vmas: { layout: 'private', count: 1, pages: 24 },
  access: 'random',
  writeFraction: 1,
  faultCost: { kind: 'zero' },
  writers: [{ count: 1, ops: { mmapMunmap: 1, mprotect: 1 }, thinkUs: 0, pages: 8 }],
  srcuFree: ['call_srcu'],
  // The 2016 model: under per-VMA locks the victim's faulters do not queue on the mmap lock,
  // and once they restart they take the reaped frames before the remote reader's next poll,
  // which can then wait past the watchdog (measured on vma_rwsem): a livelock of this model,
  // not of those schemes.
  schemes: ['mmap_lock'],
};

/**
 * The VMA writer's wait for readers (vma_start_write: rcuwait_wait_event on mm->vma_writer_wait)
 * as often as this model allows: one tiny VMA that every faulter faults in, each fault doing no
 * extra work inside its per-VMA read lock (more faults, and so more puts, per second: with 1 µs
 * of CPU there the quiet machine caught the bug in 4 of 10 runs of 30 s, with none 10 of 10),
 * and a writer that mprotect-splits the VMA and merges it back without pause
 * (each step write-locks it, each merge detaches a piece). rcuwait-plain-ordering's
 * store-buffer window is a few tens of nanoseconds after the waiter's publication: the last
 * reader's put must land there, so what counts is how many waits happen per second with the
 * reader running on the other core.
 */
export const DETACH_CHURN: WorkloadSpec = {
  name: 'detach-churn',
  description:
    'one 4-page VMA every faulter faults in (no work under the VMA lock beyond the fault), a writer mprotect-splitting and merging it back to back: the VMA writer waits for readers as often as possible',
  vmas: { layout: 'shared', count: 1, pages: 4 },
  access: 'random',
  writeFraction: 1,
  faultCost: { kind: 'zero' },
  writers: [{ count: 1, ops: { mprotect: 1 }, thinkUs: 0, pages: 2 }],
  srcuFree: ['call_srcu'],
  // Only vma_refcnt's VMA writer waits on an rcuwait.
  schemes: ['vma_refcnt'],
};

/** What a stress preset needs beyond its workload: roles and a world only stress has. */
export interface StressExtras {
  /** the frame pool, in pages (default: room for every VMA several times over) */
  readonly frames?: number;
  /** remote readers (access_remote_vm of the faulters' pages), and with them the OOM reaper */
  readonly remoteReaders?: number;
  /** exiters (default 1) */
  readonly exiters?: number;
}

export const STRESS_EXTRAS: Readonly<Record<string, StressExtras>> = {
  // Two faulters of 24 pages and the writer's mappings against 40 frames: the pool runs dry
  // every round, and the remote reader's allocation calls the OOM killer. No exiters: a task of
  // another mm writing the victim's mm would not be killed, and would block the reaper as the
  // 2016 writer does (that is the bug, not the fixed code).
  oom: { frames: 40, remoteReaders: 1, exiters: 0 },
  // No exiters: the cores go to the faulters and the writers.
  'detach-churn': { exiters: 0 },
};

export const STRESS_PRESETS: Readonly<Record<string, WorkloadSpec>> = {
  mixed: MIXED,
  'reader-stream': READER_STREAM,
  oom: OOM,
  'detach-churn': DETACH_CHURN,
  ...PRESETS,
};
export const STRESS_PRESET_NAMES = Object.keys(STRESS_PRESETS);

export interface StressShape {
  /** private VMAs per faulter and shared VMAs, as [start, pages] placements */
  readonly privatePerFaulter: number;
  readonly privatePages: number;
  readonly sharedCount: number;
  readonly sharedPages: number;
}

export function shapeOf(spec: WorkloadSpec): StressShape {
  if (spec.name === MIXED.name) {
    return {
      privatePerFaulter: spec.vmas.count,
      privatePages: spec.vmas.pages,
      sharedCount: MIXED_SHARED.count,
      sharedPages: MIXED_SHARED.pages,
    };
  }
  return spec.vmas.layout === 'private'
    ? {
        privatePerFaulter: spec.vmas.count,
        privatePages: spec.vmas.pages,
        sharedCount: 0,
        sharedPages: 0,
      }
    : {
        privatePerFaulter: 0,
        privatePages: 0,
        sharedCount: spec.vmas.count,
        sharedPages: spec.vmas.pages,
      };
}

/**
 * Placement of the faulters' VMAs: each on its own page-table page with unmapped pages after
 * it, so that neighbours never merge and the writer's mmaps land elsewhere.
 */
export function placement(pages: number): { base: number; stride: number } {
  return {
    base: Math.ceil(MMAP_MIN_PAGE / PTRS_PER_PTE) * PTRS_PER_PTE,
    stride: Math.ceil((pages + 1) / PTRS_PER_PTE) * PTRS_PER_PTE,
  };
}
