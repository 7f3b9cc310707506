// rw_semaphore (kernel/locking/rwsem.c, v6.x, !PREEMPT_RT): a reader-writer sleeping lock with
// reader lock stealing, writer optimistic spinning, lock handoff against starvation, killable
// waits and downgrade. KERNEL.md §3 is the specification; the count and owner encodings are
// documented in src/shm/layout/rwsem.ts, the wait list and the waking side in rwsem_wait.ts.
//
// Memory ordering:
// - Lock: down_read's fetch_add of READER_BIAS and down_write's cmpxchg 0 → WRITER_LOCKED are
//   ACQUIRE; so is every cmpxchg that takes the lock in a slow path. A reader granted by a waker
//   gets its ACQUIRE from the load of its waiter.task that sees 0 (pairs with the waker's
//   RELEASE store in rwsem_mark_wake), the waker having taken the lock on its behalf.
// - Unlock: up_read's and up_write's fetch_add, and downgrade_write's, are RELEASE: they pair
//   with the ACQUIRE of whoever takes the lock next.
// - Every Atomics operation is sequentially consistent, so each of these is at least as strong.
//
// Gotcha (as in the kernel): an unlock touches the rwsem after the count has been released, to
// wake waiters (wait_lock, the list), possibly after another task has taken the lock. So an
// rwsem must never be what drops the last reference to the object that contains it.
//
// Optimistic spinning (kernel/locking/rwsem.c, CONFIG_RWSEM_SPIN_ON_OWNER): before queueing, a
// writer spins while the owner word names a writer that is on a CPU, trying to take the lock
// each time the owner changes; on a reader-owned lock it spins for a time limit of
// (20 + readers) / 2 µs (readers capped at 30), then sets NONSPINNABLE and queues. A first
// waiter that has set HANDOFF spins on the owner too, instead of sleeping, while it runs.
// Simplified, and how:
// - No osq (the MCS queue of spinners): concurrent spinners all watch the owner word and race
//   for the lock with cmpxchg. The osq only orders spinners among themselves and keeps them
//   off the lock's cache line; with 2 cores there is rarely a second spinner.
// - need_resched() has no JavaScript counterpart: a writer spins at most RWSEM_SPIN_MAX_US in
//   all (about a scheduler tick's worth of patience on a busy machine), then queues.
// - owner_on_cpu() is task_on_cpu(): the owner is not asleep in a faultline wait or sleep_us.
// - Off with HDR_FLAG_RWSEM_NO_SPIN (createArena({ rwsemSpin: false })): writers queue at once.

import { EINTR, LayoutError, LockStateError } from '../errors.js';
import {
  atomic_add_return,
  atomic_cmpxchg,
  atomic_fetch_add,
  atomic_fetch_or,
  atomic_read,
  atomic_set,
  cpu_relax,
  plain_read,
  sched_point,
} from '../sched/atomics.js';
import { CNT } from '../sched/counters.js';
import { EV } from '../sched/events.js';
import { SP } from '../sched/points.js';
import {
  count,
  current,
  fatal_signal_pending,
  sched_clock_ms,
  schedule_timeout,
  set_current_state,
  set_waiting,
  task_on_cpu,
  trace,
  wake_overdue,
} from '../sched/task.js';
import { max_tasks, task_ptr } from '../shm/arena.js';
import {
  HDR_FLAG_RWSEM_NO_SPIN,
  HEADER,
  RWSEM,
  RWSEM_FLAG_HANDOFF,
  RWSEM_FLAG_WAITERS,
  RWSEM_LOCK_MASK,
  RWSEM_NONSPINNABLE,
  RWSEM_OWNER_MAX_TASK,
  RWSEM_OWNER_SHIFT,
  RWSEM_READ_FAILED_MASK,
  RWSEM_READER_BIAS,
  RWSEM_READER_OWNED,
  RWSEM_READER_SHIFT,
  RWSEM_UNLOCKED_VALUE,
  RWSEM_WAITER,
  RWSEM_WAITING_FOR_READ,
  RWSEM_WAITING_FOR_WRITE,
  RWSEM_WRITER_LOCKED,
  RWSEM_WRITER_MASK,
  rwsem_count_readers,
  TASK_KILLABLE,
  TASK_RUNNING,
  TASK_UNINTERRUPTIBLE,
  WAIT_SITE,
} from '../shm/layout/index.js';
import { rwsem_assert_write_owner } from './rwsem_debug.js';
import {
  RWSEM_WAKE_ANY,
  RWSEM_WAKE_READ_OWNED,
  rwsem_add_waiter,
  rwsem_clear_nonspinnable,
  rwsem_clear_owner,
  rwsem_cond_wake_waiter,
  rwsem_del_wake_waiter,
  rwsem_first_waiter,
  rwsem_handoff_check,
  rwsem_handoff_due,
  rwsem_mark_wake,
  rwsem_set_nonspinnable,
  rwsem_set_owner,
  rwsem_set_reader_owned_by,
  rwsem_try_write_lock,
  rwsem_waiter_of,
  rwsem_wake,
  wake_q_empty,
  wake_up_q,
} from './rwsem_wait.js';
import { spin_lock, spin_lock_init, spin_trylock, spin_unlock } from './spinlock.js';

export {
  type RwsemWaiterInfo,
  rwsem_assert_held,
  rwsem_assert_held_write,
  rwsem_check_invariants,
  rwsem_describe,
  rwsem_is_contended,
  rwsem_is_locked,
  rwsem_wait_list,
} from './rwsem_debug.js';
export { RWSEM_WAIT_TIMEOUT_MS, rwsem_owner } from './rwsem_wait.js';

/** The most a writer spins before it queues, in µs: the stand-in for need_resched(). */
export const RWSEM_SPIN_MAX_US = 50;

/** init_rwsem(): unlocked, no owner, empty wait list. Not for a rwsem anyone may be using. */
export function init_rwsem(sem: number): void {
  const lastTask = task_ptr(max_tasks() - 1);
  if (lastTask >= RWSEM_OWNER_MAX_TASK) {
    throw new LayoutError(
      `init_rwsem: task slot pointer ${lastTask} does not fit the owner word (< ${RWSEM_OWNER_MAX_TASK})`,
    );
  }
  atomic_set(sem + RWSEM.count, RWSEM_UNLOCKED_VALUE);
  atomic_set(sem + RWSEM.owner, 0);
  spin_lock_init(sem + RWSEM.wait_lock);
  atomic_set(sem + RWSEM.wait_tail, 0);
  atomic_set(sem + RWSEM.wait_head, 0);
}

function rwsem_set_reader_owned(sem: number): void {
  rwsem_set_reader_owned_by(sem, current());
}

// ---- readers ----------------------------------------------------------------------------------

/**
 * Wait for the read lock (rwsem_down_read_slowpath). `c` is the count our fast-path bias
 * produced: that bias is still in the count. Returns 0, or EINTR (KILLABLE only) with the bias
 * gone and the wait list as it would be had we never come.
 */
function rwsem_down_read_slowpath(sem: number, c: number, state: number, due: number): number {
  const cp = sem + RWSEM.count;
  const rcnt = c >> RWSEM_READER_SHIFT;
  let adjustment = -RWSEM_READER_BIAS;
  count(CNT.RWSEM_READ_SLOW);
  trace(EV.RWSEM_DOWN_READ_SLOW, sem, c);

  // Against a continuous stream of readers starving a sleeping writer: no stealing when the
  // lock is most likely owned by other readers (they would never all leave at once). This guard,
  // not only HANDOFF, is what lets a writer in past a reader stream (test/stress/rwsem.test.ts).
  const othersReading =
    (atomic_read(sem + RWSEM.owner) & RWSEM_READER_OWNED) !== 0 &&
    rcnt > 1 &&
    (c & RWSEM_WRITER_LOCKED) === 0;

  // Reader lock stealing: no writer and no handoff → keep our bias; we have it.
  if (!othersReading && (c & (RWSEM_WRITER_LOCKED | RWSEM_FLAG_HANDOFF)) === 0) {
    rwsem_set_reader_owned(sem);
    count(CNT.RWSEM_READ_STEAL);
    trace(EV.RWSEM_STEAL, sem, c);
    rwsem_handoff_check(sem, due); // the fast path's fetch_add took it
    // The first reader in wakes the readers queued behind it.
    if (rcnt === 1 && (c & RWSEM_FLAG_WAITERS) !== 0) {
      spin_lock(sem + RWSEM.wait_lock);
      if (rwsem_first_waiter(sem) !== 0) rwsem_mark_wake(sem, RWSEM_WAKE_READ_OWNED);
      spin_unlock(sem + RWSEM.wait_lock);
      wake_up_q();
    }
    return 0;
  }

  const w = rwsem_waiter_of(current());
  spin_lock(sem + RWSEM.wait_lock);
  if (rwsem_first_waiter(sem) === 0) {
    // Nobody queued and no writer holds it: our bias already counts; we have the lock.
    if ((atomic_read(cp) & RWSEM_WRITER_MASK) === 0) {
      spin_unlock(sem + RWSEM.wait_lock); // ACQUIRE came with our fetch_add (ctrl dep + lock)
      rwsem_set_reader_owned(sem);
      return 0;
    }
    adjustment += RWSEM_FLAG_WAITERS;
  }
  rwsem_add_waiter(sem, w, RWSEM_WAITING_FOR_READ);
  // Now waiting, no longer locking: drop our bias (and set WAITERS if first).
  c = atomic_add_return(cp, adjustment);
  rwsem_cond_wake_waiter(sem, c);
  spin_unlock(sem + RWSEM.wait_lock);
  wake_up_q();

  set_waiting(EV.RWSEM_DOWN_READ_SLOW, sem);
  set_current_state(state);
  let ret = 0;
  let holding = false; // wait_lock, inside the loop
  try {
    for (;;) {
      // ACQUIRE: pairs with the RELEASE store of 0 in rwsem_mark_wake().
      if (atomic_read(w + RWSEM_WAITER.task) === 0) break;
      if (state === TASK_KILLABLE && fatal_signal_pending()) {
        sched_point(SP.RWSEM_KILLED);
        spin_lock(sem + RWSEM.wait_lock);
        holding = true;
        if (atomic_read(w + RWSEM_WAITER.task) !== 0) {
          holding = false;
          rwsem_del_wake_waiter(sem, w); // drops wait_lock
          ret = EINTR;
          break;
        }
        // Granted meanwhile: ordered against rwsem_mark_wake() by wait_lock. Keep the lock.
        holding = false;
        spin_unlock(sem + RWSEM.wait_lock);
        break;
      }
      if (!schedule_timeout() && rwsem_read_wake_due(sem, w)) {
        wake_overdue(WAIT_SITE.RWSEM_READ, sem);
      }
    }
  } catch (e) {
    rwsem_unwind_waiter(sem, w, holding, RWSEM_WAITING_FOR_READ);
    throw e;
  }
  set_current_state(TASK_RUNNING);
  set_waiting(0, 0);
  if (ret === EINTR) {
    count(CNT.RWSEM_EINTR);
    trace(EV.RWSEM_EINTR, sem, RWSEM_WAITING_FOR_READ);
  } else {
    trace(EV.RWSEM_ACQUIRED, sem, RWSEM_WAITING_FOR_READ);
  }
  return ret;
}

function __down_read_common(sem: number, state: number): number {
  const due = rwsem_handoff_due(sem); // the handoff check (rwsem_wait.ts): before the fetch_add
  // ACQUIRE: pairs with the RELEASE in up_write / downgrade_write.
  const c = atomic_add_return(sem + RWSEM.count, RWSEM_READER_BIAS);
  if ((c & RWSEM_READ_FAILED_MASK) === 0) {
    rwsem_set_reader_owned(sem);
    count(CNT.RWSEM_READ_FAST);
    trace(EV.RWSEM_DOWN_READ, sem, 0);
    rwsem_handoff_check(sem, due);
    return 0;
  }
  if (c < 0) rwsem_set_nonspinnable(sem); // READFAIL: the kernel warns here
  return rwsem_down_read_slowpath(sem, c, state, due);
}

/** down_read(): take the lock for reading; sleeps (bounded, re-checking) until granted. */
export function down_read(sem: number): void {
  __down_read_common(sem, TASK_UNINTERRUPTIBLE);
}

/** down_read_killable(): 0 with the read lock held, or EINTR on a fatal signal (not held). */
export function down_read_killable(sem: number): number {
  return __down_read_common(sem, TASK_KILLABLE);
}

/**
 * down_read_trylock(): true with the read lock held. Fails whenever a writer holds it, anyone
 * waits (WAITERS), a handoff is pending, or READFAIL is set; so it fails while a writer waits.
 */
export function down_read_trylock(sem: number): boolean {
  const cp = sem + RWSEM.count;
  let c = atomic_read(cp);
  while ((c & RWSEM_READ_FAILED_MASK) === 0) {
    const found = atomic_cmpxchg(cp, c, c + RWSEM_READER_BIAS); // ACQUIRE on success
    if (found === c) {
      rwsem_set_reader_owned(sem);
      count(CNT.RWSEM_READ_FAST);
      trace(EV.RWSEM_DOWN_READ, sem, 1);
      return true;
    }
    c = found;
  }
  return false;
}

/** up_read(): drop a read lock; the last reader out wakes the waiters. */
export function up_read(sem: number): void {
  trace(EV.RWSEM_UP_READ, sem, 0);
  // RELEASE: pairs with the ACQUIRE of the next locker.
  const c = atomic_add_return(sem + RWSEM.count, -RWSEM_READER_BIAS);
  if (c < 0) {
    atomic_fetch_add(sem + RWSEM.count, RWSEM_READER_BIAS);
    throw new LockStateError(`up_read: rwsem at ${sem} is not read-locked`);
  }
  if ((c & (RWSEM_LOCK_MASK | RWSEM_FLAG_WAITERS)) === RWSEM_FLAG_WAITERS) {
    rwsem_clear_nonspinnable(sem);
    rwsem_wake(sem, RWSEM_WAKE_ANY); // may run after another task took the lock: see the gotcha
  }
}

// ---- writers ----------------------------------------------------------------------------------

// ---- optimistic spinning (see the file comment) --------------------------------------------

/** enum owner_state */
const OWNER_NULL = 1 << 0;
const OWNER_WRITER = 1 << 1;
const OWNER_READER = 1 << 2;
const OWNER_NONSPINNABLE = 1 << 3;

function rwsem_owner_state(o: number): number {
  if ((o & RWSEM_NONSPINNABLE) !== 0) return OWNER_NONSPINNABLE;
  if ((o & RWSEM_READER_OWNED) !== 0) return OWNER_READER;
  return o >>> RWSEM_OWNER_SHIFT !== 0 ? OWNER_WRITER : OWNER_NULL;
}

/** Microseconds on a monotonic clock shared by the spin limits. */
// The task clock (sched_clock_ms): real time, or the controlled scheduler's virtual clock, so a
// replayed spin stops at the same step.
const now_us = (): number => sched_clock_ms() * 1000;

/** The stand-in for need_resched(): the spin budget ran out. */
const need_resched = (deadlineUs: number): boolean => now_us() > deadlineUs;

/** Whether spinning may start: not NONSPINNABLE, and a writer owner (if any) is running. */
function rwsem_can_spin_on_owner(sem: number): boolean {
  if ((atomic_read(HEADER.flags) & HDR_FLAG_RWSEM_NO_SPIN) !== 0) return false;
  const o = atomic_read(sem + RWSEM.owner);
  const owner = o >>> RWSEM_OWNER_SHIFT;
  // Do not look at a reader owner: the entry may be stale.
  const ok =
    (o & RWSEM_NONSPINNABLE) === 0 &&
    (owner === 0 || (o & RWSEM_READER_OWNED) !== 0 || task_on_cpu(owner));
  if (!ok) count(CNT.RWSEM_OPT_FAIL);
  return ok;
}

/**
 * Spin while the same writer owns the lock and runs; return the state the owner word moved to
 * (OWNER_NONSPINNABLE when the owner went to sleep or the budget ran out).
 */
function rwsem_spin_on_owner(sem: number, deadlineUs: number): number {
  const op = sem + RWSEM.owner;
  const o = atomic_read(op);
  const state = rwsem_owner_state(o);
  if (state !== OWNER_WRITER) return state;
  const owner = o >>> RWSEM_OWNER_SHIFT;
  for (let i = 1; ; i++) {
    const n = atomic_read(op);
    if (n !== o) return rwsem_owner_state(n);
    // The owner's task slot never goes away, so reading its state after the owner word is safe.
    if (!task_on_cpu(owner) || ((i & 0xf) === 0 && need_resched(deadlineUs))) {
      return OWNER_NONSPINNABLE;
    }
    cpu_relax();
  }
}

/** Take a lock that is free with no HANDOFF, without queueing. ACQUIRE on success. */
export function rwsem_try_write_lock_unqueued(sem: number): boolean {
  const cp = sem + RWSEM.count;
  const due = rwsem_handoff_due(sem); // the handoff check (rwsem_wait.ts): before the cmpxchg
  let c = atomic_read(cp);
  while ((c & (RWSEM_LOCK_MASK | RWSEM_FLAG_HANDOFF)) === 0) {
    const found = atomic_cmpxchg(cp, c, c | RWSEM_WRITER_LOCKED);
    if (found === c) {
      rwsem_set_owner(sem);
      count(CNT.RWSEM_OPT_LOCK);
      rwsem_handoff_check(sem, due);
      return true;
    }
    c = found;
  }
  return false;
}

/** rwsem_rspin_threshold(): when spinning on this reader phase must stop, in now_us(). */
function rwsem_rspin_threshold(sem: number): number {
  const readers = Math.min(30, rwsem_count_readers(atomic_read(sem + RWSEM.count)));
  return now_us() + (20 + readers) / 2;
}

/** rwsem_optimistic_spin(): true with the write lock held. */
function rwsem_optimistic_spin(sem: number): boolean {
  const deadline = now_us() + RWSEM_SPIN_MAX_US;
  let prev = OWNER_NULL;
  let loop = 0;
  let rspin = 0;
  for (let spins = 1; ; spins++) {
    const state = rwsem_spin_on_owner(sem, deadline);
    if (state === OWNER_NONSPINNABLE) break;
    if (rwsem_try_write_lock_unqueued(sem)) return true;
    if (state === OWNER_READER) {
      // A new reader phase restarts the clock, so a writer can slip in between two phases.
      if (prev !== OWNER_READER) {
        if ((atomic_read(sem + RWSEM.owner) & RWSEM_NONSPINNABLE) !== 0) break;
        rspin = rwsem_rspin_threshold(sem);
        loop = 0;
      } else if ((++loop & 0xf) === 0 && now_us() > rspin) {
        rwsem_set_nonspinnable(sem);
        count(CNT.RWSEM_OPT_NOSPIN);
        break;
      }
    }
    // On a reader-owned lock the threshold above is the bound; otherwise the spin budget.
    if (state === OWNER_NULL && (spins & 0xf) === 0 && need_resched(deadline)) break;
    prev = state;
    cpu_relax();
  }
  count(CNT.RWSEM_OPT_FAIL);
  return false;
}

// Lost wake-ups (see wake_overdue() in src/sched/task.ts): after a slice that timed out, was a
// wake-up owed to this waiter? A reader is owed one once it was granted (waiter.task cleared:
// the granter wakes it after dropping wait_lock), and so is the first waiter of either kind
// once the lock is free: the unlocker that left it free with WAITERS set, or the waiter that
// left the head, had to call rwsem_mark_wake(). A later waiter is owed nothing: only the
// head is woken. Checked under wait_lock, so the head and the count are one snapshot.

function rwsem_head_free(sem: number, w: number): boolean {
  spin_lock(sem + RWSEM.wait_lock);
  const due =
    rwsem_first_waiter(sem) === w && (atomic_read(sem + RWSEM.count) & RWSEM_LOCK_MASK) === 0;
  spin_unlock(sem + RWSEM.wait_lock);
  return due;
}

function rwsem_read_wake_due(sem: number, w: number): boolean {
  // ACQUIRE: pairs with the RELEASE store of 0 in rwsem_mark_wake().
  return atomic_read(w + RWSEM_WAITER.task) === 0 || rwsem_head_free(sem, w);
}

function rwsem_write_wake_due(sem: number, w: number): boolean {
  return rwsem_head_free(sem, w);
}

/** How long an unwinding waiter waits for wait_lock before it gives up (and says so). */
const UNWIND_LOCK_MS = 1000;

/**
 * A task that unwinds (an exception: the harness's abort, a failed assertion) while queued on
 * `sem` leaves as a killed waiter does (out_nolock): it takes wait_lock unless `holding`, and if
 * it is still queued, rwsem_del_wake_waiter() unlinks it, clears WAITERS and HANDOFF when the
 * list empties, and wakes the new head if it was first. A reader granted meanwhile holds a read
 * lock its caller will never see: it drops it. wait_lock is taken without the abort check (we
 * are already unwinding) but bounded: a holder that never lets go is reported, not waited for.
 */
function rwsem_unwind_waiter(sem: number, w: number, holding: boolean, type: number): void {
  const lock = sem + RWSEM.wait_lock;
  if (!holding) {
    const deadline = sched_clock_ms() + UNWIND_LOCK_MS;
    while (!spin_trylock(lock)) {
      if (sched_clock_ms() > deadline) {
        trace(EV.RWSEM_UNWIND, sem, -1);
        return;
      }
      cpu_relax();
    }
  }
  set_current_state(TASK_RUNNING);
  set_waiting(0, 0);
  trace(EV.RWSEM_UNWIND, sem, type);
  if (plain_read(w + RWSEM_WAITER.sem) === sem) {
    rwsem_del_wake_waiter(sem, w); // wait_lock held; drops it
    return;
  }
  spin_unlock(lock);
  // ACQUIRE: pairs with the RELEASE store of 0 in rwsem_mark_wake().
  if (type === RWSEM_WAITING_FOR_READ && atomic_read(w + RWSEM_WAITER.task) === 0) up_read(sem);
}

/** Wait for the write lock (rwsem_down_write_slowpath). Returns 0, or EINTR (KILLABLE). */
function rwsem_down_write_slowpath(sem: number, state: number): number {
  count(CNT.RWSEM_WRITE_SLOW);
  trace(EV.RWSEM_DOWN_WRITE_SLOW, sem, atomic_read(sem + RWSEM.count));
  // rwsem_optimistic_spin() implies ACQUIRE on success.
  if (rwsem_can_spin_on_owner(sem) && rwsem_optimistic_spin(sem)) return 0;

  const w = rwsem_waiter_of(current());
  spin_lock(sem + RWSEM.wait_lock);
  rwsem_add_waiter(sem, w, RWSEM_WAITING_FOR_WRITE);
  if (rwsem_first_waiter(sem) !== w) {
    // Others were queued before us: if the lock is not writer-held, let them at it.
    rwsem_cond_wake_waiter(sem, atomic_read(sem + RWSEM.count));
    if (!wake_q_empty()) {
      spin_unlock(sem + RWSEM.wait_lock);
      wake_up_q();
      spin_lock(sem + RWSEM.wait_lock);
    }
  } else {
    atomic_fetch_or(sem + RWSEM.count, RWSEM_FLAG_WAITERS);
  }

  set_waiting(EV.RWSEM_DOWN_WRITE_SLOW, sem);
  set_current_state(state);
  let ret = 0;
  let holding = true; // wait_lock
  try {
    // The loop starts and ends with wait_lock held, except on EINTR.
    while (!rwsem_try_write_lock(sem, w)) {
      holding = false;
      spin_unlock(sem + RWSEM.wait_lock);
      if (state === TASK_KILLABLE && fatal_signal_pending()) {
        sched_point(SP.RWSEM_KILLED);
        spin_lock(sem + RWSEM.wait_lock);
        rwsem_del_wake_waiter(sem, w); // drops wait_lock
        ret = EINTR;
        break;
      }
      // Holding the handoff, spin on a running writer owner instead of sleeping: when it lets
      // go (OWNER_NULL) try again at once. handoff_set is only written under wait_lock; a
      // stale 0 here only costs a sleep.
      const spun =
        atomic_read(w + RWSEM_WAITER.handoff_set) !== 0 &&
        (atomic_read(HEADER.flags) & HDR_FLAG_RWSEM_NO_SPIN) === 0 &&
        rwsem_spin_on_owner(sem, now_us() + RWSEM_SPIN_MAX_US) === OWNER_NULL;
      if (!spun && !schedule_timeout() && rwsem_write_wake_due(sem, w)) {
        wake_overdue(WAIT_SITE.RWSEM_WRITE, sem);
      }
      spin_lock(sem + RWSEM.wait_lock);
      holding = true;
    }
  } catch (e) {
    rwsem_unwind_waiter(sem, w, holding, RWSEM_WAITING_FOR_WRITE);
    throw e;
  }
  if (ret === 0) spin_unlock(sem + RWSEM.wait_lock);
  set_current_state(TASK_RUNNING);
  set_waiting(0, 0);
  if (ret === EINTR) {
    count(CNT.RWSEM_EINTR);
    trace(EV.RWSEM_EINTR, sem, RWSEM_WAITING_FOR_WRITE);
  } else {
    trace(EV.RWSEM_ACQUIRED, sem, RWSEM_WAITING_FOR_WRITE);
  }
  return ret;
}

function __down_write_common(sem: number, state: number): number {
  // ACQUIRE: pairs with the RELEASE in up_read / up_write.
  if (atomic_cmpxchg(sem + RWSEM.count, RWSEM_UNLOCKED_VALUE, RWSEM_WRITER_LOCKED) === 0) {
    rwsem_set_owner(sem);
    count(CNT.RWSEM_WRITE_FAST);
    trace(EV.RWSEM_DOWN_WRITE, sem, 0);
    return 0;
  }
  return rwsem_down_write_slowpath(sem, state);
}

/** down_write(): take the lock for writing; sleeps (bounded, re-checking) until it has it. */
export function down_write(sem: number): void {
  __down_write_common(sem, TASK_UNINTERRUPTIBLE);
}

/** down_write_killable(): 0 with the write lock held, or EINTR on a fatal signal (not held). */
export function down_write_killable(sem: number): number {
  return __down_write_common(sem, TASK_KILLABLE);
}

/** down_write_trylock(): true with the write lock held; succeeds only from an idle count 0. */
export function down_write_trylock(sem: number): boolean {
  if (atomic_cmpxchg(sem + RWSEM.count, RWSEM_UNLOCKED_VALUE, RWSEM_WRITER_LOCKED) !== 0) {
    return false;
  }
  rwsem_set_owner(sem);
  count(CNT.RWSEM_WRITE_FAST);
  trace(EV.RWSEM_DOWN_WRITE, sem, 1);
  return true;
}

/** up_write(): drop the write lock and wake whoever is due. */
export function up_write(sem: number): void {
  rwsem_assert_write_owner(sem, 'up_write');
  trace(EV.RWSEM_UP_WRITE, sem, 0);
  rwsem_clear_owner(sem);
  // RELEASE: pairs with the ACQUIRE of the next locker.
  const old = atomic_fetch_add(sem + RWSEM.count, -RWSEM_WRITER_LOCKED);
  if ((old & RWSEM_FLAG_WAITERS) !== 0) rwsem_wake(sem, RWSEM_WAKE_ANY);
}

/**
 * downgrade_write(): turn our write lock into a read lock without letting a writer in between,
 * and wake the readers waiting at the head (writers stay queued).
 */
export function downgrade_write(sem: number): void {
  rwsem_assert_write_owner(sem, 'downgrade_write');
  trace(EV.RWSEM_DOWNGRADE, sem, 0);
  // RELEASE: nothing from the write section leaks into the read side.
  const old = atomic_fetch_add(sem + RWSEM.count, -RWSEM_WRITER_LOCKED + RWSEM_READER_BIAS);
  rwsem_set_reader_owned(sem);
  if ((old & RWSEM_FLAG_WAITERS) !== 0) rwsem_wake(sem, RWSEM_WAKE_READ_OWNED);
}
