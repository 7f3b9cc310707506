// spinlock_t: a test-and-test-and-set lock that sleeps when the holder does not let go.
//
// Memory ordering: spin_lock() takes the word with a cmpxchg (ACQUIRE); spin_unlock() releases
// it with an xchg (RELEASE), which pairs with the cmpxchg of the next locker. Both are fully
// ordered Atomics operations.
//
// Why it can sleep: kernel spinlocks disable preemption, so the holder is always running. A
// worker thread can be preempted while it holds one (the machine is oversubscribed on purpose),
// and a pure spinner would then burn its whole time slice. After a bounded spin a contender marks
// the word 2 and sleeps on it in Atomics.wait for at most one slice; the unlocker of a word that
// reads 2 notifies one sleeper. The contract stays the kernel's: no ordering or fairness beyond
// mutual exclusion.

import { LockStateError } from '../errors.js';
import {
  atomic_cmpxchg,
  atomic_notify,
  atomic_read,
  atomic_wait,
  atomic_xchg,
  cpu_relax,
} from '../sched/atomics.js';
import { CNT } from '../sched/counters.js';
import { EV } from '../sched/events.js';
import { check_abort, count, trace } from '../sched/task.js';
import { SPINLOCK } from '../shm/layout/index.js';

const UNLOCKED = 0;
const LOCKED = 1;
const CONTENDED = 2;

/** Spins before a contender starts sleeping. */
const SPIN_LIMIT = 128;
/** The longest one sleep lasts before the abort flag is checked again. */
const SLEEP_MS = 20;

export function spin_lock_init(l: number): void {
  atomic_xchg(l + SPINLOCK.val, UNLOCKED);
}

/** ACQUIRE on success. May fail; never spins. */
export function spin_trylock(l: number): boolean {
  return atomic_cmpxchg(l + SPINLOCK.val, UNLOCKED, LOCKED) === UNLOCKED;
}

export function spin_lock(l: number): void {
  const p = l + SPINLOCK.val;
  if (atomic_cmpxchg(p, UNLOCKED, LOCKED) === UNLOCKED) return;
  spin_lock_slow(p);
}

function spin_lock_slow(p: number): void {
  count(CNT.SPIN_CONTENDED);
  trace(EV.SPIN_CONTENDED, p, 0);
  for (let i = 0; i < SPIN_LIMIT; i++) {
    if (atomic_read(p) === UNLOCKED && atomic_cmpxchg(p, UNLOCKED, LOCKED) === UNLOCKED) return;
    cpu_relax();
  }
  // From here on we take the lock as CONTENDED, so that our unlock wakes whoever else sleeps.
  for (;;) {
    if (atomic_xchg(p, CONTENDED) === UNLOCKED) return;
    atomic_wait(p, CONTENDED, SLEEP_MS);
    check_abort();
  }
}

/** RELEASE: pairs with the cmpxchg/xchg that takes the lock next. */
export function spin_unlock(l: number): void {
  const p = l + SPINLOCK.val;
  const old = atomic_xchg(p, UNLOCKED);
  if (old === CONTENDED) atomic_notify(p, 1);
  else if (old !== LOCKED) throw new LockStateError(`spin_unlock of an unlocked spinlock at ${l}`);
}

export function spin_is_locked(l: number): boolean {
  return atomic_read(l + SPINLOCK.val) !== UNLOCKED;
}

/** lockdep's assert_spin_locked: live in tests and stress runs. */
export function assert_spin_locked(l: number): void {
  if (!spin_is_locked(l)) throw new LockStateError(`spinlock at ${l} is not held`);
}
