// `faultline explore`: search a scenario's interleavings under the controlled scheduler.
//
// DFS with iterative preemption bounding (CHESS, Musuvathi & Qadeer 2007): an execution is a
// sequence of decisions; a preemption is a decision that switches away from a task that could
// have run on (switching when the running task blocks, ends or spins in cpu_relax is free).
// Every schedule with at most K preemptions is run exactly once: each execution forces a prefix
// of choices, runs on non-preemptively, and for every later decision queues the prefix that
// takes each other enabled task there. Queued prefixes are kept in one bucket per preemption
// count and the buckets are emptied in increasing order, so the first failure found has the
// fewest preemptions any failure has (within the budget of executions).
//
// Pruning: a decision where the running task stands at a label (a named point, which takes no
// shared step) is not branched: switching there is the same as switching at its next step.
//
// Sleep sets (Godefroid 1996), restricted so that they stay sound under the preemption bound:
// at a decision where the running task t could run on and a switch away from it costs a
// preemption, the search first lets t run on; the branch that switches to u then carries t in
// its sleep set, and t may not be chosen there until a step dependent with t's pending step
// (src/sched/depend.ts) has run — any schedule that takes t's step earlier, with only
// independent steps before it, is equivalent to one in t's own branch. That one moves t's step
// to the front; it costs no more preemptions: the switch to u there costs the 1 saved at
// the switch back to t, and a switch that was free stays free (the dependency relation keeps
// blocking, waking, the virtual clock and spinners' fairness in place). Siblings that were
// themselves preemptions, or switches from a task that could not run on, are not put to sleep:
// moving their step to the front can cost a preemption more, so the equivalent schedule could
// lie beyond the bound. An execution whose every runnable task sleeps ends 'pruned' (not judged;
// an equivalent one was). `prune: false` turns this off (the test compares both).
//
// PCT (Burckhardt et al. 2010): random distinct task priorities, d-1 random change points; the
// highest-priority runnable task runs. A seed makes it repeatable. A PCT failure is then
// minimised: a DFS bounded one below its preemptions looks for one with fewer.

import { UsageError } from '../../errors.js';
import { SP_NAMED, SP_YIELD } from '../../sched/atomics.js';
import { step_info_dependent } from '../../sched/depend.js';
import type { ControlledRun, Execution, Program, SleepEntry, Step } from './engine.js';

export interface ExploreOptions {
  readonly strategy: 'dfs' | 'pct';
  /** DFS: the preemption bound K */
  readonly preemptions: number;
  /** DFS: executions judged (those the sleep sets end early are not counted); PCT: all */
  readonly maxExecutions: number;
  /** PCT: seed and depth d (d-1 change points) */
  readonly seed: number;
  readonly depth: number;
  /** the bug mask of the variant explored */
  readonly bugs: number;
  /** stop at the first failing execution (DFS: still one with the fewest preemptions) */
  readonly stopAtFailure?: boolean;
  /** DFS: sleep-set pruning (default on) */
  readonly prune?: boolean;
  /** called after each execution (progress; a test may keep the executions to replay them) */
  readonly onExecution?: (n: number, exec: Execution) => void;
}

export interface ExploreResult {
  readonly executions: number;
  /** DFS: every schedule within the bound was run */
  readonly exhausted: boolean;
  /** distinct outcomes (verdict text) with counts, most frequent first */
  readonly outcomes: ReadonlyArray<{
    readonly text: string;
    readonly ok: boolean;
    readonly count: number;
  }>;
  readonly failures: number;
  /** the first failing execution (DFS: with the fewest preemptions) */
  readonly firstFailure: Execution | null;
  readonly elapsedMs: number;
  /** the most steps one execution took */
  readonly maxSteps: number;
  /** PCT: executions the DFS that minimised the failure's preemptions ran (not counted above) */
  readonly minimiseExecutions: number;
  /** executions (counted above) the sleep sets ended early: not judged, not in outcomes */
  readonly pruned: number;
}

/** A queued branch: the forced prefix, and the sleep set at its end. */
interface Branch {
  readonly prefix: Uint8Array;
  readonly sleep: readonly SleepEntry[];
  /** how many of its preemptions come right after the preempted task passed a label */
  readonly atLabels: number;
}

function entry(task: number, s: Step): SleepEntry {
  return { task, kind: s.kind, what: s.what, lo: s.lo, hi: s.hi, flags: s.flags };
}

/**
 * The branches an execution opens: [branch, extra preemptions] per alternative at each decision
 * from `from` (the end of its prefix) on. With `prune`, each carries its sleep set: the one the
 * execution had there (replayed from `sleep`, the set it started with, as the tasks did) plus
 * the task that ran on, when the alternative is a preemption.
 */
function alternatives(
  exec: Execution,
  from: number,
  sleep: readonly SleepEntry[],
  prune: boolean,
  atLabels: number,
): Array<[Branch, number]> {
  const out: Array<[Branch, number]> = [];
  const choices = Uint8Array.from(exec.record, (s) => s.task);
  let asleep: SleepEntry[] = prune ? [...sleep] : [];
  for (let i = from; i < exec.record.length; i++) {
    const s = exec.record[i]!;
    if (i > 0 && asleep.length > 0) {
      const done = exec.record[i - 1]!;
      asleep = asleep.filter((z) => !step_info_dependent(z, done));
    }
    if (s.self >= 0 && s.selfRunnable && s.selfKind === SP_NAMED) continue;
    const preempts = s.self >= 0 && s.selfRunnable && s.selfKind !== SP_YIELD;
    for (let a = 0; a < 8; a++) {
      if (a === s.task || (s.enabled & (1 << a)) === 0) continue;
      if (asleep.some((z) => z.task === a)) continue;
      const cost = preempts && a !== s.self ? 1 : 0;
      const p = new Uint8Array(i + 1);
      p.set(choices.subarray(0, i));
      p[i] = a;
      const z = prune && cost === 1 && s.task === s.self ? [...asleep, entry(s.task, s)] : asleep;
      const prev = exec.record[i - 1];
      const atLabel = cost === 1 && prev?.task === s.self && prev.kind === SP_NAMED ? 1 : 0;
      out.push([{ prefix: p, sleep: z, atLabels: atLabels + atLabel }, cost]);
    }
  }
  return out;
}

/** A small seeded PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ROOT: Branch = { prefix: new Uint8Array(0), sleep: [], atLabels: 0 };

export async function explore(run: ControlledRun, opts: ExploreOptions): Promise<ExploreResult> {
  if (!Number.isInteger(opts.preemptions) || opts.preemptions < 0 || opts.preemptions > 10) {
    throw new UsageError(`--preemptions ${opts.preemptions}: allowed 0..10`);
  }
  if (!Number.isInteger(opts.maxExecutions) || opts.maxExecutions < 1) {
    throw new UsageError(`--max-executions ${opts.maxExecutions}: allowed 1 or more`);
  }
  const t0 = performance.now();
  const outcomes = new Map<string, { text: string; ok: boolean; count: number }>();
  let executions = 0;
  let failures = 0;
  let maxSteps = 0;
  let firstFailure: Execution | null = null;
  let pruned = 0;
  const note = (e: Execution): void => {
    executions++;
    if (e.outcome === 'pruned') {
      pruned++;
      opts.onExecution?.(executions, e);
      return;
    }
    maxSteps = Math.max(maxSteps, e.steps);
    const key = `${e.verdict.ok ? 'ok' : 'FAIL'} ${e.verdict.text}`;
    const o = outcomes.get(key);
    if (o === undefined) outcomes.set(key, { text: e.verdict.text, ok: e.verdict.ok, count: 1 });
    else o.count++;
    if (!e.verdict.ok) {
      failures++;
      if (firstFailure === null) firstFailure = e;
    }
    opts.onExecution?.(executions, e);
  };
  let exhausted = false;
  let minimisedWith = 0;
  if (opts.strategy === 'dfs') {
    const K = opts.preemptions;
    // One bucket per preemption count, emptied in increasing order, so the first failure has
    // the fewest preemptions. Within a bucket, branches whose preemptions sit right after a
    // label (the race windows the kernel code marks) run first, most such first; that only
    // orders the bucket, whose every branch still runs. Each sub-queue is FIFO: the earliest
    // parent and the earliest branch point first (breadth first), which reaches a bug that
    // needs an early preemption long before a depth-first order would.
    const prune = opts.prune !== false;
    const buckets: Branch[][][] = Array.from({ length: K + 1 }, () =>
      Array.from({ length: K + 1 }, () => []),
    );
    const heads: number[][] = Array.from({ length: K + 1 }, () => new Array(K + 1).fill(0));
    buckets[0]![0]!.push(ROOT);
    let stopped = false;
    for (let k = 0; k <= K && !stopped; k++) {
      const subs = buckets[k]!;
      const hk = heads[k]!;
      for (;;) {
        let l = K;
        while (l >= 0 && hk[l]! >= subs[l]!.length) l--;
        if (l < 0) break;
        // The budget counts judged executions: a pruned one stops right after its prefix, and
        // an equivalent of it is judged elsewhere in the search.
        if (executions - pruned >= opts.maxExecutions) {
          stopped = true;
          break;
        }
        const q = subs[l]!;
        const b = q[hk[l]!]!;
        q[hk[l]!++] = ROOT; // the queue keeps only what is still to run
        const e = await run.run(opts.bugs, { mode: 'default', prefix: b.prefix, sleep: b.sleep });
        note(e);
        if (e.outcome === 'diverged') continue; // cannot happen with a deterministic scenario
        for (const [p, cost] of alternatives(e, b.prefix.length, b.sleep, prune, b.atLabels)) {
          if (k + cost <= K) buckets[k + cost]![Math.min(p.atLabels, K)]!.push(p);
        }
        if (opts.stopAtFailure === true && firstFailure !== null) return result(false);
      }
      if (!stopped) for (const q of subs) q.length = 0;
    }
    exhausted = !stopped && buckets.every((b) => b.every((q) => q.length === 0));
  } else {
    const rand = prng(opts.seed);
    const nr = run.nrTasks;
    const d = Math.max(1, opts.depth);
    // Estimate the length of an execution from a non-preemptive one.
    const probe = await run.run(opts.bugs, { mode: 'default' });
    note(probe);
    const len = Math.max(2, probe.steps);
    while (executions < opts.maxExecutions) {
      const prio = Array.from({ length: nr }, (_, i) => d + i);
      for (let i = nr - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [prio[i], prio[j]] = [prio[j]!, prio[i]!];
      }
      const changes = Array.from({ length: d - 1 }, () => 1 + Math.floor(rand() * len)).sort(
        (a, b) => a - b,
      );
      const program: Program = { mode: 'pct', priorities: prio, changes };
      note(await run.run(opts.bugs, program));
    }
    // Minimise: a PCT failure with p preemptions; is there one with fewer? DFS up to p-1,
    // stopping at the first failure (which then has the fewest), within the same budget.
    const found = firstFailure as Execution | null;
    if (found !== null && found.preemptions > 0) {
      const fewer = await explore(run, {
        ...opts,
        strategy: 'dfs',
        preemptions: Math.min(found.preemptions - 1, 10),
        stopAtFailure: true,
      });
      if (fewer.firstFailure !== null) firstFailure = fewer.firstFailure;
      minimisedWith = fewer.executions;
    }
  }
  return result(exhausted);

  function result(exhaustedSearch: boolean): ExploreResult {
    return {
      executions,
      exhausted: exhaustedSearch,
      outcomes: [...outcomes.values()].sort((a, b) => b.count - a.count),
      failures,
      firstFailure,
      elapsedMs: performance.now() - t0,
      maxSteps,
      minimiseExecutions: minimisedWith,
      pruned,
    };
  }
}
