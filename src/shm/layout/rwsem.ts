// Layout of struct rw_semaphore (kernel/locking/rwsem.c, 32-bit count layout) and of the waiter
// node every task carries in its slot (a task waits on at most one rwsem at a time).
//
// Like the small primitives in sync.ts, RWSEM marks none of its words hot: count, owner and
// wait_lock are written together and the kernel keeps them in one cache line. The embedding
// struct decides (`{ struct: RWSEM, hot: true }` gives the whole rwsem a line of its own, as
// mm_struct does for mmap_lock). A test that allocates one on its own takes a whole line with
// arena_alloc(RWSEM.SIZE, LINE_WORDS).

import { defineStruct } from './struct.js';
import { SPINLOCK } from './sync.js';

// ---- the count word ------------------------------------------------------------------------
//
// One signed 32-bit word. 0 is unlocked with nobody waiting.

/**
 * Bit 0: a writer owns the lock. Set only by a successful cmpxchg (fast path, optimistic spin,
 * or a queued writer under wait_lock); cleared only by up_write / downgrade_write. While it is
 * set the reader count holds no granted reader (any reader bias present is a reader that is
 * about to back off).
 */
export const RWSEM_WRITER_LOCKED = 1 << 0;
/**
 * Bit 1: the wait list is not empty. Changed only under wait_lock, so that it is set exactly
 * while the list has a waiter (KERNEL.md §7.7). New readers take the slow path while it is set.
 */
export const RWSEM_FLAG_WAITERS = 1 << 1;
/**
 * Bit 2: a lock handoff is pending. Set under wait_lock by any queued writer that has waited
 * RWSEM_WAIT_TIMEOUT_MS and found the lock held (or by a waker for a first reader that waited
 * that long), and recorded on the first waiter's handoff_set. While set, no reader steals and no
 * spinning writer takes the lock; queued writers other than the first yield while the first
 * waiter's handoff_set is set. Cleared when a writer takes the lock, when readers are woken, or
 * when the list empties; so it is only ever set while the list is non-empty.
 */
export const RWSEM_FLAG_HANDOFF = 1 << 2;
/**
 * Bit 31: the reader count overflowed into the sign bit (more than 2^23 - 1 readers). Never
 * expected; checked anyway so that a reader fast path fails instead of wrapping. A count word
 * with this bit set is negative.
 */
export const RWSEM_FLAG_READFAIL = 1 << 31;

/** Bits 8..30 count the readers that hold the lock or are about to back off. */
export const RWSEM_READER_SHIFT = 8;
export const RWSEM_READER_BIAS = 1 << RWSEM_READER_SHIFT;
/** Every bit at or above the reader bias, READFAIL included (as the kernel defines it). */
export const RWSEM_READER_MASK = ~(RWSEM_READER_BIAS - 1);
/** The reader count proper: READER_MASK without the READFAIL guard bit. */
export const RWSEM_READER_COUNT_MASK = RWSEM_READER_MASK & ~RWSEM_FLAG_READFAIL;
export const RWSEM_WRITER_MASK = RWSEM_WRITER_LOCKED;
/** Any of these set: somebody holds the lock (or a reader bias is in flight). */
export const RWSEM_LOCK_MASK = RWSEM_WRITER_MASK | RWSEM_READER_MASK;
/** Any of these set: a reader's fast path fails and it takes the slow path. */
export const RWSEM_READ_FAILED_MASK =
  RWSEM_WRITER_MASK | RWSEM_FLAG_WAITERS | RWSEM_FLAG_HANDOFF | RWSEM_FLAG_READFAIL;
/** The count of a free rwsem nobody waits for. */
export const RWSEM_UNLOCKED_VALUE = 0;

/** The number of readers recorded in a count value. */
export function rwsem_count_readers(count: number): number {
  return (count & RWSEM_READER_COUNT_MASK) >>> RWSEM_READER_SHIFT;
}

// ---- the owner word ------------------------------------------------------------------------
//
// (task slot pointer << RWSEM_OWNER_SHIFT) | flags. Task slots sit at the start of the arena,
// far below 2^29 words, so the shift never overflows. A hint, not a lock: readers leave their
// pointer behind on up_read.
//   0                          no owner (free, or a writer between its cmpxchg and set_owner)
//   task << 2                  a writer owns the lock
//   task << 2 | READER_OWNED   readers own (or last owned) it; task is the last reader in
//   ... | NONSPINNABLE         a writer must not spin waiting for the owner

/** Owner bit 0: the lock is (probably) reader-owned. Set by every reader that gets the lock. */
export const RWSEM_READER_OWNED = 1 << 0;
/**
 * Owner bit 1: optimistic spinning is off for this owner (set when a reader hit READFAIL);
 * kept across reader owners, cleared when the last reader leaves.
 */
export const RWSEM_NONSPINNABLE = 1 << 1;
export const RWSEM_OWNER_FLAGS_MASK = RWSEM_READER_OWNED | RWSEM_NONSPINNABLE;
export const RWSEM_OWNER_SHIFT = 2;
/** Task pointers must stay below this for the owner encoding to fit (checked by init_rwsem). */
export const RWSEM_OWNER_MAX_TASK = 1 << (31 - RWSEM_OWNER_SHIFT);

// ---- the structs ---------------------------------------------------------------------------

/**
 * struct rw_semaphore.
 *   count      the count word above (atomic; every fast path works on it alone)
 *   owner      the owner word above (atomic stores; a hint for spinners and assertions)
 *   wait_lock  spinlock_t guarding the wait list and every change of WAITERS / HANDOFF
 *   wait_head  first waiter node (RWSEM_WAITER pointer), 0 when the list is empty. Written
 *              under wait_lock; read without it by rwsem_is_contended().
 *   wait_tail  last waiter node, 0 when empty. Only under wait_lock.
 * The list is FIFO: waiters join at the tail; rwsem_mark_wake() may take readers from anywhere.
 */
export const RWSEM = defineStruct('rw_semaphore', {
  count: 1,
  owner: 1,
  wait_lock: { struct: SPINLOCK },
  wait_head: 1,
  wait_tail: 1,
});

/** RWSEM_WAITER.type values (enum rwsem_waiter_type). */
export const RWSEM_WAITING_FOR_WRITE = 0;
export const RWSEM_WAITING_FOR_READ = 1;

/**
 * struct rwsem_waiter, embedded in every task slot (TASK.rwsem_waiter). A node pointer is the
 * word index of this struct. All fields are written under the rwsem's wait_lock, or by the
 * owner task before it publishes the node by enqueueing it under that lock; `task` and
 * `handoff_set` are also read without the lock (atomic loads).
 *   next, prev   list links toward the tail / head; 0 at the ends and while off any list
 *   sem          the rwsem this node is queued on, 0 while off any list (a debugging aid)
 *   task         the kernel's waiter.task: the owner's slot pointer while it waits; a waking
 *                task clears it (RELEASE) to grant a reader the lock, after unlinking the
 *                node. Writers are never granted this way: they take the lock themselves.
 *   type         RWSEM_WAITING_FOR_WRITE / RWSEM_WAITING_FOR_READ
 *   timeout      rwsem_jiffies() deadline after which this waiter may request a handoff (u32 milliseconds, compared with wrap-around)
 *   handoff_set  1 if RWSEM_FLAG_HANDOFF was set while this waiter was first (by itself or by
 *                a timed-out waiter behind it); only the first waiter ever has it
 *   handoff_due  instrumentation, not the kernel's (the handoff check, KERNEL.md §7.7): bit 0
 *                "this waiter, a writer at the head, is owed the lock", bits 1.. a serial of
 *                such episodes. Set under wait_lock when the handoff is decided for it (a
 *                timed-out waiter found the lock held: HANDOFF set, handoff_set recorded);
 *                bit 0 cleared under wait_lock when it leaves the head (takes the lock, or is
 *                killed). Kept in the node, not the rwsem, so vm_area_struct stays 64 bytes.
 */
export const RWSEM_WAITER = defineStruct('rwsem_waiter', {
  next: 1,
  prev: 1,
  sem: 1,
  task: 1,
  type: 1,
  timeout: 1,
  handoff_set: 1,
  handoff_due: 1,
});
/** RWSEM_WAITER.handoff_due bit 0: the waiter is owed the lock. */
export const RWSEM_HANDOFF_OWED = 1;
