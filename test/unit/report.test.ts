import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Histogram } from '../../src/harness/histogram.js';
import { machineLines } from '../../src/harness/machine.js';
import { Progress } from '../../src/harness/progress.js';
import { checkOutputPath, reportJson, writeFileAtomic } from '../../src/harness/report.js';
import { summarizeRun } from '../../src/harness/results.js';
import type { RunOutcome } from '../../src/harness/runner.js';
import { fmtNs, fmtRate, renderTable } from '../../src/harness/table.js';
import { computeTargets } from '../../src/harness/targets.js';
import { fixtureReport, fixtureResult } from '../cli/report-fixture.js';

function snap(values: number[]) {
  const h = new Histogram();
  for (const v of values) h.record(v);
  return h.snapshot();
}

describe('summarizeRun', () => {
  it('sums per-worker rates, merges histograms by role and kind, keeps counters', () => {
    const out: RunOutcome = {
      wallNs: 1e9,
      startNs: 0,
      gateAt: 0,
      pinWarning: null,
      lostWakeups: [],
      workers: [
        {
          index: 0,
          taskId: 1,
          role: 'faulter',
          ops: 3,
          elapsedNs: 1e9,
          kinds: ['fault', 'madvise'],
          histograms: [snap([100, 200]), snap([5000])],
          tid: 11,
          cpu: 0,
          lastCpu: 0,
          loadedAt: 0,
        },
        {
          index: 1,
          taskId: 2,
          role: 'faulter',
          ops: 4,
          elapsedNs: 0.5e9,
          kinds: ['fault', 'madvise'],
          histograms: [snap([30, 40, 50, 60]), snap([])],
          tid: 12,
          cpu: 1,
          lastCpu: 1,
          loadedAt: 0,
        },
        {
          index: 2,
          taskId: 3,
          role: 'writer',
          ops: 3,
          elapsedNs: 1e9,
          kinds: ['mmap', 'munmap', 'mprotect', 'maps', 'madvise'],
          histograms: [snap([1000]), snap([2000]), snap([]), snap([50]), snap([])],
          tid: 13,
          cpu: 0,
          lastCpu: 0,
          loadedAt: 0,
        },
      ],
    };
    const r = summarizeRun(
      {
        preset: 'p',
        scheme: 'vma_refcnt',
        srcuFree: null,
        instrumentation: 'off',
        threads: 2,
        writers: 1,
      },
      out,
      { FAULTS: 6 },
    );
    expect(r.faultsPerSec).toBe(2 / 1 + 4 / 0.5);
    expect(r.ops['faulter.fault']!.count).toBe(6);
    expect(r.ops['faulter.madvise']!.count).toBe(1);
    expect(r.faultLatencyNs).toEqual({ p50: 50, p99: 200, p999: 200, max: 200 });
    // Writer ops are mmap+munmap (mprotect, madvise empty); maps reads are counted apart.
    expect(r.writerOpsPerSec).toBe(2);
    expect(r.writerLatencyNs.max).toBe(2000);
    expect(r.mapsReadsPerSec).toBe(1);
    expect(r.mapsLatencyNs.p50).toBe(50);
    expect(Object.keys(r.ops)).toEqual([
      'faulter.fault',
      'faulter.madvise',
      'writer.maps',
      'writer.mmap',
      'writer.munmap',
    ]);
    expect(r.counters).toEqual({ FAULTS: 6 });
    expect(r.placement.map((p) => p.cpu)).toEqual([0, 1, 0]);
    expect(r.durationMs).toBeCloseTo(2500 / 3, 6);
  });
});

describe('text table', () => {
  it('shows the machine, each scheme with its ratio to mmap_lock, counters and targets', () => {
    const t = renderTable(fixtureReport(), (p) => `about ${p}`);
    const lines = t.split('\n');
    expect(lines[0]).toBe('machine: Test CPU <&>, node v20.0.0, linux 6.0');
    expect(lines[1]).toBe('ran on 2 cores: scaling figures need a bigger machine');
    expect(t).toMatch(/pft: about pft\n {2}4 faulters, 0 writers, 0\.40 s, instrumentation off/);
    // At 4 threads: mmap_lock 200k, vma_refcnt 418k → 2.09x.
    expect(t).toMatch(/ {2}mmap_lock +200\.00k +1\.00x/);
    expect(t).toMatch(/ {2}vma_refcnt +418\.00k +2\.09x/);
    expect(t).toMatch(/counters +VMA_LOCK_SUCCESS +VMA_LOCK_ABORT/);
    expect(t).toMatch(/ {2}vma_refcnt +1234 +0 /);
    expect(t).toMatch(/writer ops\/s/); // io-fault has a writer
    expect(t).toMatch(/targets \(shown, not asserted\):/);
    // a report from before fault waits were run both ways: its sleeping faults held the lock
    expect(t).toMatch(/io-fault \(hold\) fault p99, mmap_lock \/ vma_refcnt +4 thr +6\.00x/);
    expect(t).toMatch(
      /pft scaling efficiency of vma_refcnt \(faults\/s at 4 \/ 4 x at 1\) +4 thr +1\.00x/,
    );
  });

  it("prints a run's set-up apart from the one-off start of the sweep's threads", () => {
    const setup = (runMs: number, threadsStarted: number, threadStartMs?: number) => ({
      worldMs: runMs - 5,
      poolMs: 2000,
      totalMs: 2100,
      runMs,
      threadsStarted,
      ...(threadStartMs === undefined ? {} : { threadStartMs }),
      bufferBytes: 82 << 20,
    });
    const report = fixtureReport();
    const results = [
      fixtureResult({ scheme: 'mmap_lock', threads: 64, setup: setup(180, 65, 3233) }),
      fixtureResult({ scheme: 'vma_refcnt', threads: 64, setup: setup(120, 0) }),
    ];
    const t = renderTable({ ...report, results }, (p) => p);
    expect(t).toMatch(
      / {2}set-up \(slowest run\): 180 ms: world 175 ms, workers to the gate 5 ms; shared buffer 82 MiB\n/,
    );
    expect(t).toMatch(/ {2}threads started: 65 in 3233 ms, once per invocation/);
  });

  it('says nothing about scaling when the cores suffice', () => {
    expect(machineLines({ cores: 8, cpuModel: 'x', node: 'v20', os: 'linux' }, 4)[1]).toBe(
      'ran on 8 cores',
    );
  });

  it('formats rates and times with units', () => {
    expect(fmtRate(1_234_567)).toBe('1.23M');
    expect(fmtRate(999)).toBe('999');
    expect(fmtNs(850)).toBe('850ns');
    expect(fmtNs(12_345)).toBe('12.3us');
    expect(fmtNs(4_700_000)).toBe('4.70ms');
  });
});

describe('targets', () => {
  it('prints the instrumentation ratio when both on and off ran', () => {
    const off = fixtureResult({ scheme: 'vma_refcnt', threads: 2, faultsPerSec: 100 });
    const on = fixtureResult({
      scheme: 'vma_refcnt',
      threads: 2,
      faultsPerSec: 80,
      instrumentation: 'on',
    });
    const rep = { ...fixtureReport(), results: [off, on] };
    const t = computeTargets(rep).find((x) => x.what.includes('instrumentation'));
    expect(t?.what).toBe('pft vma_refcnt faults/s, instrumentation off / on');
    expect(t?.ratio).toBe(1.25);
  });
});

describe('report files', () => {
  it('JSON has machine, config and results with the documented fields', () => {
    const j = JSON.parse(reportJson(fixtureReport()));
    expect(Object.keys(j)).toEqual(['machine', 'config', 'results', 'warnings']);
    for (const f of [
      'preset',
      'scheme',
      'threads',
      'writers',
      'faultsPerSec',
      'writerOpsPerSec',
      'faultLatencyNs',
      'writerLatencyNs',
      'counters',
    ]) {
      expect(j.results[0]).toHaveProperty(f);
    }
  });

  it('are written whole or not at all (temporary file, then rename)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'faultline-report-'));
    const f = join(dir, 'r.json');
    writeFileSync(f, 'old');
    writeFileAtomic(f, 'new');
    expect(readFileSync(f, 'utf8')).toBe('new');
    expect(readdirSync(dir)).toEqual(['r.json']);
    expect(() => writeFileAtomic(join(dir, 'no', 'r.json'), 'x')).toThrow();
    expect(readdirSync(dir)).toEqual(['r.json']);
  });

  it('output paths are checked before the run', () => {
    expect(() => checkOutputPath('--json', '/nonexistent-faultline/r.json')).toThrow(
      '--json /nonexistent-faultline/r.json: directory /nonexistent-faultline does not exist; allowed: a file in an existing directory',
    );
    expect(() => checkOutputPath('--json', join(tmpdir(), 'ok.json'))).not.toThrow();
    expect(existsSync(join(tmpdir(), 'ok.json'))).toBe(false);
  });
});

describe('progress bar', () => {
  function sink(isTTY: boolean) {
    const chunks: string[] = [];
    return { isTTY, columns: 60, chunks, write: (s: string) => chunks.push(s) > 0 };
  }

  it('draws on a terminal and clears its line when done', () => {
    const s = sink(true);
    const p = new Progress(4, true, s);
    p.start(1, 'pft vma_refcnt 2 thr');
    p.done();
    expect(s.chunks[0]).toBe('\r\x1b[2K[######..................] 2/4 pft vma_refcnt 2 thr');
    expect(s.chunks.at(-1)).toBe('\r\x1b[2K');
  });

  it('writes nothing when not a terminal, or when switched off', () => {
    for (const [tty, on] of [
      [false, true],
      [true, false],
    ] as const) {
      const s = sink(tty);
      const p = new Progress(4, on, s);
      p.start(0, 'x');
      p.update(0.5);
      p.done();
      expect(s.chunks).toEqual([]);
    }
  });
});
