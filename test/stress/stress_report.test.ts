// The stress reports from a report with one violation: the text names the check and the tasks'
// last events and ends with the re-run command; JUnit fails exactly that scheme × check; JSON
// keeps everything; the HTML escapes what it shows.

import { describe, expect, it } from 'vitest';
import { chaosConfig } from '../../src/harness/stress/chaos.js';
import { CHECK_NAMES, type CheckName, classify } from '../../src/harness/stress/checker.js';
import type { SchemeResult, StressReport } from '../../src/harness/stress/engine.js';
import {
  renderStressHtml,
  renderStressText,
  rerunLine,
  stressJson,
  stressJunit,
} from '../../src/harness/stress/report.js';

const zero = Object.fromEntries(CHECK_NAMES.map((c) => [c, 0])) as Record<CheckName, number>;

function result(scheme: string, bad: boolean): SchemeResult {
  return {
    scheme: scheme as SchemeResult['scheme'],
    durationMs: 1234,
    ops: { 'faulter.fault': 1000, 'writer.munmap': 10 },
    opsTotal: 1010,
    checksRun: 4,
    counters: { FAULTS: 1000, CHAOS_DELAY: 7 },
    lostWakeups: 0,
    violations: bad
      ? [
          {
            check: 'exclusion',
            phase: 'run',
            kind: 'InvariantViolation',
            message: 'vma 96: a read lock succeeded while a writer owns the VMA <&>',
            atMs: 661,
            tasks: [{ task: 1, role: 'faulter', events: ['VMA_START_READ(96,2)'] }],
          },
        ]
      : [],
    errors: bad ? { ...zero, exclusion: 1 } : zero,
    timeline: [
      [300, 0, 500],
      [661, bad ? 1 : 0, 1010],
    ],
    ok: !bad,
  };
}

const report: StressReport = {
  seed: 42,
  commandLine:
    'faultline stress --schemes mmap_lock,vma_refcnt --preset mixed --threads 3 --duration 2000ms --seed 42 --chaos light --kill-rate 50',
  chaos: chaosConfig('light'),
  killRate: 50,
  bugs: ['no-seq-recheck'],
  workload: 'mixed',
  threads: 3,
  results: [result('mmap_lock', false), result('vma_refcnt', true)],
  ok: false,
};

describe('stress reports', () => {
  it('text: the summary, the violation with its tasks, and the re-run line for its scheme', () => {
    const t = renderStressText(report);
    expect(t).toMatch(/mmap_lock .* ok\n/);
    expect(t).toMatch(/vma_refcnt .* FAILED\n/);
    expect(t).toContain(
      'exclusion (no reader inside a write-locked VMA (§7.1)), during the run, at 661 ms',
    );
    expect(t).toContain('task 1 (faulter): VMA_START_READ(96,2)');
    expect(t).toContain(`re-run: ${rerunLine(report, 'vma_refcnt')}`);
    expect(rerunLine(report, 'vma_refcnt')).toMatch(/--schemes vma_refcnt .*--seed 42/);
  });

  it('JUnit: one testcase per scheme × check, one failure, escaped', () => {
    const x = stressJunit(report);
    expect(x.match(/<testcase /g)).toHaveLength(2 * CHECK_NAMES.length);
    expect(x.match(/<failure /g)).toHaveLength(1);
    expect(x).toMatch(/<testsuite name="faultline stress vma_refcnt" tests="\d+" failures="1"/);
    expect(x).toContain('&#60;&#38;&#62;');
    expect(x).not.toContain('<&>');
  });

  it('JSON keeps seed, command line, counters and every violation; HTML escapes', () => {
    const j = JSON.parse(stressJson(report));
    expect(j.seed).toBe(42);
    expect(j.commandLine).toBe(report.commandLine);
    expect(j.results[1].violations[0].tasks[0].events).toEqual(['VMA_START_READ(96,2)']);
    const h = renderStressHtml(report);
    expect(h).toContain('&#60;&#38;&#62;');
    expect(h).toContain('<svg');
  });

  it('files a failure under its check by kind and message', () => {
    expect(classify('Watchdog', 'anything')).toBe('hang');
    expect(classify('LostWakeup', 'x')).toBe('lost-wakeup');
    expect(classify('InvariantViolation', 'torn VMA read: vma 3')).toBe('torn-read');
    expect(classify('InvariantViolation', 'maps: false gap at page 7')).toBe('maps-gap');
    expect(
      classify(
        'InvariantViolation',
        'fault at page 5 of mm 2 lands in vma 9 [1, 2) of mm 2 flags 1: not covered or not allowed',
      ),
    ).toBe('fault-coverage');
    expect(
      classify(
        'InvariantViolation',
        'mmap_write_unlock: mm 4 mm_lock_seq 6 is even under the write lock',
      ),
    ).toBe('seq-parity');
    expect(classify('Error', 'something else')).toBe('other');
  });
});
