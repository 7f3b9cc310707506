// Layout of the small primitives: spinlock, refcount_t, seqcount_t, rcuwait, completion.
// Each is declared as a struct so that bigger structs can embed it by name. None of them marks
// its own words hot: the embedding struct decides (`{ struct: REFCOUNT, hot: true }` gives the
// count a cache line of its own, as vm_refcnt has in the kernel). Tests that allocate one on its
// own take a whole line with arena_alloc(X.SIZE, LINE_WORDS).

import { defineStruct } from './struct.js';

/**
 * spinlock_t: one word.
 *   0  unlocked
 *   1  locked, no sleeper
 *   2  locked, and a contended waiter may sleep on the word (unlock must notify)
 */
export const SPINLOCK = defineStruct('spinlock_t', {
  val: 1,
});

/**
 * refcount_t (include/linux/refcount.h): one signed 32-bit word.
 *   0                      no references: the object is dead or not yet published; the
 *                          *_not_zero operations never raise it from here
 *   1 .. INT_MAX           that many references (users may give ranges a meaning of their
 *                          own, as vm_refcnt does with bit 30)
 *   < 0                    saturated: an overflow or underflow was caught, the word was set
 *                          to REFCOUNT_SATURATED (INT_MIN / 2) and a warning was counted; it
 *                          stays in the negative range and the object is leaked, never freed
 */
export const REFCOUNT = defineStruct('refcount_t', {
  refs: 1,
});

/**
 * seqcount_t (include/linux/seqlock.h): one u32 sequence, kept in an Int32 word that wraps
 * legally (compare with `(a - b) | 0` or `>>> 0`, never `<` on raw values).
 *   even   no writer inside; a reader that saw this value before and after its reads got a
 *          consistent snapshot
 *   odd    a writer is between write_seqcount_begin and write_seqcount_end
 * Writers are serialised by a lock of the caller's; the sequence only ever goes up by 1.
 */
export const SEQCOUNT = defineStruct('seqcount_t', {
  sequence: 1,
});

/**
 * struct rcuwait (include/linux/rcuwait.h): one task pointer.
 *   0      nobody waits (NULL)
 *   other  the slot pointer (task_ptr) of the one task inside rcuwait_wait_event(); set before
 *          the waiter first tests its condition, cleared when it returns
 * The caller serialises waiters: at most one task waits on an rcuwait at a time.
 */
export const RCUWAIT = defineStruct('rcuwait', {
  task: 1,
});

/**
 * struct completion (kernel/sched/completion.c), without the kernel's wait-queue lock.
 * done:    completions not yet consumed, a u32 in an Int32 word
 *            0               waiters block
 *            1 .. UINT_MAX-1 that many waiters may pass; each consumes one
 *            UINT_MAX (-1)   complete_all(): everyone passes, nobody consumes
 * waiters: tasks inside the sleeping part of a wait; complete() pays for a notify only when it
 *          is non-zero. Waiters sleep on `done` itself (Atomics.wait on the word).
 */
export const COMPLETION = defineStruct('completion', {
  done: 1,
  waiters: 1,
});

/**
 * The global refcount warning counters, one per enum refcount_saturation_type, published at
 * ROOT.REFCOUNT_WARN. Each counts the times refcount_warn_saturate() fired with that type; a
 * stress run fails if any is non-zero. Atomic adds from any task.
 */
export const REFCOUNT_WARN = defineStruct('refcount_warn', {
  add_not_zero_ovf: 1,
  add_ovf: 1,
  add_uaf: 1,
  sub_uaf: 1,
  dec_leak: 1,
});
