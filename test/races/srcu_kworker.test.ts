// srcu_spf's SRCU callbacks run on a kworker, not in the thread that queued them: a real run of
// the churn preset (one faulter that maps, faults and unmaps a fresh VMA each round, plus the
// kworker) on worker threads. Every VMA and pte page munmap freed went through the kworker, the
// faulter ran none, and the count is exact: one VMA and one pte page a round.

import { describe, expect, it } from 'vitest';
import { runWorkers } from '../../src/harness/runner.js';
import { atomic_read } from '../../src/sched/atomics.js';
import { CNT } from '../../src/sched/counters.js';
import { sum_counter } from '../../src/sched/task.js';
import { task_ptr } from '../../src/shm/arena.js';
import { TASK } from '../../src/shm/layout/index.js';
import { PRESETS } from '../../src/workload/presets.js';
import { setupRun } from '../../src/workload/setup.js';
import { distModule } from '../helpers/threads.js';

const ROUNDS = 60;

describe('srcu_spf kworker', () => {
  it('runs every SRCU callback of a churn run in its own task', async () => {
    const spec = PRESETS.churn;
    const s = setupRun({
      spec,
      scheme: 'srcu_spf',
      srcuFree: 'call_srcu',
      threads: 1,
      instrumentation: true,
      faulterBudget: ROUNDS * (spec.vmas.pages + 2),
    });
    expect(s.workers.map((w) => w.role)).toEqual(['faulter', 'kworker']);
    const out = await runWorkers({
      sab: s.sab,
      jobModule: distModule('src/workload/jobs'),
      workers: s.workers,
      durationMs: 0,
    });
    expect(out.lostWakeups).toEqual([]);
    const own = (taskId: number): number =>
      atomic_read(task_ptr(taskId) + TASK.counters + CNT.SRCU_CALLBACKS);
    const [faulter, kworker] = s.workers;
    const total = sum_counter(CNT.SRCU_CALLBACKS, s.maxTasks);
    expect(sum_counter(CNT.MUNMAP_OPS, s.maxTasks)).toBe(ROUNDS);
    expect(sum_counter(CNT.PTE_PAGE_FREE, s.maxTasks)).toBe(ROUNDS);
    expect(total).toBe(2 * ROUNDS);
    expect(own(faulter!.taskId)).toBe(0);
    expect(own(kworker!.taskId)).toBe(total);
  });
});
