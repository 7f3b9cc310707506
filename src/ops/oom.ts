// Out of memory (mm/page_alloc.c __alloc_pages_slowpath, mm/oom_kill.c out_of_memory and the
// oom_reaper, as of 2016 when the reaper came): what happens when the frame pool runs dry.
//
// - alloc_frame_wait(): an allocation that may wait. While the pool is empty it invokes the OOM
//   killer and waits for memory, in bounded slices, uninterruptibly: the kernel's allocator
//   keeps retrying for a task that is not itself dying. A dying task (fatal signal pending)
//   fails instead.
// - out_of_memory(): pick the mm with the most resident pages (select_bad_process over tasks,
//   as oom_badness scores rss), send SIGKILL to every task whose task->mm it is, pin the mm and
//   hand it to the reaper. One victim at a time: while a kill is in progress nobody else is
//   chosen (the kernel's oom_victims / tsk_is_oom_victim check).
// - the OOM reaper, a kernel thread (one task here): it frees the victim's anonymous memory
//   without waiting for the victim to exit, but it must hold the victim's mmap_lock for read to
//   walk its VMAs, and it only TRIES (mmap_read_trylock): a trylock fails while a writer waits.
//   The kernel retries MAX_OOM_REAP_RETRIES times, HZ/10 apart, then gives up on the mm; this
//   reaper retries every slice until it succeeds or the harness aborts, so a reaper that cannot
//   get in shows as what it is in the 2016 report: nothing progresses.
//
// The 2016 deadlock (the down_write_killable series, KERNEL.md §6.6): a reader holds the
// victim's mmap_lock for read and waits here for memory; a writer of the victim queues behind it
// with an uninterruptible mmap_write_lock; the reaper's trylock fails while that writer waits;
// the writer ignores its SIGKILL. Nobody moves. With mmap_write_lock_killable the killed writer
// leaves the queue, the reaper gets in, frees the victim's frames, and the reader's allocation
// succeeds (BUG.MMAP_WRITE_UNINTERRUPTIBLE puts the old lock back, src/schemes/mmap.ts).
//
// Memory ordering: MM_GLOBALS.oom_victim is claimed with a cmpxchg from 0 (one kill at a time)
// and released with an atomic store by the reaper after it reaped; kill_task() is an RMW on the
// task's signal word followed by unpark (RELEASE, pairs with the victim's ACQUIRE check of its
// signal after its wake-up). The victim mm is pinned by mmgrab() from the claim to the release.

import { alloc_frame } from '../mm/frames.js';
import { mm_globals } from '../mm/globals.js';
import { mmdrop, mmgrab } from '../mm/mm.js';
import { atomic_cmpxchg, atomic_fetch_add, atomic_read, atomic_set } from '../sched/atomics.js';
import { CNT } from '../sched/counters.js';
import { EV } from '../sched/events.js';
import {
  count,
  count_add,
  current,
  fatal_signal_pending,
  kill_task,
  poll_snapshot,
  poll_timeout,
  schedule_timeout,
  set_waiting,
  trace,
  unpark,
} from '../sched/task.js';
import { mmap_read_trylock, mmap_read_unlock } from '../schemes/mmap.js';
import { max_tasks, task_ptr } from '../shm/arena.js';
import { MM, MM_GLOBALS, RWSEM, TASK, TASK_SIZE_PAGES } from '../shm/layout/index.js';
import { unmap_vmas, vmas_in_range } from './vma_ops.js';

/** How long an allocation sleeps before it looks at the pool again. */
export const OOM_RETRY_MS = 10;
/** How long the reaper sleeps between attempts on a victim's mmap lock (the kernel: HZ/10). */
export const OOM_REAP_RETRY_MS = 20;

/**
 * out_of_memory(): choose a victim and kill it, unless a kill is already in progress. Returns
 * the victim mm, or 0 if none was chosen now (one is being reaped, or no task has memory).
 */
export function out_of_memory(): number {
  const g = mm_globals().ptr;
  if (atomic_read(g + MM_GLOBALS.oom_victim) !== 0) return 0;
  // select_bad_process(): the mm with the most resident pages among the tasks'.
  const n = max_tasks();
  let victim = 0;
  let best = 0;
  for (let id = 0; id < n; id++) {
    const mm = atomic_read(task_ptr(id) + TASK.mm);
    if (mm === 0) continue;
    const rss = atomic_read(mm + MM.nr_ptes);
    if (rss > best) {
      best = rss;
      victim = mm;
    }
  }
  if (victim === 0) return 0;
  mmgrab(victim); // the reaper drops it
  if (atomic_cmpxchg(g + MM_GLOBALS.oom_victim, 0, victim) !== 0) {
    mmdrop(victim); // another task's OOM kill got there first
    return 0;
  }
  let killed = 0;
  for (let id = 0; id < n; id++) {
    const t = task_ptr(id);
    if (atomic_read(t + TASK.mm) === victim) {
      kill_task(t);
      killed++;
    }
  }
  count(CNT.OOM_KILL);
  trace(EV.OOM_KILL, victim, killed);
  const reaper = atomic_read(g + MM_GLOBALS.oom_reaper);
  if (reaper !== 0) unpark(reaper); // wake_oom_reaper()
  return victim;
}

/**
 * A frame, waiting for memory while the pool is empty (invoking the OOM killer). Returns 0 only
 * if the current task is dying (a fatal signal is pending): the caller fails with VM_FAULT_OOM.
 */
export function alloc_frame_wait(): number {
  let stalled = false;
  const victim = mm_globals().ptr + MM_GLOBALS.oom_victim;
  const reaped = mm_globals().ptr + MM_GLOBALS.oom_reaped;
  try {
    for (let attempt = 0; ; attempt++) {
      // Under the controlled scheduler the poll below ends when a victim has been reaped
      // since this look at the pool (its memory is back then).
      const seen = poll_snapshot(reaped);
      const pfn = alloc_frame();
      if (pfn !== 0) return pfn;
      if (fatal_signal_pending()) return 0;
      out_of_memory();
      if (!stalled) {
        stalled = true;
        count(CNT.OOM_ALLOC_STALL);
        trace(EV.OOM_ALLOC_STALL, attempt, 0);
        set_waiting(EV.OOM_ALLOC_STALL, victim);
      }
      // A poll, not a wake-up protocol: memory comes back through the pool, nobody wakes us.
      // A dying task fails instead (the check above), so the poll is killable.
      poll_timeout(OOM_RETRY_MS, reaped, seen, true);
    }
  } finally {
    if (stalled) set_waiting(0, 0);
  }
}

/** Make the current task the OOM reaper (one per world). */
export function oom_reaper_register(): void {
  atomic_set(mm_globals().ptr + MM_GLOBALS.oom_reaper, current());
}

export function oom_reaper_unregister(): void {
  atomic_cmpxchg(mm_globals().ptr + MM_GLOBALS.oom_reaper, current(), 0);
}

/**
 * One attempt of the reaper on the current victim (oom_reap_task_mm): -1 if there is no
 * victim, 0 if its mmap lock could not be taken (retry later), else the pages it freed + 1.
 * The VMAs stay; their pages go (as MADV_DONTNEED would), so the victim's frames return to the
 * pool before it has exited.
 */
export function oom_reap_once(): number {
  return oom_reap_mm(atomic_read(mm_globals().ptr + MM_GLOBALS.oom_victim));
}

/** oom_reap_once() on `mm`, the victim the caller read (0: none, -1). */
function oom_reap_mm(mm: number): number {
  const g = mm_globals().ptr;
  if (mm === 0) return -1;
  if (!mmap_read_trylock(mm)) {
    count(CNT.OOM_REAP_RETRY);
    trace(EV.OOM_REAP_RETRY, mm, 0);
    return 0;
  }
  const pages = unmap_vmas(mm, vmas_in_range(mm, 0, TASK_SIZE_PAGES));
  mmap_read_unlock(mm);
  count_add(CNT.OOM_REAPED, pages);
  trace(EV.OOM_REAPED, mm, pages);
  atomic_set(g + MM_GLOBALS.oom_victim, 0); // the next OOM may choose again
  atomic_fetch_add(g + MM_GLOBALS.oom_reaped, 1); // pollers for memory: look again
  mmdrop(mm);
  return pages + 1;
}

/**
 * The reaper's loop (oom_reaper kthread): reap whenever there is a victim, sleep a slice
 * otherwise, until stop() says so. Bounded sleeps, abort-checked: a reaper that never gets the
 * lock shows as no progress, never as a hung thread.
 */
export function oom_reaper_run(stop: () => boolean): void {
  oom_reaper_register();
  try {
    const victim = mm_globals().ptr + MM_GLOBALS.oom_victim;
    while (!stop()) {
      // Only the reaper releases oom_victim, so a victim read here is still the victim below.
      const mm = atomic_read(victim);
      // A failed trylock is a poll: under the controlled scheduler it ends when the victim's
      // mmap_lock count changes (a reader leaves, a waiting writer gives up).
      const seen = mm === 0 ? 0 : poll_snapshot(mm + MM.mmap_lock + RWSEM.count);
      const r = oom_reap_mm(mm);
      if (r === 0) poll_timeout(OOM_REAP_RETRY_MS, mm + MM.mmap_lock + RWSEM.count, seen);
      else if (r < 0) schedule_timeout(OOM_REAP_RETRY_MS); // woken by out_of_memory()
    }
  } finally {
    oom_reaper_unregister();
  }
}
