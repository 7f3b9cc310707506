// The litmus runner, main-thread side: lay out a test's instances in a fresh buffer (with the
// test's catalogue bugs switched on in its header), start one worker thread per actor, collect
// the outcome counts and give the verdict.
//
// Verdict: a fixed test (no bugs) passes iff no FORBIDDEN outcome was seen; a broken variant
// (bugs switched on) passes iff a FORBIDDEN outcome WAS seen — it shows that the bug is real and
// that the test can see it. ACCEPTABLE_INTERESTING outcomes never fail a run.

import { atomic_set, words } from '../../sched/atomics.js';
import { bug_mask } from '../../sched/bugs.js';
import { current_id, task_attach } from '../../sched/task.js';
import { arena_alloc, attachArena, createArena } from '../../shm/arena.js';
import { LINE_WORDS, LITMUS_CTL } from '../../shm/layout/index.js';
import { compiledModule } from '../paths.js';
import { runThreads } from '../threads.js';
import type { ActorArgs, ActorResult } from './actor.js';
import { classify, type Expect, type LitmusTest } from './define.js';
import { workerModule } from './registry.js';

export interface LitmusOptions {
  /** total instances to run (rounds × instances per round); default: the test's own */
  readonly iterations?: number;
  /** stop after this long even if iterations remain (0: no limit; default 0) */
  readonly timeMs?: number;
  /** arena size in MiB (default: enough for the instances, at least 8) */
  readonly sizeMiB?: number;
  /** the run is aborted if it has not finished after this long (default 120 s) */
  readonly watchdogMs?: number;
  /**
   * Stop after the round in which the first FORBIDDEN outcome (or the outcome the test hopes to
   * see) shows up, instead of running every iteration: a broken variant then ends as soon as it
   * has shown its bug. Default false.
   */
  readonly stopOnFirst?: boolean;
  /** meet on every instance before running it (default: the test's `sync`, else true; actor.ts) */
  readonly sync?: boolean;
}

export interface LitmusRow {
  /** the result words, "r0, r1, ..." */
  readonly outcome: string;
  readonly count: number;
  readonly expect: Expect;
  readonly desc: string;
}

export interface LitmusResult {
  readonly name: string;
  readonly description: string;
  /** the catalogue bugs switched on: non-empty for a broken variant */
  readonly bugs: readonly string[];
  readonly actors: number;
  /** instances run in total */
  readonly iterations: number;
  readonly rounds: number;
  readonly instancesPerRound: number;
  readonly elapsedMs: number;
  /** every outcome seen, most frequent first; the table's rows */
  readonly rows: readonly LitmusRow[];
  readonly forbidden: number;
  readonly interesting: number;
  readonly passed: boolean;
  /** one line: why it passed or failed */
  readonly verdict: string;
  /** the outcome the test hoped to see, whether it was seen, and how often */
  readonly hoped: { readonly outcome: string; readonly count: number } | null;
}

function fmtOutcome(o: readonly number[]): string {
  return o.join(', ');
}

/**
 * Run one litmus test on real worker threads, in a buffer of its own. The calling thread is
 * attached to that buffer while the test runs and re-attached to its own buffer (if it had one)
 * afterwards, with that buffer's layout and bug mask.
 */
export async function runLitmus(test: LitmusTest, opts: LitmusOptions = {}): Promise<LitmusResult> {
  const before = words();
  const beforeTask = current_id();
  try {
    return await runInOwnArena(test, opts);
  } finally {
    if (before.buffer instanceof SharedArrayBuffer && before.length > 0) {
      attachArena(before.buffer);
      if (beforeTask >= 0) task_attach(beforeTask);
    }
  }
}

async function runInOwnArena(test: LitmusTest, opts: LitmusOptions): Promise<LitmusResult> {
  const iterations = opts.iterations ?? test.iterations;
  if (!Number.isInteger(iterations) || iterations < 1) {
    throw new RangeError(`iterations ${iterations}: allowed a whole number >= 1`);
  }
  const per = Math.min(test.instances, iterations);
  const maxRounds = Math.ceil(iterations / per);
  const nA = test.actors.length;
  const stride = test.words;
  const words = per * (stride + test.results + 1) + 8 * LINE_WORDS;
  const sizeMiB = opts.sizeMiB ?? Math.max(8, Math.ceil((words * 4 * 2) / (1 << 20)) + 4);
  const arena = createArena({
    sizeMiB,
    maxTasks: nA + 1,
    padding: false,
    bugs: bug_mask(test.bugs),
  });
  task_attach(0);
  const ctl = arena_alloc(LITMUS_CTL.SIZE, LINE_WORDS, 'litmus control');
  const base = arena_alloc(per * stride, LINE_WORDS, 'litmus instances');
  const res = arena_alloc(per * test.results, LINE_WORDS, 'litmus results');
  const sync =
    (opts.sync ?? test.sync ?? true) === false
      ? 0
      : arena_alloc(per, LINE_WORDS, 'litmus instance sync');
  for (let i = 0; i < per; i++) {
    const s = base + i * stride;
    const r = res + i * test.results;
    test.prepare?.(s, r);
    test.init?.(s, r);
  }
  atomic_set(ctl + LITMUS_CTL.go, 1);

  const actorModule = compiledModule('src/harness/litmus/actor');
  const module = workerModule(test.module);
  const t0 = performance.now();
  const tasks = test.actors.map((_, k) => {
    const args: ActorArgs = {
      module,
      name: test.name,
      actor: k,
      ctl,
      base,
      stride,
      res,
      instances: per,
      maxRounds,
      timeMs: opts.timeMs ?? 0,
      sync,
      stopOnFirst: opts.stopOnFirst === true,
    };
    return { fn: 'runLitmusActor', args, taskId: k + 1 };
  });
  // runThreads: one worker per actor behind a start barrier; the first failure aborts the
  // rest, and a run past the watchdog is aborted with every actor's last events.
  const results = (await runThreads({
    sab: arena.sab,
    module: actorModule,
    tasks,
    timeoutMs: opts.watchdogMs ?? 120_000,
  })) as ActorResult[];
  return summarise(test, results, per, performance.now() - t0);
}

function summarise(
  test: LitmusTest,
  results: readonly ActorResult[],
  per: number,
  elapsedMs: number,
): LitmusResult {
  const counts = new Map<string, { o: readonly number[]; n: number }>();
  for (const r of results) {
    for (const [o, n] of r.histogram) {
      const k = fmtOutcome(o);
      const e = counts.get(k);
      if (e === undefined) counts.set(k, { o, n });
      else e.n += n;
    }
  }
  const rows: LitmusRow[] = [...counts.entries()]
    .map(([outcome, { o, n }]) => ({ outcome, count: n, ...classify(test, o) }))
    .sort((a, b) => b.count - a.count || a.outcome.localeCompare(b.outcome));
  // Outcomes the table names exactly but that never showed up, as jcstress lists them: count 0.
  for (const o of test.outcomes) {
    const id = o.id
      .split(',')
      .map((f) => f.trim())
      .join(', ');
    if (!id.includes('*') && !counts.has(id)) {
      rows.push({ outcome: id, count: 0, expect: o.expect, desc: o.desc });
    }
  }
  const rounds = results[0]?.rounds ?? 0;
  const iterations = rows.reduce((s, r) => s + r.count, 0);
  const forbidden = rows.filter((r) => r.expect === 'FORBIDDEN').reduce((s, r) => s + r.count, 0);
  const interesting = rows
    .filter((r) => r.expect === 'ACCEPTABLE_INTERESTING')
    .reduce((s, r) => s + r.count, 0);
  const broken = test.bugs.length > 0;
  const passed = broken ? forbidden > 0 : forbidden === 0;
  const verdict = broken
    ? passed
      ? `the broken variant (${test.bugs.join(', ')}) showed its FORBIDDEN outcome ${forbidden} times in ${iterations}`
      : `the broken variant (${test.bugs.join(', ')}) never showed its FORBIDDEN outcome in ${iterations} iterations`
    : passed
      ? `no FORBIDDEN outcome in ${iterations} iterations`
      : `FORBIDDEN outcome seen ${forbidden} times in ${iterations}`;
  const hoped =
    test.hopeToSee === undefined
      ? null
      : {
          outcome: test.hopeToSee,
          count: rows.find((r) => r.outcome === test.hopeToSee)?.count ?? 0,
        };
  return {
    name: test.name,
    description: test.description,
    bugs: [...test.bugs],
    actors: test.actors.length,
    iterations,
    rounds,
    instancesPerRound: per,
    elapsedMs,
    rows,
    forbidden,
    interesting,
    passed,
    verdict,
    hoped,
  };
}
