// The controlled scheduler, the race scripts and explore, on real worker threads (issue 9).
// Every shipped race script runs in both variants and must give its expected verdict; explore
// must find the broken variants' bugs without the schedule (one only at two preemptions) and
// exhaust the fixed ones; a replayed schedule string must repeat its execution exactly.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlledRun, variantMask } from '../../src/harness/race/engine.js';
import { explore } from '../../src/harness/race/explore.js';
import { runRace } from '../../src/harness/race/race.js';
import { RACE_SCRIPTS, script_by_name } from '../../src/harness/race/registry.js';
import { decodeSchedule } from '../../src/harness/race/schedule.js';
import { timelineRows } from '../../src/harness/race/timeline.js';
import { SP_NAMED, SP_RMW } from '../../src/sched/atomics.js';
import { RWSEM } from '../../src/shm/layout/index.js';
import { distModule } from '../helpers/threads.js';

// Scripts whose own file asserts their exact outcomes (and explores them) are not run twice.
const OWN_FILE = new Set([
  'detach-order',
  'slot-reuse',
  'foreign-mm-wakeup',
  'refcount-limit',
  'seq-wrap',
  'seq-wrap-rwsem',
]);

describe.each(
  RACE_SCRIPTS.filter((e) => !OWN_FILE.has(e.script.name)).map((e) => [e.script.name, e] as const),
)('race %s', (_name, e) => {
  it('the fixed variant holds and the broken one shows its bug, the same way twice', async () => {
    const rs = await runRace(e.script, distModule(e.rel), ['fixed', 'broken'], 2);
    const [fixed, broken] = rs;
    expect(fixed?.exec.verdict.ok, fixed?.timeline).toBe(true);
    expect(broken?.exec.verdict.ok, broken?.timeline).toBe(false);
    expect(rs.every((r) => r.pass)).toBe(true);
  });
});

describe('explore', () => {
  const opened: ControlledRun[] = [];
  const open = async (name: string): Promise<ControlledRun> => {
    const e = script_by_name(name)!;
    const run = await ControlledRun.open(e.script, distModule(e.rel));
    opened.push(run);
    return run;
  };
  afterAll(async () => {
    for (const r of opened) await r.close();
  });
  const dfs = { strategy: 'dfs', seed: 1, depth: 3 } as const;

  describe('rcuwait-lost-wakeup', () => {
    let run: ControlledRun;
    beforeAll(async () => {
      run = await open('rcuwait-lost-wakeup');
    });
    it('finds the lost wake-up at one preemption, and a replay repeats it exactly', async () => {
      const bugs = variantMask(run.scenario, 'broken');
      const r = await explore(run, { ...dfs, preemptions: 2, maxExecutions: 1000, bugs });
      expect(r.exhausted).toBe(true);
      const f = r.firstFailure!;
      expect(f.outcome).toBe('deadlock');
      expect(f.preemptions).toBe(1);
      for (let i = 0; i < 3; i++) {
        const again = await run.run(bugs, { mode: 'default', prefix: decodeSchedule(f.schedule) });
        expect(again.outcome).toBe('deadlock');
        expect(again.schedule).toBe(f.schedule);
        expect(again.record).toEqual(f.record);
        expect(again.verdict).toEqual(f.verdict);
      }
    });
    it('exhausts the fixed variant at two preemptions without a failure', async () => {
      const r = await explore(run, { ...dfs, preemptions: 2, maxExecutions: 1000, bugs: 0 });
      expect(r.exhausted).toBe(true);
      expect(r.failures).toBe(0);
      expect(r.outcomes.length).toBe(2); // the waker found the waiter, or it did not need to
    });
    it('sleep sets keep every outcome of both variants and run fewer executions', async () => {
      for (const bugs of [0, variantMask(run.scenario, 'broken')]) {
        const full = await explore(run, {
          ...dfs,
          preemptions: 2,
          maxExecutions: 1000,
          bugs,
          prune: false,
        });
        const pruned = await explore(run, { ...dfs, preemptions: 2, maxExecutions: 1000, bugs });
        expect(full.exhausted && pruned.exhausted).toBe(true);
        expect(full.pruned).toBe(0);
        const texts = (r: typeof full): string[] => r.outcomes.map((o) => o.text).sort();
        expect(texts(pruned)).toEqual(texts(full));
        expect(pruned.executions - pruned.pruned).toBeLessThan(full.executions);
        expect(pruned.executions).toBeLessThan(full.executions);
      }
    });
    it('PCT with a seed finds the lost wake-up', async () => {
      const bugs = variantMask(run.scenario, 'broken');
      const r = await explore(run, {
        ...dfs,
        strategy: 'pct',
        seed: 7,
        preemptions: 0,
        maxExecutions: 300,
        bugs,
      });
      expect(r.failures).toBeGreaterThan(0);
    });
  });

  it('a kill makes a killable waiter runnable; an uninterruptible one stays blocked (deadlock)', async () => {
    const { default: scenario } = await import('./scenarios/killed_waiters.js');
    const run = await ControlledRun.open(
      scenario,
      distModule('test/races/scenarios/killed_waiters'),
    );
    opened.push(run);
    const r = await explore(run, { ...dfs, preemptions: 2, maxExecutions: 5000, bugs: 0 });
    expect(r.exhausted).toBe(true);
    expect(r.failures).toBe(0);
    expect(r.outcomes.map((o) => o.text)).toEqual([
      'deadlock: killable done -4, uninterruptible blocked',
    ]);
  });

  it('a task that unwinds after the end gives up on a lock another unwound task left held', async () => {
    // An execution can end while one task holds a spinlock that another, queued behind it,
    // must take to unwind (rwsem_unwind_waiter, bounded by the clock). The clock counted
    // decisions and none are made after the end: the reader spun until the harness's 20 s
    // bound (explore preempted-reader, once private slab slots were plain accesses).
    const {
      default: scenario,
      WRITE_LOCKED,
      WAIT_LOCK_HELD,
    } = await import('./scenarios/unwind_held_lock.js');
    const run = await ControlledRun.open(
      scenario,
      distModule('test/races/scenarios/unwind_held_lock'),
    );
    opened.push(run);
    // The writer write-locks, the reader queues and blocks, the writer takes the wait_lock.
    const scripted = await run.run(0, {
      mode: 'script',
      segments: [
        [0, WRITE_LOCKED],
        [1, 0],
        [0, WAIT_LOCK_HELD],
      ],
    });
    expect(scripted.verdict.ok, scripted.verdict.text).toBe(true);
    const held = scripted.record.findIndex(
      (s) => s.task === 0 && s.kind === SP_NAMED && s.what === WAIT_LOCK_HELD,
    );
    expect(held).toBeGreaterThan(0);
    expect(scripted.record.slice(0, held).some((s) => s.task === 1)).toBe(true);
    // Replay that far, then name the blocked reader: the execution ends (diverged) with the
    // wait_lock held, and both tasks must still finish unwinding.
    const prefix = [...scripted.record.slice(0, held + 1).map((s) => s.task), 1];
    const ended = await run.run(0, { mode: 'default', prefix });
    expect(ended.outcome).toBe('diverged');
    expect(ended.outcomeStep).toBe(held + 1);
    // The threads are ready for the next execution.
    const again = await run.run(0, { mode: 'default' });
    expect(again.verdict.ok, again.verdict.text).toBe(true);
  });

  it('a body that unwound with tasks queued to wake leaves nothing to the next execution', async () => {
    // up_write collects the queued reader in the thread's wake queue under the wait_lock and
    // wakes it after the unlock. An execution that ends in between must not leave the entry
    // for the thread's next up_write: its extra unpark would make a replay diverge.
    const { default: scenario, WRITE_LOCKED } = await import('./scenarios/unwind_held_lock.js');
    const run = await ControlledRun.open(
      scenario,
      distModule('test/races/scenarios/unwind_held_lock'),
    );
    opened.push(run);
    const program = {
      mode: 'script',
      segments: [
        [0, WRITE_LOCKED],
        [1, 0],
        [0, 0],
        [1, 0],
      ],
    } as const;
    const first = await run.run(0, program);
    expect(first.verdict.ok, first.verdict.text).toBe(true);
    // The writer's last step on the wait_lock: the unlock between rwsem_mark_wake and the wake.
    const lockWord = (run.env['sem'] as number) + RWSEM.wait_lock;
    let unlock = -1;
    first.record.forEach((s, i) => {
      if (s.task === 0 && s.kind === SP_RMW && s.what === lockWord) unlock = i;
    });
    expect(unlock).toBeGreaterThan(0);
    // Stop there: a choice of no task ends the execution with the writer about to unlock.
    const cut = await run.run(0, {
      mode: 'default',
      prefix: [...first.record.slice(0, unlock).map((s) => s.task), 7],
    });
    expect(cut.outcome).toBe('diverged');
    const again = await run.run(0, program);
    expect(again.schedule).toBe(first.schedule);
    expect(again.verdict.text).toBe(first.verdict.text);
  });

  describe('srcu-late-reader', () => {
    let run: ControlledRun;
    beforeAll(async () => {
      run = await open('srcu-late-reader');
    });
    it('finds the use after free only at two preemptions', async () => {
      const bugs = variantMask(run.scenario, 'broken');
      const one = await explore(run, { ...dfs, preemptions: 1, maxExecutions: 5000, bugs });
      expect(one.exhausted).toBe(true);
      expect(one.failures).toBe(0);
      const two = await explore(run, {
        ...dfs,
        preemptions: 2,
        maxExecutions: 20_000,
        bugs,
        stopAtFailure: true,
      });
      expect(two.firstFailure?.preemptions).toBe(2);
      expect(two.firstFailure?.verdict.text).toMatch(/use after free/);
    });
    it('the timeline names every step and folds only inside one task run', async () => {
      const e = await run.run(0, { mode: 'default' });
      const rows = timelineRows(run.scenario, run.env, e).slice(0, -1);
      let folds = 0;
      rows.forEach(([, cols], k) => {
        const used = cols.flatMap((c, t) => (c === '' ? [] : [t]));
        expect(used.length).toBe(1);
        if (cols[used[0]!]!.startsWith('·')) {
          folds++;
          // A fold keeps its run's last steps as rows of their own (the step before a switch):
          // the next row is an unnamed step of the same task.
          expect(rows[k + 1]?.[1][used[0]!]).toMatch(/^(load|store|rmw) word \d+$/);
        }
      });
      expect(folds).toBeGreaterThan(0);
      expect(rows.some(([, c]) => c.some((x) => /^(load|rmw|store) word \d+$/.test(x)))).toBe(true);
    });
    it('the fixed variant never fails within one preemption (exhausted)', async () => {
      const r = await explore(run, { ...dfs, preemptions: 1, maxExecutions: 5000, bugs: 0 });
      expect(r.exhausted).toBe(true);
      expect(r.failures).toBe(0);
    });
  });
});
