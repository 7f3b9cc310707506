// A two-task scenario of about 50 steps for bench/controlled.ts: each task takes a spinlock,
// bumps a shared counter with a plain read and write under it, and drops it, six times. The
// check: the counter ends at 12 (no update lost under the lock).

import type { Scenario } from '../src/harness/race/scenario.js';
import { atomic_read, atomic_set } from '../src/sched/atomics.js';
import { arena_alloc } from '../src/shm/arena.js';
import { LINE_WORDS, SPINLOCK } from '../src/shm/layout/index.js';
import { spin_lock, spin_lock_init, spin_unlock } from '../src/sync/spinlock.js';

const ROUNDS = 6;

function body(env: Record<string, unknown>): number {
  const l = env['lock'] as number;
  const c = env['counter'] as number;
  for (let i = 0; i < ROUNDS; i++) {
    spin_lock(l);
    atomic_set(c, atomic_read(c) + 1);
    spin_unlock(l);
  }
  return 0;
}

const scenario: Scenario = {
  name: 'bench-spinlock-counter',
  summary: 'two tasks, six locked increments each (about 50 steps)',
  bugs: [],
  setup() {
    const lock = arena_alloc(SPINLOCK.SIZE, LINE_WORDS);
    const counter = arena_alloc(1, LINE_WORDS);
    spin_lock_init(lock);
    atomic_set(counter, 0);
    return { lock, counter };
  },
  tasks: [
    { name: 'a', run: body },
    { name: 'b', run: body },
  ],
  check(env, exec) {
    const n = atomic_read(env['counter'] as number);
    return exec.outcome === 'done' && n === 2 * ROUNDS
      ? { ok: true, text: 'counter 12' }
      : { ok: false, text: `${exec.outcome}, counter ${n}` };
  },
};

export default scenario;
