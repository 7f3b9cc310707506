// A controlled-scheduler scenario for test/races/controlled.test.ts: an execution that ends
// while a writer holds an rwsem's wait_lock and a reader waits in the queue. Both unwind: the
// writer leaves with the wait_lock still held, and the reader's unwind (rwsem_unwind_waiter)
// tries to take it, bounded by the clock. The test ends the execution there and requires the
// tasks to finish: with the virtual clock frozen at the end, that bound never expired.

import type { Scenario } from '../../../src/harness/race/scenario.js';
import { sched_point } from '../../../src/sched/atomics.js';
import { sched_label } from '../../../src/sched/labels.js';
import { arena_alloc } from '../../../src/shm/arena.js';
import { LINE_WORDS, RWSEM } from '../../../src/shm/layout/index.js';
import { down_read, down_write, init_rwsem, up_read, up_write } from '../../../src/sync/rwsem.js';
import { spin_lock, spin_unlock } from '../../../src/sync/spinlock.js';

export const WRITE_LOCKED = sched_label('unwind_held_lock:write_locked');
export const WAIT_LOCK_HELD = sched_label('unwind_held_lock:wait_lock_held');

const scenario: Scenario = {
  name: 'unwind-held-lock',
  summary: 'a reader queued on an rwsem whose wait_lock the writer holds when the execution ends',
  bugs: [],
  setup() {
    const sem = arena_alloc(RWSEM.SIZE, LINE_WORDS);
    init_rwsem(sem);
    return { sem };
  },
  tasks: [
    {
      name: 'writer',
      run: (env) => {
        const sem = env['sem'] as number;
        down_write(sem);
        sched_point(WRITE_LOCKED);
        spin_lock(sem + RWSEM.wait_lock);
        sched_point(WAIT_LOCK_HELD);
        spin_unlock(sem + RWSEM.wait_lock);
        up_write(sem);
        return 0;
      },
    },
    {
      name: 'reader',
      run: (env) => {
        const sem = env['sem'] as number;
        down_read(sem);
        up_read(sem);
        return 0;
      },
    },
  ],
  check(_env, exec) {
    const ok = exec.outcome === 'done' && exec.tasks.every((t) => t.state === 'done');
    return { ok, text: `${exec.outcome}: ${exec.tasks.map((t) => t.state).join(', ')}` };
  },
};

export default scenario;
