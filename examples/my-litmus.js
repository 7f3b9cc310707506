// @ts-check
// A user's own litmus tests and thread bodies, written against the public API only. Worker
// threads import this module, so it is plain JavaScript (or point `module` at your build
// output). examples/regression.test.js runs it under `npm test`, so this example cannot rot.

import {
  ATOMICS,
  atomic_fetch_add,
  atomic_read,
  atomic_set,
  check_abort,
  defineLitmus,
  down_read,
  down_write,
  refcount_dec_and_test,
  refcount_inc_not_zero,
  set_result,
  up_read,
  up_write,
} from 'faultline';

const DATA = 0;
const FLAG = 1;

/**
 * Message passing through a flag, with Atomics: a reader that sees the flag must see the data.
 * @param {import('faultline').Mem} m the memory flavour
 */
function handoff(m) {
  return defineLitmus({
    name: `my-handoff${m === ATOMICS ? '' : '.plain'}`,
    description: 'my driver publishes a buffer by setting a flag after filling it',
    module: import.meta.url,
    words: 2,
    results: 2,
    init: (s) => {
      m.store(s + DATA, 0);
      m.store(s + FLAG, 0);
    },
    actors: [
      (s) => {
        m.store(s + DATA, 42); // fill the buffer
        m.store(s + FLAG, 1); // publish it
      },
      (s, r) => {
        set_result(r, m.load(s + FLAG));
        set_result(r + 1, m.load(s + DATA));
      },
    ],
    outcomes: [
      { id: '0, 0', expect: 'ACCEPTABLE', desc: 'not published yet' },
      { id: '0, 42', expect: 'ACCEPTABLE', desc: 'filled, not yet published' },
      { id: '1, 42', expect: 'ACCEPTABLE', desc: 'published and filled' },
      { id: '1, 0', expect: 'FORBIDDEN', desc: 'published before it was filled' },
    ],
    iterations: 2_000,
  });
}

export const myHandoff = handoff(ATOMICS);

/**
 * A thread body for runThreads(): `rounds` times, take the rw_semaphore for write and bump a
 * counter with a plain read-modify-write under it (a lost update would show a short count),
 * then take it for read and take and drop a reference on an object that stays alive.
 * @param {{ sem: number, counter: number, ref: number, rounds: number }} a word indexes
 */
export function worker(a) {
  let refs = 0;
  for (let i = 0; i < a.rounds; i++) {
    down_write(a.sem);
    atomic_set(a.counter, atomic_read(a.counter) + 1); // under the write lock
    up_write(a.sem);
    down_read(a.sem);
    if (refcount_inc_not_zero(a.ref)) {
      refs++;
      if (refcount_dec_and_test(a.ref)) throw new Error('dropped the last reference');
    }
    up_read(a.sem);
    if ((i & 255) === 0) check_abort();
  }
  return refs;
}

/**
 * A free-running stress body: add to a shared total until the stop word is set.
 * @param {{ total: number, stop: number }} a word indexes
 */
export function spinUntilStopped(a) {
  let mine = 0;
  while (atomic_read(a.stop) === 0) {
    atomic_fetch_add(a.total, 1);
    mine++;
    if ((mine & 1023) === 0) check_abort();
  }
  return mine;
}
