// Thread bodies for test/unit/rcuwait.test.ts and test/litmus/store-buffer.test.ts.

import {
  atomic_fetch_add,
  atomic_notify,
  atomic_read,
  atomic_set,
  atomic_wait,
  cpu_relax,
} from '../../src/sched/atomics.js';
import { CNT } from '../../src/sched/counters.js';
import { check_abort, current, park } from '../../src/sched/task.js';
import { TASK, TASK_KILLABLE, TASK_UNINTERRUPTIBLE } from '../../src/shm/layout/index.js';
import { rcuwait_wait_event, rcuwait_wake_up } from '../../src/sync/rcuwait.js';

function xorshift(seed: number): () => number {
  let x = seed | 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

/** This task's count of park() sleeps that ended by time-out (sched/task.ts counts them). */
function parkTimeouts(): number {
  return atomic_read(current() + TASK.counters + CNT.PARK_TIMEOUT);
}

// ---- ping-pong: no lost wake-up over many cycles -------------------------------------------

export interface PingPongArgs {
  /** 0 or 1: side 0 moves the turn word from even to odd, side 1 from odd to even */
  readonly side: number;
  /** the turn word: the number of hand-overs done so far */
  readonly turn: number;
  readonly wSelf: number;
  readonly wPeer: number;
  /**
   * What each side's last rcuwait_wake_up() did, written after it returned:
   * (turn value it published << 1) | (1 if it found the peer waiting).
   */
  readonly recSelf: number;
  readonly recPeer: number;
  /** hand-overs in total (both sides) */
  readonly cycles: number;
  /** set by a side that gave up after maxLost lost wake-ups, so a broken build fails fast */
  readonly stop: number;
  readonly maxLost: number;
}

export interface PingPongResult {
  readonly waits: number;
  /** rcuwait_wake_up() calls that found the peer published */
  readonly found: number;
  /**
   * Sleeps that ended by time-out although the condition was already true and the waker had
   * already returned from rcuwait_wake_up() for that cycle without finding us: lost wake-ups.
   * Must be 0.
   */
  readonly lost: number;
  /**
   * Time-outs where the waker had returned having found us: its wake-up came after our slice
   * ended (it is pending, not lost). Benign; only printed.
   */
  readonly late: number;
  /** Time-outs before the waker had made the condition true (a slow peer). Benign. */
  readonly early: number;
  readonly stopped: boolean;
}

/**
 * Two tasks hand a turn back and forth, each sleeping on its own rcuwait until the turn is
 * its own; each wakes the other after passing the turn on. A random delay before the store of
 * the turn makes the waker's (B) land before, between and after the waiter's publish and
 * check.
 */
export function pingPong(a: PingPongArgs): PingPongResult {
  const next = xorshift(0x1234567 + a.side * 7919 + a.turn);
  let waits = 0;
  let found = 0;
  let lost = 0;
  let late = 0;
  let early = 0;
  let stopped = false;
  for (let t = a.side; t < a.cycles; t += 2) {
    let seenTimeouts = parkTimeouts();
    let firstCheck = true;
    const cond = (): boolean => {
      if (atomic_read(a.stop) !== 0) return true;
      const now = atomic_read(a.turn) === t;
      if (firstCheck) {
        firstCheck = false;
        // A slow condition: stretch the time between this load and whatever the waiter does
        // next, so the peer's store and (B) land inside it often (with the correct order the
        // waiter is published by now and the peer must find it).
        if (!now) for (let k = next() & 2047; k > 0; k--) cpu_relax();
      }
      const to = parkTimeouts();
      if (to !== seenTimeouts) {
        // The sleep that just ended timed out. Was the wake-up lost?
        seenTimeouts = to;
        const rec = atomic_read(a.recPeer);
        if (!now) early++;
        else if (rec >>> 1 !== t) early++;
        else if ((rec & 1) === 0) lost++;
        else late++;
      }
      return now;
    };
    // A random delay on both sides, so the waker's store lands before, inside and after the
    // few instructions between the waiter's publish (A) and its check of the condition.
    for (let k = next() & 127; k > 0; k--) cpu_relax();
    rcuwait_wait_event(a.wSelf, cond, TASK_UNINTERRUPTIBLE);
    waits++;
    if (lost >= a.maxLost || atomic_read(a.stop) !== 0) {
      atomic_set(a.stop, 1);
      rcuwait_wake_up(a.wPeer);
      stopped = true;
      break;
    }
    for (let k = next() & 127; k > 0; k--) cpu_relax();
    atomic_set(a.turn, t + 1); // [S] the condition
    const f = rcuwait_wake_up(a.wPeer); // (B), [L] w.task
    if (f) found++;
    atomic_set(a.recSelf, ((t + 1) << 1) | (f ? 1 : 0));
    if ((t & 1023) < 2) check_abort();
  }
  return { waits, found, lost, late, early, stopped };
}

// ---- killable / uninterruptible waits ------------------------------------------------------

/** Wait on w until the word `flag` is non-zero; returns what rcuwait_wait_event returned. */
export function waitFlag(args: { w: number; flag: number; killable: boolean }): number {
  return rcuwait_wait_event(
    args.w,
    () => atomic_read(args.flag) !== 0,
    args.killable ? TASK_KILLABLE : TASK_UNINTERRUPTIBLE,
  );
}

// ---- litmus: the A/B store-buffer pair ------------------------------------------------------

/**
 * Two-task barrier: arrive, then wait until both arrived at phase `phase` (the word counts
 * arrivals; phase n is open once it reaches 2n). Spins, then sleeps in 1 ms slices; the second
 * to arrive notifies, in case the first sleeps (the machine is oversubscribed).
 */
function roundBarrier(p: number, phase: number): void {
  const target = 2 * phase;
  if (atomic_fetch_add(p, 1) + 1 >= target) {
    atomic_notify(p, 1);
    return;
  }
  for (let i = 1; ; i++) {
    const v = atomic_read(p);
    if (v >= target) return;
    if (i < 2000) cpu_relax();
    else atomic_wait(p, v, 1);
    if ((i & 1023) === 0) check_abort();
  }
}

export interface LitmusArgs {
  readonly w: number;
  /** the condition word: round r's condition is `cond >= r` */
  readonly cond: number;
  /** the waker writes r here after rcuwait_wake_up() of round r returned */
  readonly returned: number;
  readonly barrier: number;
  readonly rounds: number;
  readonly seed: number;
  /** set by the waiter after maxLost lost wake-ups; both sides then stop at the next round */
  readonly stop: number;
  readonly maxLost: number;
}

/** Per-round outcome bits of the waiter. */
export const SAW_COND = 1;
/**
 * The waiter's wait in this round included a sleep that timed out before the waker had even
 * returned from rcuwait_wake_up(): the waker was stalled (preempted) between its store and its
 * load, and its load may then read the NULL the waiter left on its way out. Such a round says
 * nothing about the pair, so it is kept apart from the forbidden outcome.
 */
export const WAKER_STALLED = 2;

/**
 * The waiter side of rcuwait's pair, `rounds` times. Per round: SAW_COND if the waiter's first
 * check of the condition (right after publishing itself, (A)) saw it true; WAKER_STALLED (see
 * there).
 *
 * Before each round the waiter drains any wake-up token left from an earlier round (the waker
 * may find it published after it already saw the condition). Without that, a stale token could
 * end a sleep early, the waiter could leave and unpublish before the waker's load, and the
 * waker would read NULL without any lost wake-up. With it, a waiter that missed the condition
 * leaves only through this round's wake-up (the waker found it) or a time-out.
 */
export function litmusWaiter(a: LitmusArgs): Uint8Array {
  const out = new Uint8Array(a.rounds);
  const next = xorshift(a.seed);
  let lostRounds = 0;
  let r = 1;
  for (; r <= a.rounds; r++) {
    roundBarrier(a.barrier, 2 * r - 1);
    if (atomic_read(a.stop) !== 0) break;
    // Every unpark of round r - 1 happened before the waker arrived at the barrier above; the
    // second barrier starts both sides together again after the drain.
    park(0);
    roundBarrier(a.barrier, 2 * r);
    for (let k = next() & 31; k > 0; k--) cpu_relax();
    let first = -1;
    let stalled = 0;
    let lost = false;
    let seen = parkTimeouts();
    rcuwait_wait_event(
      a.w,
      () => {
        const v = atomic_read(a.cond) >= r;
        if (first === -1) first = v ? 1 : 0;
        const to = parkTimeouts();
        if (to !== seen) {
          seen = to;
          if (atomic_read(a.returned) < r) stalled = WAKER_STALLED;
          else if (v) lost = true;
        }
        return v;
      },
      TASK_UNINTERRUPTIBLE,
    );
    out[r - 1] = (first === 1 ? SAW_COND : 0) | stalled;
    // Each lost wake-up costs a whole sleep slice: give up early on a broken build, before
    // setting out for the next round (the waker reads the flag after that round's first barrier).
    if (lost && ++lostRounds >= a.maxLost) atomic_set(a.stop, 1);
  }
  return out.subarray(0, r - 1);
}

/** The waker side: store the condition, then rcuwait_wake_up(); 1 per round if it found a task. */
export function litmusWaker(a: LitmusArgs): Uint8Array {
  const out = new Uint8Array(a.rounds);
  const next = xorshift(a.seed);
  let r = 1;
  for (; r <= a.rounds; r++) {
    roundBarrier(a.barrier, 2 * r - 1);
    if (atomic_read(a.stop) !== 0) break;
    roundBarrier(a.barrier, 2 * r);
    for (let k = next() & 31; k > 0; k--) cpu_relax();
    atomic_set(a.cond, r); // [S] condition
    out[r - 1] = rcuwait_wake_up(a.w) ? 1 : 0; // (B), [L] w.task
    atomic_set(a.returned, r);
  }
  return out.subarray(0, r - 1);
}

/**
 * The bare store-buffer shape on two words, with Atomics stores and loads: [S] mine = r;
 * [L] theirs. Returns, per round, 1 if the load saw the other side's store of this round.
 */
export function litmusStoreBuffer(a: {
  mine: number;
  theirs: number;
  barrier: number;
  rounds: number;
  seed: number;
}): Uint8Array {
  const out = new Uint8Array(a.rounds);
  const next = xorshift(a.seed);
  for (let r = 1; r <= a.rounds; r++) {
    roundBarrier(a.barrier, r);
    for (let k = next() & 7; k > 0; k--) cpu_relax();
    atomic_set(a.mine, r);
    out[r - 1] = atomic_read(a.theirs) >= r ? 1 : 0;
  }
  return out;
}
