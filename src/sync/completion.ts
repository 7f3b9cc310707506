// struct completion: wait until another task says "done" (kernel/sched/completion.c).
//
// Design: the kernel keeps `done` and a FIFO wait queue under a spinlock. faultline keeps only
// the `done` word and a count of sleeping waiters, and sleeps on `done` itself with bounded
// Atomics.wait slices, futex style:
// - any number of waiters, no per-waiter memory in the shared buffer, no lock;
// - complete() pays for a notify only when someone sleeps (the common producer/consumer case
//   costs one CAS and one load);
// - a waiter woken by complete() competes for the count with try_wait_for_completion() callers,
//   as it does in the kernel (a woken waiter re-takes wait.lock and may find done == 0 again);
//   what is lost is the kernel's strict FIFO order among sleepers, which no faultline caller
//   relies on.
// The cost: kill_task() unparks a task but cannot notify the word it sleeps on, so a killable
// waiter notices a fatal signal at the end of its current slice (at most KILL_SLICE_MS).
//
// Memory ordering: complete()/complete_all() are RELEASE (the kernel's spin_unlock of
// wait.lock; here the CAS or store of `done`), and a wait that returns is ACQUIRE (the CAS that
// consumed a count, or the load that saw UINT_MAX): what the completer wrote before complete()
// is visible after the wait. No lost wake-up, by a store-buffer pair:
//
//     waiter                                completer
//     [RMW] waiters + 1                     [RMW] done + 1  (or store UINT_MAX)
//     [L]   done == 0 ? -> Atomics.wait     [L]   waiters != 0 ? -> Atomics.notify
//
// All four are sequentially consistent, so either the waiter sees done != 0 or the completer
// sees the waiter counted and notifies; Atomics.wait checks `done == 0` and enqueues atomically
// with respect to notify, so a notify cannot fall between the waiter's check and its sleep.

import { EINTR } from '../errors.js';
import {
  atomic_cmpxchg,
  atomic_fetch_add,
  atomic_notify,
  atomic_read,
  atomic_set,
  atomic_wait,
} from '../sched/atomics.js';
import { CNT } from '../sched/counters.js';
import { EV } from '../sched/events.js';
import {
  check_abort,
  count,
  fatal_signal_pending,
  SCHED_SLICE_MS,
  set_waiting,
  trace,
} from '../sched/task.js';
import { COMPLETION } from '../shm/layout/index.js';

/** done after complete_all(): the u32 UINT_MAX, -1 as an Int32 word. */
export const COMPLETION_ALL = -1;
/** The longest a killable waiter sleeps before it looks for a fatal signal again. */
export const KILL_SLICE_MS = 10;

export function init_completion(c: number): void {
  atomic_set(c + COMPLETION.waiters, 0);
  atomic_set(c + COMPLETION.done, 0);
}

/** Make a completion reusable. Only when no one can be waiting on or completing it. */
export function reinit_completion(c: number): void {
  atomic_set(c + COMPLETION.done, 0);
}

/** Let one waiter pass (now or later). RELEASE. */
export function complete(c: number): void {
  const p = c + COMPLETION.done;
  let d = atomic_read(p);
  while (d !== COMPLETION_ALL) {
    const seen = atomic_cmpxchg(p, d, (d + 1) | 0);
    if (seen === d) break;
    d = seen;
  }
  if (atomic_read(c + COMPLETION.waiters) !== 0) {
    trace(EV.COMPLETION_DONE, c, 1);
    atomic_notify(p, 1);
  }
}

/** Let every waiter pass, now and until reinit_completion(). RELEASE. */
export function complete_all(c: number): void {
  const p = c + COMPLETION.done;
  atomic_set(p, COMPLETION_ALL);
  trace(EV.COMPLETION_DONE, c, COMPLETION_ALL);
  if (atomic_read(c + COMPLETION.waiters) !== 0) atomic_notify(p, Number.POSITIVE_INFINITY);
}

/** Consume one completion if one is there, without sleeping. ACQUIRE on success. */
export function try_wait_for_completion(c: number): boolean {
  const p = c + COMPLETION.done;
  let d = atomic_read(p);
  for (;;) {
    if (d === 0) return false;
    if (d === COMPLETION_ALL) return true;
    const seen = atomic_cmpxchg(p, d, (d - 1) | 0);
    if (seen === d) return true;
    d = seen;
  }
}

/** Whether a wait would pass now (done != 0). A racy hint. */
export function completion_done(c: number): boolean {
  return atomic_read(c + COMPLETION.done) !== 0;
}

/** Wait until complete() or complete_all(); consumes one completion. Not interruptible. */
export function wait_for_completion(c: number): void {
  if (try_wait_for_completion(c)) return;
  wait_for_common(c, false);
}

/**
 * As wait_for_completion(), but returns EINTR (consuming nothing) if a fatal signal is pending
 * while nothing is there to consume. A completion that is already there wins over the signal,
 * as in the kernel. (The kernel returns -ERESTARTSYS, which becomes EINTR on the way to user
 * space.)
 */
export function wait_for_completion_killable(c: number): number {
  if (try_wait_for_completion(c)) return 0;
  return wait_for_common(c, true);
}

function wait_for_common(c: number, killable: boolean): number {
  const p = c + COMPLETION.done;
  const nw = c + COMPLETION.waiters;
  // Counted before the re-check of done: one side of the store-buffer pair (see the top).
  atomic_fetch_add(nw, 1);
  trace(EV.COMPLETION_WAIT, c, killable ? 1 : 0);
  set_waiting(EV.COMPLETION_WAIT, c);
  try {
    for (;;) {
      if (try_wait_for_completion(c)) return 0;
      if (killable && fatal_signal_pending()) return EINTR;
      count(CNT.COMPLETION_SLEEP);
      // Sleeps only while done is still 0; returns at once if a complete() got in between.
      atomic_wait(p, 0, killable ? KILL_SLICE_MS : SCHED_SLICE_MS);
      check_abort();
    }
  } finally {
    atomic_fetch_add(nw, -1);
    set_waiting(0, 0);
  }
}
