// Layout of the controlled scheduler's block (src/sched/control.ts): the words through which
// the tasks of a controlled run hand the next shared-memory step to one another, the program
// that decides who goes next (a forced prefix, a labelled script, PCT priorities), and the
// record of what happened (one entry per decision), which the harness reads back.
//
// One block per world, allocated from the arena by ctl_create() and published at ROOT.CTL.
// Task slots are indexed 0..nr_tasks-1 (the "ctl index", T1.. in timelines); ctl index i runs
// as task id first_task + i.

import { defineStruct } from './struct.js';

/** Tasks a controlled run may have. */
export const CTL_MAX_TASKS = 4;
/** Decisions one execution may record; more ends it with CTL_OUT_STEP_LIMIT. */
export const CTL_MAX_STEPS = 16384;
/** Segments in a labelled script. */
export const CTL_MAX_SEGMENTS = 64;
/** PCT priority change points. */
export const CTL_MAX_PCT_CHANGES = 8;

/** Words per task slot. */
export const CTL_TASK = defineStruct('ctl_task', {
  /** CTL_ST_*: where the task stands */
  status: 1,
  /** while CTL_ST_BLOCKED: the word it sleeps on and the value it sleeps while the word holds */
  wait_word: 1,
  wait_value: 1,
  /** the kind (SP_*) and word (or label id) of the step it is about to take */
  kind: 1,
  what: 1,
  /** the last named label it passed (0 none): "run T1 until label X" stops here */
  label: 1,
  /** its body's return value (an integer), once CTL_ST_DONE */
  result: 1,
  /** PCT: the task's priority (higher runs first) */
  prio: 1,
  /** steps taken since the last time another task took one (yield fairness) */
  yielded: 1,
});

/**
 * CTL_TASK.status values:
 *   IDLE     not started in this execution
 *   READY    stopped at a schedule point, waiting for the turn
 *   RUNNING  holds the turn (exactly one task at a time)
 *   BLOCKED  parked / in a bounded sleep: runnable only when its word changes or a kill arrives
 *   DONE     its body returned
 *   FAILED   its body threw (the error travels to the harness separately)
 */
export const CTL_ST_IDLE = 0;
export const CTL_ST_READY = 1;
export const CTL_ST_RUNNING = 2;
export const CTL_ST_BLOCKED = 3;
export const CTL_ST_DONE = 4;
export const CTL_ST_FAILED = 5;

/** CTL.mode: how the next task is chosen once the forced prefix is used up. */
export const CTL_MODE_DEFAULT = 0; // keep running the current task; on block/finish, the next
export const CTL_MODE_SCRIPT = 1; // follow the labelled segments, then as DEFAULT
export const CTL_MODE_PCT = 2; // highest priority first; priorities drop at change points

/** CTL.outcome: how an execution ended. */
export const CTL_OUT_RUNNING = 0;
export const CTL_OUT_DONE = 1; // every task returned or threw
export const CTL_OUT_DEADLOCK = 2; // tasks remain and every one of them is blocked
export const CTL_OUT_STEP_LIMIT = 3; // CTL_MAX_STEPS decisions (a livelock, or too big)
export const CTL_OUT_DIVERGED = 4; // a forced choice named a task that could not run
export const CTL_OUT_SCRIPT = 5; // a script segment's task could not run (blocked or done)
export const CTL_OUT_PRUNED = 6; // every runnable task was in the sleep set (explore's pruning)

/** Words per sleep-set entry: kind, what, lo, hi, flags. */
export const CTL_SLEEP_WORDS = 5;

/** A script segment: run `task` until it passes `label` (or, with label 0, until it blocks or ends). */
export const CTL_SEG_WORDS = 2;

export const CTL = defineStruct('sched_ctl', {
  /** the ctl index allowed to take the next step; -1 before the start and after the end */
  turn: { words: 1, hot: true },
  /** bumped by the harness for each execution; workers wait on it for the next one */
  generation: { words: 1, hot: true },
  /** workers that finished the current execution; the harness waits on it */
  finished: { words: 1, hot: true },
  /** tasks that reached their first schedule point (or ended before one); the last decides */
  arrived: 1,
  /** tasks sleeping in Atomics.wait on `turn`: a hand-off notifies only when non-zero */
  sleepers: 1,
  /** workers sleeping on `generation`: the harness notifies only when non-zero */
  gen_sleepers: 1,
  /** 1 while the harness sleeps on `finished`: the last worker notifies only then */
  harness_sleeping: 1,
  /**
   * Hand-offs between tasks, counted over the whole run (never reset by the harness): every
   * switch of the turn, and those that found the next task asleep on `turn` (a notify and a
   * futex wake-up instead of a spinner's next load). The bench reports the ratio.
   */
  handoffs: 1,
  handoffs_slept: 1,
  /** CTL_OUT_* */
  outcome: 1,
  /** the step at which the outcome was decided (CTL_OUT_DIVERGED/SCRIPT: the bad step) */
  outcome_step: 1,
  nr_tasks: 1,
  first_task: 1,
  /** CTL_MODE_* */
  mode: 1,
  /** decisions taken so far in this execution */
  steps: 1,
  /** preemptions so far: switches away from a task that could have run on */
  preemptions: 1,
  /** forced choices: the first prefix_len decisions take prefix[i] */
  prefix_len: 1,
  prefix: CTL_MAX_STEPS,
  /** the record: who took decision i, what it was about to do, and who could have */
  rec_task: CTL_MAX_STEPS,
  rec_kind: CTL_MAX_STEPS,
  rec_what: CTL_MAX_STEPS,
  /** bit i: ctl index i could run at decision i; bit 8+: the deciding task (+1), 0 none */
  rec_enabled: CTL_MAX_STEPS,
  /**
   * The span of words step i touched with plain (unhooked) accesses, lo..hi (hi < lo: none);
   * with its flags in rec_enabled (src/sched/depend.ts), what the sleep sets need to know.
   */
  rec_lo: CTL_MAX_STEPS,
  rec_hi: CTL_MAX_STEPS,
  /**
   * The sleep set (explore's pruning): bit i, ctl index i may not be chosen; its pending step
   * is sleep_steps[i] (CTL_SLEEP_WORDS: kind, what, lo, hi, flags). Only after the forced
   * prefix; each executed step wakes the sleepers whose step it is dependent with.
   */
  sleep_mask: 1,
  sleep_steps: CTL_MAX_TASKS * 5,
  /** the script: segments and where it stands */
  nr_segments: 1,
  segment: 1,
  segments: CTL_MAX_SEGMENTS * CTL_SEG_WORDS,
  /** PCT: change points (step numbers), and how many */
  nr_pct_changes: 1,
  pct_changes: CTL_MAX_PCT_CHANGES,
  /** the task slots */
  tasks: CTL_MAX_TASKS * CTL_TASK.SIZE,
});
