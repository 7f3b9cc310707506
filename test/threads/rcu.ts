// Thread bodies for test/unit/rcu.test.ts and test/stress/rcu.test.ts (RCU and, through the
// `flavor` argument, SRCU: the poisoned-object torture is written once for both).

import {
  atomic_fetch_add,
  atomic_read,
  atomic_set,
  atomic_xchg,
  cpu_relax,
  SP_RMW,
  set_schedule_hook,
} from '../../src/sched/atomics.js';
import { check_abort, current, park } from '../../src/sched/task.js';
import { get_root } from '../../src/shm/arena.js';
import { RCU_STATE, ROOT, TASK } from '../../src/shm/layout/index.js';
import {
  call_rcu,
  poll_state_synchronize_rcu,
  rcu_barrier,
  rcu_flavor,
  rcu_process_callbacks,
  rcu_quiescent_state,
  rcu_read_lock,
  rcu_read_lock_held,
  rcu_read_unlock,
  rcu_set_counters_for_test,
  rcu_state_ptr,
  rcu_thread_offline,
  rcu_thread_online,
  start_poll_synchronize_rcu,
  synchronize_rcu,
} from '../../src/sync/rcu.js';
import {
  call_srcu,
  srcu_barrier,
  srcu_process_callbacks,
  srcu_read_lock,
  srcu_read_unlock,
  synchronize_srcu,
} from '../../src/sync/srcu.js';

/** What a freed object is filled with (the kernel's POISON_FREE byte, 0x6b, in every byte). */
export const POISON = 0x6b6b6b6b;
/** Words per test object: word 0 = generation, word i = objWord(gen, i). */
export const OBJ_WORDS = 8;

export function objWord(gen: number, i: number): number {
  return i === 0 ? gen : (Math.imul(gen, 31) + i) | 0;
}

/**
 * Whether waits must spin: a qsbr read section may not sleep (a parked task is quiescent, so
 * the flavour forbids it and its debug check throws); a memb reader may be preempted anywhere.
 */
function mustSpin(): boolean {
  if (get_root(ROOT.RCU) === 0) return false; // a buffer without RCU (the SRCU tests)
  return rcu_read_lock_held() && rcu_flavor() === 'qsbr';
}

/** Wait (bounded sleeps, or abort-checked spinning inside a qsbr section) until p holds v. */
export function waitFor(p: number, v: number): void {
  const spin = mustSpin();
  for (let i = 0; atomic_read(p) !== v; i++) {
    if (spin) cpu_relax();
    else park(2);
    if (!spin || (i & 1023) === 0) check_abort();
  }
}

/** Sleep (or, inside a qsbr section, spin) about ms milliseconds in bounded slices. */
export function sleepMs(ms: number): void {
  const spin = mustSpin();
  const end = performance.now() + ms;
  for (let left = ms; left > 0; left = end - performance.now()) {
    if (spin) for (let i = 0; i < 256; i++) cpu_relax();
    else park(Math.max(1, Math.ceil(left)));
    check_abort();
  }
}

// ---- unit scenarios -----------------------------------------------------------------------

/**
 * Enter a read section, raise `started`, stay inside until `release` is set (or for holdMs if
 * release is 0), raise `ended`, leave.
 */
export function holdReader(a: {
  started: number;
  release: number;
  holdMs: number;
  ended: number;
}): number {
  rcu_thread_online(); // qsbr: a reader whose sections cost nothing; memb: no-op
  rcu_read_lock();
  atomic_set(a.started, 1);
  if (a.release !== 0) waitFor(a.release, 1);
  else sleepMs(a.holdMs);
  atomic_set(a.ended, 1);
  rcu_read_unlock();
  rcu_quiescent_state();
  rcu_thread_offline();
  return 0;
}

/**
 * qsbr: go online, raise `started`, then run (no read section, no sleep, no quiescent state)
 * for spinMs, raise `qs` and report a quiescent state, then sleep until `release`.
 */
export function onlineSpinner(a: {
  started: number;
  spinMs: number;
  qs: number;
  release: number;
}): number {
  rcu_thread_online();
  atomic_set(a.started, 1);
  const end = performance.now() + a.spinMs;
  while (performance.now() < end) {
    for (let i = 0; i < 256; i++) cpu_relax();
    check_abort();
  }
  atomic_set(a.qs, 1);
  rcu_quiescent_state();
  waitFor(a.release, 1); // parks: offline while asleep
  return 0;
}

/** Once `started`, synchronize_rcu(); report `qs` as it was when the grace period ended. */
export function syncAfterStart(a: { started: number; qs: number; release: number }): number {
  waitFor(a.started, 1);
  rcu_thread_online(); // a waiting updater must not wait for itself
  synchronize_rcu();
  const qs = atomic_read(a.qs);
  rcu_quiescent_state();
  // A second grace period while the spinner sleeps (online, parked): it must not wait for it.
  synchronize_rcu();
  atomic_set(a.release, 1);
  return qs;
}

/** qsbr: sleep inside a read section; returns the error's name (the debug check throws). */
export function parkInsideSection(): string {
  rcu_thread_online();
  rcu_read_lock();
  try {
    park(1);
    return 'none';
  } catch (e) {
    return (e as Error).message;
  } finally {
    rcu_read_unlock();
    rcu_thread_offline();
  }
}

/** Once the reader is inside, synchronize_rcu(); report whether its section had ended. */
export function syncAfterReader(a: { started: number; ended: number }): number {
  waitFor(a.started, 1);
  synchronize_rcu();
  return atomic_read(a.ended);
}

/**
 * With another task's reader inside (and held there until we set `release`): queue n
 * callbacks and a polled cookie; processing must run none of them; then release the reader and
 * process until all have run.
 */
export function callbacksBehindReader(a: { started: number; release: number; n: number }): {
  early: number;
  pollEarly: boolean;
  order: number[];
  pollLate: boolean;
  again: number;
} {
  waitFor(a.started, 1);
  const order: number[] = [];
  for (let i = 0; i < a.n; i++) call_rcu(() => order.push(i));
  const cookie = start_poll_synchronize_rcu();
  let early = 0;
  for (let k = 0; k < 100; k++) {
    early += rcu_process_callbacks();
    if (k % 10 === 0) park(1);
  }
  const pollEarly = poll_state_synchronize_rcu(cookie);
  atomic_set(a.release, 1);
  while (order.length < a.n) {
    if (rcu_process_callbacks() === 0) park(1);
    check_abort();
  }
  return {
    early,
    pollEarly,
    order,
    pollLate: poll_state_synchronize_rcu(cookie),
    again: rcu_process_callbacks(),
  };
}

/**
 * The stale-snapshot reader: a schedule hook stops rcu_read_lock() between its load of gp_ctr
 * and its store into the slot, until the writer says `go`. Then it stays inside holdMs.
 */
export function staleReader(a: {
  stalled: number;
  go: number;
  inside: number;
  ended: number;
  holdMs: number;
}): number {
  const mySlot = current() + TASK.rcu_ctr;
  set_schedule_hook((kind, what) => {
    if (kind !== SP_RMW || what !== mySlot) return;
    set_schedule_hook(null);
    atomic_set(a.stalled, 1);
    waitFor(a.go, 1);
  });
  // memb: rcu_read_lock's slot store stalls; qsbr: rcu_thread_online's (the same load, then
  // store of gp_ctr), and the section after it is covered only by that stale snapshot.
  rcu_thread_online();
  rcu_read_lock();
  atomic_set(a.inside, 1);
  sleepMs(a.holdMs);
  atomic_set(a.ended, 1);
  rcu_read_unlock();
  rcu_quiescent_state();
  rcu_thread_offline();
  return 0;
}

/**
 * The writer against staleReader: one grace period while the reader is stalled (its slot is
 * still 0), then move gp_ctr so that the next flip lands exactly on the reader's stale snapshot
 * (as if 2^16 - 1 flips had passed), release it, and synchronize. Returns the reader's `ended`.
 */
export function staleWriter(a: { stalled: number; go: number; inside: number; ended: number }): {
  ended: number;
  snap: number;
  ctrAfter: number;
} {
  waitFor(a.stalled, 1);
  const ctrp = rcu_state_ptr() + RCU_STATE.gp_ctr;
  const seqp = rcu_state_ptr() + RCU_STATE.gp_seq;
  const snap = atomic_read(ctrp); // what the stalled reader loaded
  synchronize_rcu();
  rcu_set_counters_for_test((snap - (1 << 16)) | 0, atomic_read(seqp));
  atomic_set(a.go, 1);
  waitFor(a.inside, 1);
  synchronize_rcu();
  return { ended: atomic_read(a.ended), snap, ctrAfter: atomic_read(ctrp) };
}

// ---- the poisoned-object torture (RCU or SRCU) ----------------------------------------------

export interface Flavor {
  readonly flavor: 'rcu' | 'srcu';
  /** the srcu_struct for flavor 'srcu' */
  readonly ssp: number;
}

export interface PoisonReaderArgs extends Flavor {
  /** the shared pointer word */
  readonly ptr: number;
  readonly reads: number;
  /** incremented when this reader is done */
  readonly done: number;
}

export interface PoisonReaderResult {
  reads: number;
  bad: number;
  gens: number;
}

/** Check object p under the read lock: one bad observation at most per read. */
function checkObject(p: number): boolean {
  const g = atomic_read(p);
  if (g === POISON) return false;
  for (let i = 1; i < OBJ_WORDS; i++) if (atomic_read(p + i) !== objWord(g, i)) return false;
  for (let i = 0; i < 32; i++) cpu_relax(); // widen the window the writer could free it in
  for (let i = 0; i < OBJ_WORDS; i++) if (atomic_read(p + i) !== objWord(g, i)) return false;
  return true;
}

export function poisonReader(a: PoisonReaderArgs): PoisonReaderResult {
  let bad = 0;
  let gens = 0;
  let lastGen = 0;
  // rcu qsbr: online, a quiescent state after every read (liburcu's rcutorture does the same).
  if (a.flavor === 'rcu') rcu_thread_online();
  for (let r = 0; r < a.reads; r++) {
    const nest = (r & 7) === 0;
    let idx = 0;
    let idx2 = 0;
    if (a.flavor === 'rcu') rcu_read_lock();
    else idx = srcu_read_lock(a.ssp);
    if (nest) {
      if (a.flavor === 'rcu') rcu_read_lock();
      else idx2 = srcu_read_lock(a.ssp);
    }
    const p = atomic_read(a.ptr); // rcu_dereference
    if (!checkObject(p)) bad++;
    const g = atomic_read(p);
    if (g !== lastGen) {
      gens++;
      lastGen = g;
    }
    if (nest) {
      if (a.flavor === 'rcu') rcu_read_unlock();
      else srcu_read_unlock(a.ssp, idx2);
    }
    if (a.flavor === 'rcu') {
      rcu_read_unlock();
      rcu_quiescent_state();
    } else srcu_read_unlock(a.ssp, idx);
    if ((r & 1023) === 0) check_abort();
  }
  if (a.flavor === 'rcu') rcu_thread_offline();
  atomic_fetch_add(a.done, 1);
  return { reads: a.reads, bad, gens };
}

export interface PoisonWriterArgs extends Flavor {
  readonly ptr: number;
  /** objects the writer owns; pool[0] is published at start with generation 1 */
  readonly pool: readonly number[];
  readonly done: number;
  readonly nReaders: number;
  /** keep replacing at least this many times even if the readers finish first */
  readonly minReplacements: number;
  /** free by waiting (synchronize_*) or by deferring (call_*) */
  readonly mode: 'sync' | 'call';
}

export interface PoisonWriterResult {
  replacements: number;
  poisoned: number;
  lastGen: number;
}

export function poisonWriter(a: PoisonWriterArgs): PoisonWriterResult {
  const free = a.pool.slice(1);
  let gen = 1;
  let replacements = 0;
  let poisoned = 0;
  const poison = (o: number): void => {
    for (let i = 0; i < OBJ_WORDS; i++) atomic_set(o + i, POISON);
    poisoned++;
    free.push(o);
  };
  const process = (): number =>
    a.flavor === 'rcu' ? rcu_process_callbacks() : srcu_process_callbacks(a.ssp);
  if (a.flavor === 'rcu') rcu_thread_online(); // qsbr: an updater that is itself a reader
  while (atomic_read(a.done) < a.nReaders || replacements < a.minReplacements) {
    while (free.length === 0) {
      if (process() === 0) park(1);
      check_abort();
    }
    const o = free.shift()!;
    gen++;
    for (let i = 0; i < OBJ_WORDS; i++) atomic_set(o + i, objWord(gen, i));
    const old = atomic_xchg(a.ptr, o); // rcu_assign_pointer: RELEASE
    replacements++;
    if (a.flavor === 'rcu') rcu_quiescent_state();
    if (a.mode === 'sync') {
      if (a.flavor === 'rcu') synchronize_rcu();
      else synchronize_srcu(a.ssp);
      poison(old);
    } else {
      if (a.flavor === 'rcu') call_rcu(() => poison(old));
      else call_srcu(a.ssp, () => poison(old));
      process();
    }
  }
  if (a.flavor === 'rcu') {
    rcu_barrier();
    rcu_thread_offline();
  } else srcu_barrier(a.ssp);
  return { replacements, poisoned, lastGen: gen };
}
