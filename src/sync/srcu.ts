// SRCU, classic two-index form (the kernel's kernel/rcu/srcu.c before Tree SRCU, with lock and
// unlock counters): readers count themselves into srcu_lock_count[idx] / srcu_unlock_count[idx]
// of their own task's srcu_data; a grace period flips srcu_idx and waits until the old index's
// lock and unlock sums agree. Readers may block inside a section: nothing waits on them but the
// grace periods of their own srcu_struct.
//
// Memory ordering (every Atomics operation is sequentially consistent; the kernel's words kept):
// - srcu_read_lock(): load srcu_idx (READ_ONCE), then fetch_add srcu_lock_count[idx]. The RMW is
//   full barrier B: the increment comes before every access of the section. Pairs with A.
// - srcu_read_unlock(): fetch_add srcu_unlock_count[idx]. The RMW is full barrier C: the
//   section's accesses come before the increment. Pairs with A. Then a load of srcu_waiting
//   (the xchg orders it after the increment; store-buffer pair with the sleeper's xchg).
// - srcu_readers_active_idx_check(idx): sum the unlock counts of every task, smp_mb() (A), then
//   sum the lock counts. Equal sums mean no reader counted in the lock sum is still inside.
//   Proof: per task, a counted unlock's lock came earlier in that task and is read later (after
//   A), so every task's lock value L_t >= its unlock value U_t; equal sums force L_t == U_t for
//   every t: each section that had incremented lock[idx] when we read it had also incremented
//   unlock[idx] when we read that, earlier. A section whose lock increment we missed comes after
//   our read of it, hence after A and after the updater's removal: by B it cannot see the
//   removed data. Counters wrap; the sums are compared mod 2^32, exact because the unknown
//   difference (increments that land between the two sums) is far below 2^32.
// - The double scan: a reader may load srcu_idx, be preempted across a whole grace period, and
//   then increment the index that grace period already drained. Its section sees everything
//   before that grace period, but it now sits on the index that is *not* current. So a grace
//   period first waits for the non-current index to drain (scan 1), then flips (an xchg: full
//   barrier D, pairs with B and C), then waits for the old current index to drain (scan 2).
//   A reader that loaded the index before our flip is either drained by scan 1 or counted on
//   the old index in scan 2, or its increment came after scan 2's read (and then it sees the
//   updates, as above). At most one such late reader per task, so neither scan is starved.
//
// Cookies, deferred callbacks, the non-blocking advance and the sleeping grace-period waiter
// work as in src/sync/rcu.ts, per srcu_struct.

import { LockStateError } from '../errors.js';
import {
  atomic_fetch_add,
  atomic_notify,
  atomic_read,
  atomic_set,
  atomic_wait,
  atomic_xchg,
  cpu_relax,
  plain_read,
  plain_set,
  sched_point,
  smp_mb,
  words,
} from '../sched/atomics.js';
import { BUG, bug_on } from '../sched/bugs.js';
import { CNT } from '../sched/counters.js';
import { EV } from '../sched/events.js';
import { sched_label } from '../sched/labels.js';
import { SP } from '../sched/points.js';
import {
  check_abort,
  count,
  current_id,
  futex_wake_overdue,
  set_waiting,
  trace,
} from '../sched/task.js';
import { arena_alloc, get_root, max_tasks, set_root } from '../shm/arena.js';
import {
  GP_FUTEX_IDLE,
  GP_FUTEX_WAITING,
  GP_IDLE,
  GP_WAIT_FLIP,
  GP_WAIT_STALE,
  LINE_WORDS,
  ROOT,
  SRCU,
  srcu_data_off,
  srcu_lock_count_off,
  srcu_struct_words,
  srcu_unlock_count_off,
  WAIT_SITE,
} from '../shm/layout/index.js';
import { RcuCbList, rcu_seq_done, rcu_seq_snap } from './rcu_cblist.js';
import { spin_lock, spin_lock_init, spin_trylock, spin_unlock } from './spinlock.js';

/** Schedule points a race script can stop at. */
const SP_IDX_LOADED = sched_label('srcu_read_lock:idx_loaded');
const SP_FLIPPED = sched_label('srcu_gp:flipped');

/** Scans a blocked grace period repeats (with cpu_relax) before it starts to sleep. */
const ACTIVE_ATTEMPTS = 16;
/** The longest one grace-period sleep lasts before the scan and the abort flag are re-checked. */
export const SRCU_GP_SLEEP_MS = 10;

/** Main thread, set-up: allocate an srcu_struct with one srcu_data per task slot. */
export function init_srcu_struct(): number {
  const n = max_tasks();
  const ssp = arena_alloc(srcu_struct_words(n), LINE_WORDS, 'srcu_struct');
  atomic_set(ssp + SRCU.srcu_idx, 0);
  atomic_set(ssp + SRCU.srcu_waiting, GP_FUTEX_IDLE);
  spin_lock_init(ssp + SRCU.lock);
  atomic_set(ssp + SRCU.srcu_gp_seq, 0);
  atomic_set(ssp + SRCU.srcu_gp_phase, GP_IDLE);
  atomic_set(ssp + SRCU.nr_tasks, n);
  for (let id = 0; id < n; id++) {
    const d = ssp + srcu_data_off(id);
    for (let idx = 0; idx < 2; idx++) {
      atomic_set(d + srcu_lock_count_off(idx), 0);
      atomic_set(d + srcu_unlock_count_off(idx), 0);
    }
  }
  return ssp;
}

/** Main thread, set-up: init_srcu_struct() and publish it at ROOT.SRCU. */
export function init_srcu_root(): number {
  const ssp = init_srcu_struct();
  set_root(ROOT.SRCU, ssp);
  return ssp;
}

/** The srcu_struct published at ROOT.SRCU (0 if none). */
export function srcu_root(): number {
  return get_root(ROOT.SRCU);
}

/** The current task's srcu_data in ssp. */
function my_data(ssp: number): number {
  const id = current_id();
  if (id < 0) throw new LockStateError('srcu: this thread is not a task (task_attach)');
  return ssp + srcu_data_off(id);
}

// ---- readers ------------------------------------------------------------------------------

/** Enter a read section; returns the index to pass to srcu_read_unlock(). May nest. */
export function srcu_read_lock(ssp: number): number {
  const idx = atomic_read(ssp + SRCU.srcu_idx) & 1;
  sched_point(SP_IDX_LOADED);
  // Full barrier B: the increment before the section's accesses.
  atomic_fetch_add(my_data(ssp) + srcu_lock_count_off(idx), 1);
  trace(EV.SRCU_READ_LOCK, ssp, idx);
  sched_point(SP.SRCU_SECTION);
  return idx;
}

export function srcu_read_unlock(ssp: number, idx: number): void {
  if (idx !== 0 && idx !== 1)
    throw new LockStateError(`srcu_read_unlock: index ${idx}; allowed 0 or 1`);
  const d = my_data(ssp);
  // only this task writes its counters
  if (plain_read(d + srcu_lock_count_off(idx)) === plain_read(d + srcu_unlock_count_off(idx))) {
    throw new LockStateError(`srcu_read_unlock(${ssp}, ${idx}) without a matching srcu_read_lock`);
  }
  // Full barrier C: the section's accesses before the increment, the increment before the
  // srcu_waiting load (pairs with the xchg in srcu_gp_wait).
  atomic_fetch_add(d + srcu_unlock_count_off(idx), 1);
  trace(EV.SRCU_READ_UNLOCK, ssp, idx);
  const w = ssp + SRCU.srcu_waiting;
  if (atomic_read(w) === GP_FUTEX_WAITING && atomic_xchg(w, GP_FUTEX_IDLE) === GP_FUTEX_WAITING) {
    atomic_notify(w, 1);
  }
}

/** Whether the current task is inside a read section of ssp. */
export function srcu_read_lock_held(ssp: number): boolean {
  const d = my_data(ssp);
  let n = 0;
  for (let idx = 0; idx < 2; idx++) {
    // only this task writes its counters
    n +=
      (plain_read(d + srcu_lock_count_off(idx)) - plain_read(d + srcu_unlock_count_off(idx))) | 0;
  }
  return n !== 0;
}

// ---- grace periods (all under ssp's lock) -------------------------------------------------

/** No reader is inside a section on idx: sum(unlock[idx]) == sum(lock[idx]) over all tasks. */
function srcu_readers_active_idx_check(ssp: number, idx: number): boolean {
  const n = plain_read(ssp + SRCU.nr_tasks); // written once at init, before any reader
  let unlocks = 0;
  for (let id = 0; id < n; id++) {
    unlocks = (unlocks + atomic_read(ssp + srcu_data_off(id) + srcu_unlock_count_off(idx))) | 0;
  }
  // A: the unlock sum before the lock sum; pairs with B and C.
  smp_mb();
  let locks = 0;
  for (let id = 0; id < n; id++) {
    locks = (locks + atomic_read(ssp + srcu_data_off(id) + srcu_lock_count_off(idx))) | 0;
  }
  return locks === unlocks;
}

/** As rcu_gp_step: drive ssp's grace period toward cookie; false if a scan found readers. */
function srcu_gp_step(ssp: number, cookie: number): boolean {
  const seqp = ssp + SRCU.srcu_gp_seq;
  const idxp = ssp + SRCU.srcu_idx;
  const php = ssp + SRCU.srcu_gp_phase;
  for (;;) {
    const seq = atomic_read(seqp);
    if (rcu_seq_done(seq, cookie)) return true;
    let phase = plain_read(php); // under ssp's lock
    if (phase === GP_IDLE) {
      // srcu_gp_start. Full barrier: start before both scans.
      atomic_xchg(seqp, (seq + 1) | 0);
      phase = GP_WAIT_STALE;
      plain_set(php, phase); // under ssp's lock
    }
    if (phase === GP_WAIT_STALE) {
      const idx = atomic_read(idxp);
      // Scan 1: late readers left on the non-current index by an earlier grace period.
      // BUG.SRCU_SKIP_FIRST_INDEX skips it: a reader that loaded srcu_idx before the previous
      // flip and incremented the old index after that grace period drained it is then on the
      // index this flip makes current, and scan 2 never looks at it.
      if (!bug_on(BUG.SRCU_SKIP_FIRST_INDEX) && !srcu_readers_active_idx_check(ssp, idx ^ 1)) {
        return false;
      }
      // srcu_flip. Full barrier D.
      atomic_xchg(idxp, idx ^ 1);
      sched_point(SP_FLIPPED);
      plain_set(php, GP_WAIT_FLIP); // under ssp's lock
    }
    // Scan 2: the index that was current before the flip.
    if (!srcu_readers_active_idx_check(ssp, atomic_read(idxp) ^ 1)) return false;
    // srcu_gp_end. Full barrier: scan 2 before the end that pollers see.
    atomic_xchg(seqp, (atomic_read(seqp) + 1) | 0);
    plain_set(php, GP_IDLE); // under ssp's lock
  }
}

/** Caller holds ssp's lock: wait, in bounded sleeps, until the gp sequence reaches cookie. */
function srcu_gp_wait(ssp: number, cookie: number): void {
  const w = ssp + SRCU.srcu_waiting;
  let attempts = 0;
  try {
    while (!srcu_gp_step(ssp, cookie)) {
      check_abort();
      if (attempts < ACTIVE_ATTEMPTS) {
        attempts++;
        cpu_relax();
        continue;
      }
      // Full barrier: announce the sleep before the re-scan; pairs with C in srcu_read_unlock.
      atomic_xchg(w, GP_FUTEX_WAITING);
      if (srcu_gp_step(ssp, cookie)) break;
      set_waiting(EV.SRCU_SYNC_BEGIN, w);
      // A slice that timed out, after which the grace period can end: a reader left, and its
      // unlock owed us a wake-up (it must see WAITING: the store-buffer pair above). It may be
      // between its slot store and that wake-up: futex_wake_overdue() gives it the grace.
      if (
        atomic_wait(w, GP_FUTEX_WAITING, SRCU_GP_SLEEP_MS) === 'timed-out' &&
        srcu_gp_step(ssp, cookie)
      ) {
        futex_wake_overdue(WAIT_SITE.SRCU_GP, w, GP_FUTEX_WAITING);
        break;
      }
    }
  } finally {
    set_waiting(0, 0);
    atomic_set(w, GP_FUTEX_IDLE);
  }
}

/** Wait until ssp's grace period named by cookie has ended. Not inside a section of ssp. */
export function cond_synchronize_srcu(ssp: number, cookie: number): void {
  if (srcu_read_lock_held(ssp)) {
    throw new LockStateError(`synchronize_srcu(${ssp}) inside its own read section would deadlock`);
  }
  if (poll_state_synchronize_srcu(ssp, cookie)) return;
  const l = ssp + SRCU.lock;
  spin_lock(l);
  try {
    srcu_gp_wait(ssp, cookie);
  } finally {
    spin_unlock(l);
  }
  // Full barrier: the grace period's end before the caller's frees.
  smp_mb();
}

/** Wait for a full SRCU grace period of ssp. */
export function synchronize_srcu(ssp: number): void {
  if (srcu_read_lock_held(ssp)) {
    throw new LockStateError(`synchronize_srcu(${ssp}) inside its own read section would deadlock`);
  }
  const cookie = get_state_synchronize_srcu(ssp);
  count(CNT.SRCU_SYNC);
  trace(EV.SRCU_SYNC_BEGIN, ssp, cookie);
  cond_synchronize_srcu(ssp, cookie);
  trace(EV.SRCU_SYNC_END, ssp, cookie);
}

// ---- polled grace periods ------------------------------------------------------------------

export function get_state_synchronize_srcu(ssp: number): number {
  // Full barrier: the caller's updates before the sequence load.
  smp_mb();
  return rcu_seq_snap(atomic_read(ssp + SRCU.srcu_gp_seq));
}

export function poll_state_synchronize_srcu(ssp: number, cookie: number): boolean {
  if (!rcu_seq_done(atomic_read(ssp + SRCU.srcu_gp_seq), cookie)) return false;
  // Full barrier: the load that saw the end before the caller's frees.
  smp_mb();
  return true;
}

/** As rcu_gp_try_advance, for ssp. */
export function srcu_gp_try_advance(ssp: number, cookie: number): boolean {
  const l = ssp + SRCU.lock;
  if (!spin_trylock(l)) return poll_state_synchronize_srcu(ssp, cookie);
  let done: boolean;
  try {
    done = srcu_gp_step(ssp, cookie);
  } finally {
    spin_unlock(l);
  }
  if (done) smp_mb();
  return done;
}

export function start_poll_synchronize_srcu(ssp: number): number {
  const cookie = get_state_synchronize_srcu(ssp);
  srcu_gp_try_advance(ssp, cookie);
  return cookie;
}

// ---- deferred callbacks (this thread's, per srcu_struct) -----------------------------------

const cblists = new Map<number, RcuCbList>();
let cbArena: Int32Array | null = null;

function cblist_of(ssp: number): RcuCbList {
  if (cbArena !== words()) {
    cblists.clear();
    cbArena = words();
  }
  let l = cblists.get(ssp);
  if (l === undefined) {
    l = new RcuCbList();
    cblists.set(ssp, l);
  }
  return l;
}

/** Queue fn to run in this thread after an SRCU grace period of ssp. */
export function call_srcu(ssp: number, fn: () => void): void {
  cblist_of(ssp).enqueue(fn, get_state_synchronize_srcu(ssp));
}

/**
 * Run this thread's callbacks on ssp whose grace period has ended, oldest first; returns how
 * many ran. No shared access when none is queued; advances the grace period without blocking
 * when the oldest is not ready.
 */
export function srcu_process_callbacks(ssp: number): number {
  const l = cblist_of(ssp);
  if (l.pending() === 0) return 0;
  const seqp = ssp + SRCU.srcu_gp_seq;
  if (!rcu_seq_done(atomic_read(seqp), l.firstCookie())) {
    srcu_gp_try_advance(ssp, l.lastCookie());
    if (!rcu_seq_done(atomic_read(seqp), l.firstCookie())) return 0;
  }
  // Full barrier: the grace period's end before the callbacks' frees.
  smp_mb();
  return l.invokeReady(atomic_read(seqp), CNT.SRCU_CALLBACKS);
}

/** Wait for and run every callback this thread has queued on ssp. */
export function srcu_barrier(ssp: number): void {
  if (srcu_read_lock_held(ssp)) {
    throw new LockStateError(`srcu_barrier(${ssp}) inside its own read section would deadlock`);
  }
  const l = cblist_of(ssp);
  while (l.pending() > 0) {
    cond_synchronize_srcu(ssp, l.lastCookie());
    srcu_process_callbacks(ssp);
  }
}

/** Callbacks this thread has queued on ssp and not yet run. */
export function srcu_pending_callbacks(ssp: number): number {
  return cblist_of(ssp).pending();
}

/** Tests only: set ssp's grace-period sequence (even; no grace period in progress). */
export function srcu_set_seq_for_test(ssp: number, seq: number): void {
  if ((seq & 1) !== 0) throw new LockStateError(`srcu_set_seq_for_test: ${seq} is odd`);
  const l = ssp + SRCU.lock;
  spin_lock(l);
  try {
    if (plain_read(ssp + SRCU.srcu_gp_phase) !== GP_IDLE) {
      throw new LockStateError('srcu_set_seq_for_test: a grace period is in progress');
    }
    atomic_set(ssp + SRCU.srcu_gp_seq, seq | 0);
  } finally {
    spin_unlock(l);
  }
}
