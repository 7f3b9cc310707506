// A controlled-scheduler scenario for test/races/controlled.test.ts: two tasks wait on
// rcuwaits whose condition never comes true, one TASK_KILLABLE and one TASK_UNINTERRUPTIBLE,
// and a third kills both. Whatever the interleaving, the killable waiter returns -EINTR and the
// uninterruptible one stays blocked: the execution ends in a deadlock, reported as such.

import type { Scenario } from '../../../src/harness/race/scenario.js';
import { atomic_read } from '../../../src/sched/atomics.js';
import { kill_task } from '../../../src/sched/task.js';
import { arena_alloc, task_ptr } from '../../../src/shm/arena.js';
import {
  LINE_WORDS,
  RCUWAIT,
  TASK_KILLABLE,
  TASK_UNINTERRUPTIBLE,
} from '../../../src/shm/layout/index.js';
import { rcuwait_init, rcuwait_wait_event } from '../../../src/sync/rcuwait.js';

const scenario: Scenario = {
  name: 'killed-waiters',
  summary: 'a killable and an uninterruptible waiter, both killed',
  bugs: [],
  setup() {
    const a = arena_alloc(RCUWAIT.SIZE, LINE_WORDS);
    const b = arena_alloc(RCUWAIT.SIZE, LINE_WORDS);
    const never = arena_alloc(1, LINE_WORDS);
    rcuwait_init(a);
    rcuwait_init(b);
    // task ids: the engine runs ctl index i as task 1 + i
    return { a, b, never, killable: task_ptr(1), uninterruptible: task_ptr(2) };
  },
  tasks: [
    {
      name: 'killable',
      run: (env) =>
        rcuwait_wait_event(
          env['a'] as number,
          () => atomic_read(env['never'] as number) !== 0,
          TASK_KILLABLE,
        ),
    },
    {
      name: 'uninterruptible',
      run: (env) =>
        rcuwait_wait_event(
          env['b'] as number,
          () => atomic_read(env['never'] as number) !== 0,
          TASK_UNINTERRUPTIBLE,
        ),
    },
    {
      name: 'killer',
      run: (env) => {
        kill_task(env['killable'] as number);
        kill_task(env['uninterruptible'] as number);
        return 0;
      },
    },
  ],
  check(_env, exec) {
    const [k, u] = exec.tasks;
    const ok =
      exec.outcome === 'deadlock' &&
      k?.state === 'done' &&
      k.result === -4 &&
      u?.state === 'blocked';
    return {
      ok,
      text: `${exec.outcome}: killable ${k?.state} ${k?.result}, uninterruptible ${u?.state}`,
    };
  },
};

export default scenario;
