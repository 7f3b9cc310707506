// A synthetic bench report for the report tests: two schemes at three thread counts, one preset
// with a writer. Figures are made up; shapes are what runBench() returns.

import type { LatencySummary } from '../../src/harness/histogram.js';
import type { BenchReport, BenchResult } from '../../src/harness/results.js';

const lat = (p50: number): LatencySummary => ({
  p50,
  p99: p50 * 4,
  p999: p50 * 20,
  max: p50 * 100,
});

export function fixtureResult(
  over: Partial<BenchResult> & Pick<BenchResult, 'scheme' | 'threads'>,
): BenchResult {
  const faults = over.faultsPerSec ?? 100_000 * over.threads;
  return {
    preset: 'pft',
    srcuFree: over.scheme === 'srcu_spf' ? 'call_srcu' : null,
    instrumentation: 'off',
    writers: 0,
    durationMs: 400,
    faultsPerSec: faults,
    writerOpsPerSec: 0,
    mapsReadsPerSec: 0,
    faultLatencyNs: lat(1000),
    writerLatencyNs: lat(0),
    mapsLatencyNs: lat(0),
    ops: { 'faulter.fault': { count: faults * 0.4, perSec: faults, latencyNs: lat(1000) } },
    counters: { VMA_LOCK_SUCCESS: over.scheme === 'mmap_lock' ? 0 : 1234, MMAP_LOCK_FALLBACK: 7 },
    placement: [{ worker: 0, role: 'faulter', tid: 100, cpu: -1, lastCpu: 1 }],
    ...over,
  };
}

export function fixtureReport(): BenchReport {
  const results: BenchResult[] = [];
  for (const threads of [1, 2, 4]) {
    results.push(
      fixtureResult({ scheme: 'mmap_lock', threads, faultsPerSec: 100_000 * Math.sqrt(threads) }),
    );
    results.push(
      fixtureResult({ scheme: 'vma_refcnt', threads, faultsPerSec: 110_000 * threads * 0.95 }),
    );
  }
  for (const scheme of ['mmap_lock', 'vma_refcnt']) {
    results.push(
      fixtureResult({
        preset: 'io-fault',
        scheme,
        threads: 4,
        writers: 1,
        writerOpsPerSec: 2000,
        faultLatencyNs: lat(scheme === 'mmap_lock' ? 900_000 : 150_000),
        writerLatencyNs: lat(20_000),
        ops: {
          'faulter.fault': { count: 1000, perSec: 2500, latencyNs: lat(150_000) },
          'writer.munmap': { count: 400, perSec: 1000, latencyNs: lat(20_000) },
        },
      }),
    );
  }
  return {
    machine: { cores: 2, cpuModel: 'Test CPU <&>', node: 'v20.0.0', os: 'linux 6.0' },
    config: {
      presets: ['pft', 'io-fault'],
      schemes: ['mmap_lock', 'vma_refcnt'],
      threads: [1, 2, 4],
      durationMs: 400,
      opsPerFaulter: 0,
      warmupMs: 300,
      pin: false,
      instrumentation: ['off'],
      timing: 'performance.now()',
    },
    results,
    warnings: [],
  };
}
