// Thread bodies for test/unit/completion.test.ts.

import { atomic_fetch_add, atomic_read, cpu_relax } from '../../src/sched/atomics.js';
import { check_abort } from '../../src/sched/task.js';
import {
  complete,
  complete_all,
  wait_for_completion,
  wait_for_completion_killable,
} from '../../src/sync/completion.js';

/** Wait `n` times; returns how many waits passed. */
export function waitMany(args: { c: number; n: number; passed: number }): number {
  for (let i = 0; i < args.n; i++) {
    wait_for_completion(args.c);
    atomic_fetch_add(args.passed, 1);
  }
  return args.n;
}

/** complete() `n` times, pausing now and then so waiters really go to sleep. */
export function completeMany(args: { c: number; n: number }): number {
  let x = 0x51ed270b;
  for (let i = 0; i < args.n; i++) {
    complete(args.c);
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    for (let k = x & 255; k > 0; k--) cpu_relax();
    if ((i & 255) === 0) check_abort();
  }
  return args.n;
}

/**
 * Once `expect` waiters are counted in the completion (they are asleep or about to be), let
 * them all through with one complete_all().
 */
export function completeAllWhen(args: { c: number; waitersWord: number; expect: number }): number {
  for (let i = 0; atomic_read(args.waitersWord) < args.expect; i++) {
    cpu_relax();
    if ((i & 1023) === 0) check_abort();
  }
  complete_all(args.c);
  return 0;
}

export function waitOnce(args: { c: number }): number {
  wait_for_completion(args.c);
  return 0;
}

export function waitKillable(args: { c: number }): number {
  return wait_for_completion_killable(args.c);
}
