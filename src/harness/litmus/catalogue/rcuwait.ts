// rcuwait's (A)/(B) barrier pair as a litmus test (src/sync/rcuwait.ts, KERNEL.md §2): the
// store-buffer shape with the real rcuwait_wait_event() and rcuwait_wake_up().
//
//     waiter: rcuwait_wait_event(w, cond)      waker: cond = 1; rcuwait_wake_up(w)
//       [S] w.task = me; (A); [L] cond           [S] cond; (B); [L] w.task
//
// Words of an instance: the rcuwait, the condition, and `left`, which the waiter's condition
// sets (Atomics) just before it returns true — so before the waiter unpublishes itself. The
// waker loads w.task, then `left`. Results: r0 1 if the waiter's first check saw the condition,
// r1 1 if the waker found the waiter published (and woke it), r2 the waker's load of `left`.
//
// Why `left`: the waker may find w.task NULL because the waiter has not published yet (then,
// by (A) and (B), the waiter's first check sees the condition) or because it has already left
// (its sleep ended early: a stale wake-up of an earlier instance, a time-out while the waker was
// preempted between its store and its load). In the second case the waker sees left = 1. So
// "0, 0, 0" — the waiter missed the condition, the waker missed the waiter, and the waiter was
// still there — is the lost wake-up, and nothing else is. A lost wake-up costs the waiter one
// sleep slice (RCUWAIT_SLICE_MS) before it re-checks: it never hangs.

import { atomic_read, atomic_set } from '../../../sched/atomics.js';
import { TASK_UNINTERRUPTIBLE } from '../../../shm/layout/index.js';
import { rcuwait_init, rcuwait_wait_event, rcuwait_wake_up } from '../../../sync/rcuwait.js';
import { defineLitmus, type LitmusSpec, type LitmusTest } from '../define.js';
import { set_result } from '../mem.js';

const W = 0;
const COND = 1;
const LEFT = 2;

function rcuwaitAB(bugs: LitmusSpec['bugs']): LitmusTest {
  return defineLitmus({
    name: bugs === undefined ? 'rcuwait' : `rcuwait+${bugs.join('+')}`,
    description:
      'rcuwait (A)/(B): the waiter publishes itself then checks the condition, the waker sets the condition then looks for the waiter; one of them must see the other',
    module: import.meta.url,
    words: 3,
    results: 3,
    ...(bugs === undefined ? {} : { bugs }),
    init: (s) => {
      rcuwait_init(s + W);
      atomic_set(s + COND, 0);
      atomic_set(s + LEFT, 0);
    },
    actors: [
      (s, r) => {
        let first = -1;
        rcuwait_wait_event(
          s + W,
          () => {
            const v = atomic_read(s + COND) !== 0;
            if (first < 0) first = v ? 1 : 0;
            if (v) atomic_set(s + LEFT, 1);
            return v;
          },
          TASK_UNINTERRUPTIBLE,
        );
        set_result(r, first);
      },
      (s, r) => {
        atomic_set(s + COND, 1); // [S] the condition
        set_result(r + 1, rcuwait_wake_up(s + W) ? 1 : 0); // (B), [L] w.task
        set_result(r + 2, atomic_read(s + LEFT));
      },
    ],
    outcomes: [
      { id: '1, *, *', expect: 'ACCEPTABLE', desc: 'the waiter saw the condition at once' },
      {
        id: '0, 1, *',
        expect: 'ACCEPTABLE',
        desc: 'the waiter missed it and slept; the waker found and woke it',
      },
      {
        id: '0, 0, 1',
        expect: 'ACCEPTABLE_INTERESTING',
        desc: 'the waker looked only after the waiter had left (its sleep ended early, or the waker was preempted)',
      },
      {
        id: '0, 0, 0',
        expect: 'FORBIDDEN',
        desc: 'lost wake-up: the waiter missed the condition and the waker missed the waiter',
      },
    ],
    instances: 128,
    // The lost wake-up of the broken variant is rare (about 1 in 1,000 to 6,000 instances on the
    // loaded 2-core machine); `faultline litmus` stops a broken variant once it has shown.
    iterations: bugs === undefined ? 5_000 : 50_000,
  });
}

export const RCUWAIT_TESTS: readonly LitmusTest[] = [
  rcuwaitAB(undefined),
  rcuwaitAB(['rcuwait-plain-ordering']),
];
