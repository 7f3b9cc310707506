// rcuwait: block one task until a condition holds (include/linux/rcuwait.h, kernel/exit.c).
//
// Memory ordering — the store-buffer pair (KERNEL.md §2):
//
//     waiter (rcuwait_wait_event)          waker (the caller, then rcuwait_wake_up)
//     [S] w.task = current                 [S] condition = true
//         full barrier (A)                     full barrier (B)
//     [L] condition                        [L] w.task
//
// Each side stores, then loads what the other side stored. With both barriers the outcome
// "waiter loads the old condition AND waker loads NULL" is forbidden, so either the waiter sees
// the condition and does not sleep, or the waker sees the task and wakes it: no lost wake-up.
// In the kernel (A) is the smp_mb() inside set_current_state() and (B) the smp_mb() at the top
// of rcuwait_wake_up(). Here every step is a sequentially consistent Atomics operation: the
// waiter's store of w.task comes before its load of the condition in the single total order,
// and the caller's Atomics store of the condition before our load of w.task, so both barriers
// hold without an extra fence. (A) is still where set_current_state() stands and (B) is still
// marked, so the code reads like the kernel's. The condition must be written with an Atomics
// operation (every shared word is, outside a lock): a plain store would not be ordered.
// test/litmus/store-buffer.test.ts checks the pair; breaking the order (loading the condition
// before publishing w.task) makes test/unit/rcuwait.test.ts count lost wake-ups.
//
// The broken variant RCUWAIT_PLAIN_ORDERING (src/sched/bugs.ts) does the waiter's half of the
// pair with plain accesses: it publishes w.task with a plain store and sets its state without
// the barrier (__set_current_state), so there is no (A). On x86 the waiter's plain store may
// then wait in its store buffer while its load of the condition goes ahead; the waker's store
// of the condition and its load of w.task both happen in that window, and both miss: a lost
// wake-up (one side reordering is enough for the store-buffering outcome when the other side's
// store is the fenced one). The waker is left as it is: its (B) is the caller's SC store, and
// a switch in rcuwait_wake_up() cost about 1 ns a call (bench:primitives) when off.
// `faultline litmus rcuwait+rcuwait-plain-ordering` shows the lost wake-up on real threads.
//
// Sleeping: park() in bounded slices (schedule_timeout). A wake-up is unpark() of the task; a
// token that arrives before the waiter sleeps makes its next park() return at once, like the
// kernel's wake_up_process() setting TASK_RUNNING before schedule(). A woken waiter always
// re-checks the condition: wake-ups may be spurious (a stale token from an earlier wait).
//
// Why no rcu_read_lock() in rcuwait_wake_up(): in the kernel the waiter may exit and its
// task_struct be freed between the waker's load of w.task and wake_up_process(); RCU keeps it
// alive. Here a task slot is allocated once with the arena and never freed or reused for
// anything but a task, so waking a stale slot pointer is at worst a spurious wake-up of that
// task, which every sleeper tolerates.

import { EINTR, LockStateError } from '../errors.js';
import {
  atomic_cmpxchg,
  atomic_read,
  atomic_set,
  atomic_xchg,
  plain_read,
  plain_set,
  sched_point,
} from '../sched/atomics.js';
import { BUG, bug_on } from '../sched/bugs.js';
import { CNT } from '../sched/counters.js';
import { EV } from '../sched/events.js';
import { sched_label } from '../sched/labels.js';
import {
  __set_current_state,
  count,
  current,
  discard_stale_wakeup,
  fatal_signal_pending,
  schedule_timeout,
  set_current_state,
  set_waiting,
  trace,
  wake_overdue,
  wake_up_process,
} from '../sched/task.js';
import {
  RCUWAIT,
  TASK_KILLABLE,
  TASK_RUNNING,
  TASK_UNINTERRUPTIBLE,
  WAIT_SITE,
} from '../shm/layout/index.js';

/** Schedule points a race script can stop at. */
const SP_PUBLISHED = sched_label('rcuwait_wait_event:published');
const SP_CHECKED = sched_label('rcuwait_wait_event:checked');
const SP_WAKE_LOADED = sched_label('rcuwait_wake_up:loaded');

/** The longest one sleep lasts before the waiter re-checks its condition and the abort flag. */
export const RCUWAIT_SLICE_MS = 20;

export function rcuwait_init(w: number): void {
  atomic_set(w + RCUWAIT.task, 0);
}

/**
 * Whether a task is waiting (or about to check its condition). No serialisation: a racy hint,
 * as in the kernel.
 */
export function rcuwait_active(w: number): boolean {
  return atomic_read(w + RCUWAIT.task) !== 0;
}

/**
 * Wait until cond() is true. state: TASK_UNINTERRUPTIBLE (returns 0) or TASK_KILLABLE (returns
 * 0, or EINTR if a fatal signal is pending while the condition is false). cond() must read
 * shared words with Atomics. The caller serialises waiters: one task at a time per rcuwait
 * (a second one throws LockStateError).
 */
export function rcuwait_wait_event(w: number, cond: () => boolean, state: number): number {
  if (state !== TASK_UNINTERRUPTIBLE && state !== TASK_KILLABLE) {
    throw new LockStateError(
      `rcuwait_wait_event: state ${state}; allowed TASK_UNINTERRUPTIBLE (${TASK_UNINTERRUPTIBLE}) or TASK_KILLABLE (${TASK_KILLABLE})`,
    );
  }
  const p = w + RCUWAIT.task;
  const me = current();
  // BUG.RCUWAIT_CHECK_BEFORE_PUBLISH: the broken order checks the condition first, then
  // publishes itself and sleeps without checking again. A wake-up sent between the check and
  // the publication finds w.task NULL and is lost: the waiter sleeps although the condition
  // holds (here until a slice ends, then counted as a lost wake-up by wake_overdue(); under the controlled scheduler,
  // for ever: a deadlock).
  const broken = bug_on(BUG.RCUWAIT_PLAIN_ORDERING);
  let skipCheck = false;
  if (bug_on(BUG.RCUWAIT_CHECK_BEFORE_PUBLISH)) {
    set_current_state(state);
    if (cond()) {
      set_current_state(TASK_RUNNING);
      return 0;
    }
    sched_point(SP_CHECKED);
    skipCheck = true;
  }
  // A wake-up left over from before this wait would end its first sleep at once (the kernel's
  // waker finds a running task and does nothing): drop it, so a lost wake-up is seen as one.
  discard_stale_wakeup();
  // prepare_to_rcuwait(): publish ourselves (rcu_assign_pointer).
  let prev: number;
  if (broken) {
    prev = plain_read(p); // BUG RCUWAIT_PLAIN_ORDERING: a plain store may wait in the store buffer
    plain_set(p, me);
  } else prev = atomic_xchg(p, me);
  if (prev !== 0 && prev !== me) {
    atomic_cmpxchg(p, me, prev);
    throw new LockStateError(`rcuwait at ${w}: task ${prev} already waits; one waiter at a time`);
  }
  sched_point(SP_PUBLISHED);
  let ret = 0;
  let slept = false;
  try {
    for (;;) {
      // (A) full barrier: the store of w.task above is ordered before the load of the
      // condition below. Pairs with (B) in rcuwait_wake_up().
      if (broken)
        __set_current_state(state); // BUG RCUWAIT_PLAIN_ORDERING: no (A)
      else set_current_state(state);
      if (!skipCheck) {
        if (cond()) break;
        sched_point(SP_CHECKED);
      }
      skipCheck = false;
      // signal_pending_state(): only a fatal signal interrupts a killable wait.
      if (state === TASK_KILLABLE && fatal_signal_pending()) {
        ret = EINTR;
        break;
      }
      if (!slept) {
        slept = true;
        trace(EV.RCUWAIT_WAIT, w, state);
        set_waiting(EV.RCUWAIT_WAIT, w);
      }
      count(CNT.RCUWAIT_SLEEP);
      // A slice that times out with the condition already true: whoever made it true owed us
      // a wake-up (the (A)/(B) pair guarantees it saw us published). See wake_overdue().
      if (!schedule_timeout(RCUWAIT_SLICE_MS) && cond()) wake_overdue(WAIT_SITE.RCUWAIT, w);
    }
  } finally {
    // finish_rcuwait(): unpublish, then run.
    atomic_set(p, 0);
    set_current_state(TASK_RUNNING);
    if (slept) {
      set_waiting(0, 0);
      trace(EV.RCUWAIT_WOKEN, w, ret);
    }
  }
  return ret;
}

/**
 * Wake the task waiting on w, if any. The caller has just made the condition true with an
 * Atomics store. Returns true iff a waiter was published and was sent a wake-up (the kernel
 * returns whether wake_up_process() changed the task's state).
 */
export function rcuwait_wake_up(w: number): boolean {
  // (B) full barrier: the caller's store of the condition is ordered before this load of
  // w.task (both are sequentially consistent). Pairs with (A) in rcuwait_wait_event().
  const t = atomic_read(w + RCUWAIT.task);
  sched_point(SP_WAKE_LOADED);
  if (t === 0) return false;
  trace(EV.RCUWAIT_WAKE, w, t);
  wake_up_process(t);
  return true;
}
