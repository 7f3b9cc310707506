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

export const STRESS_PRESETS: Readonly<Record<string, WorkloadSpec>> = { mixed: MIXED, ...PRESETS };
export const STRESS_PRESET_NAMES = Object.keys(STRESS_PRESETS);

export interface StressShape {
  /** private VMAs per faulter and shared VMAs, as [start, pages] placements */
  readonly privatePerFaulter: number;
  readonly privatePages: number;
  readonly sharedCount: number;
  readonly sharedPages: number;
}

export function shapeOf(spec: WorkloadSpec): StressShape {
  if (spec.name === 'mixed') {
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
