// Thread bodies for test/unit/rwsem.test.ts and test/stress/rwsem.test.ts.
//
// Shared words are passed as pointers in `args`; every wait is a bounded park() loop that checks
// the abort flag, so the watchdog in runThreads can always unwind a stuck test.

import { EINTR } from '../../src/errors.js';
import {
  atomic_add_return,
  atomic_fetch_add,
  atomic_read,
  atomic_set,
  cpu_relax,
} from '../../src/sched/atomics.js';
import { check_abort, park, set_park_spin } from '../../src/sched/task.js';
import {
  down_read,
  down_read_killable,
  down_read_trylock,
  down_write,
  down_write_killable,
  down_write_trylock,
  downgrade_write,
  rwsem_check_invariants,
  up_read,
  up_write,
} from '../../src/sync/rwsem.js';

/** Wait (bounded sleeps) until word p is non-zero. */
function waitNonZero(p: number): void {
  while (atomic_read(p) === 0) {
    park(1);
    check_abort();
  }
}

/** Burn a little CPU inside a critical section, to widen race windows. */
function spin(n: number): void {
  for (let i = 0; i < n; i++) cpu_relax();
}

// ---- scripted holders (unit tests) -------------------------------------------------------------

export interface HoldArgs {
  readonly sem: number;
  /** read | write; killable variants return EINTR without holding anything */
  readonly mode: 'read' | 'write' | 'read_killable' | 'write_killable';
  /** bumped once the lock is held */
  readonly got: number;
  /** the thread holds the lock until this word is non-zero */
  readonly release: number;
  /** each acquisition takes a ticket from here: the order in which tasks got the lock */
  readonly order: number;
  /** the thread starts only once this word reaches gateValue (so tests can queue tasks in order) */
  readonly gate: number;
  readonly gateValue: number;
}

export interface HoldResult {
  readonly ret: number;
  /** the acquisition ticket, -1 if the lock was never held */
  readonly ticket: number;
}

/** Take the lock in `mode`, announce it, hold it until released, drop it. */
export function hold(a: HoldArgs): HoldResult {
  while (atomic_read(a.gate) < a.gateValue) {
    park(1);
    check_abort();
  }
  let ret = 0;
  if (a.mode === 'read') down_read(a.sem);
  else if (a.mode === 'write') down_write(a.sem);
  else if (a.mode === 'read_killable') ret = down_read_killable(a.sem);
  else ret = down_write_killable(a.sem);
  if (ret !== 0) return { ret, ticket: -1 };
  const ticket = atomic_fetch_add(a.order, 1);
  atomic_fetch_add(a.got, 1);
  waitNonZero(a.release);
  if (a.mode === 'read' || a.mode === 'read_killable') up_read(a.sem);
  else up_write(a.sem);
  return { ret, ticket };
}

// ---- mutual exclusion ----------------------------------------------------------------------------

export interface MixArgs {
  readonly sem: number;
  /** shadow words: [0] value (non-atomic RMW by writers), [1] writer present, [2] readers in */
  readonly shadow: number;
  readonly iters: number;
  readonly seed: number;
  /** percentage of iterations that write */
  readonly writePct: number;
}

export interface MixResult {
  writes: number;
  reads: number;
  downgrades: number;
  trylockFails: number;
  /** a reader saw a writer inside, or a writer saw anyone else inside */
  errors: number;
  maxReaders: number;
}

function xorshift(s: number): number {
  s ^= s << 13;
  s ^= s >>> 17;
  s ^= s << 5;
  return s | 0;
}

function readSection(a: MixArgs, r: MixResult): void {
  if (atomic_read(a.shadow + 1) !== 0) r.errors++;
  const inside = atomic_add_return(a.shadow + 2, 1);
  if (inside > r.maxReaders) r.maxReaders = inside;
  spin(20);
  if (atomic_read(a.shadow + 1) !== 0) r.errors++;
  atomic_fetch_add(a.shadow + 2, -1);
  r.reads++;
}

function writeSection(a: MixArgs, r: MixResult): void {
  if (atomic_read(a.shadow + 1) !== 0 || atomic_read(a.shadow + 2) !== 0) r.errors++;
  atomic_set(a.shadow + 1, 1);
  // A deliberately non-atomic read-modify-write: lost updates show up in the final value.
  const v = atomic_read(a.shadow);
  spin(20);
  atomic_set(a.shadow, v + 1);
  if (atomic_read(a.shadow + 2) !== 0) r.errors++;
  atomic_set(a.shadow + 1, 0);
  r.writes++;
}

/** Random mix of every lock operation; checks exclusion with the shadow words. */
export function mix(a: MixArgs): MixResult {
  const r: MixResult = {
    writes: 0,
    reads: 0,
    downgrades: 0,
    trylockFails: 0,
    errors: 0,
    maxReaders: 0,
  };
  let s = a.seed | 1;
  for (let i = 0; i < a.iters; i++) {
    s = xorshift(s);
    const pick = (s >>> 0) % 100;
    const variant = (s >>> 8) & 3;
    if (pick < a.writePct) {
      if (variant === 0) {
        if (!down_write_trylock(a.sem)) {
          r.trylockFails++;
          continue;
        }
      } else if (variant === 1) {
        if (down_write_killable(a.sem) !== 0) throw new Error('EINTR without a kill');
      } else {
        down_write(a.sem);
      }
      writeSection(a, r);
      if (variant === 3) {
        downgrade_write(a.sem);
        r.downgrades++;
        readSection(a, r);
        up_read(a.sem);
      } else {
        up_write(a.sem);
      }
    } else {
      if (variant === 0) {
        if (!down_read_trylock(a.sem)) {
          r.trylockFails++;
          continue;
        }
      } else if (variant === 1) {
        if (down_read_killable(a.sem) !== 0) throw new Error('EINTR without a kill');
      } else {
        down_read(a.sem);
      }
      readSection(a, r);
      up_read(a.sem);
    }
    if ((i & 1023) === 0) {
      rwsem_check_invariants(a.sem);
      check_abort();
    }
  }
  return r;
}

// ---- starvation ----------------------------------------------------------------------------------
//
// A stream of tasks takes and drops the lock without pause; one victim wants it `victimOps`
// times. The victim must get all of them while the stream still runs: the streamers stop only
// when the victim is done (the stop flag) or after `streamBound` iterations (the victim starved).

export interface StarveArgs {
  readonly sem: number;
  /**
   * [0] stop flag, [1] writers inside, [2] streamers still running (preset to `streamers`),
   * [3] exclusion errors, [4] streamers started
   */
  readonly ctl: number;
  readonly streamers: number;
  /** the streamers' mode; the victim takes the other one */
  readonly streamMode: 'read' | 'write';
  readonly streamBound: number;
  /** critical-section length of a streamer (cpu_relax rounds) */
  readonly holdSpin: number;
  readonly victimOps: number;
  /**
   * park() spin rounds for the victim. 0 makes it sleep at once, so that a wake-up takes as long
   * as a real one (a kernel task is not running when woken): the stream then always has time to
   * take the lock from under a woken victim, unless a handoff stops it.
   */
  readonly victimParkSpin: number;
}

export interface StreamResult {
  readonly iters: number;
  /** true if the stop flag ended the loop, false if the bound did */
  readonly stopped: boolean;
}

function lockAs(sem: number, mode: 'read' | 'write', ctl: number): void {
  if (mode === 'read') {
    down_read(sem);
    if (atomic_read(ctl + 1) !== 0) atomic_fetch_add(ctl + 3, 1);
  } else {
    down_write(sem);
    if (atomic_add_return(ctl + 1, 1) !== 1) atomic_fetch_add(ctl + 3, 1);
  }
}

function unlockAs(sem: number, mode: 'read' | 'write', ctl: number): void {
  if (mode === 'read') {
    up_read(sem);
  } else {
    atomic_fetch_add(ctl + 1, -1);
    up_write(sem);
  }
}

/** A streamer: lock, spin, unlock, again, until the stop flag or the bound. */
export function stream(a: StarveArgs): StreamResult {
  let i = 0;
  let stopped = false;
  atomic_fetch_add(a.ctl + 4, 1);
  for (; i < a.streamBound; i++) {
    if (atomic_read(a.ctl) !== 0) {
      stopped = true;
      break;
    }
    lockAs(a.sem, a.streamMode, a.ctl);
    spin(a.holdSpin);
    unlockAs(a.sem, a.streamMode, a.ctl);
    if ((i & 4095) === 0) check_abort();
  }
  atomic_fetch_add(a.ctl + 2, -1);
  return { iters: i, stopped };
}

export interface VictimResult {
  readonly ops: number;
  /** acquisitions made while at least one streamer was still running */
  readonly contended: number;
}

/** The victim: wants the lock `victimOps` times in the other mode, then stops the stream. */
export function victim(a: StarveArgs): VictimResult {
  const mode = a.streamMode === 'read' ? 'write' : 'read';
  while (atomic_read(a.ctl + 4) < a.streamers) {
    park(1);
    check_abort();
  }
  set_park_spin(a.victimParkSpin);
  let contended = 0;
  let k = 0;
  for (; k < a.victimOps; k++) {
    if (atomic_read(a.ctl + 2) === 0) break; // every streamer reached its bound: starved
    lockAs(a.sem, mode, a.ctl);
    if (atomic_read(a.ctl + 2) !== 0) contended++;
    spin(50);
    unlockAs(a.sem, mode, a.ctl);
    park(1); // let the stream back in before the next round
  }
  atomic_set(a.ctl, 1);
  return { ops: k, contended };
}

// ---- killed waiters ------------------------------------------------------------------------------

export interface KillableArgs {
  readonly sem: number;
  readonly write: boolean;
  /** bumped once the lock is held (a waiter granted before it noticed the kill) */
  readonly got: number;
}

/** One killable acquisition; holds nothing on return. Returns 0 or EINTR. */
export function killable(a: KillableArgs): number {
  const ret = a.write ? down_write_killable(a.sem) : down_read_killable(a.sem);
  if (ret === EINTR) return ret;
  atomic_fetch_add(a.got, 1);
  if (a.write) up_write(a.sem);
  else up_read(a.sem);
  return ret;
}

export interface CycleArgs {
  readonly sem: number;
  readonly iters: number;
  /** shadow words as in MixArgs */
  readonly shadow: number;
}

/** Plain lock/unlock cycles, used to show an rwsem still works after a kill. */
export function cycles(a: CycleArgs): number {
  let n = 0;
  for (let i = 0; i < a.iters; i++) {
    if ((i & 1) === 0) {
      down_write(a.sem);
      const v = atomic_read(a.shadow);
      atomic_set(a.shadow, v + 1);
      up_write(a.sem);
    } else {
      down_read(a.sem);
      up_read(a.sem);
    }
    n++;
  }
  return n;
}
