// The controlled scheduler: real worker threads that take their shared-memory steps one at a
// time, in an order a controller chooses.
//
// Each task of a controlled run installs this module's hook. At every schedule point (every
// atomic step, every named sched_point(), every cpu_relax() of a spin loop) the task records
// what it is about to do in its slot of the CTL block, decides who takes the next step, and
// waits until the CTL.turn word names it. The decision is made by whichever task holds the turn
// when it reaches its next point, from data in the buffer only (a forced prefix, a labelled
// script, PCT priorities), so it is deterministic and no controller thread sits in the hand-off:
// a task that runs on pays no hand-off at all; a switch costs one store and, only if the next
// task sleeps, one notify.
//
// Blocking is part of the model. atomic_wait() while controlled does not sleep: the task is
// BLOCKED on (word, value) and is runnable again only when the word holds another value, or,
// if it sleeps TASK_KILLABLE, when a fatal signal is pending. So a bounded sleep becomes "blocked
// until woken", and a lost wake-up becomes a deadlock (every remaining task blocked), decided at
// a step and reported as the outcome. park() sleeps at once (spin 0) so it blocks in one step.
// Time is virtual: one millisecond per decision (src/sched/task.ts sched_clock_ms), so the rwsem
// handoff timeout falls at the same step on every replay, and modelled work (sleep_us, spin_ns)
// takes no steps. A task at cpu_relax() is deprioritised until another task writes shared memory: a spinner
// cannot make progress before that, so its spins are not interleavings worth exploring.
//
// Memory ordering: the turn word is stored (seq-cst) by the task that hands over, after all of
// its steps, and loaded (seq-cst) by the task that takes over before any of its own: each
// hand-off is a release/acquire pair, and the steps themselves are the same seq-cst Atomics as
// in free runs. Exactly one task runs between two points, so the record is the execution.

import { HarnessAbort } from '../errors.js';
import { task_ptr } from '../shm/arena.js';
import {
  CTL,
  CTL_MAX_STEPS,
  CTL_MODE_PCT,
  CTL_MODE_SCRIPT,
  CTL_OUT_DEADLOCK,
  CTL_OUT_DIVERGED,
  CTL_OUT_DONE,
  CTL_OUT_PRUNED,
  CTL_OUT_RUNNING,
  CTL_OUT_STEP_LIMIT,
  CTL_SEG_WORDS,
  CTL_SLEEP_WORDS,
  CTL_ST_BLOCKED,
  CTL_ST_DONE,
  CTL_ST_FAILED,
  CTL_ST_READY,
  CTL_ST_RUNNING,
  CTL_TASK,
  HEADER,
  SIGKILL_PENDING,
  TASK,
  TASK_KILLABLE,
} from '../shm/layout/index.js';
import {
  atomic_notify,
  ctl_add,
  ctl_load,
  ctl_peek,
  ctl_poke,
  ctl_relax,
  ctl_store,
  ctl_wait,
  plain_span_add,
  plain_span_hi,
  plain_span_lo,
  plain_span_reset,
  plain_span_wrote,
  SP_NAMED,
  SP_RMW,
  SP_STORE,
  SP_WAIT,
  SP_YIELD,
  set_schedule_hook,
  set_wait_blocker,
} from './atomics.js';
import { DEP_OPAQUE, DEP_TO_YIELD, DEP_WROTE, steps_dependent } from './depend.js';
import {
  SPIN_CLOCK_EVERY,
  spin_budget,
  spin_deadline,
  spin_failed,
  spin_succeeded,
} from './spin.js';
import { get_park_spin, set_park_spin, set_virtual_clock } from './task.js';

/** Thrown in every task of an execution that ended (deadlock, step limit, divergence). */
export class ExecutionEnded extends HarnessAbort {
  override name = 'ExecutionEnded';
}

/**
 * How long a task spins on the turn word before it sleeps on it (src/sched/spin.ts): the ceiling
 * covers a futex wake-up of the other task and a run of a few dozen steps; the floor is for a
 * loaded machine, where the task that holds the turn may not be running at all.
 */
const turnSpin = spin_budget(20, 1000);
/** One sleep on the turn word; the loop re-checks the outcome and the abort flag. */
const TURN_SLICE_MS = 20;
/** enabled-mask encoding in CTL.rec_enabled */
export const REC_SELF_SHIFT = 8;
export const REC_SELF_RUNNABLE = 1 << 16;
/** bits 20..22: the deciding task's own kind (SP_*, or 7 when it has just ended) */
export const REC_SELF_KIND_SHIFT = 20;
export const REC_SELF_ENDED = 7;

let ctl = 0;
let me = -1;
let nr = 0;
let started = false;
let ended = false;
let busy = false;
const taskPtrs: number[] = [];

function slot(i: number): number {
  return ctl + CTL.tasks + i * CTL_TASK.SIZE;
}

let savedSpin = 0;
/** DEP_* flags of the step this task is taking (besides its plain span, src/sched/atomics.ts) */
let stepFlags = 0;

/** Make this thread ctl index `index` of the block at `block`. Once per thread. */
export function ctl_install(block: number, index: number): void {
  ctl = block;
  me = index;
  nr = ctl_load(block + CTL.nr_tasks);
  taskPtrs.length = 0;
  const first = ctl_load(block + CTL.first_task);
  for (let i = 0; i < nr; i++) taskPtrs.push(task_ptr(first + i));
}

/**
 * Join a new execution: install the hook, the blocker and a park() that sleeps at once. The
 * task's first schedule point joins the start; ctl_end() when its body has returned. `clock`:
 * a word of the scenario's own that its tasks advance, read as the time (0: one millisecond per
 * decision).
 */
export function ctl_begin(clock = 0): void {
  started = false;
  ended = false;
  busy = false;
  clockWord = clock;
  clockAfterEnd = 0;
  savedSpin = get_park_spin();
  set_park_spin(0);
  set_virtual_clock(virtual_ms);
  set_wait_blocker(on_wait);
  set_schedule_hook(on_point);
}

/** The scenario's own clock word, 0 when the clock counts decisions. */
let clockWord = 0;
/** Milliseconds the clock has moved on since the execution ended (see virtual_ms). */
let clockAfterEnd = 0;

/**
 * The virtual clock of a controlled execution: one millisecond per decision, or the scenario's
 * clock word. Once the execution has ended no decision moves it, but a task that unwinds runs
 * on, free, and may wait for a lock that a task which unwound before it left held; such a wait
 * is bounded by this clock (rwsem_unwind_waiter), and a frozen clock never reaches the bound:
 * the task would spin until the harness gives up on the execution. So after the end each read
 * moves the clock on by a millisecond, and every bound expires.
 */
function virtual_ms(): number {
  if (ended) return clock_now() + ++clockAfterEnd;
  if (clockWord === 0) {
    // Its value is the step's position in the schedule: no step commutes with this one.
    stepFlags |= DEP_OPAQUE;
  } else {
    // An unhooked read of the clock word: part of this step, as a plain read would be.
    plain_span_add(clockWord, clockWord, false);
  }
  return clock_now();
}

function clock_now(): number {
  return clockWord === 0 ? ctl_peek(ctl + CTL.steps) : ctl_load(clockWord);
}

/** Leave the execution: free running again. */
export function ctl_end(): void {
  set_schedule_hook(null);
  set_wait_blocker(null);
  set_virtual_clock(null);
  set_park_spin(savedSpin);
}

/** True once the current execution has ended (the task runs free, unwinding). */
export function ctl_ended(): boolean {
  return ended;
}

// ---- the hook ---------------------------------------------------------------------------------

function on_point(kind: number, what: number): void {
  if (busy || ended) return;
  if (kind === SP_WAIT) return; // the blocker handles the wait itself
  busy = true;
  try {
    const s = slot(me);
    ctl_poke(s + CTL_TASK.kind, kind);
    ctl_poke(s + CTL_TASK.what, what);
    if (kind === SP_NAMED) ctl_poke(s + CTL_TASK.label, what);
    ctl_poke(s + CTL_TASK.yielded, kind === SP_YIELD ? 1 : 0);
    ctl_poke(s + CTL_TASK.status, CTL_ST_READY);
    hand_over();
    wait_turn();
    if (kind === SP_STORE || kind === SP_RMW) {
      // A write: whoever spins may now see something new.
      for (let i = 0; i < nr; i++) if (i !== me) ctl_poke(slot(i) + CTL_TASK.yielded, 0);
    }
  } finally {
    busy = false;
  }
}

/** atomic_wait() while controlled: blocked until the word changes (or a kill, if killable). */
function on_wait(p: number, expect: number): string {
  if (ended) {
    throw new ExecutionEnded('the controlled execution ended');
  }
  if (busy) return 'timed-out';
  // An unhooked read of the wait word, and the step may block here: it commutes with nothing.
  stepFlags |= DEP_OPAQUE;
  if (ctl_load(p) !== expect) return 'not-equal';
  busy = true;
  try {
    const s = slot(me);
    ctl_poke(s + CTL_TASK.kind, SP_WAIT);
    ctl_poke(s + CTL_TASK.what, p);
    ctl_poke(s + CTL_TASK.wait_word, p);
    ctl_poke(s + CTL_TASK.wait_value, expect);
    ctl_poke(s + CTL_TASK.yielded, 0);
    ctl_poke(s + CTL_TASK.status, CTL_ST_BLOCKED);
    hand_over();
    wait_turn();
  } finally {
    busy = false;
  }
  return ctl_load(p) !== expect ? 'ok' : 'timed-out';
}

/** The task's body returned (ok) or threw (failed): leave the execution, handing over. */
export function ctl_task_exit(result: number, failed: boolean): void {
  if (ended || ctl === 0) return;
  busy = true;
  try {
    const s = slot(me);
    ctl_poke(s + CTL_TASK.result, result | 0);
    ctl_poke(s + CTL_TASK.status, failed ? CTL_ST_FAILED : CTL_ST_DONE);
    ctl_poke(s + CTL_TASK.kind, 0);
    hand_over();
  } finally {
    busy = false;
  }
}

/** First point of this execution: join the start; else we hold the turn and decide. */
function hand_over(): void {
  if (!started) {
    started = true;
    // What the body did before its first point ran before the execution began: not a step.
    plain_span_reset();
    stepFlags = 0;
    // The last task to arrive makes the first decision, so it sees every task's first point.
    if (ctl_add(ctl + CTL.arrived, 1) + 1 === nr) decide(-1);
    return;
  }
  decide(me);
}

function wait_turn(): void {
  const t = ctl + CTL.turn;
  let deadline = 0;
  let spinning = true;
  let i = 0;
  for (; ; i++) {
    const v = ctl_load(t);
    if (v === me) break;
    if (ctl_load(ctl + CTL.outcome) !== CTL_OUT_RUNNING) {
      ended = true;
      throw new ExecutionEnded('the controlled execution ended');
    }
    if (spinning) {
      if (i === 0) deadline = spin_deadline(turnSpin);
      if (i % SPIN_CLOCK_EVERY !== 0 || performance.now() < deadline) {
        ctl_relax();
        continue;
      }
      spinning = false;
      spin_failed(turnSpin);
    }
    if (ctl_load(HEADER.abort) !== 0) {
      // finish() stores the outcome, then the abort flag: another task may have ended the
      // execution between our load of the outcome and this one. Either way this task takes
      // no further step and must not decide again (ctl_task_exit): without `ended`, it would
      // record itself DONE and overwrite the outcome (a pruned execution judged 'done').
      ended = true;
      if (ctl_load(ctl + CTL.outcome) !== CTL_OUT_RUNNING) {
        throw new ExecutionEnded('the controlled execution ended');
      }
      throw new HarnessAbort('run aborted by the harness');
    }
    ctl_add(ctl + CTL.sleepers, 1);
    ctl_wait(t, v, TURN_SLICE_MS);
    ctl_add(ctl + CTL.sleepers, -1);
  }
  if (spinning && i > 0) spin_succeeded(turnSpin);
  ctl_poke(slot(me) + CTL_TASK.status, CTL_ST_RUNNING);
}

// ---- the decision -----------------------------------------------------------------------------

/** Bit i set: ctl index i can take a step now (ignoring yield fairness). */
function enabled_mask(): number {
  let m = 0;
  for (let i = 0; i < nr; i++) {
    const s = slot(i);
    const st = ctl_peek(s + CTL_TASK.status);
    if (st === CTL_ST_READY) m |= 1 << i;
    else if (st === CTL_ST_BLOCKED) {
      if (ctl_load(ctl_load(s + CTL_TASK.wait_word)) !== ctl_load(s + CTL_TASK.wait_value)) {
        m |= 1 << i;
      } else {
        const t = taskPtrs[i]!;
        if (
          ctl_load(t + TASK.state) === TASK_KILLABLE &&
          (ctl_load(t + TASK.signal) & SIGKILL_PENDING) !== 0
        ) {
          m |= 1 << i;
        }
      }
    }
  }
  return m;
}

/** Enabled tasks that are not waiting for someone else's write (all of them if none is). */
function fair_mask(e: number): number {
  let m = 0;
  for (let i = 0; i < nr; i++) {
    if ((e & (1 << i)) !== 0 && ctl_peek(slot(i) + CTL_TASK.yielded) === 0) m |= 1 << i;
  }
  return m === 0 ? e : m;
}

/** The non-preemptive choice: self if it can run, else the next one after it, round robin. */
function next_after(self: number, m: number): number {
  if (self >= 0 && (m & (1 << self)) !== 0) return self;
  for (let k = 1; k <= nr; k++) {
    const i = ((((self < 0 ? -1 : self) + k) % nr) + nr) % nr;
    if ((m & (1 << i)) !== 0) return i;
  }
  return -1;
}

function finish(outcome: number, step: number): void {
  ctl_poke(ctl + CTL.outcome_step, step);
  ctl_store(ctl + CTL.outcome, outcome);
  ctl_store(ctl + CTL.turn, -1);
  ended = true;
  // Every task unwinds now: bounded waits see the abort flag, hooks run free.
  ctl_store(HEADER.abort, 1);
  wake_all();
}

function wake_all(): void {
  if (ctl_load(ctl + CTL.sleepers) !== 0) notify_turn();
}

/**
 * The deciding task has finished step `i` (it held the turn from decision i until now): record
 * what the step touched besides its operation, and wake the sleepers it is dependent with.
 */
function end_step(self: number, i: number, prefixLen: number): void {
  let flags = stepFlags;
  if (plain_span_wrote()) flags |= DEP_WROTE;
  if (ctl_peek(slot(self) + CTL_TASK.kind) === SP_YIELD) flags |= DEP_TO_YIELD;
  const lo = plain_span_lo();
  const hi = plain_span_hi();
  plain_span_reset();
  stepFlags = 0;
  ctl_poke(ctl + CTL.rec_lo + i, lo);
  ctl_poke(ctl + CTL.rec_hi + i, hi);
  const rp = ctl + CTL.rec_enabled + i;
  ctl_poke(rp, ctl_peek(rp) | flags);
  if (i + 1 < prefixLen) return; // the sleep set starts at the end of the forced prefix
  let m = ctl_peek(ctl + CTL.sleep_mask);
  if (m === 0) return;
  const kind = ctl_peek(ctl + CTL.rec_kind + i);
  const what = ctl_peek(ctl + CTL.rec_what + i);
  for (let t = 0; t < nr; t++) {
    if ((m & (1 << t)) === 0) continue;
    const q = ctl + CTL.sleep_steps + t * CTL_SLEEP_WORDS;
    if (
      steps_dependent(
        ctl_peek(q),
        ctl_peek(q + 1),
        ctl_peek(q + 2),
        ctl_peek(q + 3),
        ctl_peek(q + 4),
        kind,
        what,
        lo,
        hi,
        flags,
      )
    ) {
      m &= ~(1 << t);
    }
  }
  ctl_poke(ctl + CTL.sleep_mask, m);
}

/**
 * Choose who takes the next step and give it the turn. `self` is the deciding task (it holds
 * the turn and has just recorded its next step or its end), -1 at the start.
 */
function decide(self: number): void {
  const step = ctl_peek(ctl + CTL.steps);
  const prefixLen = ctl_peek(ctl + CTL.prefix_len);
  if (self >= 0 && step > 0) end_step(self, step - 1, prefixLen);
  const e = enabled_mask();
  if (e === 0) {
    let live = false;
    for (let i = 0; i < nr; i++) {
      const st = ctl_peek(slot(i) + CTL_TASK.status);
      if (st !== CTL_ST_DONE && st !== CTL_ST_FAILED) live = true;
    }
    if (live) finish(CTL_OUT_DEADLOCK, step);
    else {
      ctl_poke(ctl + CTL.outcome_step, step);
      ctl_store(ctl + CTL.outcome, CTL_OUT_DONE);
      ctl_store(ctl + CTL.turn, -1);
    }
    return;
  }
  if (step >= CTL_MAX_STEPS) {
    finish(CTL_OUT_STEP_LIMIT, step);
    return;
  }
  const fair = fair_mask(e);
  // The sleep set removes children of this node, never changes which they are (the record
  // keeps the fair set whole, so a replay without it records the same).
  let choices = fair;
  if (step >= prefixLen) {
    choices = fair & ~ctl_peek(ctl + CTL.sleep_mask);
    if (choices === 0) {
      // Every child sleeps: whatever runs next, an explored execution has done it.
      finish(CTL_OUT_PRUNED, step);
      return;
    }
  }
  const selfRunnable = self >= 0 && (fair & (1 << self)) !== 0;
  let c = -1;
  if (step < prefixLen) {
    c = ctl_peek(ctl + CTL.prefix + step);
    if (c < 0 || c >= nr || (e & (1 << c)) === 0) {
      finish(CTL_OUT_DIVERGED, step);
      return;
    }
  } else {
    const mode = ctl_peek(ctl + CTL.mode);
    if (mode === CTL_MODE_SCRIPT) c = script_choice(self, e, fair);
    else if (mode === CTL_MODE_PCT) c = pct_choice(step, fair);
    if (c < 0) c = next_after(self, choices);
  }
  ctl_poke(ctl + CTL.rec_task + step, c);
  const cs = slot(c);
  ctl_poke(ctl + CTL.rec_kind + step, ctl_peek(cs + CTL_TASK.kind));
  ctl_poke(ctl + CTL.rec_what + step, ctl_peek(cs + CTL_TASK.what));
  // The record keeps the fair set: the alternatives worth exploring at this decision.
  ctl_poke(
    ctl + CTL.rec_enabled + step,
    fair |
      ((self + 1) << REC_SELF_SHIFT) |
      (selfRunnable ? REC_SELF_RUNNABLE : 0) |
      (self_kind(self) << REC_SELF_KIND_SHIFT),
  );
  if (selfRunnable && c !== self && ctl_peek(slot(self) + CTL_TASK.kind) !== SP_YIELD) {
    ctl_add(ctl + CTL.preemptions, 1);
  }
  ctl_poke(ctl + CTL.steps, step + 1);
  if (c === self) return; // runs on: no hand-off
  ctl_poke(cs + CTL_TASK.status, CTL_ST_RUNNING);
  ctl_poke(ctl + CTL.handoffs, ctl_peek(ctl + CTL.handoffs) + 1);
  ctl_store(ctl + CTL.turn, c);
  if (ctl_load(ctl + CTL.sleepers) !== 0) {
    ctl_add(ctl + CTL.handoffs_slept, 1); // atomic: the next task runs already
    notify_turn();
  }
}

/**
 * A labelled script: segment k says "run task t until it reaches label L" (L 0: until it
 * blocks or ends). While t cannot run, the others run (non-preemptively) until it can.
 */
function script_choice(self: number, e: number, fair: number): number {
  const segp = ctl + CTL.segment;
  const n = ctl_peek(ctl + CTL.nr_segments);
  for (;;) {
    const k = ctl_peek(segp);
    if (k >= n) return -1;
    const base = ctl + CTL.segments + k * CTL_SEG_WORDS;
    const t = ctl_peek(base);
    const label = ctl_peek(base + 1);
    const ts = slot(t);
    if (label !== 0) {
      const arrived =
        t === self &&
        ctl_peek(ts + CTL_TASK.kind) === SP_NAMED &&
        ctl_peek(ts + CTL_TASK.what) === label;
      const gone = ctl_peek(ts + CTL_TASK.status) >= CTL_ST_DONE;
      if (arrived || gone) {
        ctl_poke(segp, k + 1);
        continue;
      }
      if ((e & (1 << t)) !== 0) return t;
      return next_after(self, fair & ~(1 << t));
    }
    if ((e & (1 << t)) === 0) {
      ctl_poke(segp, k + 1);
      continue;
    }
    return t;
  }
}

/** PCT: the highest-priority runnable task; at change point k the runner's priority drops to k. */
function pct_choice(step: number, fair: number): number {
  const n = ctl_peek(ctl + CTL.nr_pct_changes);
  let best = -1;
  let bestPrio = -1;
  const pick = (): void => {
    best = -1;
    bestPrio = -1;
    for (let i = 0; i < nr; i++) {
      if ((fair & (1 << i)) === 0) continue;
      const p = ctl_peek(slot(i) + CTL_TASK.prio);
      if (p > bestPrio) {
        best = i;
        bestPrio = p;
      }
    }
  };
  pick();
  for (let k = 0; k < n; k++) {
    if (ctl_peek(ctl + CTL.pct_changes + k) === step && best >= 0) {
      ctl_poke(slot(best) + CTL_TASK.prio, k);
      pick();
    }
  }
  return best;
}

function self_kind(self: number): number {
  if (self < 0) return 0;
  const st = ctl_peek(slot(self) + CTL_TASK.status);
  if (st === CTL_ST_DONE || st === CTL_ST_FAILED) return REC_SELF_ENDED;
  return ctl_peek(slot(self) + CTL_TASK.kind) & 7;
}

function notify_turn(): void {
  atomic_notify(ctl + CTL.turn, Number.POSITIVE_INFINITY);
}

// ---- helpers for the harness ------------------------------------------------------------------

/** Which of the ctl indexes could run at decision `rec` (from CTL.rec_enabled). */
export function rec_enabled_tasks(rec: number): number {
  return rec & 0xff;
}

/** The deciding task's own kind at a recorded decision (REC_SELF_ENDED: it had just ended). */
export function rec_self_kind(rec: number): number {
  return (rec >>> REC_SELF_KIND_SHIFT) & 7;
}

/** The task that decided (held the turn) at a recorded decision, -1 at the start. */
export function rec_self(rec: number): number {
  return ((rec >>> REC_SELF_SHIFT) & 0xff) - 1;
}
