// Thread bodies for test/unit/arena.test.ts.

import { atomic_fetch_add } from '../../src/sched/atomics.js';
import { current_id, park, unpark } from '../../src/sched/task.js';
import { task_ptr } from '../../src/shm/arena.js';

export function addMany(args: { p: number; n: number }): number {
  for (let i = 0; i < args.n; i++) atomic_fetch_add(args.p, 1);
  return current_id();
}

/** Ping-pong: task `me` waits for a token, then passes one to `peer`, `rounds` times. */
export function pingPong(args: { peer: number; rounds: number; first: boolean }): number {
  const peer = task_ptr(args.peer);
  let woken = 0;
  if (args.first) unpark(peer);
  for (let i = 0; i < args.rounds; i++) {
    while (!park(50)) {
      /* bounded sleep; loop until the token comes */
    }
    woken++;
    if (!(args.first && i === args.rounds - 1)) unpark(peer);
  }
  return woken;
}
