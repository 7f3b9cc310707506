// Runs a scenario under the controlled scheduler (src/sched/control.ts), on real threads: one
// worker thread per task, kept for the whole run, and as many executions as the caller asks.
//
// Each execution starts from the same memory: the world is set up once, the used part of the
// buffer is copied, and before every execution it is copied back (the CTL block excepted: the
// workers wait on its generation word). The tasks then decide among themselves who steps next;
// this thread only starts an execution, waits for the workers to finish it, reads the record
// and runs the scenario's check.

import { Worker } from 'node:worker_threads';
import { HarnessAbort, UsageError } from '../../errors.js';
import {
  atomic_notify,
  ctl_load,
  ctl_store,
  ctl_wait,
  SP_NAMED,
  words,
} from '../../sched/atomics.js';
import { bug_mask, set_injected_bugs } from '../../sched/bugs.js';
import {
  REC_SELF_RUNNABLE,
  rec_enabled_tasks,
  rec_self,
  rec_self_kind,
} from '../../sched/control.js';
import { DEP_FLAGS, type StepInfo } from '../../sched/depend.js';
import { known_labels, label_name } from '../../sched/labels.js';
import { task_attach } from '../../sched/task.js';
import { arena_alloc, createArena, set_root } from '../../shm/arena.js';
import {
  CTL,
  CTL_MAX_PCT_CHANGES,
  CTL_MAX_SEGMENTS,
  CTL_MAX_STEPS,
  CTL_MAX_TASKS,
  CTL_MODE_DEFAULT,
  CTL_MODE_PCT,
  CTL_MODE_SCRIPT,
  CTL_OUT_DEADLOCK,
  CTL_OUT_DIVERGED,
  CTL_OUT_DONE,
  CTL_OUT_PRUNED,
  CTL_OUT_RUNNING,
  CTL_OUT_SCRIPT,
  CTL_OUT_STEP_LIMIT,
  CTL_SEG_WORDS,
  CTL_SLEEP_WORDS,
  CTL_ST_BLOCKED,
  CTL_ST_DONE,
  CTL_ST_FAILED,
  CTL_ST_IDLE,
  CTL_ST_READY,
  CTL_TASK,
  HEADER,
  LINE_WORDS,
  ROOT,
} from '../../shm/layout/index.js';
import { world_create } from '../../workload/world.js';
import { workerModule } from '../paths.js';
import type {
  ExecOutcome,
  ExecView,
  PassedLabel,
  Scenario,
  ScenarioEnv,
  TaskEnd,
  Verdict,
} from './scenario.js';
import { encodeSchedule } from './schedule.js';

/** How the next task is chosen after the forced prefix. */
export type Program =
  | {
      readonly mode: 'default';
      readonly prefix?: ArrayLike<number>;
      /** explore's sleep set at the end of the prefix: these tasks' steps may not be taken */
      readonly sleep?: readonly SleepEntry[];
    }
  | {
      readonly mode: 'script';
      readonly prefix?: ArrayLike<number>;
      /** [ctl index, label id (0: until it blocks or ends)] */
      readonly segments: ReadonlyArray<readonly [number, number]>;
    }
  | {
      readonly mode: 'pct';
      readonly prefix?: ArrayLike<number>;
      /** one priority per task, all ≥ changes.length */
      readonly priorities: readonly number[];
      /** steps at which the running task's priority drops */
      readonly changes: readonly number[];
    };

/** A task in a sleep set, with the step it is stopped at (as an explored execution took it). */
export interface SleepEntry extends StepInfo {
  readonly task: number;
}

/** One decision of an execution. */
export interface Step {
  /** the ctl index that took the step */
  readonly task: number;
  /** SP_* kind and word (or label id) */
  readonly kind: number;
  readonly what: number;
  /** bit i: ctl index i could have taken it instead (yield fairness applied) */
  readonly enabled: number;
  /** the task that held the turn when the choice was made (-1 at the start) */
  readonly self: number;
  /** whether that task could have run on (a switch away from it is a preemption) */
  readonly selfRunnable: boolean;
  /** that task's own next step kind (SP_*), or REC_SELF_ENDED */
  readonly selfKind: number;
  /** the words the step touched with plain accesses (hi < lo: none), and its DEP_* flags */
  readonly lo: number;
  readonly hi: number;
  readonly flags: number;
}

export interface Execution extends ExecView {
  readonly record: readonly Step[];
  /** the choices, as a replayable string */
  readonly schedule: string;
  readonly verdict: Verdict;
  /** the step at which a deadlock, divergence or stuck script was decided */
  readonly outcomeStep: number;
}

const OUTCOMES: Record<number, ExecOutcome> = {
  [CTL_OUT_DONE]: 'done',
  [CTL_OUT_DEADLOCK]: 'deadlock',
  [CTL_OUT_STEP_LIMIT]: 'step-limit',
  [CTL_OUT_DIVERGED]: 'diverged',
  [CTL_OUT_SCRIPT]: 'script-stuck',
  [CTL_OUT_PRUNED]: 'pruned',
};

/** One execution may not take longer than this (real time): a hang becomes an error. */
const EXEC_BOUND_MS = 20_000;

interface WorkerError {
  readonly gen: number;
  readonly index: number;
  readonly error: string;
}

/** A scenario loaded, its world built, its task threads started. */
export class ControlledRun {
  private gen = 0;
  private readonly errors = new Map<string, string>();
  private readonly waiters = new Map<string, () => void>();
  private closed = false;
  private readonly counts = { executions: 0, genWakes: 0, harnessWakes: 0 };

  private constructor(
    readonly scenario: Scenario,
    readonly env: ScenarioEnv,
    private readonly ctl: number,
    private readonly snapshot: Int32Array,
    private readonly snapBump: number,
    private readonly workers: readonly Worker[],
    private readonly labels: ReadonlyMap<string, number>,
  ) {
    for (const w of workers) {
      w.on('message', (m: WorkerError) => {
        const key = `${m.gen}:${m.index}`;
        this.errors.set(key, m.error);
        this.waiters.get(key)?.();
      });
    }
  }

  /**
   * Build the world, run set-up, start one worker per task. `module` is the compiled module
   * (file URL) whose default export is the scenario, so that the workers load the same code.
   */
  static async open(
    scenario: Scenario,
    module: string,
    variant: 'fixed' | 'broken' = 'fixed',
  ): Promise<ControlledRun> {
    const nr = scenario.tasks.length;
    if (nr < 1 || nr > CTL_MAX_TASKS) {
      throw new UsageError(`scenario ${scenario.name}: ${nr} tasks; allowed 1..${CTL_MAX_TASKS}`);
    }
    bug_mask(scenario.bugs); // names checked here, once
    let sab: SharedArrayBuffer;
    const world = scenario.worlds?.[variant] ?? scenario.world;
    if (world !== undefined) {
      sab = world_create({ maxMms: 4, maxVmas: 64, frames: 64, ...world, maxTasks: nr + 2 }).sab;
    } else {
      sab = createArena({ sizeMiB: 2, maxTasks: nr + 2 }).sab;
      task_attach(0);
    }
    const env = scenario.setup(variant);
    if (scenario.clock !== undefined && typeof env[scenario.clock] !== 'number') {
      throw new UsageError(
        `scenario ${scenario.name}: clock '${scenario.clock}' is not a word set-up returned; allowed: the name of an env entry holding a word index`,
      );
    }
    const ctl = arena_alloc(CTL.SIZE, LINE_WORDS, 'controlled scheduler');
    set_root(ROOT.CTL, ctl);
    ctl_store(ctl + CTL.nr_tasks, nr);
    ctl_store(ctl + CTL.first_task, 1);
    ctl_store(ctl + CTL.turn, -1);
    const M = words();
    const snapBump = ctl_load(HEADER.bump);
    const snapshot = M.slice(0, snapBump);
    const labels = new Map<string, number>();
    for (const [name, id] of known_labels()) labels.set(name, id);
    const workerFile = new URL(workerModule('controlled'));
    const workers: Worker[] = [];
    const ready: Promise<void>[] = [];
    for (let i = 0; i < nr; i++) {
      const w = new Worker(workerFile, {
        workerData: { sab, ctl, index: i, taskId: 1 + i, module, world: world !== undefined, env },
      });
      workers.push(w);
      ready.push(
        new Promise<void>((res, rej) => {
          const onMsg = (m: unknown): void => {
            if (m === 'ready') {
              w.off('message', onMsg);
              res();
            }
          };
          w.on('message', onMsg);
          w.once('error', rej);
          w.once('exit', (code) =>
            rej(new Error(`task worker ${i} exited (${code}) before it was ready`)),
          );
        }),
      );
    }
    try {
      await Promise.all(ready);
    } catch (e) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw e;
    }
    for (const w of workers) w.removeAllListeners('exit');
    const run = new ControlledRun(scenario, env, ctl, snapshot, snapBump, workers, labels);
    // Warm-up: the first call of a path may fill a thread's lookup caches (a root pointer, a
    // slab's view), loads that later executions skip. One discarded execution of each variant
    // makes every execution the caller sees take the same steps for the same choices.
    await run.run(0, { mode: 'default' });
    await run.run(bug_mask(scenario.bugs), { mode: 'default' });
    return run;
  }

  /** The id of a label a script names; throws a UsageError listing the known ones if unknown. */
  label(name: string): number {
    const id = this.labels.get(name);
    if (id === undefined) {
      throw new UsageError(
        `unknown label '${name}': allowed ${[...this.labels.keys()].join(', ') || '(none declared)'}`,
      );
    }
    return id;
  }

  get nrTasks(): number {
    return this.scenario.tasks.length;
  }

  /** Run one execution of the variant (bug mask) with the program; returns its record. */
  async run(bugs: number, program: Program): Promise<Execution> {
    if (this.closed) throw new Error('run after close');
    const M = words();
    const ctl = this.ctl;
    const nr = this.nrTasks;
    // The memory as set-up left it (the CTL block excepted), and fresh words above it.
    M.set(this.snapshot.subarray(0, ctl), 0);
    M.set(this.snapshot.subarray(ctl + CTL.SIZE), ctl + CTL.SIZE);
    const bump = ctl_load(HEADER.bump);
    if (bump > this.snapBump) M.fill(0, this.snapBump, Math.min(bump, M.length));
    ctl_store(HEADER.bump, this.snapBump);
    ctl_store(HEADER.bugs, bugs);
    ctl_store(HEADER.abort, 0);
    set_injected_bugs(bugs);
    // The program.
    ctl_store(ctl + CTL.outcome, CTL_OUT_RUNNING);
    ctl_store(ctl + CTL.outcome_step, 0);
    ctl_store(ctl + CTL.turn, -1);
    ctl_store(ctl + CTL.steps, 0);
    ctl_store(ctl + CTL.preemptions, 0);
    ctl_store(ctl + CTL.arrived, 0);
    ctl_store(ctl + CTL.finished, 0);
    ctl_store(ctl + CTL.segment, 0);
    ctl_store(ctl + CTL.nr_segments, 0);
    ctl_store(ctl + CTL.nr_pct_changes, 0);
    const prefix: ArrayLike<number> = program.prefix ?? [];
    if (prefix.length > CTL_MAX_STEPS)
      throw new UsageError(`schedule of ${prefix.length} steps: at most ${CTL_MAX_STEPS}`);
    ctl_store(ctl + CTL.prefix_len, prefix.length);
    M.set(prefix, ctl + CTL.prefix);
    let sleepMask = 0;
    if (program.mode === 'default' && program.sleep !== undefined && prefix.length > 0) {
      for (const z of program.sleep) {
        const q = ctl + CTL.sleep_steps + z.task * CTL_SLEEP_WORDS;
        M[q] = z.kind;
        M[q + 1] = z.what;
        M[q + 2] = z.lo;
        M[q + 3] = z.hi;
        M[q + 4] = z.flags;
        sleepMask |= 1 << z.task;
      }
    }
    ctl_store(ctl + CTL.sleep_mask, sleepMask);
    for (let i = 0; i < nr; i++) {
      const s = ctl + CTL.tasks + i * CTL_TASK.SIZE;
      M.fill(0, s, s + CTL_TASK.SIZE);
      ctl_store(s + CTL_TASK.status, CTL_ST_IDLE);
    }
    if (program.mode === 'script') {
      if (program.segments.length > CTL_MAX_SEGMENTS) {
        throw new UsageError(
          `script of ${program.segments.length} steps: at most ${CTL_MAX_SEGMENTS}`,
        );
      }
      ctl_store(ctl + CTL.mode, CTL_MODE_SCRIPT);
      program.segments.forEach(([t, l], k) => {
        ctl_store(ctl + CTL.segments + k * CTL_SEG_WORDS, t);
        ctl_store(ctl + CTL.segments + k * CTL_SEG_WORDS + 1, l);
      });
      ctl_store(ctl + CTL.nr_segments, program.segments.length);
    } else if (program.mode === 'pct') {
      ctl_store(ctl + CTL.mode, CTL_MODE_PCT);
      const n = Math.min(program.changes.length, CTL_MAX_PCT_CHANGES);
      for (let k = 0; k < n; k++) ctl_store(ctl + CTL.pct_changes + k, program.changes[k]!);
      ctl_store(ctl + CTL.nr_pct_changes, n);
      for (let i = 0; i < nr; i++) {
        ctl_store(ctl + CTL.tasks + i * CTL_TASK.SIZE + CTL_TASK.prio, program.priorities[i] ?? 0);
      }
    } else {
      ctl_store(ctl + CTL.mode, CTL_MODE_DEFAULT);
    }
    // Go: RELEASE, pairs with the workers' load of the generation.
    const gen = ++this.gen;
    ctl_store(ctl + CTL.generation, gen);
    this.counts.executions++;
    if (ctl_load(ctl + CTL.gen_sleepers) !== 0) {
      this.counts.genWakes++;
      atomic_notify(ctl + CTL.generation, Number.POSITIVE_INFINITY);
    }
    const end = Date.now() + EXEC_BOUND_MS;
    // No spin: the two cores belong to the task threads while they run (a spinning harness
    // would take one from the task that holds the turn or from the one that spins for it).
    for (;;) {
      const f = ctl_load(ctl + CTL.finished);
      if (f >= nr) break;
      if (Date.now() > end) {
        ctl_store(HEADER.abort, 1);
        atomic_notify(ctl + CTL.turn, Number.POSITIVE_INFINITY);
        await this.close();
        throw new HarnessAbort(
          `scenario ${this.scenario.name}: an execution took more than ${EXEC_BOUND_MS} ms; the task threads were stopped`,
        );
      }
      // Sleep, flagged, so that the last worker to finish notifies (workers/controlled.ts).
      ctl_store(ctl + CTL.harness_sleeping, 1);
      if (ctl_wait(ctl + CTL.finished, f, 5) === 'ok') this.counts.harnessWakes++;
      ctl_store(ctl + CTL.harness_sleeping, 0);
    }
    return this.collect(gen);
  }

  private async collect(gen: number): Promise<Execution> {
    const ctl = this.ctl;
    const nr = this.nrTasks;
    const steps = ctl_load(ctl + CTL.steps);
    const record: Step[] = [];
    const choices: number[] = [];
    for (let i = 0; i < steps; i++) {
      const rec = ctl_load(ctl + CTL.rec_enabled + i);
      const task = ctl_load(ctl + CTL.rec_task + i);
      choices.push(task);
      record.push({
        task,
        kind: ctl_load(ctl + CTL.rec_kind + i),
        what: ctl_load(ctl + CTL.rec_what + i),
        enabled: rec_enabled_tasks(rec),
        self: rec_self(rec),
        selfRunnable: (rec & REC_SELF_RUNNABLE) !== 0,
        selfKind: rec_self_kind(rec),
        lo: ctl_load(ctl + CTL.rec_lo + i),
        hi: ctl_load(ctl + CTL.rec_hi + i),
        flags: rec & DEP_FLAGS,
      });
    }
    const tasks: TaskEnd[] = [];
    for (let i = 0; i < nr; i++) {
      const s = ctl + CTL.tasks + i * CTL_TASK.SIZE;
      const st = ctl_load(s + CTL_TASK.status);
      let error: string | null = null;
      if (st === CTL_ST_FAILED) {
        const key = `${gen}:${i}`;
        if (!this.errors.has(key)) {
          await new Promise<void>((res) => {
            this.waiters.set(key, res);
            setTimeout(res, 2000).unref();
          });
          this.waiters.delete(key);
        }
        error = this.errors.get(key) ?? 'an error (its message was lost)';
        this.errors.delete(key);
      }
      const lab = ctl_load(s + CTL_TASK.label);
      tasks.push({
        name: this.scenario.tasks[i]!.name,
        state:
          st === CTL_ST_DONE
            ? 'done'
            : st === CTL_ST_FAILED
              ? 'failed'
              : st === CTL_ST_BLOCKED
                ? 'blocked'
                : st === CTL_ST_READY
                  ? 'ready'
                  : 'idle',
        result: ctl_load(s + CTL_TASK.result),
        error,
        lastLabel: lab === 0 ? null : label_name(lab),
        lastStep: choices.lastIndexOf(i),
      });
    }
    // A label is recorded when its task is next chosen, but reached right after its last step.
    const labels: PassedLabel[] = [];
    const lastOf = new Array<number>(nr).fill(-1);
    const nextOf = new Array<number>(nr).fill(-1);
    const nexts: number[] = [];
    for (let i = record.length - 1; i >= 0; i--) {
      const st = record[i]!;
      nexts[i] = nextOf[st.task]!;
      if (st.kind !== SP_NAMED) nextOf[st.task] = i;
    }
    // A task has ended by decision i if it returned or threw during a step before i.
    const ended = (t: number, i: number): boolean =>
      (tasks[t]!.state === 'done' || tasks[t]!.state === 'failed') && tasks[t]!.lastStep < i;
    record.forEach((st, i) => {
      if (st.kind === SP_NAMED) {
        const label = label_name(st.what) ?? `label ${st.what}`;
        let alone = st.enabled === 1 << st.task;
        if (alone) {
          alone = false;
          for (let t = 0; t < nr; t++) if (t !== st.task && !ended(t, i)) alone = true;
        }
        labels.push({ task: st.task, label, after: lastOf[st.task]!, next: nexts[i]!, alone });
      }
      lastOf[st.task] = i;
    });
    labels.sort((a, b) => a.after - b.after);
    const view: ExecView = {
      outcome: OUTCOMES[ctl_load(ctl + CTL.outcome)] ?? 'done',
      tasks,
      steps,
      preemptions: ctl_load(ctl + CTL.preemptions),
      labels,
    };
    const verdict: Verdict =
      view.outcome === 'pruned'
        ? { ok: true, text: 'pruned: every runnable task was in the sleep set' }
        : view.outcome === 'diverged'
          ? {
              ok: false,
              text: `the schedule diverged at step ${ctl_load(ctl + CTL.outcome_step) + 1}: the task it names cannot run there`,
            }
          : this.scenario.check(this.env, view);
    return {
      ...view,
      record,
      schedule: encodeSchedule(choices),
      verdict,
      outcomeStep: ctl_load(ctl + CTL.outcome_step),
    };
  }

  /**
   * What the hand-offs of every execution so far cost: how many switches of the turn there
   * were and how many found the next task asleep (a futex wake-up), how many starts found a
   * task asleep on the generation, and how many ends had to wake the harness.
   */
  handoffStats(): HandoffStats {
    return {
      ...this.counts,
      handoffs: ctl_load(this.ctl + CTL.handoffs),
      handoffsSlept: ctl_load(this.ctl + CTL.handoffs_slept),
    };
  }

  /** Stop the task threads. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    ctl_store(this.ctl + CTL.generation, -1);
    atomic_notify(this.ctl + CTL.generation, Number.POSITIVE_INFINITY);
    await Promise.all(
      this.workers.map(
        (w) =>
          new Promise<void>((res) => {
            const t = setTimeout(() => {
              void w.terminate().then(() => res());
            }, 2000);
            w.once('exit', () => {
              clearTimeout(t);
              res();
            });
          }),
      ),
    );
  }
}

export interface HandoffStats {
  readonly executions: number;
  readonly handoffs: number;
  readonly handoffsSlept: number;
  readonly genWakes: number;
  readonly harnessWakes: number;
}

/** The bug mask of a variant of the scenario. */
export function variantMask(scenario: Scenario, variant: 'fixed' | 'broken'): number {
  return variant === 'fixed' ? 0 : bug_mask(scenario.bugs);
}
