// Race script 3, preempted-reader (src/harness/race/scripts/preempted_reader.ts): its verdict
// holds in any schedule, not only its own. Under mmap_lock (broken) the fault on A passes
// FAULT_LOCKED alone: munmap B and the fault on C could not move until it did. Under per-VMA
// locks (fixed) it never does, whether A is held back there or simply runs first. The two
// variants are two worlds: one set of task threads each, opened in turn (the process has one
// shared buffer at a time).

import { describe, expect, it } from 'vitest';
import { ControlledRun } from '../../src/harness/race/engine.js';
import { script_by_name } from '../../src/harness/race/registry.js';
import { exploreVariant, raceVariant } from '../helpers/race_script.js';
import { distModule } from '../helpers/threads.js';

async function withRun(
  variant: 'fixed' | 'broken',
  body: (run: ControlledRun) => Promise<void>,
): Promise<void> {
  const e = script_by_name('preempted-reader')!;
  const run = await ControlledRun.open(e.script, distModule(e.rel), variant);
  try {
    await body(run);
  } finally {
    await run.close();
  }
}

function aloneAtFaultLocked(labels: readonly { task: number; label: string; alone: boolean }[]) {
  return labels.find((l) => l.task === 0 && l.label === 'FAULT_LOCKED')?.alone;
}

describe('race preempted-reader (script 3)', () => {
  it('fixed: its schedule holds, and explore finds no failure where A runs first', async () => {
    await withRun('fixed', async (run) => {
      const { exec, timeline } = await raceVariant(run, 'fixed');
      expect(exec.verdict.ok, timeline).toBe(true);
      expect(aloneAtFaultLocked(exec.labels)).toBe(false);
      // The DFS's first executions run A first, unpreempted: the old check failed them.
      const { result } = await exploreVariant(run, 'fixed', 2, 200);
      expect(result.failures).toBe(0);
      expect(result.executions).toBeGreaterThanOrEqual(200);
    });
  });

  it('broken: A passes FAULT_LOCKED alone in its schedule; explore finds it at 1 preemption', async () => {
    await withRun('broken', async (run) => {
      const { exec, timeline } = await raceVariant(run, 'broken');
      expect(exec.verdict.ok, timeline).toBe(false);
      expect(exec.tasks.map((t) => t.state)).toEqual(['done', 'done', 'done']);
      expect(aloneAtFaultLocked(exec.labels)).toBe(true);
      const { result, replay } = await exploreVariant(run, 'broken', 1, 500);
      const f = result.firstFailure;
      expect(f?.preemptions).toBe(1);
      expect(replay?.schedule).toBe(f?.schedule);
      expect(replay?.verdict).toEqual(f?.verdict);
    });
  });
});
