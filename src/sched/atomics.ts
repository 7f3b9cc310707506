// The only module that calls Atomics.
//
// Memory ordering: every Atomics operation is sequentially consistent, so each function here is
// at least as strong as the kernel's acquire, release or full barrier. Callers keep the kernel's
// ordering words in their comments so the code can be checked against the kernel line by line.
//
// Schedule points: every shared atomic step passes through here, and so does every named
// sched_point(). With no hook installed for the whole run each costs nothing: the switch is a
// global property the JIT folds to a constant (flags.ts). A harness installs a hook to inject preemption (chaos), to script an interleaving
// (races) or to count steps (explore). Nothing in this module knows what the hook does.

/**
 * The shared memory as 32-bit words. Set once per thread by attach_words(). A `var`, not a
 * `let`: every access to a module `let` from a function carries a temporal-dead-zone check
 * (a load and a branch, and bytecode that counts against the JIT's inlining budget), and this
 * one is read by every shared access.
 */
var M: Int32Array = new Int32Array(0);

/** Kinds of step that reach a schedule hook. */
export const SP_LOAD = 0;
export const SP_STORE = 1;
export const SP_RMW = 2;
export const SP_WAIT = 3;
export const SP_NAMED = 4;
/** cpu_relax() in a spin loop: the task can make no progress until another task writes */
export const SP_YIELD = 5;

/**
 * A schedule hook: called before the step it names. `what` is the word index for memory steps
 * and the point's id for SP_NAMED.
 */
export type ScheduleHook = (kind: number, what: number) => void;

import './flags.js';

let hook: ScheduleHook = () => {};

/**
 * A blocker: with a hook installed, atomic_wait() asks it instead of sleeping in Atomics.wait
 * (the controlled scheduler turns a bounded sleep into "blocked until the word changes").
 * It returns what Atomics.wait would: 'ok', 'not-equal' or 'timed-out'.
 */
export type WaitBlocker = (p: number, expect: number) => string;
let blocker: WaitBlocker | null = null;

export function attach_words(words: Int32Array): void {
  M = words;
  attach_changed();
}

/** Called whenever this thread attaches a buffer or a task: caches keyed on them drop. */
const attachListeners: Array<() => void> = [];

/**
 * Run fn whenever this thread attaches a buffer (attach_words) or a task (task_attach calls
 * attach_changed): for a module that caches a fast-path decision keyed on both, so that the
 * fast path need not compare them on every call (rcu.ts).
 */
export function attach_listen(fn: () => void): void {
  attachListeners.push(fn);
}

export function attach_changed(): void {
  for (const fn of attachListeners) fn();
}

export function words(): Int32Array {
  return M;
}

export function set_schedule_hook(h: ScheduleHook | null): void {
  // Assigned in place, not set_folded(): see flags.ts (without_schedule_points flips it).
  if (__faultline_hooked !== (h !== null)) __faultline_hooked = h !== null;
  hook = h ?? (() => {});
}

export function schedule_hooked(): boolean {
  return __faultline_hooked;
}

/**
 * Run f with no schedule points: for a thread-local cache filled from data that set-up
 * published before any task ran (a slab's geometry, the frame pool's descriptor). Such a fill
 * happens once per thread, so under the controlled scheduler its loads would be steps of the
 * first execution only, and a schedule replayed later would diverge; nor is it an interleaving
 * worth exploring. Free running it costs nothing: it only runs on a cache miss.
 */
export function without_schedule_points<T>(f: () => T): T {
  if (!__faultline_hooked) return f();
  __faultline_hooked = false;
  try {
    return f();
  } finally {
    __faultline_hooked = true;
  }
}

/** Install (or remove, with null) the blocker that atomic_wait() uses while hooked. */
export function set_wait_blocker(b: WaitBlocker | null): void {
  blocker = b;
}

// The hook calls, out of line: a function declaration needs no TDZ check and its call is short
// bytecode, so each step function below stays within the size V8 always inlines (27 bytes).
function hook_load(p: number): void {
  hook(SP_LOAD, p);
}
function hook_store(p: number): void {
  hook(SP_STORE, p);
}
function hook_rmw(p: number): void {
  hook(SP_RMW, p);
}
function hook_wait(p: number): void {
  hook(SP_WAIT, p);
}

/** A named schedule point: where a scripted race may stop this task. Free when unhooked. */
export function sched_point(id: number): void {
  if (__faultline_hooked) hook(SP_NAMED, id);
}

// ---- loads and stores --------------------------------------------------------------------

/** READ_ONCE / atomic_read / smp_load_acquire */
export function atomic_read(p: number): number {
  if (__faultline_hooked) hook_load(p);
  return Atomics.load(M, p);
}

/**
 * READ_ONCE / the kernel's atomic_read(): a relaxed load. An aligned Int32 access never tears
 * in the JS memory model, but a plain load orders nothing: use it only where the kernel itself
 * loads with READ_ONCE and an atomic next to it orders what matters — the first load of a
 * cmpxchg loop (the cmpxchg validates it), a pessimistic early check that may be stale, or a
 * field the caller's lock or reference keeps stable. Never spin on it (a JIT may hoist it).
 * On Node 20, Atomics.load is a builtin call costing about as much as Atomics.add; this is a
 * plain load.
 */
export function atomic_read_once(p: number): number {
  if (__faultline_hooked) hook_load(p);
  return M[p]!;
}

/** WRITE_ONCE / atomic_set / smp_store_release */
export function atomic_set(p: number, v: number): void {
  if (__faultline_hooked) hook_store(p);
  Atomics.store(M, p, v);
}

// ---- read-modify-write (all fully ordered) -------------------------------------------------

/** atomic_fetch_add: returns the old value (32-bit wrap). */
export function atomic_fetch_add(p: number, v: number): number {
  if (__faultline_hooked) hook_rmw(p);
  return Atomics.add(M, p, v);
}

/**
 * atomic_fetch_add without its schedule point: only for bench/primitives.ts, which measures what
 * a switched-off schedule point costs by setting this beside atomic_fetch_add. Not for use in
 * any lock: a step that skips the hook is invisible to chaos, race scripts and explore.
 */
export function atomic_fetch_add_unhooked(p: number, v: number): number {
  return Atomics.add(M, p, v);
}

/** atomic_fetch_sub: returns the old value (32-bit wrap). */
export function atomic_fetch_sub(p: number, v: number): number {
  if (__faultline_hooked) hook_rmw(p);
  return Atomics.sub(M, p, v);
}

/** atomic_add_return: returns the new value (32-bit wrap). */
export function atomic_add_return(p: number, v: number): number {
  if (__faultline_hooked) hook_rmw(p);
  return (Atomics.add(M, p, v) + v) | 0;
}

export function atomic_fetch_or(p: number, v: number): number {
  if (__faultline_hooked) hook_rmw(p);
  return Atomics.or(M, p, v);
}

export function atomic_fetch_and(p: number, v: number): number {
  if (__faultline_hooked) hook_rmw(p);
  return Atomics.and(M, p, v);
}

/** xchg: returns the old value. */
export function atomic_xchg(p: number, v: number): number {
  if (__faultline_hooked) hook_rmw(p);
  return Atomics.exchange(M, p, v);
}

/** cmpxchg: returns the value found; the swap happened iff that equals `old`. */
export function atomic_cmpxchg(p: number, old: number, v: number): number {
  if (__faultline_hooked) hook_rmw(p);
  return Atomics.compareExchange(M, p, old, v);
}

/** try_cmpxchg: true iff the word held `old` and now holds `v`. */
export function atomic_try_cmpxchg(p: number, old: number, v: number): boolean {
  if (__faultline_hooked) hook_rmw(p);
  return Atomics.compareExchange(M, p, old, v) === old;
}

/** smp_mb(): a full barrier. A seq-cst RMW on a private word orders like one. */
let fenceWord = 0;
export function smp_mb(): void {
  Atomics.add(M, fenceWord, 0);
}
/** Called by the task module with a word the task owns, so fences never share a line. */
export function set_fence_word(p: number): void {
  fenceWord = p;
}

// ---- sleeping ------------------------------------------------------------------------------

/**
 * Called around every sleep of this thread: `begin(p)` before Atomics.wait on word p returns
 * whether `end()` must run after it. QSBR RCU installs one so that a sleeping task is offline
 * (quiescent), as the kernel's scheduler reports a context switch.
 */
export interface SleepHooks {
  begin(p: number): boolean;
  end(): void;
}

let sleepHooks: SleepHooks | null = null;

export function set_sleep_hooks(h: SleepHooks | null): void {
  sleepHooks = h;
}

/**
 * Sleep while word p holds `expect`, for at most timeoutMs. Returns 'ok', 'not-equal' or
 * 'timed-out', as Atomics.wait does. Every caller passes a finite bound.
 */
export function atomic_wait(p: number, expect: number, timeoutMs: number): string {
  if (__faultline_hooked) hook_wait(p);
  const h = sleepHooks;
  const offline = h?.begin(p) === true;
  try {
    // Under the controlled scheduler the blocker replaces the sleep: blocked until woken.
    const b = __faultline_hooked ? blocker : null;
    return b !== null ? b(p, expect) : Atomics.wait(M, p, expect, timeoutMs);
  } finally {
    if (offline) h?.end();
  }
}

/** Wake up to `count` sleepers on word p; returns how many were woken. */
export function atomic_notify(p: number, count: number): number {
  return Atomics.notify(M, p, count);
}

// ---- spinning ------------------------------------------------------------------------------

const pause: ((n?: number) => void) | undefined = (
  Atomics as unknown as { pause?: (n?: number) => void }
).pause;

/**
 * cpu_relax(): Atomics.pause where the engine has it (Node 20 does not); otherwise a short
 * dependent loop, so a spinner does not hammer the line it waits on.
 */
const relax_once: () => void =
  typeof pause === 'function'
    ? () => pause()
    : () => {
        let x = 0;
        for (let i = 0; i < 16; i++) x = (x + i) | 0;
        relaxSink = x;
      };
export function cpu_relax(): void {
  if (__faultline_hooked) hook(SP_YIELD, 0);
  relax_once();
}
let relaxSink = 0;
export function relax_sink(): number {
  return relaxSink;
}

// ---- the controlled scheduler's own steps ----------------------------------------------------
// src/sched/control.ts hands the turn from task to task with these: they never pass the hook
// (the hook is the scheduler), so they are invisible to it, to chaos and to explore. Not for
// use in any lock.

/** A seq-cst load that is not a schedule point. */
export function ctl_load(p: number): number {
  return Atomics.load(M, p);
}

/** A seq-cst store that is not a schedule point. */
export function ctl_store(p: number, v: number): void {
  Atomics.store(M, p, v);
}

/** A seq-cst add that is not a schedule point; returns the old value. */
export function ctl_add(p: number, v: number): number {
  return Atomics.add(M, p, v);
}

/**
 * A plain load that is not a schedule point: for the scheduler's own words that only the task
 * holding the turn touches (task slots, the record). The seq-cst turn word orders them: the
 * task that hands over stores it after its plain stores, the next one loads it before its
 * plain loads, so every such access happens-before the next turn holder's.
 */
export function ctl_peek(p: number): number {
  return M[p]!;
}

/** A plain store that is not a schedule point: see ctl_peek. */
export function ctl_poke(p: number, v: number): void {
  M[p] = v;
}

/** Atomics.wait that is not a schedule point; always bounded by the caller. */
export function ctl_wait(p: number, expect: number, timeoutMs: number): string {
  return Atomics.wait(M, p, expect, timeoutMs);
}

/** Spin a little without a schedule point (the scheduler's own spin-then-sleep). */
export function ctl_relax(): void {
  relax_once();
}

// ---- plain access (only under a lock, or before the buffer is shared) -----------------------

// While a hook is installed, plain accesses are not schedule points but they are part of the
// step that makes them: the controlled scheduler's sleep sets must know which words a step
// touched to decide which steps commute. The span lo..hi of words this thread touched plainly
// since the last plain_span_reset() (hi < lo: none), and whether any of them was written.
let spanLo = 0;
let spanHi = -1;
let spanWrote = false;

/** Widen the span by the words lo..hi (a plain access, or the scheduler's own unhooked read). */
export function plain_span_add(lo: number, hi: number, write: boolean): void {
  if (spanHi < spanLo) {
    spanLo = lo;
    spanHi = hi;
  } else {
    if (lo < spanLo) spanLo = lo;
    if (hi > spanHi) spanHi = hi;
  }
  if (write) spanWrote = true;
}

export function plain_span_lo(): number {
  return spanLo;
}

export function plain_span_hi(): number {
  return spanHi;
}

export function plain_span_wrote(): boolean {
  return spanWrote;
}

export function plain_span_reset(): void {
  spanLo = 0;
  spanHi = -1;
  spanWrote = false;
}

/** A plain load: only for words the caller's lock protects, or that no other task can see. */
export function plain_read(p: number): number {
  if (__faultline_hooked) plain_span_add(p, p, false);
  return M[p]!;
}

/**
 * How many of the n ascending words from p are at most x: the index of the first word above x
 * (n if none). Plain loads, recorded as one span: only for words that no one writes any more
 * while the caller reads them (an index node reached under RCU: copy-on-write, freed after a
 * grace period), so none of them needs a schedule point of its own.
 */
export function plain_rank(p: number, n: number, x: number): number {
  if (__faultline_hooked && n > 0) plain_span_add(p, p + n - 1, false);
  // A branch-free count of the words at or below x (the index, the words being ascending):
  // for a node of at most 20 words it costs less than a binary search, whose data-dependent
  // branches a random lookup mispredicts (measured: 1k-VMA lookups 80 ns this way, 97 ns by
  // branch-free halving), and the loads are independent, so the lines of a node that miss in
  // cache are fetched together. `w - x - 1` is negative exactly when w <= x (both lie in
  // [0, 2^31)); `>>> 31` takes its sign bit.
  let i = 0;
  const e = p + n;
  for (let k = p; k < e; k++) i += (M[k]! - x - 1) >>> 31;
  return i;
}

/** A plain store: only for words the caller's lock protects, or that no other task can see. */
export function plain_set(p: number, v: number): void {
  if (__faultline_hooked) plain_span_add(p, p, true);
  M[p] = v;
}

/** Fill n words from p with v (zeroing a page frame): plain stores, under the owner's lock. */
export function plain_fill(p: number, n: number, v: number): void {
  if (__faultline_hooked && n > 0) plain_span_add(p, p + n - 1, true);
  M.fill(v, p, p + n);
}
