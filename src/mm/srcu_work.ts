// srcu_spf's SRCU work queue: the frees that call_srcu defers (a VMA, a page-table page), kept
// as data in the buffer so that they can run in another task than the one that queued them, as
// the kernel runs SRCU callbacks from a workqueue (a kworker). The SPF series dropped SRCU in
// 2018 because that hand-off cost too much scheduling; a bench that ran the callbacks in the
// caller's own thread would never pay it.
//
// Producers (munmap, merges, free_pgtables) take the grace-period cookie after the object was
// unpublished, queue (kind, object, cookie) under the queue's spinlock and, while a kworker
// runs, bump and notify its wake word. The kworker (src/workload/jobs.ts) waits on that word in
// bounded slices, and runs each entry once its grace period has ended, driving grace periods
// itself when they lag. With no kworker registered (unit tests, race scripts, stress), the task
// that processes deferred work runs the ready entries itself, as before. srcu_wq_barrier() waits
// for and runs everything queued, from any task.
//
// Memory ordering: the cookie is read with get_state_synchronize_srcu (full barrier after the
// unpublishing stores); the ring's words are written and read under the spinlock (ACQUIRE and
// RELEASE); an entry is freed only after poll_state_synchronize_srcu saw its grace period end
// (full barrier before the free). The producer's wake is an RMW on `wake` then a notify; the
// kworker reads `wake`, re-checks the queue, and sleeps only while `wake` still holds what it
// read, so a wake-up between its check and its sleep is never lost.

import { InvariantViolation } from '../errors.js';
import {
  atomic_fetch_add,
  atomic_notify,
  atomic_read,
  atomic_set,
  atomic_wait,
} from '../sched/atomics.js';
import { CNT } from '../sched/counters.js';
import { EV } from '../sched/events.js';
import { check_abort, count_add, futex_wake_overdue, set_waiting, trace } from '../sched/task.js';
import { arena_alloc } from '../shm/arena.js';
import {
  LINE_WORDS,
  MM_GLOBALS,
  SRCU_WORK_PTE_PAGE,
  SRCU_WORK_VMA,
  SRCU_WORK_WORDS,
  SRCU_WQ,
  WAIT_SITE,
} from '../shm/layout/index.js';
import { kmem_cache_free } from '../shm/slab.js';
import { spin_lock, spin_lock_init, spin_unlock } from '../sync/spinlock.js';
import {
  cond_synchronize_srcu,
  get_state_synchronize_srcu,
  poll_state_synchronize_srcu,
  srcu_gp_try_advance,
} from '../sync/srcu.js';
import { mm_globals } from './globals.js';
import { pte_page_cache } from './pgtable.js';

/** How long the kworker sleeps on its wake word before it looks again (a bounded slice). */
export const SRCU_KWORKER_SLICE_MS = 5;

/** Create the queue (world_create, srcu_spf): room for `size` pending frees. */
export function srcu_wq_create(size: number): number {
  const wq = arena_alloc(SRCU_WQ.SIZE, LINE_WORDS, 'srcu work queue');
  const ring = arena_alloc(size * SRCU_WORK_WORDS, LINE_WORDS, 'srcu work ring');
  spin_lock_init(wq + SRCU_WQ.lock);
  atomic_set(wq + SRCU_WQ.size, size);
  atomic_set(wq + SRCU_WQ.ring, ring);
  return wq;
}

function wq_of(): number {
  const wq = atomic_read(mm_globals().ptr + MM_GLOBALS.srcu_wq);
  if (wq === 0) throw new InvariantViolation('srcu work queue: this world has none (not srcu_spf)');
  return wq;
}

/** Entries queued and not yet taken (a racy read outside the lock). */
export function srcu_wq_pending(): number {
  const wq = wq_of();
  return (atomic_read(wq + SRCU_WQ.tail) - atomic_read(wq + SRCU_WQ.head)) | 0;
}

/** Whether a kworker runs the queue (otherwise callers run it in process_deferred). */
export function srcu_wq_has_worker(): boolean {
  return atomic_read(wq_of() + SRCU_WQ.worker) !== 0;
}

/** call_srcu() of a free: `obj` (SRCU_WORK_VMA or _PTE_PAGE) is already unpublished. */
export function srcu_wq_queue(kind: number, obj: number): void {
  const wq = wq_of();
  const ssp = mm_globals().srcu;
  const cookie = get_state_synchronize_srcu(ssp);
  const size = atomic_read(wq + SRCU_WQ.size);
  for (;;) {
    spin_lock(wq + SRCU_WQ.lock);
    const tail = atomic_read(wq + SRCU_WQ.tail);
    if (((tail - atomic_read(wq + SRCU_WQ.head)) | 0) < size) {
      const e = atomic_read(wq + SRCU_WQ.ring) + ((tail >>> 0) % size) * SRCU_WORK_WORDS;
      atomic_set(e, kind);
      atomic_set(e + 1, obj);
      atomic_set(e + 2, cookie);
      atomic_set(wq + SRCU_WQ.tail, (tail + 1) | 0);
      spin_unlock(wq + SRCU_WQ.lock);
      break;
    }
    spin_unlock(wq + SRCU_WQ.lock);
    // Full: this caller waits for the oldest grace period and runs what is ready itself (the
    // kernel's callers never block here; the ring is sized far above a run's backlog).
    srcu_wq_run(true);
  }
  trace(EV.SRCU_WORK_QUEUE, kind, obj);
  if (atomic_read(wq + SRCU_WQ.worker) !== 0) {
    atomic_fetch_add(wq + SRCU_WQ.wake, 1);
    atomic_notify(wq + SRCU_WQ.wake, 1);
  }
}

/**
 * Run the queued frees whose grace period has ended, oldest first; returns how many ran. When
 * the oldest is not ready: advance the grace period without blocking, or (wait) wait for it in
 * synchronize_srcu's bounded, abort-checked sleeps. Never inside an SRCU read section.
 */
export function srcu_wq_run(wait: boolean): number {
  const wq = wq_of();
  const ssp = mm_globals().srcu;
  const size = atomic_read(wq + SRCU_WQ.size);
  const ring = atomic_read(wq + SRCU_WQ.ring);
  const lock = wq + SRCU_WQ.lock;
  spin_lock(lock);
  let head = atomic_read(wq + SRCU_WQ.head);
  let tail = atomic_read(wq + SRCU_WQ.tail);
  if (head === tail) {
    spin_unlock(lock);
    return 0;
  }
  const first = atomic_read(ring + ((head >>> 0) % size) * SRCU_WORK_WORDS + 2);
  const last = atomic_read(ring + (((tail - 1) >>> 0) % size) * SRCU_WORK_WORDS + 2);
  spin_unlock(lock);
  if (!poll_state_synchronize_srcu(ssp, first)) {
    if (!srcu_gp_try_advance(ssp, last) && !poll_state_synchronize_srcu(ssp, first)) {
      if (!wait) return 0;
      cond_synchronize_srcu(ssp, first);
    }
  }
  // Take every entry whose grace period has ended (cookies are in queue order).
  const kinds: number[] = [];
  const objs: number[] = [];
  spin_lock(lock);
  head = atomic_read(wq + SRCU_WQ.head);
  tail = atomic_read(wq + SRCU_WQ.tail);
  while (head !== tail) {
    const e = ring + ((head >>> 0) % size) * SRCU_WORK_WORDS;
    if (!poll_state_synchronize_srcu(ssp, atomic_read(e + 2))) break;
    kinds.push(atomic_read(e));
    objs.push(atomic_read(e + 1));
    head = (head + 1) | 0;
  }
  atomic_set(wq + SRCU_WQ.head, head);
  spin_unlock(lock);
  const g = mm_globals();
  for (let i = 0; i < kinds.length; i++) {
    const k = kinds[i]!;
    if (k === SRCU_WORK_VMA) kmem_cache_free(g.vmaCache, objs[i]!);
    else if (k === SRCU_WORK_PTE_PAGE) kmem_cache_free(pte_page_cache(), objs[i]!);
    else throw new InvariantViolation(`srcu work queue: entry of unknown kind ${k}`);
  }
  if (kinds.length > 0) {
    count_add(CNT.SRCU_CALLBACKS, kinds.length);
    trace(EV.SRCU_WORK_RUN, kinds.length, (tail - head) | 0);
  }
  return kinds.length;
}

/** srcu_barrier() for the queue: wait for and run every free queued so far. */
export function srcu_wq_barrier(): void {
  while (srcu_wq_pending() > 0) srcu_wq_run(true);
}

/** The calling task becomes the queue's kworker (one at a time). */
export function srcu_kworker_register(taskId: number): void {
  atomic_set(wq_of() + SRCU_WQ.worker, taskId + 1);
}

/** The kworker stops: callers run the queue themselves again. Then drain what is left. */
export function srcu_kworker_unregister(): void {
  atomic_set(wq_of() + SRCU_WQ.worker, 0);
  srcu_wq_barrier();
}

/**
 * One turn of the kworker: run the ready frees (waiting for the oldest one's grace period);
 * with nothing queued, sleep on the wake word for at most one slice. Returns 0 when it ran
 * work, 1 when it slept. A slice that times out with work queued that was queued before the
 * sleep and not notified is a lost wake-up, reported as such.
 */
export function srcu_kworker_step(): number {
  const wq = wq_of();
  const w = wq + SRCU_WQ.wake;
  const seen = atomic_read(w);
  if (srcu_wq_pending() > 0) {
    srcu_wq_run(true);
    return 0;
  }
  set_waiting(EV.SRCU_WORK_IDLE, w);
  trace(EV.SRCU_WORK_IDLE, w, seen);
  try {
    if (
      atomic_wait(w, seen, SRCU_KWORKER_SLICE_MS) === 'timed-out' &&
      atomic_read(w) === seen &&
      srcu_wq_pending() > 0
    ) {
      // Work queued while we slept, its producer's bump not seen: it is owed us.
      futex_wake_overdue(WAIT_SITE.SRCU_WORK, w, seen);
    }
  } finally {
    set_waiting(0, 0);
  }
  check_abort();
  return 1;
}
