// Race scripts 2, 6, 7, 8 and 13 of issue 9 (detach-order, slot-reuse, foreign-mm-wakeup,
// seq-wrap, seq-wrap-rwsem, refcount-limit), on real worker threads under the controlled
// scheduler: each script's schedule in both variants, twice, asserting the exact outcome (the
// same steps both times); and explore without the schedule on the broken variants whose search
// is small (slot-reuse needs ~2,800 executions and foreign-mm-wakeup three preemptions: the
// README gives their figures, measured by hand).

import { afterAll, describe, expect, it } from 'vitest';
import { ControlledRun, type Execution, variantMask } from '../../src/harness/race/engine.js';
import { explore } from '../../src/harness/race/explore.js';
import { compileSchedule } from '../../src/harness/race/race.js';
import { script_by_name } from '../../src/harness/race/registry.js';
import { VM_FAULT_SIGSEGV } from '../../src/ops/index.js';
import { distModule } from '../helpers/threads.js';

type Variant = 'fixed' | 'broken';

const opened = new Map<string, ControlledRun>();

async function open(name: string, variant: Variant): Promise<ControlledRun> {
  const e = script_by_name(name);
  if (e === null) throw new Error(`no script ${name}`);
  // One set of task threads per script, unless its variants are two worlds.
  const key = e.script.worlds === undefined ? name : `${name}:${variant}`;
  let run = opened.get(key);
  if (run === undefined) {
    run = await ControlledRun.open(e.script, distModule(e.rel), variant);
    opened.set(key, run);
  }
  return run;
}

afterAll(async () => {
  for (const r of opened.values()) await r.close();
});

/** The script's schedule in one variant: a discarded run (as runRace does), then two that agree. */
async function scripted(name: string, variant: Variant): Promise<Execution> {
  const run = await open(name, variant);
  const script = run.scenario as NonNullable<ReturnType<typeof script_by_name>>['script'];
  const segments = compileSchedule(run, script);
  const bugs = variantMask(script, variant);
  await run.run(bugs, { mode: 'script', segments });
  const a = await run.run(bugs, { mode: 'script', segments });
  const b = await run.run(bugs, { mode: 'script', segments });
  expect(b.schedule).toBe(a.schedule);
  expect(b.verdict).toEqual(a.verdict);
  expect(a.verdict.ok).toBe(variant === 'fixed');
  return a;
}

/** DFS on the broken variant without the schedule, stopping at the first failure. */
async function search(name: string, preemptions: number, maxExecutions: number) {
  const run = await open(name, 'broken');
  return explore(run, {
    strategy: 'dfs',
    seed: 1,
    depth: 3,
    preemptions,
    maxExecutions,
    bugs: variantMask(run.scenario, 'broken'),
    stopAtFailure: true,
  });
}

const ends = (x: Execution): Array<[string, number]> => x.tasks.map((t) => [t.state, t.result]);

describe('race detach-order', () => {
  it('fixed: munmap write-locks, then detaches; the late fault finds the count 0 and gets SIGSEGV', async () => {
    const x = await scripted('detach-order', 'fixed');
    expect(x.verdict.text).toBe('write-locked, then detached; the late fault got SIGSEGV');
    expect(ends(x)).toEqual([
      ['done', VM_FAULT_SIGSEGV],
      ['done', 0],
    ]);
  });
  it('broken: munmap detaches first; vma_mark_detached finds the VMA not write-locked', async () => {
    const x = await scripted('detach-order', 'broken');
    expect(x.tasks[1]?.state).toBe('failed');
    expect(x.tasks[1]?.error).toMatch(/^InvariantViolation: vma \d+ is not write-locked$/);
    expect(ends(x)[0]).toEqual(['done', 0]); // the reader locked the VMA and faulted it in
  });
  it('explore finds it without the schedule, at 0 preemptions', async () => {
    const r = await search('detach-order', 2, 10);
    expect(r.executions).toBe(1);
    expect(r.firstFailure?.preemptions).toBe(0);
    expect(r.firstFailure?.verdict.text).toMatch(/^munmap detached a VMA it had not write-locked/);
  });
});

describe('race slot-reuse', () => {
  it("fixed: the fault sees vm_mm is b after its increment, backs off, and finds a's VMA gone", async () => {
    const x = await scripted('slot-reuse', 'fixed');
    expect(x.verdict.text).toBe(
      "the slot was reused by b; the fault found a's VMA gone (SIGSEGV); vm_refcnt back to 1",
    );
    expect(ends(x)).toEqual([
      ['done', VM_FAULT_SIGSEGV],
      ['done', 1],
    ]);
  });
  it("broken: the fault read-locks the slot b's writer holds write-locked", async () => {
    const x = await scripted('slot-reuse', 'broken');
    expect(x.tasks[0]?.error).toMatch(
      /^InvariantViolation: vma \d+: a read lock succeeded while a writer owns the VMA$/,
    );
    expect(ends(x)[1]).toEqual(['done', 1]);
  });
});

describe('race foreign-mm-wakeup', () => {
  it("fixed: mmgrab keeps mm b alive across the put; the reader's mmdrop frees it", async () => {
    const x = await scripted('foreign-mm-wakeup', 'fixed');
    expect(x.verdict.text).toBe(
      "the reader backed off from b's VMA; mm b was freed only after its wake-up",
    );
    expect(ends(x)).toEqual([
      ['done', 0],
      ['done', 0],
    ]);
  });
  it("broken: the put's wake-up touches mm b after b exited", async () => {
    const x = await scripted('foreign-mm-wakeup', 'broken');
    expect(x.tasks[0]?.error).toMatch(
      /^InvariantViolation: vma_refcount_put wakes the writer of a freed mm: mm \d+ is not alive$/,
    );
    expect(ends(x)[1]).toEqual(['done', 0]);
  });
});

describe('race refcount-limit', () => {
  it("fixed: the limited increment fails while the writer's offset is set", async () => {
    const x = await scripted('refcount-limit', 'fixed');
    expect(x.verdict.text).toBe(
      "the reader's increment was refused; it would fall back to mmap_lock",
    );
    expect(ends(x)).toEqual([
      ['done', 0],
      ['done', 0],
    ]);
  });
  it('broken: the unlimited increment gets in; the writer takes the VMA with a reader inside', async () => {
    const x = await scripted('refcount-limit', 'broken');
    expect(x.tasks[0]?.error).toMatch(
      /^InvariantViolation: vma_start_write: vma \d+ write-locked with 1 readers inside$/,
    );
    expect(ends(x)[1]).toEqual(['done', 1]);
  });
  it('explore finds it only at two preemptions', async () => {
    const one = await search('refcount-limit', 1, 2000);
    expect(one.exhausted).toBe(true);
    expect(one.failures).toBe(0);
    const two = await search('refcount-limit', 2, 2000);
    expect(two.firstFailure?.preemptions).toBe(2);
    expect(two.firstFailure?.verdict.text).toMatch(/^a reader got in past VMA_LOCK_OFFSET/);
  });
});

describe.each([
  ['seq-wrap', 2, 'fffffffe', '00000002', '00000001', 2 ** 31],
  ['seq-wrap-rwsem', 1, 'ffffffff', '00000001', '00000000', 2 ** 32],
] as const)('race %s', (name, inc, from, to, at, cycles) => {
  it('fixed (the sequence as the mm has it): vma_start_write waits for the reader', async () => {
    const x = await scripted(name, 'fixed');
    expect(x.verdict.text).toMatch(
      new RegExp(
        `^no: vma_start_write excluded the reader \\(0 inside V at 0x[0-9a-f]{8}\\); .*, \\+${inc} per write cycle$`,
      ),
    );
    expect(ends(x)).toEqual([
      ['done', 0],
      ['done', 0],
    ]);
  });
  it('broken (forced one turn on): the counter wraps and the writer skips excluding the reader', async () => {
    const x = await scripted(name, 'broken');
    expect(ends(x)).toEqual([
      ['done', 0],
      ['done', 1],
    ]);
    expect(x.verdict.text).toContain(
      `yes: vma_start_write found vm_lock_seq == mm_lock_seq == 0x${at}, skipped excluding readers, and holds V with 1 reader inside; mm_lock_seq 0x${from} -> 0x${to} (wrapped through 0), +${inc} per write cycle. A real process needs 2^32/${inc} = ${cycles} write cycles`,
    );
  });
  it('explore finds the skipped exclusion without the schedule, at one preemption', async () => {
    const r = await search(name, 2, 200);
    expect(r.firstFailure?.preemptions).toBe(1);
    expect(r.firstFailure?.verdict.text).toMatch(/^yes: /);
  });
});
