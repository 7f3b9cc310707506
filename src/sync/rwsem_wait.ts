// rw_semaphore internals: the owner word, the wait list, and the waking side (rwsem_mark_wake,
// rwsem_try_write_lock, rwsem_del_wake_waiter). Mirrors kernel/locking/rwsem.c (v6.x); the
// public API and the slow paths are in rwsem.ts.
//
// Memory ordering:
// - The wait list, every waiter node's links, and every change of FLAG_WAITERS / FLAG_HANDOFF
//   happen under wait_lock (spin_lock ACQUIRE / spin_unlock RELEASE).
// - rwsem_mark_wake() adds the granted readers' biases to count BEFORE it clears any waiter's
//   `task` (two passes): a granted reader may run and up_read() at once, and its decrement must
//   never come before its increment.
// - Clearing waiter.task is the grant: a RELEASE store (atomic_set), paired with the ACQUIRE load
//   (atomic_read) of the sleeper in rwsem_down_read_slowpath(). After that store the waker never
//   touches the node again: the task may already be queued on another rwsem with the same node.
// - rwsem_try_write_lock() takes the lock with a cmpxchg: ACQUIRE on success, pairs with the
//   RELEASE fetch_add in up_read / up_write / downgrade_write.
// - Wake-ups are collected in a wake queue and issued after wait_lock is dropped (unpark: an xchg,
//   RELEASE, paired with park's xchg). A wake-up is only a hint: every sleeper re-checks its
//   condition, so an early, late or spurious unpark is harmless.

import {
  atomic_cmpxchg,
  atomic_fetch_add,
  atomic_fetch_and,
  atomic_read,
  atomic_set,
  plain_read,
  plain_set,
  sched_point,
} from '../sched/atomics.js';
import { BUG, bug_on } from '../sched/bugs.js';
import { CNT } from '../sched/counters.js';
import { EV } from '../sched/events.js';
import { sched_label } from '../sched/labels.js';
import { count, count_add, current, sched_clock_ms, trace, unpark } from '../sched/task.js';
import {
  RWSEM,
  RWSEM_FLAG_HANDOFF,
  RWSEM_FLAG_WAITERS,
  RWSEM_HANDOFF_OWED,
  RWSEM_LOCK_MASK,
  RWSEM_NONSPINNABLE,
  RWSEM_OWNER_SHIFT,
  RWSEM_READER_BIAS,
  RWSEM_READER_MASK,
  RWSEM_READER_OWNED,
  RWSEM_WAITER,
  RWSEM_WAITING_FOR_READ,
  RWSEM_WAITING_FOR_WRITE,
  RWSEM_WRITER_LOCKED,
  RWSEM_WRITER_MASK,
  TASK,
} from '../shm/layout/index.js';
import { spin_lock, spin_unlock } from './spinlock.js';

/**
 * RWSEM_WAIT_TIMEOUT: how long the first waiter waits before it may request a lock handoff.
 * The kernel uses max(4 ms, 1 jiffy).
 */
export const RWSEM_WAIT_TIMEOUT_MS = 4;
/**
 * A named point (src/sched/labels.ts): a queued writer that has waited past its timeout found
 * the lock held. Reached after it set HANDOFF, or, with BUG.RWSEM_NO_HANDOFF, where it would
 * have: race scripts (rwsem-starvation) order the readers' entries against it.
 */
export const SP_WRITE_TIMED_OUT = sched_label('rwsem_try_write_lock:timed_out');
/** At most this many readers are granted by one rwsem_mark_wake() (MAX_READERS_WAKEUP). */
export const MAX_READERS_WAKEUP = 256;

/** enum rwsem_wake_type */
export const RWSEM_WAKE_ANY = 0; // wake whatever waits at the head
export const RWSEM_WAKE_READERS = 1; // readers hold the lock: wake only readers
export const RWSEM_WAKE_READ_OWNED = 2; // the waker itself holds a read lock

// ---- time ------------------------------------------------------------------------------------

/**
 * The waiters' clock: milliseconds since the epoch as a wrapping u32 in an Int32, the same in
 * every thread (a waker compares its clock with a deadline another thread wrote); under the
 * controlled scheduler, its virtual clock (one millisecond per decision).
 */
export function rwsem_jiffies(): number {
  return Math.floor(sched_clock_ms()) | 0;
}

/** time_after(a, b): a is later than b, with wrap-around. */
export function time_after(a: number, b: number): boolean {
  return ((b - a) | 0) < 0;
}

// ---- the owner word --------------------------------------------------------------------------

export function rwsem_set_owner(sem: number): void {
  atomic_set(sem + RWSEM.owner, current() << RWSEM_OWNER_SHIFT);
}

export function rwsem_clear_owner(sem: number): void {
  atomic_set(sem + RWSEM.owner, 0);
}

/** Mark reader-owned by `task`, keeping the NONSPINNABLE bit. */
export function rwsem_set_reader_owned_by(sem: number, task: number): void {
  const keep = atomic_read(sem + RWSEM.owner) & RWSEM_NONSPINNABLE;
  atomic_set(sem + RWSEM.owner, (task << RWSEM_OWNER_SHIFT) | RWSEM_READER_OWNED | keep);
}

/** Set NONSPINNABLE if the lock is still reader-owned; otherwise leave the owner alone. */
export function rwsem_set_nonspinnable(sem: number): void {
  let o = atomic_read(sem + RWSEM.owner);
  while ((o & RWSEM_READER_OWNED) !== 0 && (o & RWSEM_NONSPINNABLE) === 0) {
    const found = atomic_cmpxchg(sem + RWSEM.owner, o, o | RWSEM_NONSPINNABLE);
    if (found === o) return;
    o = found;
  }
}

/** Clear NONSPINNABLE; only when the reader count has reached 0. */
export function rwsem_clear_nonspinnable(sem: number): void {
  if ((atomic_read(sem + RWSEM.owner) & RWSEM_NONSPINNABLE) !== 0) {
    atomic_fetch_and(sem + RWSEM.owner, ~RWSEM_NONSPINNABLE);
  }
}

/** The owner's task slot pointer (a hint: readers leave theirs behind), 0 if none. */
export function rwsem_owner(sem: number): number {
  return atomic_read(sem + RWSEM.owner) >>> RWSEM_OWNER_SHIFT;
}

// ---- the handoff check (instrumentation; KERNEL.md §7.7) ------------------------------------
//
// HANDOFF's guarantee, checked as behaviour: once the first waiter, a writer, has waited past
// its timeout and been refused, and the handoff is decided (rwsem_try_write_lock sets HANDOFF
// and first->handoff_set), the next task to take the lock is that waiter. The decision stamps
// the head's RWSEM_WAITER.handoff_due (owed bit and a new serial) under wait_lock; the head's
// leaving the list (it took the lock, or was killed) clears the bit, under wait_lock, before
// anyone else can take the lock. An acquirer outside wait_lock (a reader's fast path or steal, a
// spinning writer) reads the head and its stamp before its count operation and again after it
// took the lock: the same head owed with the same serial both times means it took the lock past
// the waiter owed it. Why the fixed code never trips it: the stamp is stored after the cmpxchg
// that set HANDOFF; an acquirer that read the stamp does its count operation after that
// cmpxchg, so it sees HANDOFF and cannot take the lock unless HANDOFF was cleared meanwhile,
// which happens only when the owed waiter took the lock (its clear precedes its up_write, which
// precedes our acquisition and our second read) or left the list (cleared before the list and
// the bits change). A queued writer behind the head is checked under wait_lock. The stamp and
// the reads are plain accesses (no schedule points, so race scripts explore what they explored
// before): the writes are under wait_lock; the first read before a locked RMW relies on x86's
// store and load order (TSO) for its "before", the second is ordered after the clear by the
// unlock/lock RELEASE/ACQUIRE chain. Violations are counted (CNT.RWSEM_HANDOFF_BYPASS) and
// traced, never thrown: the lock state stays intact and the stress run reports them as the
// rwsem-handoff check.

/** A token's serial field: the low 24 bits of handoff_due (head * 2^24 + serial stays exact). */
const DUE_SPAN = 0x1000000;

/**
 * The handoff is decided for the first waiter, if it is a writer: stamp it owed (a new serial
 * unless it already is). Caller holds wait_lock.
 */
function rwsem_handoff_owe(sem: number): void {
  const first = plain_read(sem + RWSEM.wait_head); // wait_lock held
  if (first === 0 || plain_read(first + RWSEM_WAITER.type) !== RWSEM_WAITING_FOR_WRITE) return;
  const due = plain_read(first + RWSEM_WAITER.handoff_due);
  if ((due & RWSEM_HANDOFF_OWED) !== 0) return;
  plain_set(first + RWSEM_WAITER.handoff_due, ((due + 2) % DUE_SPAN) | RWSEM_HANDOFF_OWED);
  trace(EV.RWSEM_HANDOFF_OWED, sem, first);
}

/** Node w leaves the head: whatever it was owed is settled. Caller holds wait_lock. */
function rwsem_handoff_settle(w: number): void {
  const due = plain_read(w + RWSEM_WAITER.handoff_due);
  if ((due & RWSEM_HANDOFF_OWED) !== 0) {
    plain_set(w + RWSEM_WAITER.handoff_due, due & ~RWSEM_HANDOFF_OWED);
  }
}

/**
 * Before a count operation that may take the lock: 0 if nobody is owed the lock, else a token
 * naming the owed head and its serial (see above).
 */
export function rwsem_handoff_due(sem: number): number {
  const h = plain_read(sem + RWSEM.wait_head);
  if (h === 0) return 0;
  const due = plain_read(h + RWSEM_WAITER.handoff_due);
  return (due & RWSEM_HANDOFF_OWED) === 0 ? 0 : h * DUE_SPAN + due;
}

/** After taking the lock: `due` is what rwsem_handoff_due() returned before the count operation. */
export function rwsem_handoff_check(sem: number, due: number): void {
  if (due === 0 || rwsem_handoff_due(sem) !== due) return;
  count(CNT.RWSEM_HANDOFF_BYPASS);
  trace(EV.RWSEM_HANDOFF_BYPASS, sem, Math.floor(due / DUE_SPAN));
}

// ---- the wait list (all under wait_lock) ------------------------------------------------------

/** The waiter node of task `task` (a slot pointer). */
export function rwsem_waiter_of(task: number): number {
  return task + TASK.rwsem_waiter;
}

/** The first waiter node, 0 if none. Caller holds wait_lock. */
export function rwsem_first_waiter(sem: number): number {
  return plain_read(sem + RWSEM.wait_head); // wait_lock held
}

/**
 * Fill in this task's node and append it to the tail (list_add_tail). Caller holds wait_lock;
 * the node becomes visible to others only through the list, so plain stores suffice except for
 * the fields read without the lock.
 */
export function rwsem_add_waiter(sem: number, w: number, type: number): void {
  const tail = plain_read(sem + RWSEM.wait_tail); // wait_lock held
  plain_set(w + RWSEM_WAITER.next, 0);
  plain_set(w + RWSEM_WAITER.prev, tail);
  plain_set(w + RWSEM_WAITER.sem, sem);
  plain_set(w + RWSEM_WAITER.type, type);
  plain_set(w + RWSEM_WAITER.timeout, (rwsem_jiffies() + RWSEM_WAIT_TIMEOUT_MS) | 0);
  atomic_set(w + RWSEM_WAITER.handoff_set, 0);
  atomic_set(w + RWSEM_WAITER.task, current());
  if (tail === 0)
    atomic_set(sem + RWSEM.wait_head, w); // read locklessly by rwsem_is_contended
  else plain_set(tail + RWSEM_WAITER.next, w);
  plain_set(sem + RWSEM.wait_tail, w);
}

/** Unlink node w (list_del). Caller holds wait_lock. */
function list_del(sem: number, w: number): void {
  const next = plain_read(w + RWSEM_WAITER.next); // wait_lock held, for all of these
  const prev = plain_read(w + RWSEM_WAITER.prev);
  if (prev === 0) rwsem_handoff_settle(w); // the head leaves: nobody is owed any more
  if (prev === 0) atomic_set(sem + RWSEM.wait_head, next);
  else plain_set(prev + RWSEM_WAITER.next, next);
  if (next === 0) plain_set(sem + RWSEM.wait_tail, prev);
  else plain_set(next + RWSEM_WAITER.prev, prev);
  plain_set(w + RWSEM_WAITER.next, 0);
  plain_set(w + RWSEM_WAITER.prev, 0);
  plain_set(w + RWSEM_WAITER.sem, 0);
}

/**
 * Remove a waiter; if the list is now empty, clear WAITERS and HANDOFF (rwsem_del_waiter).
 * Returns true if waiters remain. Caller holds wait_lock.
 */
export function rwsem_del_waiter(sem: number, w: number): boolean {
  list_del(sem, w);
  if (plain_read(sem + RWSEM.wait_head) !== 0) return true; // wait_lock held
  atomic_fetch_and(sem + RWSEM.count, ~(RWSEM_FLAG_HANDOFF | RWSEM_FLAG_WAITERS));
  return false;
}

// ---- the wake queue (wake_q) -------------------------------------------------------------------

const wakeQ: number[] = [];

export function wake_q_empty(): boolean {
  return wakeQ.length === 0;
}

/**
 * Forget this thread's wake queue and grant list without waking anyone: for a harness that
 * runs a body again on restored memory. A body that unwound between rwsem_mark_wake() and
 * wake_up_q() (the controlled scheduler ends an execution wherever its tasks stand) left
 * entries that the thread's next wake_up_q() would act on, in a run they do not belong to.
 */
export function rwsem_forget_wake_q(): void {
  wakeQ.length = 0;
  granted.length = 0;
}

/** Wake every task collected under wait_lock. Call after dropping it. */
export function wake_up_q(): void {
  for (let i = 0; i < wakeQ.length; i++) unpark(wakeQ[i]!);
  wakeQ.length = 0;
}

// ---- waking ----------------------------------------------------------------------------------

const granted: number[] = [];

/**
 * rwsem_mark_wake(): decide whom the lock goes to next. Caller holds wait_lock and the list is
 * not empty. A writer at the head is only woken (it competes for the lock itself, and only for
 * RWSEM_WAKE_ANY). Readers at the head are granted the lock here: the first by a bias added
 * before the rest are counted (backing off if a writer stole the lock meanwhile), then up to
 * MAX_READERS_WAKEUP readers from anywhere in the list, writers staying queued.
 */
export function rwsem_mark_wake(sem: number, wakeType: number): void {
  const cp = sem + RWSEM.count;
  const first = plain_read(sem + RWSEM.wait_head); // wait_lock held
  if (plain_read(first + RWSEM_WAITER.type) === RWSEM_WAITING_FOR_WRITE) {
    if (wakeType === RWSEM_WAKE_ANY) {
      wakeQ.push(plain_read(first + RWSEM_WAITER.task));
      trace(EV.RWSEM_WAKE, sem, -1);
    }
    return;
  }
  // Too many readers already (READFAIL): wake nobody.
  if (atomic_read(cp) < 0) return;

  let adjustment = 0;
  if (wakeType !== RWSEM_WAKE_READ_OWNED) {
    adjustment = RWSEM_READER_BIAS;
    const old = atomic_fetch_add(cp, adjustment);
    if ((old & RWSEM_WRITER_MASK) !== 0) {
      // A writer stole the lock. If the first reader has waited too long, request a handoff.
      if (
        !bug_on(BUG.RWSEM_NO_HANDOFF) &&
        time_after(rwsem_jiffies(), plain_read(first + RWSEM_WAITER.timeout))
      ) {
        if ((old & RWSEM_FLAG_HANDOFF) === 0) {
          adjustment -= RWSEM_FLAG_HANDOFF;
          count(CNT.RWSEM_HANDOFF_SET);
          trace(EV.RWSEM_HANDOFF, sem, RWSEM_WAITING_FOR_READ);
        }
        atomic_set(first + RWSEM_WAITER.handoff_set, 1);
      }
      atomic_fetch_add(cp, -adjustment);
      return;
    }
    // Tell spinners early that readers now own the lock.
    rwsem_set_reader_owned_by(sem, plain_read(first + RWSEM_WAITER.task));
  }

  // Pass 1: unlink up to MAX_READERS_WAKEUP readers from anywhere in the list.
  let w = first;
  while (w !== 0 && granted.length < MAX_READERS_WAKEUP) {
    const next = plain_read(w + RWSEM_WAITER.next); // wait_lock held
    if (plain_read(w + RWSEM_WAITER.type) === RWSEM_WAITING_FOR_READ) {
      list_del(sem, w);
      granted.push(w);
    }
    w = next;
  }
  const woken = granted.length;
  adjustment = woken * RWSEM_READER_BIAS - adjustment;
  const old = atomic_read(cp);
  if (plain_read(sem + RWSEM.wait_head) === 0) {
    // The list emptied: this implies rwsem_del_waiter() for the last one.
    adjustment -= RWSEM_FLAG_WAITERS;
    if ((old & RWSEM_FLAG_HANDOFF) !== 0) adjustment -= RWSEM_FLAG_HANDOFF;
  } else if (woken > 0 && (old & RWSEM_FLAG_HANDOFF) !== 0) {
    // Readers were woken: no need to force the issue any more.
    adjustment -= RWSEM_FLAG_HANDOFF;
  }
  if (adjustment !== 0) atomic_fetch_add(cp, adjustment);

  // Pass 2: the counts are in; now grant. Read the task, then clear it (RELEASE, pairs with
  // the sleeper's ACQUIRE load); do not touch the node afterwards.
  for (let i = 0; i < woken; i++) {
    const gw = granted[i]!;
    wakeQ.push(plain_read(gw + RWSEM_WAITER.task));
    atomic_set(gw + RWSEM_WAITER.task, 0);
  }
  granted.length = 0;
  count_add(CNT.RWSEM_READ_WOKEN, woken);
  trace(EV.RWSEM_WAKE, sem, woken);
}

/**
 * rwsem_cond_wake_waiter(): wake waiters unless a writer holds the lock; readers only if
 * readers hold it. Caller holds wait_lock and the list is not empty.
 */
export function rwsem_cond_wake_waiter(sem: number, c: number): void {
  if ((c & RWSEM_WRITER_MASK) !== 0) return;
  let wakeType = RWSEM_WAKE_ANY;
  if ((c & RWSEM_READER_MASK) !== 0) wakeType = RWSEM_WAKE_READERS;
  else rwsem_clear_nonspinnable(sem);
  rwsem_mark_wake(sem, wakeType);
}

/**
 * Remove waiter w after a fatal signal and, if it was first, let the others at the lock; drops
 * wait_lock and issues the wake-ups (rwsem_del_wake_waiter). Caller holds wait_lock.
 */
export function rwsem_del_wake_waiter(sem: number, w: number): void {
  const wasFirst = plain_read(sem + RWSEM.wait_head) === w; // wait_lock held
  // RWSEM_KILLED_NO_WAKE: leave without letting the new head at the lock.
  if (rwsem_del_waiter(sem, w) && wasFirst && !bug_on(BUG.RWSEM_KILLED_NO_WAKE)) {
    rwsem_mark_wake(sem, RWSEM_WAKE_ANY);
  }
  spin_unlock(sem + RWSEM.wait_lock);
  wake_up_q();
}

/** rwsem_wake(): called by an unlocker that saw WAITERS; wakes whoever is due. */
export function rwsem_wake(sem: number, wakeType: number): void {
  spin_lock(sem + RWSEM.wait_lock);
  if (plain_read(sem + RWSEM.wait_head) !== 0) rwsem_mark_wake(sem, wakeType); // wait_lock held
  spin_unlock(sem + RWSEM.wait_lock);
  wake_up_q();
}

/**
 * rwsem_try_write_lock(): a queued writer tries to take the lock. Caller holds wait_lock; on
 * success the node is unlinked. Any queued writer that has waited RWSEM_WAIT_TIMEOUT_MS and finds
 * the lock held may set HANDOFF; it is recorded on the *first* waiter (first->handoff_set), the
 * only one that may then take the lock. The others yield only while that record is set: a
 * HANDOFF bit left behind by a first waiter that was killed does not stop them. ACQUIRE on
 * success: the cmpxchg pairs with the unlockers' RELEASE.
 */
export function rwsem_try_write_lock(sem: number, w: number): boolean {
  const cp = sem + RWSEM.count;
  const first = plain_read(sem + RWSEM.wait_head); // wait_lock held
  const isFirst = first === w;
  const alone = isFirst && plain_read(sem + RWSEM.wait_tail) === w;
  const noHandoff = bug_on(BUG.RWSEM_NO_HANDOFF);
  let c = atomic_read(cp);
  let n: number;
  for (;;) {
    const hasHandoff = (c & RWSEM_FLAG_HANDOFF) !== 0;
    // Honour HANDOFF only when the first waiter holds it (handoff_set is written under
    // wait_lock, which we hold).
    if (hasHandoff && !isFirst && atomic_read(first + RWSEM_WAITER.handoff_set) !== 0) {
      return false;
    }
    if ((c & RWSEM_LOCK_MASK) !== 0) {
      if (hasHandoff) return false;
      if (!time_after(rwsem_jiffies(), plain_read(w + RWSEM_WAITER.timeout))) return false;
      if (noHandoff) {
        // BUG RWSEM_NO_HANDOFF: the handoff is decided here, as below, but the bit is not set.
        rwsem_handoff_owe(sem);
        sched_point(SP_WRITE_TIMED_OUT); // waited past its timeout, and sets nothing
        return false;
      }
      n = c | RWSEM_FLAG_HANDOFF;
    } else {
      n = (c | RWSEM_WRITER_LOCKED) & ~RWSEM_FLAG_HANDOFF;
      if (alone) n &= ~RWSEM_FLAG_WAITERS;
    }
    const found = atomic_cmpxchg(cp, c, n);
    if (found === c) break;
    c = found;
  }
  if ((n & RWSEM_FLAG_HANDOFF) !== 0) {
    atomic_set(first + RWSEM_WAITER.handoff_set, 1);
    rwsem_handoff_owe(sem); // after the cmpxchg: whoever reads the stamp sees HANDOFF
    count(CNT.RWSEM_HANDOFF_SET);
    trace(EV.RWSEM_HANDOFF, sem, RWSEM_WAITING_FOR_WRITE);
    sched_point(SP_WRITE_TIMED_OUT); // HANDOFF is set: from here on nobody steals the lock
    return false;
  }
  // A queued writer behind the head took the lock: past the head, if it was owed it.
  if (!isFirst) rwsem_handoff_check(sem, rwsem_handoff_due(sem));
  list_del(sem, w);
  rwsem_set_owner(sem);
  return true;
}
