// RCU in two flavours, chosen per rcu_state at rcu_init():
//
// - memb (liburcu's "memb" style): each task publishes a reader slot (TASK.rcu_ctr) on entry to
//   and exit from every outermost read section; a grace period flips a global counter and scans
//   every task slot. Re-implemented from liburcu's include/urcu/static/urcu-memb.h and
//   src/urcu.c. What a user-space program would use: a reader may be preempted anywhere.
// - qsbr (liburcu's include/urcu/static/urcu-qsbr.h, and the kernel's non-preemptible RCU):
//   rcu_read_lock()/rcu_read_unlock() touch only a task-local nesting counter, no shared word.
//   A task that is *online* reports quiescent states between operations
//   (rcu_quiescent_state(): the worker loop is the context switch) and goes *offline* while it
//   sleeps (a sleep hook in src/sched/atomics.ts: a parked task is quiescent). A task that is
//   not online (the main thread, a test body that never called rcu_thread_online()) still gets
//   correct read sections: its outermost lock/unlock publish the slot exactly as memb does (a
//   "transient" section). A grace period waits for every online task to pass a quiescent state.
//
// The polled API and names follow the kernel (kernel/rcu/tree.c: get_state_synchronize_rcu,
// poll_state_synchronize_rcu, ...).
//
// Reader slot, memb: 0 outside a read section; inside, a snapshot of rcu_state.gp_ctr with the
// nesting depth in the low RCU_NEST_BITS bits. Reader slot, qsbr: 0 while offline; while online,
// the gp_ctr value at the task's last quiescent state (nesting field 1); in a transient section,
// the snapshot taken at its entry. Only the owner writes its slot. The grace period's scan is the
// same for both: a slot is quiescent for counter C when its nesting field is 0 or it holds C. An
// online qsbr task is, to the scan, a reader that is always inside a section and whose every
// quiescent state is an unlock followed at once by a lock with a fresh snapshot.
//
// Memory ordering (every Atomics operation is sequentially consistent; the kernel's words kept):
// - rcu_read_lock(), outermost (memb, and qsbr transient): load gp_ctr, then store it into the
//   slot with an xchg. The xchg is the full barrier (liburcu's smp_mb_slave after the store): the
//   slot store comes before every load of the read section. Pairs with the slot loads of a
//   grace-period scan: a scan that reads the slot as quiescent is ordered before our store, so
//   the updater's unpublishing store (made before the grace period) is visible to the section.
// - rcu_read_unlock(), outermost (memb, and qsbr transient): an xchg of 0 into the slot. RELEASE
//   and full barrier in one: the section's loads come before the store (pairs with the scan that
//   sees the slot quiescent; the updater frees only after that scan), and the store comes before
//   the gp_futex load (pairs with the xchg that sets GP_FUTEX_WAITING before a re-scan: a
//   store-buffer pair, so either the scan sees us quiescent or we see the sleeper and wake it).
// - qsbr rcu_quiescent_state(): when gp_ctr moved, one xchg of the new value into the slot: the
//   unlock's RELEASE for every section before it and the lock's full barrier for every section
//   after it, then the same gp_futex load. rcu_thread_offline() is the unlock (xchg of 0),
//   rcu_thread_online() the lock (xchg of a snapshot).
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
// The same holds for qsbr: "section" reads "the span between two quiescent-state stores".
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
//
// qsbr rules (the debug checks, RCU_FLAG_DEBUG, are live in tests and stress runs): no quiescent
// state and no sleep in park() or an I/O wait inside a read section; a short sleep inside one
// (a contended spinlock) keeps the task online, so it stays correct, only slower for the grace
// period. A task that stays online must keep reporting quiescent states: one that stops (a
// test body spinning forever) holds up every grace period until the harness aborts the run.

import { LayoutError, LockStateError } from '../errors.js';
import {
  atomic_notify,
  atomic_read,
  atomic_read_once,
  atomic_set,
  atomic_wait,
  atomic_xchg,
  attach_listen,
  cpu_relax,
  plain_read,
  plain_set,
  sched_point,
  set_sleep_hooks,
  smp_mb,
  words,
} from '../sched/atomics.js';
import { CNT } from '../sched/counters.js';
import { EV } from '../sched/events.js';
import { SP } from '../sched/points.js';
import {
  check_abort,
  count,
  current,
  current_id,
  futex_wake_overdue,
  set_waiting,
  trace,
} from '../sched/task.js';
import { arena_alloc, get_root, max_tasks, set_root, task_ptr } from '../shm/arena.js';
import {
  GP_FUTEX_IDLE,
  GP_FUTEX_WAITING,
  GP_IDLE,
  GP_WAIT_FLIP,
  GP_WAIT_STALE,
  LINE_WORDS,
  RCU_FLAG_DEBUG,
  RCU_FLAG_QSBR,
  RCU_GP_COUNT,
  RCU_GP_CTR_UNIT,
  RCU_NEST_MASK,
  RCU_STATE,
  ROOT,
  TASK,
  WAIT_SITE,
} from '../shm/layout/index.js';
import { RcuCbList, rcu_seq_done, rcu_seq_snap } from './rcu_cblist.js';
import { spin_lock, spin_lock_init, spin_trylock, spin_unlock } from './spinlock.js';

/** Scans a blocked grace period repeats (with cpu_relax) before it starts to sleep. */
const ACTIVE_ATTEMPTS = 16;
/** The longest one grace-period sleep lasts before the scan and the abort flag are re-checked. */
export const RCU_GP_SLEEP_MS = 10;

// ---- where things are (per thread: the arena and task this thread is attached to) ----------

/** The RCU flavours: qsbr (quiescent-state based, the default for runs) and memb. */
export const RCU_FLAVORS = ['qsbr', 'memb'] as const;
export type RcuFlavor = (typeof RCU_FLAVORS)[number];

let cacheWords: Int32Array | null = null;
let cacheTask = -1;
let rsp = 0;
let slot = 0;
/** this thread's rcu_state uses the qsbr flavour */
let qsbr = false;
/** RCU_FLAG_DEBUG */
let debug = false;
// `fast` and `nest` are module vars, not lets: the read lock and unlock inline into every
// reader, and a `let` costs a TDZ check (a load, a branch, and inlining budget) per access.
/** qsbr: this task's read-lock nesting (the kernel's current->rcu_read_lock_nesting) */
var nest = 0;
/** qsbr: online (rcu_thread_online) and not asleep; its slot holds a counter value */
let online = false;
/**
 * The qsbr fast path is armed: this thread's rcu_state is qsbr, the task is online, and the
 * cache (buffer, task) is this thread's current one. One flag, so that rcu_read_lock() and
 * rcu_read_unlock() test one word before they count. Every change of online or of the cache
 * disarms it, and so does attaching another buffer or task (attach_listen in atomics.ts); the
 * slow path re-arms it.
 */
var fast = false;
/** the task's park and I/O-sleep words: sleeping on them inside a qsbr section is a bug */
let parkWord = -1;
let fenceWord = -1;

const qsbrSleepHooks = {
  begin(p: number): boolean {
    if (nest !== 0) {
      if (debug && (p === parkWord || p === fenceWord)) {
        throw new LockStateError('rcu (qsbr): a task slept inside an RCU read section');
      }
      return false; // a short wait (a contended spinlock): stay online
    }
    if (!online) return false;
    rcu_thread_offline();
    return true;
  },
  end(): void {
    rcu_thread_online();
  },
};

function resolve(): void {
  if (current_id() < 0) throw new LockStateError('rcu: this thread is not a task (task_attach)');
  const p = get_root(ROOT.RCU);
  if (p === 0) throw new LayoutError('rcu: no rcu_state at ROOT.RCU; call rcu_init() at set-up');
  // Callbacks queued against another buffer can never run here: their objects are not ours.
  if (cacheWords !== words()) cblist.reset();
  rsp = p;
  slot = current() + TASK.rcu_ctr;
  parkWord = current() + TASK.park;
  fenceWord = current() + TASK.fence;
  cacheWords = words();
  cacheTask = current();
  const flags = atomic_read(p + RCU_STATE.flags);
  qsbr = (flags & RCU_FLAG_QSBR) !== 0;
  debug = (flags & RCU_FLAG_DEBUG) !== 0;
  nest = 0;
  online = false;
  fast = false;
  set_sleep_hooks(qsbr ? qsbrSleepHooks : null);
}

// A new buffer or task for this thread: the cache above no longer describes it.
attach_listen(() => {
  fast = false;
});

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

export interface RcuInitOptions {
  /** qsbr or memb; memb when omitted */
  readonly flavor?: RcuFlavor;
  /** qsbr debug checks (no quiescent state or park inside a read section); on when omitted */
  readonly debug?: boolean;
}

/** Main thread, set-up: allocate rcu_state and publish it at ROOT.RCU. */
export function rcu_init(opts: RcuInitOptions = {}): number {
  const flavor = opts.flavor ?? 'memb';
  if (!(RCU_FLAVORS as readonly string[]).includes(flavor)) {
    throw new LockStateError(`rcu_init: unknown flavour '${flavor}'; allowed: qsbr, memb`);
  }
  const p = arena_alloc(RCU_STATE.SIZE, LINE_WORDS, 'rcu_state');
  atomic_set(p + RCU_STATE.gp_ctr, RCU_GP_COUNT);
  atomic_set(p + RCU_STATE.gp_futex, GP_FUTEX_IDLE);
  spin_lock_init(p + RCU_STATE.lock);
  atomic_set(p + RCU_STATE.gp_seq, 0);
  atomic_set(p + RCU_STATE.gp_phase, GP_IDLE);
  atomic_set(
    p + RCU_STATE.flags,
    (flavor === 'qsbr' ? RCU_FLAG_QSBR : 0) | (opts.debug === false ? 0 : RCU_FLAG_DEBUG),
  );
  set_root(ROOT.RCU, p);
  cacheWords = null;
  fast = false;
  cblist.reset();
  return p;
}

/**
 * Benches and tests: make rcu_state p (an earlier rcu_init()'s) the buffer's RCU again. Nobody
 * may be inside a read section, online, or waiting for a grace period on the other one.
 */
export function rcu_use_state(p: number): void {
  if (online || nest !== 0) {
    throw new LockStateError('rcu_use_state: this task is online or inside a read section');
  }
  set_root(ROOT.RCU, p);
  cacheWords = null;
  fast = false;
}

/** The flavour of the rcu_state this thread uses. */
export function rcu_flavor(): RcuFlavor {
  reader_slot();
  return qsbr ? 'qsbr' : 'memb';
}

// ---- readers ------------------------------------------------------------------------------

export function rcu_read_lock(): void {
  // The fast path, kept small so the JIT inlines it into every reader: an online qsbr task
  // only counts its nesting, in a task-local word (the kernel's rcu_read_lock_nesting). No
  // shared access: the quiescent states tell the grace period.
  // Under a schedule hook the slow path takes the section's schedule point.
  if (fast && !__faultline_hooked) {
    nest++;
    return;
  }
  rcu_read_lock_slow();
}

function rcu_read_lock_slow(): void {
  if (cacheWords !== words() || cacheTask !== current()) resolve();
  fast = qsbr && online;
  if (qsbr) {
    // No shared access at all while online: the quiescent states tell the grace period.
    if (nest++ === 0) {
      if (!online) rcu_transient_lock();
      sched_point(SP.RCU_SECTION);
    }
    return;
  }
  const s = slot;
  const tmp = plain_read(s); // only this task writes its slot
  if ((tmp & RCU_NEST_MASK) === 0) {
    rcu_transient_lock();
    sched_point(SP.RCU_SECTION);
  } else {
    if ((tmp & RCU_NEST_MASK) === RCU_NEST_MASK) {
      throw new LockStateError(`rcu_read_lock nested deeper than ${RCU_NEST_MASK}`);
    }
    atomic_set(s, tmp + RCU_GP_COUNT);
  }
}

/** memb's outermost lock (and a qsbr section of a task that is not online). */
function rcu_transient_lock(): void {
  // Full barrier: the xchg orders the slot store before the section (see the file header).
  // The counter is read relaxed, as liburcu's CMM_LOAD_SHARED does: a stale snapshot is what
  // the grace period's two scans are built to tolerate.
  const snap = atomic_read_once(rsp + RCU_STATE.gp_ctr);
  atomic_xchg(slot, snap);
  trace(EV.RCU_READ_LOCK, snap, 0);
}

export function rcu_read_unlock(): void {
  // The fast path (see rcu_read_lock): an online qsbr task inside a section only counts.
  if (fast && nest !== 0) {
    nest--;
    return;
  }
  rcu_read_unlock_slow();
}

function rcu_read_unlock_slow(): void {
  if (cacheWords !== words() || cacheTask !== current()) resolve();
  fast = qsbr && online;
  if (qsbr) {
    if (nest === 0) throw new LockStateError('rcu_read_unlock outside an RCU read section');
    if (--nest === 0 && !online) rcu_slot_clear(EV.RCU_READ_UNLOCK);
    return;
  }
  const s = slot;
  const tmp = plain_read(s); // only this task writes its slot
  const nestField = tmp & RCU_NEST_MASK;
  if (nestField === 1) rcu_slot_clear(EV.RCU_READ_UNLOCK);
  else if (nestField === 0) {
    throw new LockStateError('rcu_read_unlock outside an RCU read section');
  } else {
    atomic_set(s, tmp - RCU_GP_COUNT);
  }
}

/** memb's outermost unlock, a qsbr transient unlock, and going offline: the slot to 0. */
function rcu_slot_clear(ev: number): void {
  // RELEASE and full barrier: section before the store, store before the gp_futex load.
  const old = atomic_xchg(slot, 0);
  trace(ev, old, 0);
  rcu_gp_wake_check();
}

/** After a slot store: wake a grace-period waiter that sleeps on gp_futex. */
function rcu_gp_wake_check(): void {
  // A sequentially consistent load: with the waiter's xchg of gp_futex and its rescan of the
  // slots this is a store-buffer pair, and in the JS memory model only Atomics operations
  // order a load after a store to another word (a plain load here could miss the waiter).
  if (atomic_read(rsp + RCU_STATE.gp_futex) === GP_FUTEX_WAITING) rcu_gp_wake();
}

/** Whether the current task is inside an RCU read section. */
export function rcu_read_lock_held(): boolean {
  reader_slot();
  if (qsbr) return nest !== 0;
  return (plain_read(slot) & RCU_NEST_MASK) !== 0; // only this task writes its slot
}

// ---- qsbr: quiescent states, online and offline ---------------------------------------------

/**
 * qsbr: report a quiescent state (the worker loop calls it between operations, where the
 * kernel's scheduler would see a context switch). Free unless a grace period moved gp_ctr
 * since the last report; a no-op for memb and for a task that is not online.
 */
export function rcu_quiescent_state(): void {
  if (!online) return;
  if (!fast) {
    if (cacheWords !== words() || cacheTask !== current()) {
      resolve();
      return;
    }
    fast = true; // online, so qsbr
  }
  if (nest !== 0) {
    if (debug) throw new LockStateError('rcu_quiescent_state inside an RCU read section');
    return;
  }
  const c = atomic_read_once(rsp + RCU_STATE.gp_ctr);
  if (c === plain_read(slot)) return; // only this task writes its slot
  // RELEASE for the sections before, full barrier before the sections after (file header).
  atomic_xchg(slot, c);
  rcu_gp_wake_check();
}

/**
 * qsbr: from now on this task's read sections cost no shared access; it must report quiescent
 * states (rcu_quiescent_state) and goes offline by itself while it sleeps. No-op for memb.
 */
export function rcu_thread_online(): void {
  if (cacheWords !== words() || cacheTask !== current()) {
    if (current_id() < 0 || get_root(ROOT.RCU) === 0) return; // a buffer without RCU
    resolve();
  }
  if (!qsbr || online) return;
  if (nest !== 0) throw new LockStateError('rcu_thread_online inside an RCU read section');
  // The lock's full barrier: the slot store before the sections that follow.
  atomic_xchg(slot, atomic_read_once(rsp + RCU_STATE.gp_ctr));
  online = true;
  fast = true;
}

/** qsbr: this task stops taking part (a grace period no longer waits for it). */
export function rcu_thread_offline(): void {
  if (!online) return;
  reader_slot();
  if (nest !== 0) throw new LockStateError('rcu_thread_offline inside an RCU read section');
  online = false;
  fast = false;
  rcu_slot_clear(EV.RCU_OFFLINE);
}

/** Whether this task is online (qsbr). */
export function rcu_thread_is_online(): boolean {
  return online;
}

/**
 * A task leaves for good (a worker's body returned or threw, perhaps inside a read section):
 * whatever the flavour, its slot goes to 0 so that no grace period waits for it.
 */
export function rcu_thread_exit(): void {
  if (cacheWords !== words() || cacheTask !== current()) return; // never used RCU here
  nest = 0;
  online = false;
  fast = false;
  if (plain_read(slot) !== 0) rcu_slot_clear(EV.RCU_OFFLINE); // only this task writes it
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
      // A slice that timed out, after which the grace period can end: a reader left, and its
      // unlock owed us a wake-up (it must see WAITING: the store-buffer pair above). It may be
      // between its slot store and that wake-up: futex_wake_overdue() gives it the grace.
      if (
        atomic_wait(f, GP_FUTEX_WAITING, RCU_GP_SLEEP_MS) === 'timed-out' &&
        rcu_gp_step(cookie)
      ) {
        futex_wake_overdue(WAIT_SITE.RCU_GP, f, GP_FUTEX_WAITING);
        break;
      }
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
  // qsbr: a task waiting for a grace period is quiescent (else it would wait for itself).
  const wasOnline = online;
  if (wasOnline) rcu_thread_offline();
  const l = rsp + RCU_STATE.lock;
  try {
    spin_lock(l);
    try {
      rcu_gp_wait(cookie);
    } finally {
      spin_unlock(l);
    }
  } finally {
    if (wasOnline) rcu_thread_online();
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
  // qsbr: outside a read section the caller is quiescent; offline, its own slot cannot hold
  // up the flip's second scan.
  const wasOnline = online && nest === 0;
  if (wasOnline) rcu_thread_offline();
  let done: boolean;
  try {
    done = rcu_gp_step(cookie);
  } finally {
    spin_unlock(l);
    if (wasOnline) rcu_thread_online();
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

/**
 * Forget this thread's read-side state (nesting, online): the next RCU call re-reads it from
 * the buffer. For the same harness restart: a body that threw inside a read section left its
 * nesting behind, and the restored memory no longer matches it.
 */
export function rcu_forget_reader(): void {
  cacheTask = -1;
  fast = false;
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
