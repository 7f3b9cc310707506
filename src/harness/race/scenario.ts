// The types of a controlled scenario and of a race script: the public shape a user writes
// (the package's testing API re-exports this module). One file per script, whose default
// export is a RaceScript; the same module runs in the main thread (set-up, check) and in each
// task's worker thread (its body), so everything a body needs travels in `env`.

import type { BugName } from '../../sched/bugs.js';
import type { WorldConfig } from '../../workload/world.js';

/** What set-up hands to every task: shared pointers (word indexes) and plain values. */
export type ScenarioEnv = Readonly<Record<string, number | boolean | string | readonly number[]>>;

/** One task of a scenario: a name for the timeline's column and a synchronous body. */
export interface ScenarioTask {
  readonly name: string;
  /** Runs in its own worker thread; returns an integer the check may read (or nothing). */
  run(env: ScenarioEnv): number | undefined;
}

/** How an execution ended, as the check sees it. */
export type ExecOutcome =
  | 'done'
  | 'deadlock'
  | 'step-limit'
  | 'diverged'
  | 'script-stuck'
  /** explore's sleep sets ended it: an explored execution is equivalent (never judged) */
  | 'pruned';

/** One task's end in an execution. */
export interface TaskEnd {
  readonly name: string;
  /** 'done' returned, 'failed' threw, 'blocked' was blocked when the execution ended */
  readonly state: 'done' | 'failed' | 'blocked' | 'ready' | 'idle';
  /** the body's return value (0 if none) */
  readonly result: number;
  /** the error it threw: 'Name: message' */
  readonly error: string | null;
  /** the last label it passed, or null */
  readonly lastLabel: string | null;
  /** the index of the last decision that gave it a step (-1: none) */
  readonly lastStep: number;
}

/** A label a task passed: its name, and the decision after whose step the task reached it. */
export interface PassedLabel {
  /** the task's index in `tasks` */
  readonly task: number;
  readonly label: string;
  /** the index of that task's step just before the label (-1: before its first step) */
  readonly after: number;
  /** the index of its first step after the label (-1: none; the first after the label is an
   * operation's linearization point when the label stands right before the operation) */
  readonly next: number;
  /**
   * Whether the task passed the label alone: at the decision that let it on, it was the only
   * task that could take a step while another had not ended (each of those was blocked, or
   * spun for a write only this task could make). They could not move until it did, in any
   * schedule, so this does not hang on which task a schedule happens to run first.
   */
  readonly alone: boolean;
}

/** What the check is given. It also reads the shared memory directly (set-up's pointers). */
export interface ExecView {
  readonly outcome: ExecOutcome;
  readonly tasks: readonly TaskEnd[];
  readonly steps: number;
  readonly preemptions: number;
  /**
   * The labels every task passed, in the order they were reached: a check that argues about
   * the order of events ("a reader got in after the writer timed out") reads it here.
   */
  readonly labels: readonly PassedLabel[];
}

/** The verdict of one execution: ok says the correct outcome held. */
export interface Verdict {
  readonly ok: boolean;
  /** one line: what happened ("the waiter was woken", "deadlock: every task blocked") */
  readonly text: string;
}

/** A small world and a few tasks, whose interleavings the controlled scheduler chooses. */
export interface Scenario {
  /** the name users type (`faultline race NAME`, `faultline explore NAME`) */
  readonly name: string;
  /** one line: what the scenario is about */
  readonly summary: string;
  /**
   * The world: a mm world of this shape (a scheme and small slabs), or omitted for a bare
   * arena (primitives only: rcuwait, refcount, rwsem, SRCU).
   */
  readonly world?: Partial<WorldConfig>;
  /**
   * A scenario whose variants are two worlds rather than a bug switch (the broken variant is
   * an older design, e.g. the mmap_lock scheme against per-VMA locks): each variant's world.
   */
  readonly worlds?: { readonly fixed: Partial<WorldConfig>; readonly broken: Partial<WorldConfig> };
  /** The bug catalogue entries that make up the broken variant. */
  readonly bugs: readonly BugName[];
  /**
   * Main thread, once per run, after the world exists: allocate and initialise, return env.
   * `variant` is the variant the world is built for; a scenario whose variants differ in their
   * starting state rather than in code (seq-wrap) declares `worlds`, so that each variant gets
   * its own world and set-up (with one `world`, both variants share the fixed one's).
   */
  setup(variant?: 'fixed' | 'broken'): ScenarioEnv;
  /** 2 or 3 tasks (at most 4). */
  readonly tasks: readonly ScenarioTask[];
  /** Main thread, after each execution: judge the outcome from the memory and the view. */
  check(env: ScenarioEnv, exec: ExecView): Verdict;
  /**
   * Time under control. By default virtual time is one millisecond per decision. A scenario
   * whose outcome hangs on a timeout (the rwsem handoff's RWSEM_WAIT_TIMEOUT_MS) may name an
   * env entry holding a word of its own instead: the tasks' clock (sched_clock_ms) then reads
   * that word, in milliseconds, and time passes only where the scenario's tasks advance it.
   */
  readonly clock?: string;
  /** Names for shared words in the timeline (word index → 'vma.vm_refcnt'). */
  describe?(env: ScenarioEnv): Readonly<Record<number, string>>;
}

/** A step of a script: run the named task until it passes `until` ('block' | 'end': until it
 * cannot run, or its body returns). */
export type ScriptStep = readonly [task: string, until: string];

/** A race script: a scenario, the mailing-list thread it replays, and the schedule it argues. */
export interface RaceScript extends Scenario {
  /** the source: list, thread, author, year */
  readonly thread: string;
  /** the schedule, in labels */
  readonly schedule: readonly ScriptStep[];
  /** one line each: what the broken variant shows, and what the fix guarantees */
  readonly broken: string;
  readonly fixed: string;
}
