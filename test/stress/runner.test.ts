import { describe, expect, it } from 'vitest';
import { Histogram } from '../../src/harness/histogram.js';
import { RunFailure, runWorkers } from '../../src/harness/runner.js';
import { do_mprotect, PROT_READ, PROT_WRITE, read_maps } from '../../src/ops/index.js';
import { atomic_read } from '../../src/sched/atomics.js';
import { CNT } from '../../src/sched/counters.js';
import { sum_counter, task_attach } from '../../src/sched/task.js';
import { arena_alloc, createArena, get_root, task_ptr } from '../../src/shm/arena.js';
import {
  LINE_WORDS,
  ROOT,
  RUN,
  RUN_WORKER,
  RWSEM,
  run_worker_ptr,
  TASK,
} from '../../src/shm/layout/index.js';
import { init_rwsem } from '../../src/sync/rwsem.js';
import type { WorkerPlan } from '../../src/workload/job.js';
import type { FaulterArgs, WriterArgs } from '../../src/workload/jobs.js';
import { PRESETS } from '../../src/workload/presets.js';
import { setupRun } from '../../src/workload/setup.js';
import { distModule } from '../helpers/threads.js';

const jobModule = (): string => distModule('test/threads/runner');

function setup(maxTasks: number): { sab: SharedArrayBuffer; words: number } {
  const a = createArena({ sizeMiB: 4, maxTasks });
  task_attach(0);
  return { sab: a.sab, words: arena_alloc(16, 16) };
}

function plans(n: number, role: string, args: unknown, budget = 0): WorkerPlan[] {
  return Array.from({ length: n }, (_, i) => ({ taskId: i + 1, role, args, budget }));
}

describe('runner', () => {
  it('runs op budgets to exact counts behind the start barrier (6 workers, 2 cores)', async () => {
    const { sab, words } = setup(8);
    const out = await runWorkers({
      sab,
      jobModule: jobModule(),
      workers: plans(6, 'adder', { words }, 3000),
      durationMs: 0,
    });
    expect(out.lostWakeups).toEqual([]);
    expect(out.workers.map((w) => w.ops)).toEqual([3000, 3000, 3000, 3000, 3000, 3000]);
    // Odd steps took the spinlock, even steps added atomically: 1500 of each per worker.
    expect(atomic_read(words + 1)).toBe(9000);
    expect(atomic_read(words + 2)).toBe(9000);
    expect(atomic_read(words + 3)).toBe(0); // nobody started before all had arrived
    const run = get_root(ROOT.RUN);
    expect(atomic_read(run + RUN.done)).toBe(6);
    for (let i = 0; i < 6; i++) {
      expect(atomic_read(run_worker_ptr(run, i) + RUN_WORKER.ops)).toBe(3000);
      expect(atomic_read(task_ptr(i + 1) + TASK.progress)).toBe(3000);
    }
    // Histograms merge to the exact op counts per kind.
    const locked = new Histogram();
    const atomic = new Histogram();
    for (const w of out.workers) {
      expect(w.kinds).toEqual(['locked-add', 'atomic-add']);
      locked.merge(w.histograms[0]!);
      atomic.merge(w.histograms[1]!);
    }
    expect(locked.count).toBe(9000);
    expect(atomic.count).toBe(9000);
  });

  it('stops on the stop flag after the duration; shared and returned counts agree', async () => {
    const { sab, words } = setup(8);
    const out = await runWorkers({
      sab,
      jobModule: jobModule(),
      workers: plans(5, 'adder', { words }),
      durationMs: 150,
      pin: true,
      cores: 2,
    });
    expect(out.lostWakeups).toEqual([]);
    const total = out.workers.reduce((s, w) => s + w.ops, 0);
    expect(total).toBeGreaterThan(0);
    expect(atomic_read(words + 1) + atomic_read(words + 2)).toBe(total);
    expect(atomic_read(words + 3)).toBe(0);
    const run = get_root(ROOT.RUN);
    out.workers.forEach((w, i) => {
      expect(atomic_read(run_worker_ptr(run, i) + RUN_WORKER.ops)).toBe(w.ops);
      expect(w.elapsedNs).toBeGreaterThan(0);
      // Pinned to CPU i mod 2, or an explained warning.
      if (out.pinWarning === null) {
        expect(w.cpu).toBe(i % 2);
        expect(atomic_read(task_ptr(w.taskId) + TASK.cpu)).toBe(i % 2);
      }
      expect(atomic_read(task_ptr(w.taskId) + TASK.tid)).toBe(w.tid);
    });
  });

  it('measures only after the warm-up: ops, histograms and counters restart at the gate', async () => {
    const { sab, words } = setup(8);
    const out = await runWorkers({
      sab,
      jobModule: jobModule(),
      workers: plans(4, 'adder', { words }, 2000),
      durationMs: 0,
      warmupMs: 100,
    });
    expect(out.lostWakeups).toEqual([]);
    expect(out.workers.map((w) => w.ops)).toEqual([2000, 2000, 2000, 2000]);
    for (const w of out.workers) {
      expect(w.histograms[0]!.count + w.histograms[1]!.count).toBe(2000);
    }
    // Each worker's counter was zeroed when it saw the gate, so it holds exactly its budget;
    // the shared words also saw the warm-up.
    expect(sum_counter(CNT.FAULTS, 8)).toBe(8000);
    expect(atomic_read(words + 1) + atomic_read(words + 2)).toBeGreaterThan(8000);
  });

  it('ends the run with the failing worker error and its last events, never a hang', async () => {
    const { sab, words } = setup(8);
    const workers: WorkerPlan[] = [
      ...plans(3, 'adder', { words }),
      { taskId: 4, role: 'thrower', args: { words, throwAt: 50 }, budget: 0 },
    ];
    const err = await runWorkers({
      sab,
      jobModule: jobModule(),
      workers,
      durationMs: 20_000,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RunFailure);
    const f = err as RunFailure;
    expect(f.kind).toBe('LockStateError');
    expect(f.message).toMatch(/^worker 3 failed: LockStateError: thrower: deliberate failure/);
    expect(f.message).toMatch(/task 4, thrower/);
    expect(f.message).toMatch(/SPIN_CONTENDED\(\d+,12345\)/);
  });

  it('reports a kind index out of range as the worker error', async () => {
    const { sab, words } = setup(4);
    const err = await runWorkers({
      sab,
      jobModule: jobModule(),
      workers: plans(1, 'bad-kind', { words }, 10),
      durationMs: 0,
    }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/job step returned kind 7; allowed 0\.\.0/);
  });

  it('the watchdog aborts a run without progress and reports every worker', async () => {
    const { sab, words } = setup(8);
    const workers: WorkerPlan[] = [
      ...plans(2, 'adder', { words }),
      { taskId: 3, role: 'stuck', args: { words }, budget: 0 },
    ];
    const err = await runWorkers({
      sab,
      jobModule: jobModule(),
      workers,
      durationMs: 20_000,
      watchdogMs: 300,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RunFailure);
    const f = err as RunFailure;
    expect(f.kind).toBe('Watchdog');
    expect(f.message).toMatch(/^watchdog: no progress from worker 2 \(task 3\) for 300 ms/);
    expect(f.message).toMatch(/worker 0 \(task 1, adder, \d+ ops\)/);
    expect(f.message).toMatch(/worker 1 \(task 2, adder/);
    expect(f.message).toMatch(/worker 2 \(task 3, stuck, 0 ops\):.*COMPLETION_WAIT/);
  });

  it("the watchdog's report shows the lock state: a writer queued behind a reader", async () => {
    const { sab, words } = setup(8);
    const sem = arena_alloc(RWSEM.SIZE, LINE_WORDS);
    init_rwsem(sem);
    const workers: WorkerPlan[] = [
      { taskId: 1, role: 'read-holder', args: { words, sem }, budget: 0 },
      { taskId: 2, role: 'stuck-writer', args: { words, sem }, budget: 0 },
    ];
    const err = await runWorkers({
      sab,
      jobModule: jobModule(),
      workers,
      durationMs: 20_000,
      watchdogMs: 300,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RunFailure);
    const m = (err as RunFailure).message;
    expect(m).toMatch(/^watchdog: no progress from worker 1 \(task 2\)/);
    expect(m).toMatch(/task 2: uninterruptible; waits in RWSEM_DOWN_WRITE_SLOW on word \d+/);
    expect(m).toMatch(
      new RegExp(
        `rwsem at ${sem}: count 0x[0-9a-f]+ \\[WAITERS (HANDOFF )?readers=1\\], owner task 1 \\(reader-owned hint\\), queue \\[task 2 W`,
      ),
    );
  });

  it('set-up keeps the faulters VMAs apart: a guard hole after each, so mprotect never merges them', () => {
    const s = setupRun({
      spec: PRESETS['shared-mprotect'],
      scheme: 'vma_refcnt',
      srcuFree: 'call_srcu',
      threads: 2,
      instrumentation: true,
    });
    const targets = (s.workers.find((w) => w.role === 'writer')!.args as WriterArgs).targets;
    expect(targets).toHaveLength(4);
    for (const t of targets) {
      expect(do_mprotect(s.mm, t.start, t.pages, PROT_READ)).toBe(0);
      expect(do_mprotect(s.mm, t.start, t.pages, PROT_READ | PROT_WRITE)).toBe(0);
    }
    const seen: Array<[number, number]> = [];
    expect(read_maps(s.mm, false, (a, b) => seen.push([a, b]))).toBe(4);
    expect(seen.map(([a, b]) => b - a)).toEqual([256, 256, 256, 256]);
    // Faulters own disjoint halves of every shared VMA.
    const regions = s.workers
      .filter((w) => w.role === 'faulter')
      .map((w) => (w.args as FaulterArgs).regions);
    expect(regions.map((r) => r.map((x) => x.pages))).toEqual([
      [128, 128, 128, 128],
      [128, 128, 128, 128],
    ]);
  });
});
