// The churn layout: each faulter maps its VMA afresh every round, so every round's first fault
// is the anon_vma one, and each era takes its own path there (counted exactly, one thread).

import { describe, expect, it } from 'vitest';
import { CNT } from '../../src/sched/counters.js';
import { sum_counter } from '../../src/sched/task.js';
import { scheme } from '../../src/schemes/active.js';
import { createJob, type FaulterArgs } from '../../src/workload/jobs.js';
import { PRESETS } from '../../src/workload/presets.js';
import { setupRun } from '../../src/workload/setup.js';
import type { SchemeName } from '../../src/workload/world.js';

const ROUNDS = 5;

function churn(name: SchemeName): (n: keyof typeof CNT) => number {
  const spec = PRESETS.churn;
  const s = setupRun({
    spec,
    scheme: name,
    srcuFree: 'call_srcu',
    threads: 1,
    instrumentation: true,
  });
  const plan = s.workers[0]!;
  const args = plan.args as FaulterArgs;
  expect(args.churn).toBe(true);
  const job = createJob({ taskId: 0, workerIndex: 0, role: 'faulter', args, run: 0 });
  const pages = spec.vmas.pages;
  const kinds: number[] = [];
  for (let i = 0; i < ROUNDS * (pages + 2); i++) kinds.push(job.step());
  job.finish?.();
  scheme().barrier();
  // Each round: one mmap, a fault per page, one munmap.
  expect(kinds.filter((k) => k === 1).length).toBe(ROUNDS);
  expect(kinds.filter((k) => k === 0).length).toBe(ROUNDS * pages);
  expect(kinds.filter((k) => k === 2).length).toBe(ROUNDS);
  return (n) => sum_counter(CNT[n], s.maxTasks);
}

describe('churn layout', () => {
  it('prepares an anon_vma in every fresh VMA: under a trylocked mmap lock (vma_refcnt)', () => {
    const c = churn('vma_refcnt');
    expect(c('ANON_VMA_PREPARE')).toBe(ROUNDS);
    expect(c('ANON_VMA_RETRY') + c('ANON_VMA_ABORT')).toBe(0);
    expect(c('VMA_LOCK_SUCCESS')).toBe(ROUNDS * PRESETS.churn.vmas.pages);
  });
  it('aborts the fast path on every fresh VMA in the 6.4-6.9 era (vma_rwsem)', () => {
    const c = churn('vma_rwsem');
    expect(c('ANON_VMA_ABORT')).toBe(ROUNDS);
    expect(c('ANON_VMA_PREPARE')).toBe(ROUNDS);
    expect(c('MMAP_LOCK_FALLBACK')).toBe(ROUNDS);
  });
  it('stops speculating on every fresh VMA (srcu_spf)', () => {
    const c = churn('srcu_spf');
    expect(c('ANON_VMA_ABORT')).toBe(ROUNDS);
    expect(c('SPF_SUCCESS')).toBe(ROUNDS * (PRESETS.churn.vmas.pages - 1));
  });
});
