// The worker side of the litmus runner: one actor of one test, round after round, on its own
// thread. Run through the scenario worker (src/workers/scenario.ts), which has attached this
// thread to the buffer as task `taskId` and waited at the start barrier.
//
// A round: every actor passes the start barrier, runs its function over every instance in the
// same order (so the actors meet on the same instance), passes the end barrier; then each actor
// takes every nA-th instance (its slice), runs the arbiter on it, counts its outcome, zeroes
// its result words and re-initialises its shared words. Actor 0 then decides whether another
// round runs and writes that to LITMUS_CTL.go *before* it arrives at the next start barrier;
// the others read it after passing that barrier, so every actor sees the same decision.
//
// Memory ordering: the barrier is an Atomics add (full barrier) on arrival and an Atomics load
// on departure, so everything an actor wrote before arriving (its results, plain or not) is
// visible to every actor that has passed the barrier: the tally reads results with plain loads.

import {
  atomic_fetch_add,
  atomic_fetch_and,
  atomic_fetch_or,
  atomic_notify,
  atomic_read,
  atomic_set,
  atomic_wait,
  cpu_relax,
  plain_read,
  plain_set,
} from '../../sched/atomics.js';
import { check_abort } from '../../sched/task.js';
import { LITMUS_CTL } from '../../shm/layout/index.js';
import { classify, type LitmusTest, MAX_ACTORS } from './define.js';
import { findLitmus } from './registry.js';

export interface ActorArgs {
  /** the module that exports the test (a file URL a worker can import) */
  readonly module: string;
  readonly name: string;
  /** which actor this thread plays */
  readonly actor: number;
  readonly ctl: number;
  /** word index of instance 0's shared words; instance i is at base + i * stride */
  readonly base: number;
  readonly stride: number;
  /** word index of instance 0's result words; instance i's are at res + i * results */
  readonly res: number;
  readonly instances: number;
  /** stop after this many rounds ... */
  readonly maxRounds: number;
  /** ... or once this many ms have passed since the first round began (0: no limit) */
  readonly timeMs: number;
  /**
   * 0, or the word index of one sync word per instance: the actors then meet on each instance
   * (litmus7's "user" barrier) before running it, so they collide on it far more often.
   */
  readonly sync: number;
  /** stop after the round in which a FORBIDDEN or the hoped-for outcome first shows up */
  readonly stopOnFirst: boolean;
}

export interface ActorResult {
  /** [outcome, count] for the instances of this actor's slice */
  readonly histogram: ReadonlyArray<readonly [readonly number[], number]>;
  readonly rounds: number;
}

/** Spin, then sleep in 1 ms slices (abort-checked), until `arrivals` have arrived. */
function barrierWait(p: number, arrivals: number): void {
  if (atomic_fetch_add(p, 1) + 1 >= arrivals) {
    atomic_notify(p, 64);
    return;
  }
  for (let i = 1; ; i++) {
    const v = atomic_read(p);
    if (v >= arrivals) return;
    if (i < 4000) cpu_relax();
    else {
      atomic_wait(p, v, 1);
      if ((i & 63) === 0) check_abort();
    }
  }
}

/**
 * How long (cpu_relax() calls) the last actor to arrive at an instance's meeting point waits
 * before it runs the instance. The others leave the meeting only when they see its arrival, a
 * cache-line transfer later; without the delay it runs ahead of them. On the 2-core EPYC,
 * sb.plain showed r0 = r1 = 0 in about 0.7% of instances with no delay, 5% with 4-16 (a shared,
 * loaded machine, so only a rough guide).
 */
const LEADER_DELAY = 8;

/** Arrivals at an instance's meeting point are counted in the low bits of its sync word ... */
const ARRIVALS = 0xffff;
/** ... and an actor that is about to sleep there sets this bit, so the last arrival notifies. */
const SLEEPER = 1 << 16;
/**
 * Spins at phase 2 before sleeping (up to a few hundred µs): long enough for a peer that phase 1
 * just woke to arrive. Collisions need the actors on CPUs at the same time: with a one-phase
 * meeting, on the loaded 2-core machine, sb.plain saw r0 = r1 = 0 in 0.1% of instances with
 * 2,000 spins, 1.6% with 20,000 and 5.7% with 100,000.
 */
const MEET_SPIN = 100_000;
/** Spins at phase 1 before sleeping: a peer may be descheduled; do not burn the CPU it needs. */
const WAIT_SPIN = 2000;

/**
 * Arrive at a meeting point and wait until `target` arrivals; true for the one that made it.
 * After a short spin a waiter sleeps (a futex-style flag: the last arrival notifies only if
 * someone sleeps), in 5 ms slices that check the abort flag.
 */
function meet(p: number, target: number, spin: number): boolean {
  const old = atomic_fetch_add(p, 1);
  if ((old & ARRIVALS) + 1 >= target) {
    if ((old & SLEEPER) !== 0) {
      atomic_fetch_and(p, ~SLEEPER);
      atomic_notify(p, MAX_ACTORS);
    }
    return true;
  }
  for (let i = 0; i < spin; i++) {
    if ((atomic_read(p) & ARRIVALS) >= target) return false;
    cpu_relax();
  }
  for (;;) {
    const v = atomic_fetch_or(p, SLEEPER) | SLEEPER;
    if ((v & ARRIVALS) >= target) return false;
    atomic_wait(p, v, 5);
    check_abort();
  }
}

/**
 * The per-instance meeting point, in two phases. Phase 1 waits for every actor, sleeping if it
 * takes long (an actor may be descheduled: that is what keeps them in step). A sleeper wakes
 * tens of microseconds after the last arrival, long after the last arrival would have finished
 * the instance; so phase 2 meets again, among actors that are now all awake and spinning, and
 * they leave it within a cache-line transfer of each other. The last to arrive at phase 2 then
 * waits LEADER_DELAY, about one such transfer, so it does not run ahead of the others.
 */
function instanceSync(p: number, nA: number): void {
  meet(p, nA, WAIT_SPIN);
  if (meet(p, 2 * nA, MEET_SPIN)) for (let k = LEADER_DELAY; k > 0; k--) cpu_relax();
}

/**
 * Outcomes are counted under a number key while every result fits the field width (the common
 * case: small values), else under a string key.
 */
function fieldBits(results: number): number {
  return Math.floor(30 / results);
}

/** Whether the outcome in result words r is one a stopOnFirst run stops on. */
function stopsRun(test: LitmusTest, r: number): boolean {
  const out: number[] = [];
  for (let k = 0; k < test.results; k++) out.push(plain_read(r + k));
  if (test.hopeToSee !== undefined && out.join(', ') === test.hopeToSee) return true;
  return classify(test, out).expect === 'FORBIDDEN';
}

export async function runLitmusActor(a: ActorArgs): Promise<ActorResult> {
  const test = await findLitmus(a.module, a.name);
  const nA = test.actors.length;
  const R = test.results;
  const fn = test.actors[a.actor];
  if (fn === undefined) throw new RangeError(`litmus ${a.name}: no actor ${a.actor}`);
  const arbiter = test.arbiter;
  const init = test.init;
  const bits = fieldBits(R);
  const lim = 2 ** bits - 1;
  const numeric = new Map<number, number>();
  const other = new Map<string, number>();
  const bar = a.ctl + LITMUS_CTL.barrier;
  const go = a.ctl + LITMUS_CTL.go;
  const seen = a.ctl + LITMUS_CTL.seen;
  const n = a.instances;
  const t0 = performance.now();
  let rounds = 0;
  for (;;) {
    barrierWait(bar, nA * (2 * rounds + 1));
    if (atomic_read(go) === 0) break;
    if (a.sync === 0) {
      for (let i = 0; i < n; i++) fn(a.base + i * a.stride, a.res + i * R);
    } else {
      for (let i = 0; i < n; i++) {
        instanceSync(a.sync + i, nA);
        fn(a.base + i * a.stride, a.res + i * R);
      }
    }
    barrierWait(bar, nA * (2 * rounds + 2));
    rounds++;
    // The tally of this actor's slice, then the reset for the next round.
    for (let i = a.actor; i < n; i += nA) {
      const s = a.base + i * a.stride;
      const r = a.res + i * R;
      if (arbiter !== undefined) arbiter(s, r);
      let key = 0;
      let mul = 1;
      let fits = true;
      for (let k = 0; k < R; k++) {
        const v = plain_read(r + k) + 1;
        if (v < 0 || v > lim) fits = false;
        key += v * mul;
        mul *= 2 ** bits;
      }
      if (fits) {
        const c = numeric.get(key);
        numeric.set(key, (c ?? 0) + 1);
        if (c === undefined && a.stopOnFirst && stopsRun(test, r)) atomic_set(seen, 1);
      } else {
        const out: number[] = [];
        for (let k = 0; k < R; k++) out.push(plain_read(r + k));
        const sk = out.join(',');
        const c = other.get(sk);
        other.set(sk, (c ?? 0) + 1);
        if (c === undefined && a.stopOnFirst && stopsRun(test, r)) atomic_set(seen, 1);
      }
      for (let k = 0; k < R; k++) plain_set(r + k, 0);
      if (a.sync !== 0) plain_set(a.sync + i, 0);
      if (init !== undefined) init(s, r);
    }
    if (a.actor === 0) {
      const more =
        rounds < a.maxRounds &&
        (a.timeMs === 0 || performance.now() - t0 < a.timeMs) &&
        atomic_read(seen) === 0;
      atomic_set(a.ctl + LITMUS_CTL.rounds, rounds);
      atomic_set(go, more ? 1 : 0);
    }
    if ((rounds & 15) === 0) check_abort();
  }
  const histogram: Array<readonly [readonly number[], number]> = [];
  for (const [key, c] of numeric) {
    const out: number[] = [];
    let k = key;
    for (let j = 0; j < R; j++) {
      out.push((k % 2 ** bits) - 1);
      k = Math.floor(k / 2 ** bits);
    }
    histogram.push([out, c]);
  }
  for (const [sk, c] of other) histogram.push([sk.split(',').map(Number), c]);
  return { histogram, rounds };
}
