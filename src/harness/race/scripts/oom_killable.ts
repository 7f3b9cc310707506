// Race script 4: the 2016 down_write_killable deadlock (Michal Hocko's series making mmap_sem
// writers killable, so that the OOM reaper can get at a victim's memory).
//
// The frame pool is empty: the victim process holds every frame (set-up faults them in). A
// remote reader (another process reading the victim's memory, access_remote_vm) takes the
// victim's mmap_lock for read. One of the victim's threads queues on mmap_write_lock for an
// munmap. The reader then faults a page of the victim: no frame, so it invokes the OOM killer,
// which kills the victim's threads and wakes the OOM reaper, and polls for memory. The reaper
// needs the victim's mmap_lock for read and only tries (mmap_read_trylock), which fails while
// the writer waits. With the uninterruptible write lock (BUG.MMAP_WRITE_UNINTERRUPTIBLE) the
// killed writer stays queued: the reader waits for memory, the writer for the reader, the
// reaper for the writer; every task is blocked, a deadlock. With mmap_write_lock_killable the
// killed writer leaves the queue with -EINTR, the reaper gets in and frees the victim's frames,
// and the reader's allocation succeeds.
//
// The polls (the allocator waiting for memory, the reaper retrying its trylock) are bounded
// sleeps that nobody wakes; under the controlled scheduler each is blocked until what it polls
// changes (src/sched/task.ts poll_timeout): the end of the OOM kill, the victim's lock word.

import { EINTR } from '../../../errors.js';
import { frames_stats } from '../../../mm/frames.js';
import { vt_find } from '../../../mm/vma_tree.js';
import { handle_mm_fault } from '../../../ops/fault.js';
import {
  do_mmap,
  do_munmap,
  FAULT_FLAG_REMOTE,
  handle_user_fault,
  oom_reaper_run,
  PROT_READ,
  PROT_WRITE,
} from '../../../ops/index.js';
import { atomic_read, atomic_set, sched_point } from '../../../sched/atomics.js';
import { sched_label } from '../../../sched/labels.js';
import { wake_up_process } from '../../../sched/task.js';
import { mmap_read_lock, mmap_read_unlock } from '../../../schemes/mmap.js';
import { arena_alloc, task_ptr } from '../../../shm/arena.js';
import { LINE_WORDS, MM, RWSEM, TASK } from '../../../shm/layout/index.js';
import { mm_create } from '../../../workload/world.js';
import type { RaceScript } from '../scenario.js';

const START = 100;
const PAGES = 24;
const FRAMES = 16;
const SP_READ_LOCKED = sched_label('oom-killable:reader_locked');

// Task ids: the engine runs ctl index i as task 1 + i.
const WRITER_TASK = 2;
const REAPER_TASK = 3;

const script: RaceScript = {
  name: 'oom-killable',
  summary: 'a reader waits for memory, a writer queues, the OOM reaper queues behind the writer',
  thread:
    'mm: make mmap_sem for write waits killable for mm users, linux-mm 2016 (Michal Hocko), with the OOM reaper (v4.6)',
  // No optimistic spinning: the writer queues at once, as the 2016 writer would soon have.
  world: { scheme: 'mmap_lock', frames: FRAMES, rwsemSpin: false },
  bugs: ['mmap-write-uninterruptible'],
  broken:
    'the killed writer stays queued uninterruptibly: reader, writer and reaper all blocked (deadlock)',
  fixed:
    'the killed writer leaves the queue (-EINTR), the reaper frees the victim, the reader gets its page',
  setup() {
    const mm = mm_create();
    if (do_mmap(mm, START, PAGES, PROT_READ | PROT_WRITE) !== START) {
      throw new Error('mmap failed');
    }
    // The victim holds every frame.
    let n = 0;
    while (frames_stats().free > 0) {
      if (n >= PAGES - 1 || handle_user_fault(mm, START + n, true) !== 0) {
        throw new Error(`set-up could not fill the frame pool (${n} pages)`);
      }
      n++;
    }
    // The writer is a thread of the victim: the OOM killer kills it.
    atomic_set(task_ptr(WRITER_TASK) + TASK.mm, mm);
    const stop = arena_alloc(1, LINE_WORDS, 'reaper stop');
    return { mm, stop, resident: n };
  },
  tasks: [
    {
      name: 'remote reader',
      run(env) {
        const mm = env['mm'] as number;
        const addr = START + PAGES - 1; // never faulted in: needs a frame
        mmap_read_lock(mm);
        sched_point(SP_READ_LOCKED);
        let ret: number;
        try {
          ret = handle_mm_fault(mm, vt_find(mm + MM.mm_mt, addr), addr, FAULT_FLAG_REMOTE);
        } finally {
          mmap_read_unlock(mm);
        }
        // kthread_stop(): the reaper may sleep waiting for the next victim.
        atomic_set(env['stop'] as number, 1);
        wake_up_process(task_ptr(REAPER_TASK));
        return ret;
      },
    },
    {
      name: "victim's munmap",
      run: (env) => do_munmap(env['mm'] as number, START, 1),
    },
    {
      name: 'oom reaper',
      run(env) {
        const stop = env['stop'] as number;
        oom_reaper_run(() => atomic_read(stop) !== 0);
        return 0;
      },
    },
  ],
  schedule: [
    ['oom reaper', 'block'],
    ['remote reader', 'oom-killable:reader_locked'],
    ["victim's munmap", 'block'],
    ['remote reader', 'block'],
    ["victim's munmap", 'end'],
    ['oom reaper', 'block'],
    ['remote reader', 'end'],
    ['oom reaper', 'end'],
  ],
  check(env, exec) {
    const [reader, writer, reaper] = exec.tasks;
    const mm = env['mm'] as number;
    if (exec.outcome === 'deadlock') {
      const blocked = exec.tasks.filter((t) => t.state === 'blocked').map((t) => t.name);
      return {
        ok: false,
        text: `deadlock: ${blocked.join(', ')} blocked for ever (mmap_lock count 0x${(atomic_read(mm + MM.mmap_lock + RWSEM.count) >>> 0).toString(16)})`,
      };
    }
    if (
      exec.outcome === 'done' &&
      reader?.state === 'done' &&
      writer?.state === 'done' &&
      reaper?.state === 'done'
    ) {
      if (reader.result === 0 && writer.result === EINTR) {
        return {
          ok: true,
          text: `the killed writer left with -EINTR, the reaper freed the victim (${atomic_read(mm + MM.nr_ptes)} pages left), the reader got its page`,
        };
      }
      return {
        ok: true,
        text: `no deadlock: reader ${reader.result}, writer ${writer.result}`,
      };
    }
    return {
      ok: false,
      text: `unexpected: ${exec.outcome}, ${exec.tasks.map((t) => `${t.name} ${t.state} ${t.error ?? ''}`).join('; ')}`,
    };
  },
  describe(env) {
    const mm = env['mm'] as number;
    return {
      [mm + MM.mmap_lock + RWSEM.count]: 'mmap_lock.count',
      [env['stop'] as number]: 'reaper stop',
    };
  },
};

export default script;
