// RCU in liburcu's "memb" style: each task publishes a reader slot (TASK.rcu_ctr); a grace
// period flips a global counter and scans every task slot. Re-implemented from liburcu's
// include/urcu/static/urcu-memb.h and src/urcu.c; the polled API and names follow the kernel
// (kernel/rcu/tree.c: get_state_synchronize_rcu, poll_state_synchronize_rcu, ...).
//
// Reader slot: 0 outside a read section; inside, a snapshot of rcu_state.gp_ctr with the
// nesting depth in the low RCU_NEST_BITS bits. Only the owner writes its slot.
//
// Memory ordering (every Atomics operation is sequentially consistent; the kernel's words kept):
// - rcu_read_lock(), outermost: load gp_ctr, then store it into the slot with an xchg. The xchg
//   is the full barrier (liburcu's smp_mb_slave after the store): the slot store comes before
//   every load of the read section. Pairs with the slot loads of a grace-period scan: a scan
//   that reads the slot as quiescent is ordered before our store, so the updater's unpublishing
//   store (made before the grace period) is visible to the whole section.
// - rcu_read_unlock(), outermost: an xchg of 0 into the slot. RELEASE and full barrier in one:
//   the section's loads come before the store (pairs with the scan that sees the slot quiescent;
//   the updater frees only after that scan), and the store comes before the gp_futex load
//   (pairs with the xchg that sets GP_FUTEX_WAITING before a re-scan: a store-buffer pair, so
//   either the scan sees us quiescent or we see the sleeper and wake it).
// - Grace period (under rcu_state.lock): gp_seq start, scan, flip gp_ctr, scan, gp_seq end, each
//   store an xchg (full barrier), each scan load seq-cst. get_state_synchronize_rcu() issues
//   smp_mb() before it reads gp_seq, and a successful poll issues smp_mb() after it.
//
// Why two scans, and why a wrapping Int32 counter is safe. A reader may load gp_ctr, be
// preempted, and store that stale snapshot into its slot long after. A scan checks each active
// slot against the current counter C:
//   scan 1 (before the flip): wait until every slot is quiescent or holds C;
//   flip: gp_ctr = C' = C + RCU_GP_CTR_UNIT;
//   scan 2: wait until every slot is quiescent or holds C'.
// Take a reader whose section may have read data the updater removed before the grace period.
// If its slot store came after scan 1 read the slot, that store is ordered after the removal,
// so the section cannot see the removed data. Otherwise scan 1 saw the slot: if it held a value
// other than C, scan 1 waited for the section to end; if it held C, scan 2 compares C with
// C' and waits for the section to end. The argument needs only C' !== C, which one addition of
// 2^16 never breaks, however far the counter has wrapped: counters are only compared for
// equality. (Scan 2 alone would be fooled by a stale snapshot taken 2^16 flips ago, which then
// equals C'; test/unit/rcu.test.ts stalls a reader with a schedule hook to build that case.)
//
// Cookies: gp_seq is even when idle and odd while a grace period runs. A cookie is the value
// gp_seq reaches once a grace period that starts after the cookie was taken has ended
// (rcu_seq_snap); it is done when gp_seq - cookie >= 0 as a signed 32-bit difference. Correct
// while a cookie is polled within 2^30 grace periods of being taken (as the kernel's unsigned
// long compare is within 2^(BITS-1)); a cookie older than that may read as not done.
//
// Deferred work: callbacks are closures and stay in the thread that queued them. call_rcu()
// queues fn with a cookie; rcu_process_callbacks() runs the ready ones in order and, when the
// first is not ready, advances the grace period without blocking (trylock, one scan per phase,
// give up at the first reader still in an old section), so callbacks complete even when no
// task calls synchronize_rcu(). rcu_barrier() waits for and runs all of this thread's.
// Callbacks still queued when a thread ends never run: a worker calls rcu_barrier() (and
// srcu_barrier() per srcu_struct it used) before it returns.

import { LayoutError, LockStateError } from '../errors.js';
import {
  atomic_notify,
  atomic_read,
  atomic_read_once,
  atomic_set,
  atomic_wait,
  atomic_xchg,
  cpu_relax,
  plain_read,
  plain_set,
  smp_mb,
  words,
} from '../sched/atomics.js';
import { CNT } from '../sched/counters.js';
import { EV } from '../sched/events.js';
import { check_abort, count, current, current_id, set_waiting, trace } from '../sched/task.js';
import { arena_alloc, get_root, max_tasks, set_root, task_ptr } from '../shm/arena.js';
import {
  GP_FUTEX_IDLE,
  GP_FUTEX_WAITING,
  GP_IDLE,
  GP_WAIT_FLIP,
  GP_WAIT_STALE,
  LINE_WORDS,
  RCU_GP_COUNT,
  RCU_GP_CTR_UNIT,
  RCU_NEST_MASK,
  RCU_STATE,
  ROOT,
  TASK,
} from '../shm/layout/index.js';
import { RcuCbList, rcu_seq_done, rcu_seq_snap } from './rcu_cblist.js';
import { spin_lock, spin_lock_init, spin_trylock, spin_unlock } from './spinlock.js';

/** Scans a blocked grace period repeats (with cpu_relax) before it starts to sleep. */
const ACTIVE_ATTEMPTS = 16;
/** The longest one grace-period sleep lasts before the scan and the abort flag are re-checked. */
export const RCU_GP_SLEEP_MS = 10;

// ---- where things are (per thread: the arena and task this thread is attached to) ----------

let cacheWords: Int32Array | null = null;
let cacheTask = -1;
let rsp = 0;
let slot = 0;

function resolve(): void {
  if (current_id() < 0) throw new LockStateError('rcu: this thread is not a task (task_attach)');
  const p = get_root(ROOT.RCU);
  if (p === 0) throw new LayoutError('rcu: no rcu_state at ROOT.RCU; call rcu_init() at set-up');
  rsp = p;
  slot = current() + TASK.rcu_ctr;
  cacheWords = words();
  cacheTask = current();
}

/** The current task's reader slot (and rsp, resolved with it). */
function reader_slot(): number {
  if (cacheWords !== words() || cacheTask !== current()) resolve();
  return slot;
}

/** The rcu_state this thread uses (get_root(ROOT.RCU) of its arena). */
export function rcu_state_ptr(): number {
  reader_slot();
  return rsp;
}

/** Main thread, set-up: allocate rcu_state and publish it at ROOT.RCU. */
export function rcu_init(): number {
  const p = arena_alloc(RCU_STATE.SIZE, LINE_WORDS, 'rcu_state');
  atomic_set(p + RCU_STATE.gp_ctr, RCU_GP_COUNT);
  atomic_set(p + RCU_STATE.gp_futex, GP_FUTEX_IDLE);
  spin_lock_init(p + RCU_STATE.lock);
  atomic_set(p + RCU_STATE.gp_seq, 0);
  atomic_set(p + RCU_STATE.gp_phase, GP_IDLE);
  set_root(ROOT.RCU, p);
  cacheWords = null;
  cblist.reset();
  return p;
}

// ---- readers ------------------------------------------------------------------------------

export function rcu_read_lock(): void {
  const s = reader_slot();
  const tmp = plain_read(s); // only this task writes its slot
  if ((tmp & RCU_NEST_MASK) === 0) {
    // Full barrier: the xchg orders the slot store before the section (see the file header).
    // The counter is read relaxed, as liburcu's CMM_LOAD_SHARED does: a stale snapshot is what
    // the grace period's two scans are built to tolerate.
    const snap = atomic_read_once(rsp + RCU_STATE.gp_ctr);
    atomic_xchg(s, snap);
    trace(EV.RCU_READ_LOCK, snap, 0);
  } else {
    if ((tmp & RCU_NEST_MASK) === RCU_NEST_MASK) {
      throw new LockStateError(`rcu_read_lock nested deeper than ${RCU_NEST_MASK}`);
    }
    atomic_set(s, tmp + RCU_GP_COUNT);
  }
}

export function rcu_read_unlock(): void {
  const s = reader_slot();
  const tmp = plain_read(s); // only this task writes its slot
  const nest = tmp & RCU_NEST_MASK;
  if (nest === 1) {
    // RELEASE and full barrier: section before the store, store before the gp_futex load.
    atomic_xchg(s, 0);
    trace(EV.RCU_READ_UNLOCK, tmp, 0);
    // A sequentially consistent load: with the waiter's xchg of gp_futex and its rescan of the
    // slots this is a store-buffer pair, and in the JS memory model only Atomics operations
    // order a load after a store to another word (a plain load here could miss the waiter).
    if (atomic_read(rsp + RCU_STATE.gp_futex) === GP_FUTEX_WAITING) rcu_gp_wake();
  } else if (nest === 0) {
    throw new LockStateError('rcu_read_unlock outside an RCU read section');
  } else {
    atomic_set(s, tmp - RCU_GP_COUNT);
  }
}

/** Whether the current task is inside an RCU read section. */
export function rcu_read_lock_held(): boolean {
  return (plain_read(reader_slot()) & RCU_NEST_MASK) !== 0; // only this task writes its slot
}

function rcu_gp_wake(): void {
  const f = rsp + RCU_STATE.gp_futex;
  if (atomic_xchg(f, GP_FUTEX_IDLE) === GP_FUTEX_WAITING) atomic_notify(f, 1);
}

// ---- grace periods (all under rcu_state.lock) ----------------------------------------------

/** One scan: every task slot is quiescent or holds snapshot ctr. */
function rcu_readers_quiescent(ctr: number): boolean {
  const n = max_tasks();
  for (let id = 0; id < n; id++) {
    const v = atomic_read(task_ptr(id) + TASK.rcu_ctr);
    if ((v & RCU_NEST_MASK) !== 0 && ((v ^ ctr) & ~RCU_NEST_MASK) !== 0) return false;
  }
  return true;
}

/**
 * Drive the grace-period state machine until gp_seq reaches `cookie` (true) or a scan finds a
 * reader still in an old section (false; the phase is kept, so the next call resumes there).
 * Caller holds rcu_state.lock.
 */
function rcu_gp_step(cookie: number): boolean {
  const seqp = rsp + RCU_STATE.gp_seq;
  const ctrp = rsp + RCU_STATE.gp_ctr;
  const php = rsp + RCU_STATE.gp_phase;
  for (;;) {
    const seq = atomic_read(seqp);
    if (rcu_seq_done(seq, cookie)) return true;
    let phase = plain_read(php); // under rcu_state.lock
    if (phase === GP_IDLE) {
      // rcu_seq_start. Full barrier: start before both scans.
      atomic_xchg(seqp, (seq + 1) | 0);
      phase = GP_WAIT_STALE;
      plain_set(php, phase); // under rcu_state.lock
    }
    if (phase === GP_WAIT_STALE) {
      const ctr = atomic_read(ctrp);
      if (!rcu_readers_quiescent(ctr)) return false;
      // The flip. Full barrier: after scan 1's loads, before scan 2's loads.
      atomic_xchg(ctrp, (ctr + RCU_GP_CTR_UNIT) | 0);
      plain_set(php, GP_WAIT_FLIP); // under rcu_state.lock
    }
    if (!rcu_readers_quiescent(atomic_read(ctrp))) return false;
    // rcu_seq_end. Full barrier: scan 2's loads before the end that pollers see.
    atomic_xchg(seqp, (atomic_read(seqp) + 1) | 0);
    plain_set(php, GP_IDLE); // under rcu_state.lock
  }
}

/** Caller holds rcu_state.lock: wait, in bounded sleeps, until gp_seq reaches cookie. */
function rcu_gp_wait(cookie: number): void {
  const f = rsp + RCU_STATE.gp_futex;
  let attempts = 0;
  try {
    while (!rcu_gp_step(cookie)) {
      check_abort();
      if (attempts < ACTIVE_ATTEMPTS) {
        attempts++;
        cpu_relax();
        continue;
      }
      // Full barrier: the futex store before the re-scan's slot loads; pairs with the xchg in
      // rcu_read_unlock() (store-buffer pair: no lost wake-up).
      atomic_xchg(f, GP_FUTEX_WAITING);
      if (rcu_gp_step(cookie)) break;
      set_waiting(EV.RCU_SYNC_BEGIN, f);
      atomic_wait(f, GP_FUTEX_WAITING, RCU_GP_SLEEP_MS);
    }
  } finally {
    set_waiting(0, 0);
    atomic_set(f, GP_FUTEX_IDLE);
  }
}

/** Wait until the grace period named by cookie has ended. Not inside a read section. */
export function cond_synchronize_rcu(cookie: number): void {
  if (rcu_read_lock_held()) {
    throw new LockStateError('synchronize_rcu inside an RCU read section would wait for itself');
  }
  if (poll_state_synchronize_rcu(cookie)) return;
  const l = rsp + RCU_STATE.lock;
  spin_lock(l);
  try {
    rcu_gp_wait(cookie);
  } finally {
    spin_unlock(l);
  }
  // Full barrier: the grace period's end before the caller's frees.
  smp_mb();
}

/** Wait for a full grace period: every read section that began before the call has ended. */
export function synchronize_rcu(): void {
  if (rcu_read_lock_held()) {
    throw new LockStateError('synchronize_rcu inside an RCU read section would wait for itself');
  }
  const cookie = get_state_synchronize_rcu();
  count(CNT.RCU_SYNC);
  trace(EV.RCU_SYNC_BEGIN, cookie, 0);
  cond_synchronize_rcu(cookie);
  trace(EV.RCU_SYNC_END, cookie, 0);
}

// ---- polled grace periods ------------------------------------------------------------------

/** A cookie that poll_state_synchronize_rcu() reports done once a full grace period passed. */
export function get_state_synchronize_rcu(): number {
  reader_slot();
  // Full barrier: the caller's updates before the gp_seq load.
  smp_mb();
  return rcu_seq_snap(atomic_read(rsp + RCU_STATE.gp_seq));
}

export function poll_state_synchronize_rcu(cookie: number): boolean {
  reader_slot();
  if (!rcu_seq_done(atomic_read(rsp + RCU_STATE.gp_seq), cookie)) return false;
  // Full barrier: the gp_seq load that saw the end before the caller's frees.
  smp_mb();
  return true;
}

/**
 * Advance the grace period toward cookie without waiting: if nobody else holds the lock, run
 * the state machine until it completes or a scan finds an old reader. Returns whether cookie
 * is done. Safe inside a read section (the caller's own section just blocks the advance).
 */
export function rcu_gp_try_advance(cookie: number): boolean {
  reader_slot();
  const l = rsp + RCU_STATE.lock;
  if (!spin_trylock(l)) return poll_state_synchronize_rcu(cookie);
  let done: boolean;
  try {
    done = rcu_gp_step(cookie);
  } finally {
    spin_unlock(l);
  }
  if (done) smp_mb();
  return done;
}

/** get_state_synchronize_rcu(), and push a grace period forward without blocking. */
export function start_poll_synchronize_rcu(): number {
  const cookie = get_state_synchronize_rcu();
  rcu_gp_try_advance(cookie);
  return cookie;
}

// ---- deferred callbacks --------------------------------------------------------------------

const cblist = new RcuCbList();

/**
 * Drop this thread's queued callbacks without running them: the harness has put the memory
 * they refer to back as it was before they were queued (the controlled scheduler starts each
 * execution from one snapshot), so running them would free live objects.
 */
export function rcu_forget_callbacks(): void {
  cblist.reset();
}

/** Queue fn to run in this thread after a grace period (rcu_process_callbacks runs it). */
export function call_rcu(fn: () => void): void {
  cblist.enqueue(fn, get_state_synchronize_rcu());
}

/**
 * Run this thread's callbacks whose grace period has ended, oldest first; returns how many
 * ran. Free when nothing is queued (no shared access). When the oldest is not ready, advance
 * the grace period without blocking (rcu_gp_try_advance) and check again.
 */
export function rcu_process_callbacks(): number {
  if (cblist.pending() === 0) return 0;
  const seqp = rcu_state_ptr() + RCU_STATE.gp_seq;
  if (!rcu_seq_done(atomic_read(seqp), cblist.firstCookie())) {
    rcu_gp_try_advance(cblist.lastCookie());
    if (!rcu_seq_done(atomic_read(seqp), cblist.firstCookie())) return 0;
  }
  // Full barrier: the grace period's end before the callbacks' frees.
  smp_mb();
  return cblist.invokeReady(atomic_read(seqp), CNT.RCU_CALLBACKS);
}

/** Wait for and run every callback this thread has queued (and any they queue). */
export function rcu_barrier(): void {
  if (rcu_read_lock_held()) {
    throw new LockStateError('rcu_barrier inside an RCU read section would wait for itself');
  }
  while (cblist.pending() > 0) {
    cond_synchronize_rcu(cblist.lastCookie());
    rcu_process_callbacks();
  }
}

/** Callbacks this thread has queued and not yet run. */
export function rcu_pending_callbacks(): number {
  return cblist.pending();
}

// ---- tests only ----------------------------------------------------------------------------

/**
 * Tests only: set gp_ctr and gp_seq (to reach the wrap points). No grace period may be in
 * progress; ctr's nesting field must be RCU_GP_COUNT and seq must be even (idle).
 */
export function rcu_set_counters_for_test(ctr: number, seq: number): void {
  if ((ctr & RCU_NEST_MASK) !== RCU_GP_COUNT) {
    throw new LockStateError(`rcu_set_counters_for_test: gp_ctr ${ctr} must have nesting field 1`);
  }
  if ((seq & 1) !== 0) throw new LockStateError(`rcu_set_counters_for_test: gp_seq ${seq} is odd`);
  const l = rcu_state_ptr() + RCU_STATE.lock;
  spin_lock(l);
  try {
    if (plain_read(rsp + RCU_STATE.gp_phase) !== GP_IDLE) {
      throw new LockStateError('rcu_set_counters_for_test: a grace period is in progress');
    }
    atomic_set(rsp + RCU_STATE.gp_ctr, ctr | 0);
    atomic_set(rsp + RCU_STATE.gp_seq, seq | 0);
  } finally {
    spin_unlock(l);
  }
}
