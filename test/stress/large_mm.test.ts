// A large mm on real threads: the spread layout (many small VMAs, faults picked uniformly or
// Zipf-like, each faulter zapping its oldest page) beside a writer doing mmap/munmap/mprotect
// among them, on every scheme with assertions on (shadow reader/writer counters, checksums) and
// QSBR RCU. Exact outcomes: every faulter does its budget, and at rest the world is consistent.

import { describe, expect, it } from 'vitest';
import { check_world_quiescent } from '../../src/harness/checks.js';
import { compiledModule } from '../../src/harness/paths.js';
import { runWorkers } from '../../src/harness/runner.js';
import { CNT } from '../../src/sched/counters.js';
import { reset_counters, sum_counter } from '../../src/sched/task.js';
import { scheme } from '../../src/schemes/active.js';
import { PRESETS } from '../../src/workload/presets.js';
import { setupRun } from '../../src/workload/setup.js';
import { parseWorkload } from '../../src/workload/spec.js';
import { SCHEMES } from '../../src/workload/world.js';

const BUDGET = 800;
/** One access pattern per scheme keeps the file short; both patterns meet both VMA-lock designs. */
const CASES = [
  ['mmap_lock', 'uniform'],
  ['vma_rwsem', 'zipf'],
  ['vma_refcnt', 'zipf'],
  ['srcu_spf', 'uniform'],
] as const;

describe('large mm', () => {
  it.each(CASES)(
    '%s, %s faults over 3,000 VMAs beside mmap/munmap/mprotect: budgets exact, world consistent',
    async (name, access) => {
      const spec = parseWorkload(
        {
          ...structuredClone(PRESETS['large-mm']),
          vmas: { layout: 'spread', count: 3000, pages: 2 },
          access,
        },
        'large-mm test',
        SCHEMES,
      );
      const s = setupRun({
        spec,
        scheme: name,
        srcuFree: 'call_srcu',
        threads: 2,
        instrumentation: true,
        faulterBudget: BUDGET,
      });
      reset_counters(s.maxTasks);
      const out = await runWorkers({
        sab: s.sab,
        jobModule: compiledModule('src/workload/jobs'),
        workers: s.workers,
        durationMs: 0,
        watchdogMs: 20_000,
      });
      const faulters = out.workers.filter((w) => w.role === 'faulter');
      expect(faulters.map((w) => w.ops)).toEqual([BUDGET, BUDGET]);
      // Each step is a fault or the zap of one page, and a faulter zaps only once it holds 64
      // pages: at least 64 + (BUDGET - 64) / 2 faults each (more when a pick hits a page it
      // already holds), every step timed as one of the two kinds.
      const faults = sum_counter(CNT.FAULTS, s.maxTasks);
      expect(faults).toBeGreaterThanOrEqual(2 * (64 + (BUDGET - 64) / 2));
      expect(faults).toBeLessThanOrEqual(2 * BUDGET);
      for (const w of faulters) {
        expect(w.histograms[0]!.count + w.histograms[1]!.count).toBe(BUDGET);
        expect(w.histograms[1]!.count).toBeLessThanOrEqual(w.histograms[0]!.count - 64);
      }
      expect(out.workers.find((w) => w.role === 'writer')!.ops).toBeGreaterThan(0);
      scheme().barrier();
      check_world_quiescent([s.mm]);
    },
  );
});
