// Thread bodies for test/unit/spinlock.test.ts.

import { cpu_relax, plain_read, plain_set } from '../../src/sched/atomics.js';
import { spin_lock, spin_trylock, spin_unlock } from '../../src/sync/spinlock.js';

/**
 * `iters` times: take the lock (now and then by trylock), and do a non-atomic read-modify-write
 * of the shadow counter inside, with a pause between the read and the write so that a broken
 * lock loses updates. Returns the number of trylock successes.
 */
export function shadowIncrement(args: { lock: number; shadow: number; iters: number }): number {
  let x = 0x6b43a9b5 ^ args.shadow;
  let trylocks = 0;
  for (let i = 0; i < args.iters; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    if ((x & 7) === 0 && spin_trylock(args.lock)) trylocks++;
    else spin_lock(args.lock);
    const v = plain_read(args.shadow); // plain: under args.lock
    for (let k = x & 15; k > 0; k--) cpu_relax();
    plain_set(args.shadow, v + 1); // plain: under args.lock
    spin_unlock(args.lock);
  }
  return trylocks;
}
