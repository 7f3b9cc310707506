// rw_semaphore queries, assertions and the invariant check (KERNEL.md §7.7). Live in tests and
// stress runs; the queries are also what the schemes use (rwsem_is_locked, ...). Re-exported by
// rwsem.ts, which is the module to import.
//
// Memory ordering: the queries are single atomic loads, racy snapshots by nature (each states
// which way it may be wrong). rwsem_wait_list() and rwsem_check_invariants() take wait_lock, so
// the list and the WAITERS / HANDOFF bits they see are consistent with each other.

import { InvariantViolation, LockStateError } from '../errors.js';
import { atomic_read, plain_read } from '../sched/atomics.js';
import { current } from '../sched/task.js';
import { max_tasks } from '../shm/arena.js';
import {
  RWSEM,
  RWSEM_FLAG_HANDOFF,
  RWSEM_FLAG_READFAIL,
  RWSEM_FLAG_WAITERS,
  RWSEM_LOCK_MASK,
  RWSEM_OWNER_SHIFT,
  RWSEM_READER_OWNED,
  RWSEM_UNLOCKED_VALUE,
  RWSEM_WAITER,
  RWSEM_WAITING_FOR_READ,
  RWSEM_WRITER_LOCKED,
  rwsem_count_readers,
  TASK,
} from '../shm/layout/index.js';
import { spin_lock, spin_unlock } from './spinlock.js';

/** Throws LockStateError unless this task holds the write lock (owner word and writer bit). */
export function rwsem_assert_write_owner(sem: number, what: string): void {
  if (
    atomic_read(sem + RWSEM.owner) !== current() << RWSEM_OWNER_SHIFT ||
    (atomic_read(sem + RWSEM.count) & RWSEM_WRITER_LOCKED) === 0
  ) {
    throw new LockStateError(`${what}: rwsem at ${sem} is not write-locked by this task`);
  }
}

/**
 * rwsem_is_locked(): the count is not the idle value. May say locked while the lock is free but
 * a waiter is due to take it; never says unlocked while anyone holds it.
 */
export function rwsem_is_locked(sem: number): boolean {
  return atomic_read(sem + RWSEM.count) !== RWSEM_UNLOCKED_VALUE;
}

/** rwsem_is_contended(): somebody waits (a racy snapshot of the wait list). */
export function rwsem_is_contended(sem: number): boolean {
  return atomic_read(sem + RWSEM.wait_head) !== 0;
}

/** rwsem_assert_held(): throws LockStateError unless a reader or writer holds the lock. */
export function rwsem_assert_held(sem: number): void {
  if ((atomic_read(sem + RWSEM.count) & RWSEM_LOCK_MASK) === 0) {
    throw new LockStateError(`rwsem at ${sem} is not locked`);
  }
}

/** rwsem_assert_held_write(): throws LockStateError unless this task holds the write lock. */
export function rwsem_assert_held_write(sem: number): void {
  rwsem_assert_write_owner(sem, 'rwsem_assert_held_write');
}

// ---- inspection ------------------------------------------------------------------------------

export interface RwsemWaiterInfo {
  /** task slot number */
  readonly task: number;
  readonly type: 'read' | 'write';
  readonly handoffSet: boolean;
}

/** The wait list, head first, as task ids (taken under wait_lock). */
export function rwsem_wait_list(sem: number): RwsemWaiterInfo[] {
  spin_lock(sem + RWSEM.wait_lock);
  try {
    const out: RwsemWaiterInfo[] = [];
    const limit = max_tasks();
    for (let w = plain_read(sem + RWSEM.wait_head); w !== 0; ) {
      if (out.length > limit) throw new InvariantViolation(`rwsem at ${sem}: wait list loops`);
      out.push({
        task: plain_read(w - TASK.rwsem_waiter + TASK.id), // wait_lock held
        type: plain_read(w + RWSEM_WAITER.type) === RWSEM_WAITING_FOR_READ ? 'read' : 'write',
        handoffSet: atomic_read(w + RWSEM_WAITER.handoff_set) !== 0,
      });
      w = plain_read(w + RWSEM_WAITER.next);
    }
    return out;
  } finally {
    spin_unlock(sem + RWSEM.wait_lock);
  }
}

/**
 * KERNEL.md §7.7, checked under wait_lock: the list is well linked and every node names this
 * rwsem and a waiting task; WAITERS ⇔ the list is not empty; HANDOFF ⇒ not empty; a waiter
 * with handoff_set is the first one and HANDOFF is set; the reader count is at most the number
 * of tasks and READFAIL is clear. Throws InvariantViolation naming the broken one.
 */
export function rwsem_check_invariants(sem: number): void {
  spin_lock(sem + RWSEM.wait_lock);
  try {
    const c = atomic_read(sem + RWSEM.count);
    const fail = (what: string): never => {
      throw new InvariantViolation(
        `rwsem at ${sem}: ${what} (count 0x${(c >>> 0).toString(16)}, owner 0x${(atomic_read(sem + RWSEM.owner) >>> 0).toString(16)})`,
      );
    };
    const limit = max_tasks();
    let n = 0;
    let prev = 0;
    const head = plain_read(sem + RWSEM.wait_head); // wait_lock held, for the whole walk
    for (let w = head; w !== 0; w = plain_read(w + RWSEM_WAITER.next)) {
      if (++n > limit) fail('wait list loops');
      if (plain_read(w + RWSEM_WAITER.prev) !== prev) fail('wait list prev link broken');
      if (plain_read(w + RWSEM_WAITER.sem) !== sem) fail('queued waiter names another rwsem');
      if (atomic_read(w + RWSEM_WAITER.task) === 0) fail('queued waiter already granted');
      if (atomic_read(w + RWSEM_WAITER.handoff_set) !== 0) {
        if (w !== head) fail('handoff_set on a waiter that is not first');
        if ((c & RWSEM_FLAG_HANDOFF) === 0) fail('first waiter has handoff_set but HANDOFF clear');
      }
      prev = w;
    }
    if (plain_read(sem + RWSEM.wait_tail) !== prev) fail('wait_tail is not the last waiter');
    const waiters = (c & RWSEM_FLAG_WAITERS) !== 0;
    if (waiters && n === 0) fail('WAITERS set but the wait list is empty');
    if (!waiters && n > 0) fail(`WAITERS clear but ${n} task(s) wait`);
    if ((c & RWSEM_FLAG_HANDOFF) !== 0 && n === 0) fail('HANDOFF set but the wait list is empty');
    if ((c & RWSEM_FLAG_READFAIL) !== 0) fail('READFAIL set');
    if (rwsem_count_readers(c) > limit) fail(`reader count ${rwsem_count_readers(c)} > tasks`);
  } finally {
    spin_unlock(sem + RWSEM.wait_lock);
  }
}

/**
 * One line for a report: the count's bits, the owner and the queue, read WITHOUT wait_lock (a
 * report on a hang must not block on a lock a stuck task holds), so a racy snapshot; the walk is
 * bounded, so a corrupted list cannot loop.
 */
export function rwsem_describe(sem: number): string {
  const c = atomic_read(sem + RWSEM.count);
  const bits: string[] = [];
  if ((c & RWSEM_WRITER_LOCKED) !== 0) bits.push('WRITER_LOCKED');
  if ((c & RWSEM_FLAG_WAITERS) !== 0) bits.push('WAITERS');
  if ((c & RWSEM_FLAG_HANDOFF) !== 0) bits.push('HANDOFF');
  if ((c & RWSEM_FLAG_READFAIL) !== 0) bits.push('READFAIL');
  const readers = rwsem_count_readers(c);
  if (readers !== 0) bits.push(`readers=${readers}`);
  const o = atomic_read(sem + RWSEM.owner);
  const ownerTask = o >>> RWSEM_OWNER_SHIFT;
  const owner =
    ownerTask === 0
      ? 'none'
      : `task ${atomic_read(ownerTask + TASK.id)}${(o & RWSEM_READER_OWNED) !== 0 ? ' (reader-owned hint)' : ''}`;
  const queue: string[] = [];
  const limit = max_tasks();
  for (let w = atomic_read(sem + RWSEM.wait_head); w !== 0; ) {
    if (queue.length > limit) {
      queue.push('... (loops)');
      break;
    }
    const type = atomic_read(w + RWSEM_WAITER.type) === RWSEM_WAITING_FOR_READ ? 'R' : 'W';
    const granted = atomic_read(w + RWSEM_WAITER.task) === 0 ? ' granted' : '';
    const handoff = atomic_read(w + RWSEM_WAITER.handoff_set) !== 0 ? ' handoff' : '';
    queue.push(`task ${atomic_read(w - TASK.rwsem_waiter + TASK.id)} ${type}${granted}${handoff}`);
    w = atomic_read(w + RWSEM_WAITER.next);
  }
  const hex = (c >>> 0).toString(16).padStart(8, '0');
  return `count 0x${hex} [${bits.join(' ') || 'unlocked'}], owner ${owner}, queue [${queue.join(', ')}]`;
}
