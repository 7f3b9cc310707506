// seqcount_t: a sequence counter for lockless readers (include/linux/seqlock.h).
//
// Memory ordering: every Atomics operation is sequentially consistent, so each step is at least
// as strong as the kernel's. The kernel's words:
// - raw_read_seqcount(): ACQUIRE load (READ_ONCE + smp_rmb): the reader's loads of the protected
//   data stay after it. Pairs with the wmb in write_seqcount_begin()/write_seqcount_end().
// - read_seqcount_retry(): smp_rmb, then load the sequence again: the data loads stay before it.
// - write_seqcount_begin(): sequence + 1 (odd), then smp_wmb: the data stores stay after.
// - write_seqcount_end(): smp_wmb, then sequence + 1 (even): the data stores stay before.
// The protected data must be read and written with Atomics too (atomic_read / atomic_set), or a
// reader could see a store the sequence does not cover; in JS a plain racing read is not torn per
// word but it is not ordered either.
//
// The sequence is a u32 that wraps: it is compared only for equality, and odd/even is `& 1`,
// which is the same for the Int32 and the u32 view. Writers are serialised by the caller's lock.

import { LockStateError } from '../errors.js';
import {
  atomic_fetch_add,
  atomic_read,
  atomic_set,
  atomic_wait,
  cpu_relax,
} from '../sched/atomics.js';
import { CNT } from '../sched/counters.js';
import { EV } from '../sched/events.js';
import { check_abort, count, trace } from '../sched/task.js';
import { SEQCOUNT } from '../shm/layout/index.js';

/** Spins on an odd sequence before a reader starts sleeping. */
const SPIN_LIMIT = 256;
/** How often a spinning reader checks the abort flag. */
const ABORT_EVERY = 64;
/** One sleep of a reader waiting out a (probably preempted) writer. Writers never notify. */
const SLEEP_MS = 1;

export function seqcount_init(s: number): void {
  atomic_set(s + SEQCOUNT.sequence, 0);
}

/** ACQUIRE load of the sequence, odd or even. Pairs with the wmb of the writer. */
export function raw_read_seqcount(s: number): number {
  return atomic_read(s + SEQCOUNT.sequence);
}

/**
 * Begin a read section: wait until no writer is inside (the sequence is even) and return it.
 * ACQUIRE. Spins briefly, then sleeps in 1 ms slices: on an oversubscribed machine the writer
 * may be preempted inside its section.
 */
export function read_seqcount_begin(s: number): number {
  const p = s + SEQCOUNT.sequence;
  const seq = atomic_read(p);
  if ((seq & 1) === 0) return seq;
  return read_seqcount_begin_slow(p, seq);
}

function read_seqcount_begin_slow(p: number, seq: number): number {
  count(CNT.SEQCOUNT_READ_WAIT);
  trace(EV.SEQCOUNT_READ_WAIT, p, seq);
  for (let i = 1; ; i++) {
    if (i < SPIN_LIMIT) {
      cpu_relax();
      if (i % ABORT_EVERY === 0) check_abort();
    } else {
      // Returns at once if the writer already moved on; otherwise sleeps at most one slice.
      atomic_wait(p, seq, SLEEP_MS);
      check_abort();
    }
    seq = atomic_read(p);
    if ((seq & 1) === 0) return seq;
  }
}

/**
 * true iff the section that began at `start` must be retried: a writer entered since. The rmb
 * (ACQUIRE side) keeps the section's data loads before this load of the sequence.
 */
export function read_seqcount_retry(s: number, start: number): boolean {
  if (atomic_read(s + SEQCOUNT.sequence) === start) return false;
  count(CNT.SEQCOUNT_RETRY);
  return true;
}

/**
 * raw_seqcount_try_begin(): the even sequence if no writer is inside, else -1 (odd, so it can
 * never equal a later even sequence: a caller that ignores the failure still retries). ACQUIRE.
 */
export function raw_seqcount_try_begin(s: number): number {
  const seq = atomic_read(s + SEQCOUNT.sequence);
  return (seq & 1) === 0 ? seq : -1;
}

/**
 * Enter a write section: sequence + 1 (now odd), then wmb. The caller holds the writers' lock.
 * Throws LockStateError if the sequence was already odd (a second writer, or a missing end).
 */
export function raw_write_seqcount_begin(s: number): void {
  // The RMW is a full barrier: it is both the increment and the smp_wmb after it.
  const old = atomic_fetch_add(s + SEQCOUNT.sequence, 1);
  if ((old & 1) !== 0) {
    atomic_fetch_add(s + SEQCOUNT.sequence, -1);
    throw new LockStateError(`write_seqcount_begin on seqcount at ${s} already odd (${old >>> 0})`);
  }
}

/**
 * Leave a write section: wmb, then sequence + 1 (now even). Throws LockStateError if the
 * sequence was even (no write section to end).
 */
export function raw_write_seqcount_end(s: number): void {
  const old = atomic_fetch_add(s + SEQCOUNT.sequence, 1);
  if ((old & 1) === 0) {
    atomic_fetch_add(s + SEQCOUNT.sequence, -1);
    throw new LockStateError(`write_seqcount_end on seqcount at ${s} that is even (${old >>> 0})`);
  }
}

/** write_seqcount_begin(): the caller holds the lock that serialises writers. */
export function write_seqcount_begin(s: number): void {
  raw_write_seqcount_begin(s);
}

export function write_seqcount_end(s: number): void {
  raw_write_seqcount_end(s);
}

/** Whether a writer is inside (the sequence is odd). A racy hint for readers. */
export function seqcount_write_active(s: number): boolean {
  return (atomic_read(s + SEQCOUNT.sequence) & 1) !== 0;
}

/** Live in tests and stress runs: the caller claims to be inside a write section. */
export function seqcount_assert_write_locked(s: number): void {
  if (!seqcount_write_active(s)) {
    throw new LockStateError(`seqcount at ${s} is not in a write section`);
  }
}
