// Race script 12: an rcuwait whose waiter checks its condition before publishing itself.
//
// The waiter checks the condition (false), and before it stores itself in w.task the waker
// makes the condition true and looks at w.task: NULL, so it wakes nobody. The waiter then
// publishes itself and sleeps without checking again: the wake-up is lost. With the kernel's
// order (publish, full barrier (A), check) the waker's load of w.task after its store of the
// condition (B) sees the waiter, or the waiter's check sees the condition: never both missed.

import { atomic_read, atomic_set } from '../../../sched/atomics.js';
import { arena_alloc } from '../../../shm/arena.js';
import { LINE_WORDS, RCUWAIT, TASK_UNINTERRUPTIBLE } from '../../../shm/layout/index.js';
import { rcuwait_init, rcuwait_wait_event, rcuwait_wake_up } from '../../../sync/rcuwait.js';
import type { RaceScript } from '../scenario.js';

const script: RaceScript = {
  name: 'rcuwait-lost-wakeup',
  summary: 'an rcuwait waiter that checks its condition before publishing itself',
  thread: 'include/linux/rcuwait.h, the (A)/(B) barrier pair (KERNEL.md §2)',
  bugs: ['rcuwait-check-before-publish'],
  broken: 'the wake-up is sent while w.task is still NULL: the waiter sleeps for ever (deadlock)',
  fixed: 'the waiter is published before it checks: the waker finds it and wakes it',
  setup() {
    const w = arena_alloc(RCUWAIT.SIZE, LINE_WORDS, 'rcuwait');
    const cond = arena_alloc(1, LINE_WORDS, 'condition');
    rcuwait_init(w);
    atomic_set(cond, 0);
    return { w, cond };
  },
  tasks: [
    {
      name: 'waiter',
      run(env) {
        const cond = env['cond'] as number;
        rcuwait_wait_event(env['w'] as number, () => atomic_read(cond) !== 0, TASK_UNINTERRUPTIBLE);
        return 1;
      },
    },
    {
      name: 'waker',
      run(env) {
        atomic_set(env['cond'] as number, 1);
        return rcuwait_wake_up(env['w'] as number) ? 1 : 0;
      },
    },
  ],
  schedule: [
    ['waiter', 'rcuwait_wait_event:checked'],
    ['waker', 'end'],
    ['waiter', 'end'],
  ],
  check(_env, exec) {
    if (exec.outcome === 'deadlock') {
      return {
        ok: false,
        text: 'lost wake-up: the condition holds, the waiter sleeps, nobody will wake it (deadlock)',
      };
    }
    const [waiter, waker] = exec.tasks;
    if (waiter?.state === 'done' && waker?.state === 'done') {
      return {
        ok: true,
        text: `the waiter saw the condition (waker ${waker.result === 1 ? 'woke it' : 'found no waiter'})`,
      };
    }
    return {
      ok: false,
      text: `unexpected: ${exec.outcome}, waiter ${waiter?.state}, waker ${waker?.state}`,
    };
  },
  describe(env) {
    return { [env['w'] as number]: 'w.task', [env['cond'] as number]: 'condition' };
  },
};

export default script;
