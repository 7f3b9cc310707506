// Layout of the small primitives: spinlock, refcount_t, seqcount_t, rcuwait, completion.
// Each is declared as a struct so that bigger structs can embed it by name.

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
