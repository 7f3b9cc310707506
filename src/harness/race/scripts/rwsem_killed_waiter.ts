// Race script 11: a killed first rwsem waiter (the 2022 out_nolock fix, 1ee326196c66 "locking/
// rwsem: Always try to wake waiters in out_nolock path").
//
// A reader holds the rwsem. A writer queues (killable): it is the first waiter, and WAITERS is
// set. A second reader comes: the lock is read-held by another and a writer waits, so it does
// not steal; it queues behind the writer. The holder kills the writer and waits for the second
// reader to get in. The killed writer leaves the queue. Now the head of the queue is a reader
// and the lock is only read-held: that reader could run. The fixed out_nolock path wakes the
// queue (rwsem_mark_wake): the reader is granted the lock, signals the holder, and both finish.
// Without the wake-up (BUG.RWSEM_KILLED_NO_WAKE) nobody wakes the reader until the next unlock,
// and the holder will not unlock before the reader is in: every task left is blocked.

import { EINTR } from '../../../errors.js';
import {
  atomic_fetch_or,
  atomic_read,
  atomic_set,
  atomic_wait,
  sched_point,
} from '../../../sched/atomics.js';
import { sched_label } from '../../../sched/labels.js';
import { check_abort, kill_task } from '../../../sched/task.js';
import { arena_alloc, task_ptr } from '../../../shm/arena.js';
import {
  HDR_FLAG_RWSEM_NO_SPIN,
  HEADER,
  LINE_WORDS,
  RWSEM,
  TASK,
} from '../../../shm/layout/index.js';
import {
  down_read,
  down_write_killable,
  init_rwsem,
  up_read,
  up_write,
} from '../../../sync/rwsem.js';
import type { RaceScript } from '../scenario.js';

const SP_HOLDING = sched_label('rwsem-killed-waiter:holding');
/** The writer's task id (the engine runs ctl index i as task 1 + i). */
const WRITER_TASK = 2;

const script: RaceScript = {
  name: 'rwsem-killed-waiter',
  summary: 'a killed first rwsem waiter must wake the readers queued behind it',
  thread:
    'locking/rwsem: Always try to wake waiters in out_nolock path, LKML 2022 (Waiman Long): commit 1ee326196c66',
  bugs: ['rwsem-killed-no-wake'],
  broken:
    'the killed writer leaves without waking the queue: the reader behind it sleeps on a read-held lock (deadlock)',
  fixed:
    'the killed writer wakes the queue on its way out: the reader behind it is granted the read-held lock',
  setup() {
    const sem = arena_alloc(RWSEM.SIZE, LINE_WORDS, 'rwsem');
    init_rwsem(sem);
    // No optimistic spinning: the writer queues at once. (A spinning writer checks no signal;
    // explore's spinners yield until someone writes, so one would outwait every other task.)
    atomic_fetch_or(HEADER.flags, HDR_FLAG_RWSEM_NO_SPIN);
    const entered = arena_alloc(1, LINE_WORDS, 'second reader in');
    return { sem, entered };
  },
  tasks: [
    {
      name: 'reader (holds)',
      run(env) {
        const sem = env['sem'] as number;
        const entered = env['entered'] as number;
        down_read(sem);
        sched_point(SP_HOLDING);
        kill_task(task_ptr(WRITER_TASK));
        // Wait (bounded slices) for the second reader to be in before letting go.
        while (atomic_read(entered) === 0) {
          atomic_wait(entered, 0, 50);
          check_abort();
        }
        up_read(sem);
        return 0;
      },
    },
    {
      name: 'writer (killed)',
      run(env) {
        const sem = env['sem'] as number;
        const ret = down_write_killable(sem);
        if (ret === 0) up_write(sem);
        return ret;
      },
    },
    {
      name: 'reader behind',
      run(env) {
        const sem = env['sem'] as number;
        down_read(sem);
        atomic_set(env['entered'] as number, 1);
        up_read(sem);
        return 0;
      },
    },
  ],
  schedule: [
    ['reader (holds)', 'rwsem-killed-waiter:holding'],
    ['writer (killed)', 'block'],
    ['reader behind', 'block'],
    ['reader (holds)', 'block'],
    ['writer (killed)', 'end'],
    ['reader behind', 'end'],
    ['reader (holds)', 'end'],
  ],
  check(env, exec) {
    const [holder, writer, behind] = exec.tasks;
    if (exec.outcome === 'deadlock') {
      const sem = env['sem'] as number;
      const head = atomic_read(sem + RWSEM.wait_head);
      const who = head === 0 ? 'nobody' : `the waiter at ${head}`;
      return {
        ok: false,
        text: `deadlock: ${exec.tasks
          .filter((t) => t.state === 'blocked')
          .map((t) => t.name)
          .join(
            ' and ',
          )} blocked; the lock is read-held, ${who} queued and never woken (writer returned ${writer?.result})`,
      };
    }
    if (
      exec.outcome === 'done' &&
      holder?.state === 'done' &&
      writer?.state === 'done' &&
      behind?.state === 'done'
    ) {
      return {
        ok: true,
        text:
          writer.result === EINTR
            ? 'the killed writer left (-EINTR) and woke the reader behind it, which got the lock'
            : `every task finished (writer returned ${writer.result})`,
      };
    }
    return {
      ok: false,
      text: `unexpected: ${exec.outcome}, ${exec.tasks.map((t) => `${t.name} ${t.state} ${t.error ?? ''}`).join('; ')}`,
    };
  },
  describe(env) {
    const sem = env['sem'] as number;
    return {
      [sem + RWSEM.count]: 'sem.count',
      [sem + RWSEM.wait_head]: 'sem.wait_head',
      [env['entered'] as number]: 'entered',
      [task_ptr(WRITER_TASK) + TASK.signal]: 'writer.signal',
    };
  },
};

export default script;
