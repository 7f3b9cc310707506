// Tasks: one per thread that touches the shared buffer. The main thread is task 0 by
// convention; each worker attaches to the slot the harness gives it.
//
// Memory ordering: park/unpark is a futex-style parker. unpark() is an xchg (full barrier) of
// NOTIFIED into the park word; park() consumes NOTIFIED with an xchg. So everything the waker
// wrote before unpark() is visible to the sleeper after park() returns true (RELEASE by xchg in
// unpark, ACQUIRE by xchg in park). A wake-up is never lost: a token set while the owner spins
// or before it sleeps makes park() return at once.
//
// Spin, then sleep: Atomics.wait/notify go through one process-wide mutex in V8, so a sleeping
// hand-over costs far more than a spinning one. park() first spins for `parkSpin` iterations
// (set_park_spin), then sleeps in Atomics.wait for at most the caller's bound. bench/park.ts
// measures the round trip (npm run bench:park; 2-core EPYC, node 20): about 63-106 µs when both
// sides sleep, 2.3-23 µs with a 200-iteration spin, 1.2-1.4 µs with 2000 (about 30-50 µs of
// spinning, roughly the cost of one sleeping hand-over: the classic spin-then-block bound).

import { HarnessAbort } from '../errors.js';
import { task_ptr } from '../shm/arena.js';
import {
  EVENT_RING_ENTRIES,
  EVENT_WORDS,
  HEADER,
  NR_TASK_COUNTERS,
  SIGKILL_PENDING,
  TASK,
  TASK_KILLABLE,
  TASK_RUNNING,
  TASK_UNINTERRUPTIBLE,
  WAIT_SITE_NAMES,
} from '../shm/layout/index.js';
import {
  atomic_cmpxchg,
  atomic_fetch_or,
  atomic_notify,
  atomic_read,
  atomic_set,
  atomic_wait,
  atomic_xchg,
  attach_changed,
  cpu_relax,
  plain_read,
  plain_set,
  set_fence_word,
} from './atomics.js';
import { CNT } from './counters.js';
import { EV } from './events.js';
import { set_folded } from './flags.js';

const PARK_EMPTY = 0;
const PARK_NOTIFIED = 1;
const PARK_PARKED = -1;

/** The longest one sleep lasts before a wait loop re-checks its condition and the abort flag. */
export const SCHED_SLICE_MS = 50;

let cur = 0;
let curId = -1;
let parkSpin = 2000;

/** Bind this thread to task slot `id`. Call after createArena/attachArena. */
export function task_attach(id: number): void {
  cur = task_ptr(id);
  curId = id;
  attach_changed();
  set_fence_word(cur + TASK.fence);
  atomic_set(cur + TASK.state, TASK_RUNNING);
}

/** The current task's slot pointer (word index). */
export function current(): number {
  return cur;
}

export function current_id(): number {
  return curId;
}

/** Iterations park() spins before it sleeps. 0 sleeps at once. */
export function set_park_spin(n: number): void {
  parkSpin = n;
}

export function get_park_spin(): number {
  return parkSpin;
}

/**
 * Sleep until unpark() or until timeoutMs passes. Returns true if woken by unpark (the token
 * is consumed), false on time-out. Only the owner parks.
 */
export function park(timeoutMs: number): boolean {
  const p = cur + TASK.park;
  for (let i = 0; i < parkSpin; i++) {
    if (atomic_read(p) === PARK_NOTIFIED) {
      atomic_set(p, PARK_EMPTY); // only the owner clears a token
      count(CNT.PARK_SPIN_HIT);
      return true;
    }
    cpu_relax();
  }
  if (atomic_cmpxchg(p, PARK_EMPTY, PARK_PARKED) === PARK_NOTIFIED) {
    atomic_set(p, PARK_EMPTY);
    count(CNT.PARK_SPIN_HIT);
    return true;
  }
  count(CNT.PARK_SLEEP);
  atomic_wait(p, PARK_PARKED, timeoutMs);
  // NOTIFIED → woken (ACQUIRE, pairs with the xchg in unpark); PARKED → timed out.
  const woken = atomic_xchg(p, PARK_EMPTY) === PARK_NOTIFIED;
  if (!woken) count(CNT.PARK_TIMEOUT);
  return woken;
}

/** Wake task `t` (a slot pointer). RELEASE: pairs with the xchg in park(). */
export function unpark(t: number): void {
  const p = t + TASK.park;
  if (atomic_xchg(p, PARK_NOTIFIED) === PARK_PARKED) atomic_notify(p, 1);
}

/**
 * Forget a wake-up token left by an earlier wake-up that this task never slept for. In the
 * kernel a wake_up_process() that finds the task running does nothing, so a wait that starts
 * later (set_current_state) never sees it; here the token would make the next park() return
 * at once. A wait whose wakers can only find it after it publishes itself (rcuwait) calls this
 * first: a stale token would hide a lost wake-up (its sleep ends at once and the re-check finds
 * the condition true). Only the owner clears its token.
 */
export function discard_stale_wakeup(): void {
  if (atomic_read(cur + TASK.park) === PARK_NOTIFIED) atomic_set(cur + TASK.park, PARK_EMPTY);
}

/** wake_up_process() */
export function wake_up_process(t: number): void {
  unpark(t);
}

/** Throw HarnessAbort if the harness asked every task to stop. */
export function check_abort(): void {
  if (atomic_read(HEADER.abort) !== 0) throw new HarnessAbort('run aborted by the harness');
}

/** The harness's big red button: every bounded wait unwinds with HarnessAbort. */
export function abort_all(): void {
  atomic_set(HEADER.abort, 1);
  const max = atomic_read(HEADER.max_tasks);
  for (let id = 0; id < max; id++) unpark(task_ptr(id));
}

export function clear_abort(): void {
  atomic_set(HEADER.abort, 0);
}

/**
 * schedule() with a bound: sleep for at most `ms` (default one slice), then check the abort
 * flag. Returns true if woken by unpark. Callers re-check their condition in a loop.
 */
export function schedule_timeout(ms: number = SCHED_SLICE_MS): boolean {
  const woken = park(ms);
  check_abort();
  return woken;
}

/** set_current_state(): a full-barrier store (smp_store_mb), so it orders as the kernel's. */
export function set_current_state(state: number): void {
  atomic_set(cur + TASK.state, state);
}

/**
 * __set_current_state(): the state store without the barrier. Only the broken variant
 * RCUWAIT_PLAIN_ORDERING uses it (src/sync/rcuwait.ts); plain: only the owner writes its state.
 */
export function __set_current_state(state: number): void {
  plain_set(cur + TASK.state, state);
}

/** Send SIGKILL to task `t` (a slot pointer) and wake it. */
export function kill_task(t: number): void {
  atomic_fetch_or(t + TASK.signal, SIGKILL_PENDING);
  trace(EV.KILLED, t, 0);
  unpark(t);
}

export function fatal_signal_pending(): boolean {
  return (atomic_read(cur + TASK.signal) & SIGKILL_PENDING) !== 0;
}

/** Clear this task's signals (the harness does this between runs). */
export function flush_signals(t: number = cur): void {
  atomic_set(t + TASK.signal, 0);
}

// ---- lost wake-ups ------------------------------------------------------------------------
//
// Every sleep is a bounded slice, so that a kill or an abort is seen; that also turns a lost
// wake-up into a stall of one slice that nothing would notice. So each wait loop in src/sync,
// when a slice times out, re-checks whether the condition it waited for already holds. If it
// does, the task that made it true owed a wake-up. That task may just be preempted between
// making the condition true and waking us, so we give it LOST_WAKE_GRACE_MS more: a wake-up in
// that grace is a late one (LATE_WAKEUP); none is a lost wake-up (LOST_WAKEUP), counted per task
// and per wait site in TASK.lost_wake. In the kernel the waiter would have slept for ever.

/**
 * How long a waiter whose slice timed out with its condition true waits for a late wake-up.
 * Generous: on an oversubscribed machine, or under a stress run's chaos delays, a waker can
 * lose the CPU for tens of milliseconds between making the condition true and waking us; a
 * false lost wake-up would fail a correct run. A real one costs the waiter this much, once.
 */
export const LOST_WAKE_GRACE_MS = 1000;

/** Count a lost wake-up of the current task at `site` (WAIT_SITE) waiting on word `addr`. */
export function lost_wakeup(site: number, addr: number): void {
  const p = cur + TASK.lost_wake + site;
  plain_set(p, (plain_read(p) + 1) | 0); // only the owner writes its counters
  plain_set(cur + TASK.lost_wake_addr, addr);
  plain_set(cur + TASK.lost_wake_site, site);
  count(CNT.LOST_WAKEUP);
  trace(EV.LOST_WAKEUP, site, addr);
}

/**
 * A park()-based wait's slice timed out and its caller found the condition already true: wait
 * the grace for the wake-up that is owed (consuming it), else count a lost wake-up. Returns
 * true if it was lost.
 */
export function wake_overdue(site: number, addr: number): boolean {
  if (park(LOST_WAKE_GRACE_MS)) {
    count(CNT.LATE_WAKEUP);
    trace(EV.LATE_WAKEUP, site, addr);
    return false;
  }
  lost_wakeup(site, addr);
  return true;
}

/**
 * The futex form of wake_overdue(): the waker's wake-up is a store to word p (away from
 * `waiting`) and a notify. A slice timed out and the caller found its condition true: wait the
 * grace for the word to change; if it does not, count a lost wake-up. Returns true if lost.
 */
export function futex_wake_overdue(site: number, p: number, waiting: number): boolean {
  if (atomic_wait(p, waiting, LOST_WAKE_GRACE_MS) === 'timed-out') {
    lost_wakeup(site, p);
    return true;
  }
  count(CNT.LATE_WAKEUP);
  trace(EV.LATE_WAKEUP, site, p);
  return false;
}

/** One task's lost wake-ups at one site. */
export interface LostWakeup {
  readonly taskId: number;
  /** the wait site's name (rcuwait_wait_event, rwsem_down_write_slowpath, ...) */
  readonly site: string;
  readonly count: number;
  /** the word the task waited on the last time one was lost */
  readonly lastAddr: number;
}

/** Every lost wake-up of tasks [0, n), by task and wait site (read when the tasks are idle). */
export function lost_wakeups(n: number): LostWakeup[] {
  const out: LostWakeup[] = [];
  for (let id = 0; id < n; id++) {
    const t = task_ptr(id);
    for (let site = 1; site < WAIT_SITE_NAMES.length; site++) {
      const c = atomic_read(t + TASK.lost_wake + site);
      if (c !== 0) {
        out.push({
          taskId: id,
          site: WAIT_SITE_NAMES[site] ?? `site ${site}`,
          count: c,
          lastAddr: atomic_read(t + TASK.lost_wake_addr),
        });
      }
    }
  }
  return out;
}

/** Zero the lost-wake-up counters of tasks [0, n). */
export function reset_lost_wakeups(n: number): void {
  for (let id = 0; id < n; id++) {
    const t = task_ptr(id);
    for (let site = 0; site < WAIT_SITE_NAMES.length; site++)
      atomic_set(t + TASK.lost_wake + site, 0);
    atomic_set(t + TASK.lost_wake_addr, 0);
    atomic_set(t + TASK.lost_wake_site, 0);
  }
}

/** One line per lost wake-up: the waiter, the wait site and the word. */
export function describe_lost_wakeups(list: readonly LostWakeup[]): string {
  return list
    .map(
      (l) =>
        `  task ${l.taskId}: ${l.count} lost wake-up${l.count === 1 ? '' : 's'} in ${l.site} (last on word ${l.lastAddr})`,
    )
    .join('\n');
}

/** The current task's mm (task->mm), 0 if none. */
export function task_mm(t: number = cur): number {
  return atomic_read(t + TASK.mm);
}

/** Make `mm` the current task's address space (0: none), as exec/clone would. */
export function task_set_mm(mm: number): void {
  atomic_set(cur + TASK.mm, mm);
}

/** Record the object this task's next wait is for (a VMA), for the watchdog's report; 0 clears. */
export function set_wait_object(obj: number): void {
  plain_set(cur + TASK.wait_obj, obj); // single writer; readers tolerate a stale value
}

/** Record where this task waits, for the watchdog's report. */
export function set_waiting(ev: number, addr: number): void {
  plain_set(cur + TASK.wait_event, ev); // single writer; readers tolerate a stale value
  plain_set(cur + TASK.wait_addr, addr);
}

// ---- flight recorder ---------------------------------------------------------------------

/** The flight recorder's switch: a global the JIT folds (flags.ts), so off costs nothing. */
export function set_tracing(on: boolean): void {
  set_folded('__faultline_tracing', on);
}

export function tracing_enabled(): boolean {
  return __faultline_tracing;
}

const t0 = performance.now();

/** Append an event to this task's ring. Plain stores: only the owner writes its ring. */
export function trace(ev: number, a: number, b: number): void {
  // Small (under V8's always-inline size), so the JIT inlines the check into hot paths; the
  // rest is out of line.
  if (__faultline_tracing) trace_store(ev, a, b);
}

function trace_store(ev: number, a: number, b: number): void {
  if (curId < 0) return;
  const h = plain_read(cur + TASK.ring_head);
  const e = cur + TASK.ring + (h & (EVENT_RING_ENTRIES - 1)) * EVENT_WORDS;
  plain_set(e, ((performance.now() - t0) * 1000) | 0);
  plain_set(e + 1, ev);
  plain_set(e + 2, a);
  plain_set(e + 3, b);
  plain_set(cur + TASK.ring_head, (h + 1) | 0);
}

export interface TraceEntry {
  readonly timeUs: number;
  readonly event: number;
  readonly a: number;
  readonly b: number;
}

/** The last events of task `id`, oldest first (a racy snapshot, for reports). */
export function read_ring(id: number): TraceEntry[] {
  const t = task_ptr(id);
  const h = atomic_read(t + TASK.ring_head);
  const n = Math.min(h, EVENT_RING_ENTRIES);
  const out: TraceEntry[] = [];
  for (let i = h - n; i < h; i++) {
    const e = t + TASK.ring + (i & (EVENT_RING_ENTRIES - 1)) * EVENT_WORDS;
    out.push({
      timeUs: atomic_read(e),
      event: atomic_read(e + 1),
      a: atomic_read(e + 2),
      b: atomic_read(e + 3),
    });
  }
  return out;
}

// ---- counters ----------------------------------------------------------------------------

/** Bump one of this task's counters. Plain: only the owner writes its counters. */
export function count(c: number): void {
  const p = cur + TASK.counters + c;
  plain_set(p, (plain_read(p) + 1) | 0);
}

export function count_add(c: number, n: number): void {
  const p = cur + TASK.counters + c;
  plain_set(p, (plain_read(p) + n) | 0);
}

/** Sum counter c over tasks [0, n). Read after the workers have stopped. */
export function sum_counter(c: number, n: number): number {
  let s = 0;
  for (let id = 0; id < n; id++) s += atomic_read(task_ptr(id) + TASK.counters + c);
  return s;
}

export function reset_counters(n: number): void {
  for (let id = 0; id < n; id++) {
    const t = task_ptr(id);
    for (let c = 0; c < NR_TASK_COUNTERS; c++) atomic_set(t + TASK.counters + c, 0);
  }
}

/** Bump this task's progress tick (the watchdog's sign of life). */
export function tick(): void {
  const p = cur + TASK.progress;
  plain_set(p, (plain_read(p) + 1) | 0);
}

// ---- time --------------------------------------------------------------------------------

let virtualClock: (() => number) | null = null;

/**
 * Replace real time in this thread (null: real time again). The controlled scheduler installs
 * a clock that counts its decisions, so that time-based choices (the rwsem handoff timeout)
 * are the same on every replay, and sleeps and spins that model work take no steps.
 */
export function set_virtual_clock(clock: (() => number) | null): void {
  virtualClock = clock;
}

/** Milliseconds, the same origin in every thread: performance.timeOrigin-based, or virtual. */
export function sched_clock_ms(): number {
  return virtualClock !== null ? virtualClock() : performance.timeOrigin + performance.now();
}

/**
 * A poll's snapshot: the value of `word` that poll_timeout() waits to see change. Read it
 * before the poll's own check, so no change between the check and the sleep is missed. Free
 * running, nothing is read (0): the poll is a plain timed sleep.
 */
export function poll_snapshot(word: number): number {
  return virtualClock !== null ? atomic_read(word) : 0;
}

/**
 * The sleep of a poll (a loop that re-checks a condition nobody wakes it for: the allocator
 * waiting for memory, the OOM reaper retrying a trylock). Free running: schedule_timeout(ms),
 * unchanged. Under the controlled scheduler a bounded sleep is "blocked until woken", and no
 * one wakes a poll; but polling cannot change what it polls, so the poll is blocked until
 * `word` (what its condition reads) no longer holds `seen`, or, sleeping TASK_KILLABLE, until
 * a kill. If nothing can change that word, every task blocked is a deadlock, as it should be.
 */
export function poll_timeout(ms: number, word: number, seen: number, killable = false): void {
  if (virtualClock === null) {
    schedule_timeout(ms);
    return;
  }
  const state = atomic_read(cur + TASK.state);
  if (killable) atomic_set(cur + TASK.state, TASK_KILLABLE);
  atomic_wait(word, seen, ms);
  if (killable) atomic_set(cur + TASK.state, state);
  check_abort();
}

/**
 * Sleep about `us` microseconds in Atomics.wait on this task's private fence word (nobody
 * notifies it). Models a fault that waits for I/O while it holds its lock. Under a virtual
 * clock the time passes at once.
 */
export function sleep_us(us: number): void {
  if (virtualClock !== null) return;
  // Off the CPU meanwhile, as io_schedule() is: a writer spinning on us as the lock owner
  // (owner_on_cpu) stops and queues.
  atomic_set(cur + TASK.state, TASK_UNINTERRUPTIBLE);
  atomic_wait(cur + TASK.fence, atomic_read(cur + TASK.fence), us / 1000);
  atomic_set(cur + TASK.state, TASK_RUNNING);
}

/**
 * Be preempted for about `us` microseconds: the harness's way (chaos, race tests) to stretch a
 * window. Unlike sleep_us() this is not a sleep of the task's own: it stays in its RCU read
 * section and online (a preempted reader of preemptible RCU), so the QSBR flavour's debug check
 * for sleeping inside a section does not fire, and a grace period simply waits longer.
 */
export function preempt_delay_us(us: number): void {
  if (virtualClock !== null) return; // under the controlled scheduler, it decides preemption
  atomic_wait(cur + TASK.preempt, atomic_read(cur + TASK.preempt), us / 1000);
}

/** owner_on_cpu(): whether task `t` (a slot pointer) is running, not asleep in a wait. */
export function task_on_cpu(t: number): boolean {
  return atomic_read(t + TASK.state) === TASK_RUNNING;
}

/** Busy-wait about `ns` nanoseconds (a fault that computes while it holds its lock). */
export function spin_ns(ns: number): void {
  if (virtualClock !== null) return;
  const until = performance.now() + ns / 1e6;
  while (performance.now() < until) cpu_relax();
}
