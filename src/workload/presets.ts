// The named workloads. Each is a plain object of the same shape a --workload file has, checked
// by parseWorkload() like any file (test/unit/spec.test.ts does that for every preset).

import type { WorkloadSpec } from './spec.js';

export const PRESETS = {
  pft: {
    name: 'pft',
    description: 'private VMAs, page faults only (mmtests pft-threads)',
    vmas: { layout: 'private', count: 1, pages: 256 },
    access: 'sequential',
    writeFraction: 1,
    faultCost: { kind: 'zero' },
    writers: [],
    srcuFree: ['call_srcu'],
  },
  'pft-munmap': {
    name: 'pft-munmap',
    description:
      'pft plus one writer mapping and unmapping unrelated VMAs (will-it-scale mmap1 beside page_fault1)',
    vmas: { layout: 'private', count: 1, pages: 256 },
    access: 'sequential',
    writeFraction: 1,
    faultCost: { kind: 'zero' },
    writers: [{ count: 1, ops: { mmapMunmap: 1 }, thinkUs: 0, pages: 16 }],
    srcuFree: ['call_srcu'],
  },
  'shared-mprotect': {
    name: 'shared-mprotect',
    description: 'faulters share VMAs that a writer keeps mprotect()ing',
    vmas: { layout: 'shared', count: 4, pages: 256 },
    access: 'random',
    writeFraction: 0,
    faultCost: { kind: 'zero' },
    writers: [{ count: 1, ops: { mprotect: 1 }, thinkUs: 20, pages: 16 }],
    srcuFree: ['call_srcu'],
  },
  'io-fault': {
    name: 'io-fault',
    description:
      'faults that wait 75 us for I/O (dropping their lock and retrying, or holding it), plus an mmap/munmap writer: the convoy',
    vmas: { layout: 'private', count: 1, pages: 64 },
    access: 'sequential',
    writeFraction: 1,
    faultCost: { kind: 'sleep', us: 75 },
    faultWait: ['retry', 'hold'],
    writers: [{ count: 1, ops: { mmapMunmap: 1 }, thinkUs: 200, pages: 16 }],
    srcuFree: ['call_srcu'],
  },
  'maps-reader': {
    name: 'maps-reader',
    description: 'a monitor reading /proc/pid/maps while faults and mmap/munmap run',
    vmas: { layout: 'private', count: 8, pages: 32 },
    access: 'sequential',
    writeFraction: 1,
    faultCost: { kind: 'zero' },
    writers: [
      { count: 1, ops: { maps: 1 }, thinkUs: 0, pages: 16 },
      { count: 1, ops: { mmapMunmap: 1 }, thinkUs: 0, pages: 16 },
    ],
    srcuFree: ['call_srcu'],
  },
  'srcu-munmap': {
    name: 'srcu-munmap',
    description: 'srcu_spf munmap latency: call_srcu against synchronize_srcu',
    vmas: { layout: 'private', count: 1, pages: 128 },
    access: 'sequential',
    writeFraction: 1,
    faultCost: { kind: 'zero' },
    writers: [{ count: 1, ops: { mmapMunmap: 1 }, thinkUs: 0, pages: 16 }],
    srcuFree: ['call_srcu', 'synchronize_srcu'],
    schemes: ['srcu_spf'],
  },
  churn: {
    name: 'churn',
    description:
      'faulters that each mmap a fresh VMA, fault its pages and munmap it: every first fault prepares an anon_vma (will-it-scale page_fault1 with fresh mappings)',
    vmas: { layout: 'churn', count: 1, pages: 16 },
    access: 'sequential',
    writeFraction: 1,
    faultCost: { kind: 'zero' },
    writers: [],
    srcuFree: ['call_srcu'],
  },
  'large-mm': {
    name: 'large-mm',
    description:
      'one mm of 10,000 small VMAs: faults spread uniformly over them, a writer doing mmap/munmap/mprotect among them',
    vmas: { layout: 'spread', count: 10_000, pages: 2 },
    access: 'uniform',
    writeFraction: 0,
    faultCost: { kind: 'zero' },
    writers: [{ count: 1, ops: { mmapMunmap: 1, mprotect: 1 }, thinkUs: 0, pages: 4 }],
    srcuFree: ['call_srcu'],
  },
  'large-mm-zipf': {
    name: 'large-mm-zipf',
    description: 'large-mm with Zipf-skewed faults: a few hot VMAs take most of them',
    vmas: { layout: 'spread', count: 10_000, pages: 2 },
    access: 'zipf',
    writeFraction: 0,
    faultCost: { kind: 'zero' },
    writers: [{ count: 1, ops: { mmapMunmap: 1, mprotect: 1 }, thinkUs: 0, pages: 4 }],
    srcuFree: ['call_srcu'],
  },
  'large-mm-100k': {
    name: 'large-mm-100k',
    description: 'large-mm with 100,000 one-page VMAs (a browser or a JVM with many mappings)',
    vmas: { layout: 'spread', count: 100_000, pages: 1 },
    access: 'uniform',
    writeFraction: 0,
    faultCost: { kind: 'zero' },
    writers: [{ count: 1, ops: { mmapMunmap: 1, mprotect: 1 }, thinkUs: 0, pages: 4 }],
    srcuFree: ['call_srcu'],
  },
} as const satisfies Record<string, WorkloadSpec>;

export type PresetName = keyof typeof PRESETS;
export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];

/** What `faultline` alone runs (the large mms only when asked for: their set-up is long). */
export const DEFAULT_PRESETS: readonly PresetName[] = [
  'pft',
  'pft-munmap',
  'shared-mprotect',
  'io-fault',
  'maps-reader',
  'srcu-munmap',
];

/**
 * How the default run (no --duration, --ops or --repeat) measures each preset: interleaved
 * repeats (the table prints the median and the [min-max] of each ratio) and a run length,
 * chosen from the spread measured over repeats on the 2-core reference machine. Throughput
 * ratios of pft-like presets were within about ±15% run to run, so three short runs pin them;
 * io-fault's p99 ratio rests on the few dozen slowest of a few thousand 75 µs faults and
 * swung 4.7x-12x between single 400 ms runs, so it gets five longer ones. About a minute of
 * measuring in all, on 2 cores at threads 1,2.
 */
export const DEFAULT_RUN: Readonly<
  Record<string, { readonly durationMs: number; readonly repeat: number }>
> = {
  pft: { durationMs: 200, repeat: 3 },
  'pft-munmap': { durationMs: 250, repeat: 3 },
  'shared-mprotect': { durationMs: 250, repeat: 3 },
  'io-fault': { durationMs: 300, repeat: 5 },
  'maps-reader': { durationMs: 250, repeat: 3 },
  'srcu-munmap': { durationMs: 250, repeat: 3 },
};

/** The default run's warm-up per run: the pool's threads stay warm from run to run. */
export const DEFAULT_RUN_WARMUP_MS = 150;
