// Race script 10: rwsem writer starvation without HANDOFF, and the handoff that ends it
// (locking/rwsem: "Implement lock handoff to prevent lock starvation", Waiman Long, v5.3, 2019).
//
// Two readers take the rwsem in turns, three sections each; each section lasts 3 ms and yields
// the CPU once inside (as a long section on a busy machine is preempted), so a writer can run
// while a reader holds the lock. A writer queues behind the first section. Every up_read
// wakes it, but before it runs the other reader steals the lock (reader lock stealing: no
// writer holds it and no HANDOFF is set), so the writer's try fails again. Once the writer has
// waited longer than RWSEM_WAIT_TIMEOUT_MS (4 ms) and finds the lock held, it sets HANDOFF: no
// reader gets in any more, and the next up_read hands the lock to the writer. Without HANDOFF
// (BUG.RWSEM_NO_HANDOFF) the readers go on taking the lock from under the timed-out writer; it
// gets the lock only when they have no more to do (with an endless stream of readers, never).
//
// Time: the scenario has its own clock word (Scenario.clock), which only the readers advance,
// by 3 ms a section; the writer's timeout (its queue time + 4 ms, in its waiter node) falls
// where this clock says, the same on every run. The check orders the readers' entries against
// the writer's `rwsem_try_write_lock:timed_out` label (src/sync/rwsem_wait.ts): an entry after
// it, before the writer's own, is a steal HANDOFF exists to prevent.

import {
  atomic_fetch_add,
  atomic_fetch_or,
  cpu_relax,
  plain_read,
  sched_point,
} from '../../../sched/atomics.js';
import { sched_label } from '../../../sched/labels.js';
import { arena_alloc, task_ptr } from '../../../shm/arena.js';
import {
  HDR_FLAG_RWSEM_NO_SPIN,
  HEADER,
  LINE_WORDS,
  RWSEM,
  RWSEM_WAITER,
  TASK,
} from '../../../shm/layout/index.js';
import {
  down_read,
  down_write,
  init_rwsem,
  RWSEM_WAIT_TIMEOUT_MS,
  up_read,
  up_write,
} from '../../../sync/rwsem.js';
import type { RaceScript, ScenarioEnv } from '../scenario.js';

const SECTIONS = 3;
const SECTION_MS = 3;
const SP_READER_TRY = sched_label('rwsem-starvation:reader_try');
const SP_READER_IN = sched_label('rwsem-starvation:reader_in');
const SP_READER_OUT = sched_label('rwsem-starvation:reader_out');
const SP_WRITER_IN = sched_label('rwsem-starvation:writer_in');
const TIMED_OUT = 'rwsem_try_write_lock:timed_out';
/** The writer's task id (the engine runs ctl index i as task 1 + i). */
const WRITER_TASK = 1;

function reader(env: ScenarioEnv): number {
  const sem = env['sem'] as number;
  const clock = env['clock'] as number;
  for (let i = 0; i < SECTIONS; i++) {
    sched_point(SP_READER_TRY); // its next step is down_read's fetch_add: where it gets in
    down_read(sem);
    sched_point(SP_READER_IN);
    atomic_fetch_add(clock, SECTION_MS); // the section's work takes 3 ms ...
    cpu_relax(); // ... during which another task runs
    up_read(sem);
    sched_point(SP_READER_OUT);
  }
  return 0;
}

/**
 * The readers' turns: each takes the lock, the writer runs (it queues, or wakes and tries
 * again), the reader lets go, and the other reader comes before the woken writer runs.
 */
function turns(): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let k = 0; k < 2 * SECTIONS; k++) {
    const r = k % 2 === 0 ? 'reader A' : 'reader B';
    out.push([r, 'rwsem-starvation:reader_in'], ['writer', 'block']);
    out.push([r, k === 2 * SECTIONS - 1 ? 'end' : 'rwsem-starvation:reader_out']);
  }
  out.push(['reader A', 'end'], ['reader B', 'end'], ['writer', 'end']);
  return out;
}

const script: RaceScript = {
  name: 'rwsem-starvation',
  summary: 'a stream of reader steals starves a queued writer, until HANDOFF ends it',
  thread:
    'locking/rwsem: Implement lock handoff to prevent lock starvation, LKML 2019 (Waiman Long, v5.3); reader lock stealing restored in v5.11',
  bugs: ['rwsem-no-handoff'],
  broken:
    'the writer times out and sets no HANDOFF: readers keep stealing the lock from it until they run out of work',
  fixed:
    'the writer times out and sets HANDOFF: no reader gets in after that, the next up_read hands it the lock',
  clock: 'clock',
  setup() {
    const sem = arena_alloc(RWSEM.SIZE, LINE_WORDS, 'rwsem');
    init_rwsem(sem);
    const clock = arena_alloc(1, LINE_WORDS, 'clock (ms)');
    // No optimistic spinning: the writer queues at once (the stealers here are readers).
    atomic_fetch_or(HEADER.flags, HDR_FLAG_RWSEM_NO_SPIN);
    return { sem, clock };
  },
  tasks: [
    {
      name: 'writer',
      run(env) {
        const sem = env['sem'] as number;
        down_write(sem);
        sched_point(SP_WRITER_IN);
        up_write(sem);
        return 0;
      },
    },
    { name: 'reader A', run: (env) => reader(env) },
    { name: 'reader B', run: (env) => reader(env) },
  ],
  schedule: turns(),
  check(_env, exec) {
    if (exec.outcome !== 'done' || exec.tasks.some((t) => t.state !== 'done')) {
      return {
        ok: false,
        text: `unexpected: ${exec.outcome}, ${exec.tasks.map((t) => `${t.name} ${t.state} ${t.error ?? ''}`).join('; ')}`,
      };
    }
    const w = task_ptr(WRITER_TASK) + TASK.rwsem_waiter;
    const timeout = plain_read(w + RWSEM_WAITER.timeout);
    const ls = exec.labels;
    const out = ls.find((l) => l.task === 0 && l.label === TIMED_OUT);
    const inAt = ls.find((l) => l.task === 0 && l.label === 'rwsem-starvation:writer_in');
    const readers = ls.filter((l) => l.task !== 0 && l.label === 'rwsem-starvation:reader_in');
    const writerIn = inAt?.after ?? Number.MAX_SAFE_INTEGER;
    const before = readers.filter((l) => l.after < writerIn).length;
    // Each reader section: where its down_read took its first step (the fetch_add that gets a
    // stealing reader in, HANDOFF or not: the kernel decides on the count that add returned),
    // and whether it got in before the writer.
    const sections: Array<{ from: number; beforeWriter: boolean }> = [];
    for (const t of [1, 2]) {
      const tries = ls.filter((l) => l.task === t && l.label === 'rwsem-starvation:reader_try');
      const ins = ls.filter((l) => l.task === t && l.label === 'rwsem-starvation:reader_in');
      ins.forEach((l, i) => {
        sections.push({ from: tries[i]?.next ?? -1, beforeWriter: l.after < writerIn });
      });
    }
    if (out === undefined) {
      return {
        ok: true,
        text: `the writer never waited past its timeout; it got the lock after ${before} of ${readers.length} reader sections`,
      };
    }
    const stolen = sections.filter((x) => x.beforeWriter && x.from > out.after).length;
    const when = `the writer (queued at ${timeout - RWSEM_WAIT_TIMEOUT_MS} ms, timeout ${timeout} ms) timed out at step ${out.after + 1}`;
    if (stolen > 0) {
      return {
        ok: false,
        text: `writer starvation: ${when}, and readers still took the lock ${stolen} more time${stolen === 1 ? '' : 's'} before it (it got in after ${before} of ${readers.length} sections)`,
      };
    }
    return {
      ok: true,
      text: `${when}; no reader got in after that (HANDOFF); it got in after ${before} of ${readers.length} sections`,
    };
  },
  describe(env) {
    const sem = env['sem'] as number;
    return {
      [sem + RWSEM.count]: 'sem.count',
      [env['clock'] as number]: 'clock',
    };
  },
};

export default script;
