// kmem_cache: caches of fixed-size objects in the arena, with a per-task cache of free objects
// in front of one global free list (the kernel's SLUB with per-CPU slabs, mm/slub.c).
//
// Memory ordering:
// - Global list: `head`, `nr_free` and every link (the word at freeptr_offset of a free object)
//   change only under `list.lock`; spin_lock is ACQUIRE and spin_unlock RELEASE, so a task that
//   pops an object sees every store the pusher made before its unlock. ABA cannot happen: a pop
//   reads head and head's link and writes head with the lock held throughout, so no other push
//   or pop can interleave. No tag or version is needed (a lock-free Treiber stack would need one).
// - Per-task cache: `ctl` = (version << KMEM_PCP_COUNT_BITS) | count. The owner writes a slot
//   at index `count` (a slot no other task reads while count is below it), then publishes it
//   with a cmpxchg that
//   raises count and bumps the version (RELEASE, pairs with the ACQUIRE read of ctl by a thief
//   before it reads the slots). A thief reads ctl, copies the slots below count, and takes them
//   all with a cmpxchg to count 0 that succeeds only if ctl is unchanged — that is, if the owner
//   completed no pop or push in between; the version makes "unchanged" exact up to 2^24 owner
//   operations during one steal. Even then the state word below catches a double hand-out.
// - In flight: a refill, steal or flush raises list.in_flight (a full-barrier RMW) BEFORE the
//   objects leave the place an allocator scans, and after they are visible in the next place
//   bumps list.moves, then lowers in_flight. An allocator that found nothing reads moves before
//   its scan and in_flight and moves after it: any free object it missed was either in flight
//   at that read or finished a move during the scan, so it reports exhaustion only when
//   in_flight is 0 and moves unchanged (the kernel's allocator never fails while objects sit
//   in another CPU's partial list). Otherwise it waits, bounded, and scans again.
// - State word: kmem_cache_free swaps ALLOCATED→FREE and kmem_cache_alloc FREE→ALLOCATED with
//   an xchg (full barrier), so two frees of one object cannot both succeed.
//
// SLAB_TYPESAFE_BY_RCU: a freed object may be handed out again at once, still the same type;
// nothing here writes any word of it except the link at freeptr_offset, and only while the
// object sits on the global list. Alloc and free never clear it: the caller initialises.
// Lock order: list.lock is a leaf; callers may hold any other lock when they allocate or free.

import { InvariantViolation, LayoutError, LockStateError, SlabExhausted } from '../errors.js';
import {
  atomic_fetch_add,
  atomic_read,
  atomic_set,
  atomic_try_cmpxchg,
  atomic_xchg,
  cpu_relax,
  plain_fill,
  plain_read,
  plain_set,
  sched_point,
  without_schedule_points,
  words,
} from '../sched/atomics.js';
import { CNT } from '../sched/counters.js';
import { EV } from '../sched/events.js';
import { SP } from '../sched/points.js';
import { check_abort, count, current_id, sched_clock_ms, sleep_us, trace } from '../sched/task.js';
import { spin_lock, spin_unlock } from '../sync/spinlock.js';
import { arena_alloc, max_tasks } from './arena.js';
import {
  alignUp,
  KMEM_CACHE,
  KMEM_CACHE_MAGIC,
  KMEM_LIST,
  KMEM_NAME_CHARS,
  KMEM_NAME_WORDS,
  KMEM_OBJ_ALLOCATED,
  KMEM_OBJ_FREE,
  KMEM_PCP,
  KMEM_PCP_BATCH,
  KMEM_PCP_COUNT_MASK,
  KMEM_PCP_MAX,
  KMEM_PCP_VERSION_ONE,
  KMEM_POISON_FREE,
  kmem_pcp_stride,
  LINE_WORDS,
  layoutPadding,
  SLAB_POISON,
  SLAB_TYPESAFE_BY_RCU,
} from './layout/index.js';

export interface KmemCacheOpts {
  /** SLAB_TYPESAFE_BY_RCU: freed objects are reused at once and keep their type */
  readonly typesafeByRcu?: boolean;
  /** the word of a free object that holds the free-list link (default 0) */
  readonly freeptrOffset?: number;
  /** object alignment in words (default: a cache line with padding on, else 1) */
  readonly align?: number;
  /** fill freed objects with KMEM_POISON_FREE and check it on allocation (not typesafe) */
  readonly poison?: boolean;
  /** the user setting that raises the capacity, named in the exhaustion error */
  readonly knob?: string;
}

export interface KmemCacheStats {
  readonly name: string;
  readonly capacity: number;
  /** objects handed out and not freed */
  readonly allocated: number;
  /** objects on the global list or in any per-task cache */
  readonly free: number;
  readonly objWords: number;
}

// ---- names in shared memory ----------------------------------------------------------------

function store_string(p: number, s: string, what: string): void {
  if (s.length > KMEM_NAME_CHARS) {
    throw new LayoutError(`kmem_cache_create: ${what} '${s}' is longer than ${KMEM_NAME_CHARS}`);
  }
  for (let w = 0; w < KMEM_NAME_WORDS; w++) {
    let v = 0;
    for (let b = 0; b < 4; b++) {
      const code = s.charCodeAt(w * 4 + b); // NaN past the end → 0
      const ch = code > 0 && code < 0x7f ? code : Number.isNaN(code) ? 0 : 0x3f;
      v |= ch << (8 * b);
    }
    atomic_set(p + w, v);
  }
}

function load_string(p: number): string {
  let s = '';
  for (let w = 0; w < KMEM_NAME_WORDS; w++) {
    const v = atomic_read(p + w);
    for (let b = 0; b < 4; b++) {
      const ch = (v >>> (8 * b)) & 0xff;
      if (ch === 0) return s;
      s += String.fromCharCode(ch);
    }
  }
  return s;
}

export function kmem_cache_name(c: number): string {
  return load_string(c + KMEM_CACHE.name);
}

// ---- creation ------------------------------------------------------------------------------

function check_int(v: number, min: number, what: string, name: string): void {
  if (!Number.isInteger(v) || v < min) {
    throw new LayoutError(
      `kmem_cache_create(${name}): ${what} ${v}; allowed: an integer >= ${min}`,
    );
  }
}

/**
 * Create a cache of `capacity` objects of `objWords` words. Main thread, at set-up, before the
 * workers start. Returns the descriptor's pointer; all storage comes from arena_alloc.
 */
export function kmem_cache_create(
  name: string,
  objWords: number,
  capacity: number,
  opts: KmemCacheOpts = {},
): number {
  if (name.length === 0) throw new LayoutError('kmem_cache_create: empty name');
  check_int(objWords, 1, 'objWords', name);
  check_int(capacity, 1, 'capacity', name);
  const align = opts.align ?? (layoutPadding() ? LINE_WORDS : 1);
  check_int(align, 1, 'align', name);
  const freeptr = opts.freeptrOffset ?? 0;
  if (!Number.isInteger(freeptr) || freeptr < 0 || freeptr >= objWords) {
    throw new LayoutError(
      `kmem_cache_create(${name}): freeptrOffset ${freeptr}; allowed 0..${objWords - 1}`,
    );
  }
  const typesafe = opts.typesafeByRcu === true;
  const poison = opts.poison === true;
  if (typesafe && poison) {
    throw new LayoutError(
      `kmem_cache_create(${name}): poison and typesafeByRcu exclude each other (a typesafe object keeps its contents)`,
    );
  }
  const knob = opts.knob ?? '';
  const stride = alignUp(objWords, align);
  const nrPcp = max_tasks();
  const pcpStride = kmem_pcp_stride();
  const what = `${name} slab`;
  const c = arena_alloc(KMEM_CACHE.SIZE, LINE_WORDS, what);
  const state = arena_alloc(capacity, LINE_WORDS, what);
  const pcp = arena_alloc(nrPcp * pcpStride, LINE_WORDS, what);
  const base = arena_alloc(capacity * stride, align, what);
  atomic_set(
    c + KMEM_CACHE.flags,
    (typesafe ? SLAB_TYPESAFE_BY_RCU : 0) | (poison ? SLAB_POISON : 0),
  );
  atomic_set(c + KMEM_CACHE.obj_words, objWords);
  atomic_set(c + KMEM_CACHE.stride, stride);
  atomic_set(c + KMEM_CACHE.capacity, capacity);
  atomic_set(c + KMEM_CACHE.base, base);
  atomic_set(c + KMEM_CACHE.freeptr_offset, freeptr);
  atomic_set(c + KMEM_CACHE.state, state);
  atomic_set(c + KMEM_CACHE.pcp, pcp);
  atomic_set(c + KMEM_CACHE.pcp_stride, pcpStride);
  atomic_set(c + KMEM_CACHE.nr_pcp, nrPcp);
  store_string(c + KMEM_CACHE.name, name, 'name');
  store_string(c + KMEM_CACHE.knob, knob, 'knob');
  // Every object starts FREE (the arena is zeroed) and never used: the list is empty and
  // refills take objects from `fresh` on, in address order (poisoned as they leave it).
  const l = c + KMEM_CACHE.list;
  atomic_set(l + KMEM_LIST.head, 0);
  atomic_set(l + KMEM_LIST.fresh, 0);
  atomic_set(l + KMEM_LIST.nr_free, capacity);
  atomic_set(c + KMEM_CACHE.magic, KMEM_CACHE_MAGIC); // RELEASE: the descriptor is complete
  return c;
}

function check_cache(c: number, fn: string): void {
  if (c <= 0 || atomic_read(c + KMEM_CACHE.magic) !== KMEM_CACHE_MAGIC) {
    throw new InvariantViolation(`${fn}: ${c} is not a kmem_cache`);
  }
}

// ---- errors --------------------------------------------------------------------------------

/** The error to throw when `c` is exhausted: names the cache, its capacity and the knob. */
export function slab_exhausted(c: number): SlabExhausted {
  const name = kmem_cache_name(c);
  const cap = atomic_read(c + KMEM_CACHE.capacity);
  const knob = load_string(c + KMEM_CACHE.knob) || `the ${name} slab capacity`;
  return new SlabExhausted(`${name} slab full: ${cap} objects; raise ${knob}`);
}

// ---- this thread's view of a cache ---------------------------------------------------------

/**
 * Everything of a descriptor that never changes after kmem_cache_create, read once per thread
 * and cache (on Node 20 an Atomics.load costs about as much as an Atomics.add, so the fast
 * paths must not re-read immutable words). Dropped when the thread attaches to another buffer.
 */
interface CacheView {
  readonly c: number;
  readonly flags: number;
  readonly objWords: number;
  readonly stride: number;
  readonly capacity: number;
  readonly base: number;
  readonly fp: number;
  readonly state: number;
  readonly pcp0: number;
  readonly pcpStride: number;
  readonly nrPcp: number;
}

let viewWords: Int32Array | null = null;
const views = new Map<number, CacheView>();
let lastView: CacheView | null = null;

function view(c: number): CacheView {
  if (words() === viewWords) {
    if (lastView !== null && lastView.c === c) return lastView;
    const v = views.get(c);
    if (v !== undefined) {
      lastView = v;
      return v;
    }
  } else {
    views.clear();
    lastView = null;
    viewWords = words();
  }
  return without_schedule_points(() => fill_view(c));
}

/** view()'s miss: read the cache's geometry, fixed since kmem_cache_create. */
function fill_view(c: number): CacheView {
  // ACQUIRE: pairs with the RELEASE store of the magic that completes kmem_cache_create.
  if (c <= 0 || atomic_read(c + KMEM_CACHE.magic) !== KMEM_CACHE_MAGIC) {
    throw new InvariantViolation(`${c} is not a kmem_cache`);
  }
  const v: CacheView = {
    c,
    flags: atomic_read(c + KMEM_CACHE.flags),
    objWords: atomic_read(c + KMEM_CACHE.obj_words),
    stride: atomic_read(c + KMEM_CACHE.stride),
    capacity: atomic_read(c + KMEM_CACHE.capacity),
    base: atomic_read(c + KMEM_CACHE.base),
    fp: atomic_read(c + KMEM_CACHE.freeptr_offset),
    state: atomic_read(c + KMEM_CACHE.state),
    pcp0: atomic_read(c + KMEM_CACHE.pcp),
    pcpStride: atomic_read(c + KMEM_CACHE.pcp_stride),
    nrPcp: atomic_read(c + KMEM_CACHE.nr_pcp),
  };
  views.set(c, v);
  lastView = v;
  return v;
}

// ---- object index <-> pointer ----------------------------------------------------------------

function obj_index(v: CacheView, p: number): number {
  const off = p - v.base;
  const idx = (off / v.stride) | 0;
  if (off < 0 || idx * v.stride !== off || idx >= v.capacity) {
    throw new InvariantViolation(
      `${kmem_cache_name(v.c)} slab: ${p} is not an object of this cache`,
    );
  }
  return idx;
}

/** Index (0-based) of object `p` in cache `c`; InvariantViolation if `p` is not one of its objects. */
export function kmem_cache_obj_index(c: number, p: number): number {
  return obj_index(view(c), p);
}

/** Whether object `p` of cache `c` is handed out (its state word, read atomically). */
export function kmem_cache_obj_allocated(c: number, p: number): boolean {
  const v = view(c);
  return atomic_read(v.state + obj_index(v, p)) === KMEM_OBJ_ALLOCATED;
}

/** Pointer to object `idx` (0-based) of cache `c`. */
export function kmem_cache_obj_ptr(c: number, idx: number): number {
  const v = view(c);
  return v.base + idx * v.stride;
}

// ---- per-task caches -----------------------------------------------------------------------

function ctl_with(ctl: number, n: number): number {
  return ((ctl & ~KMEM_PCP_COUNT_MASK) + KMEM_PCP_VERSION_ONE) | n;
}

function pcp_of(v: CacheView): number {
  const id = current_id();
  if (id < 0 || id >= v.nrPcp) {
    throw new LockStateError(
      `${kmem_cache_name(v.c)} slab: task ${id} has no per-task cache (call task_attach first)`,
    );
  }
  return v.pcp0 + id * v.pcpStride;
}

/** Publish `n` objects the caller wrote into its own empty cache's slots. */
function pcp_publish(v: CacheView, pcp: number, n: number): void {
  const ctl = atomic_read(pcp + KMEM_PCP.ctl);
  // With count 0 no thief can succeed (a thief's cmpxchg carries an older version), so the
  // owner's cmpxchg cannot fail; a failure means the per-task cache is shared by two threads.
  if (
    (ctl & KMEM_PCP_COUNT_MASK) !== 0 ||
    !atomic_try_cmpxchg(pcp + KMEM_PCP.ctl, ctl, ctl_with(ctl, n))
  ) {
    throw new InvariantViolation(
      `${kmem_cache_name(v.c)} slab: per-task cache of task ${current_id()} changed under its owner`,
    );
  }
}

/** Move up to one batch from the global list into the caller's empty cache. */
function pcp_refill(v: CacheView, pcp: number): boolean {
  const l = v.c + KMEM_CACHE.list;
  if (atomic_read(l + KMEM_LIST.nr_free) === 0) return false; // a racy peek; steal next
  spin_lock(l + KMEM_LIST.lock);
  let head = atomic_read(l + KMEM_LIST.head);
  let k = 0;
  // Our slots are private while our count is 0: a thief reads only slots below the count it
  // loaded, and one that loaded an older, non-zero count may read them but keeps nothing, as
  // its cmpxchg fails (our pops moved the version). Plain stores, published by pcp_publish's
  // cmpxchg (RELEASE, pairs with the ACQUIRE load of ctl by a thief or by our own pops). Not
  // schedule points: no outcome depends on when they happen, so no interleaving of them is
  // worth exploring (issue 9: 64-object batches were half the steps of an munmap under the
  // controlled scheduler). The sleep sets still see them, in the span of the step they join.
  while (head !== 0 && k < KMEM_PCP_BATCH) {
    plain_set(pcp + KMEM_PCP.objs + k, head);
    head = atomic_read(head + v.fp);
    k++;
  }
  atomic_set(l + KMEM_LIST.head, head);
  if (k < KMEM_PCP_BATCH) {
    // The list ran dry: take never-used objects, in address order. Nobody else can reach
    // them until pcp_publish, so their poison is written with plain stores.
    let fresh = atomic_read(l + KMEM_LIST.fresh);
    while (k < KMEM_PCP_BATCH && fresh < v.capacity) {
      const obj = v.base + fresh * v.stride;
      if ((v.flags & SLAB_POISON) !== 0) plain_fill(obj, v.objWords, KMEM_POISON_FREE);
      plain_set(pcp + KMEM_PCP.objs + k, obj); // private, as above
      fresh++;
      k++;
    }
    atomic_set(l + KMEM_LIST.fresh, fresh);
  }
  atomic_set(l + KMEM_LIST.nr_free, atomic_read(l + KMEM_LIST.nr_free) - k);
  if (k > 0) atomic_fetch_add(l + KMEM_LIST.in_flight, k); // before the unlock: never unseen
  spin_unlock(l + KMEM_LIST.lock);
  if (k === 0) return false;
  sched_point(SP.SLAB_IN_FLIGHT);
  // Pops take the top slot: reverse the batch (still private: plain, as above) so objects go
  // out in list order.
  for (let i = 0, j = k - 1; i < j; i++, j--) {
    const t = plain_read(pcp + KMEM_PCP.objs + i);
    plain_set(pcp + KMEM_PCP.objs + i, plain_read(pcp + KMEM_PCP.objs + j));
    plain_set(pcp + KMEM_PCP.objs + j, t);
  }
  pcp_publish(v, pcp, k);
  move_done(l, k);
  count(CNT.SLAB_REFILL);
  return true;
}

/** `n` objects in flight are visible again: bump moves, then lower in_flight (both full RMWs). */
function move_done(l: number, n: number): void {
  atomic_fetch_add(l + KMEM_LIST.moves, 1);
  atomic_fetch_add(l + KMEM_LIST.in_flight, -n);
}

/** The global list is empty: take every object another task has cached. */
function pcp_steal(v: CacheView, pcp: number): boolean {
  const nr = v.nrPcp;
  const me = current_id();
  const l = v.c + KMEM_CACHE.list;
  for (let k = 1; k < nr; k++) {
    const victim = v.pcp0 + ((me + k) % nr) * v.pcpStride;
    for (;;) {
      const vctl = atomic_read(victim + KMEM_PCP.ctl); // ACQUIRE: pairs with the owner's cmpxchg
      const n = vctl & KMEM_PCP_COUNT_MASK;
      if (n === 0) break;
      // Our own slots are free (our count is 0): copy first, then claim with one cmpxchg.
      // The victim's slots are shared (its owner pops them): loaded atomically; ours are
      // private until pcp_publish: plain stores, as in pcp_refill.
      for (let i = 0; i < n; i++) {
        plain_set(pcp + KMEM_PCP.objs + i, atomic_read(victim + KMEM_PCP.objs + i));
      }
      atomic_fetch_add(l + KMEM_LIST.in_flight, n); // before the claim hides them
      if (atomic_try_cmpxchg(victim + KMEM_PCP.ctl, vctl, ctl_with(vctl, 0))) {
        sched_point(SP.SLAB_IN_FLIGHT);
        pcp_publish(v, pcp, n);
        move_done(l, n);
        count(CNT.SLAB_STEAL);
        trace(EV.SLAB_STEAL, v.c, n);
        return true;
      }
      atomic_fetch_add(l + KMEM_LIST.in_flight, -n); // nothing moved
    }
  }
  return false;
}

/** The caller's cache is full: hand its top batch to the global list. */
function pcp_flush(v: CacheView, pcp: number, ctl: number): void {
  const n = ctl & KMEM_PCP_COUNT_MASK;
  const l = v.c + KMEM_CACHE.list;
  atomic_fetch_add(l + KMEM_LIST.in_flight, KMEM_PCP_BATCH); // before the claim hides them
  // Claim first: once count is below them, the top slots are ours alone (no thief reads them).
  if (!atomic_try_cmpxchg(pcp + KMEM_PCP.ctl, ctl, ctl_with(ctl, n - KMEM_PCP_BATCH))) {
    atomic_fetch_add(l + KMEM_LIST.in_flight, -KMEM_PCP_BATCH); // nothing moved
    return;
  }
  sched_point(SP.SLAB_IN_FLIGHT);
  // The claimed slots are ours alone (a thief that loaded an older count reads them, but its
  // cmpxchg fails): plain reads, as in pcp_refill. The links are not private: in a
  // SLAB_TYPESAFE_BY_RCU cache the free pointer is a field a stale reader may still load
  // (vm_start for VMAs), so each link is a step of its own, as the kernel's plain store would
  // be visible to that reader at any point of the walk.
  const firstObj = plain_read(pcp + KMEM_PCP.objs + n - KMEM_PCP_BATCH);
  let last = firstObj;
  for (let i = n - KMEM_PCP_BATCH + 1; i < n; i++) {
    const o = plain_read(pcp + KMEM_PCP.objs + i);
    atomic_set(last + v.fp, o); // the batch is off every list until the splice below
    last = o;
  }
  spin_lock(l + KMEM_LIST.lock);
  atomic_set(last + v.fp, atomic_read(l + KMEM_LIST.head));
  atomic_set(l + KMEM_LIST.head, firstObj);
  atomic_set(l + KMEM_LIST.nr_free, atomic_read(l + KMEM_LIST.nr_free) + KMEM_PCP_BATCH);
  spin_unlock(l + KMEM_LIST.lock); // RELEASE: the links are visible to the next popper
  move_done(l, KMEM_PCP_BATCH);
  count(CNT.SLAB_FLUSH);
}

// ---- alloc / free --------------------------------------------------------------------------

function check_poison(v: CacheView, obj: number): void {
  for (let i = 0; i < v.objWords; i++) {
    // Plain: the object is ours now; a racing store is exactly the use-after-free we look for.
    if (i !== v.fp && plain_read(obj + i) !== KMEM_POISON_FREE) {
      throw new InvariantViolation(
        `${kmem_cache_name(v.c)} slab: use after free: object ${obj} word ${i} was written while free`,
      );
    }
  }
}

/** Allocate one object: its pointer, or 0 when every object is allocated. Any task. */
export function kmem_cache_alloc(c: number): number {
  const v = view(c);
  const pcp = pcp_of(v);
  const l = c + KMEM_CACHE.list;
  let moves = 0; // list.moves before the scan (read once the per-task cache is empty)
  let scanning = false;
  let deadline = 0;
  for (let spins = 0; ; ) {
    const ctl = atomic_read(pcp + KMEM_PCP.ctl);
    const n = ctl & KMEM_PCP_COUNT_MASK;
    if (n > 0) {
      // Plain: only the owner writes its slots (a thief writes its own), so this load reads
      // nothing another task can change; the cmpxchg below decides whether the object is ours.
      const obj = plain_read(pcp + KMEM_PCP.objs + n - 1);
      if (atomic_try_cmpxchg(pcp + KMEM_PCP.ctl, ctl, ctl_with(ctl, n - 1))) {
        if (atomic_xchg(v.state + obj_index(v, obj), KMEM_OBJ_ALLOCATED) !== KMEM_OBJ_FREE) {
          throw new InvariantViolation(
            `${kmem_cache_name(c)} slab: object ${obj} handed out while already allocated`,
          );
        }
        if ((v.flags & SLAB_POISON) !== 0) check_poison(v, obj);
        return obj;
      }
      continue; // a thief emptied our cache; look again
    }
    if (!scanning) {
      scanning = true;
      moves = atomic_read(l + KMEM_LIST.moves);
    }
    if (pcp_refill(v, pcp) || pcp_steal(v, pcp)) continue;
    // Nothing found. Exhausted only if no object was in flight and none finished a move
    // during the scan (see "In flight" above); else wait for the mover and scan again.
    const inFlight = atomic_read(l + KMEM_LIST.in_flight);
    const now = atomic_read(l + KMEM_LIST.moves);
    if (inFlight === 0 && now === moves) {
      count(CNT.SLAB_EXHAUSTED);
      trace(EV.SLAB_EXHAUSTED, c, 0);
      return 0;
    }
    moves = now;
    if (inFlight === 0) continue; // a move finished meanwhile: scan again at once
    // Bounded: a mover finishes in a few steps unless it is preempted (or unwound mid-move,
    // which leaves in_flight raised for good); past the bound, report exhaustion and say why.
    if ((++spins & 63) === 0) {
      check_abort();
      const t = sched_clock_ms();
      if (deadline === 0) deadline = t + SLAB_IN_FLIGHT_WAIT_MS;
      else if (t > deadline) {
        count(CNT.SLAB_EXHAUSTED);
        trace(EV.SLAB_EXHAUSTED, c, inFlight);
        return 0;
      }
      sleep_us(50);
    } else {
      cpu_relax();
    }
  }
}

/** How long kmem_cache_alloc waits for objects in flight before it reports exhaustion. */
export const SLAB_IN_FLIGHT_WAIT_MS = 1000;

/** kmem_cache_alloc, throwing slab_exhausted(c) instead of returning 0. */
export function kmem_cache_alloc_or_throw(c: number): number {
  const p = kmem_cache_alloc(c);
  if (p === 0) throw slab_exhausted(c);
  return p;
}

/**
 * Free object `p`. Any task, not only the allocator. A double free throws LockStateError and a
 * pointer that is not an object of `c` throws InvariantViolation, both naming the pointer.
 */
export function kmem_cache_free(c: number, p: number): void {
  const v = view(c);
  if (atomic_xchg(v.state + obj_index(v, p), KMEM_OBJ_FREE) !== KMEM_OBJ_ALLOCATED) {
    throw new LockStateError(`${kmem_cache_name(c)} slab: double free of object ${p}`);
  }
  if ((v.flags & SLAB_POISON) !== 0) {
    // The freeing task still owns the object: nobody can allocate it before the push below.
    plain_fill(p, v.objWords, KMEM_POISON_FREE);
  }
  const pcp = pcp_of(v);
  for (;;) {
    const ctl = atomic_read(pcp + KMEM_PCP.ctl);
    const n = ctl & KMEM_PCP_COUNT_MASK;
    if (n < KMEM_PCP_MAX) {
      // Slot n is ours until count covers it: a plain store, as in pcp_refill (a thief that
      // loaded an older, larger count may read it, but its cmpxchg fails).
      plain_set(pcp + KMEM_PCP.objs + n, p);
      // RELEASE: pairs with a thief's ACQUIRE read of ctl before it reads the slots.
      if (atomic_try_cmpxchg(pcp + KMEM_PCP.ctl, ctl, ctl_with(ctl, n + 1))) return;
      continue; // a thief emptied the cache; retry at count 0
    }
    pcp_flush(v, pcp, ctl);
  }
}

// ---- statistics and checks (quiescent: exact when no task allocates or frees) --------------

export function kmem_cache_stats(c: number): KmemCacheStats {
  check_cache(c, 'kmem_cache_stats');
  const capacity = atomic_read(c + KMEM_CACHE.capacity);
  let free = atomic_read(c + KMEM_CACHE.list + KMEM_LIST.nr_free);
  const nr = atomic_read(c + KMEM_CACHE.nr_pcp);
  const first = atomic_read(c + KMEM_CACHE.pcp);
  const stride = atomic_read(c + KMEM_CACHE.pcp_stride);
  for (let t = 0; t < nr; t++) {
    free += atomic_read(first + t * stride + KMEM_PCP.ctl) & KMEM_PCP_COUNT_MASK;
  }
  return {
    name: kmem_cache_name(c),
    capacity,
    allocated: capacity - free,
    free,
    objWords: atomic_read(c + KMEM_CACHE.obj_words),
  };
}

/** Call fn(p) for every allocated object, in address order (a racy snapshot while tasks run). */
export function kmem_cache_for_each_allocated(c: number, fn: (p: number) => void): void {
  check_cache(c, 'kmem_cache_for_each_allocated');
  const capacity = atomic_read(c + KMEM_CACHE.capacity);
  const state = atomic_read(c + KMEM_CACHE.state);
  for (let i = 0; i < capacity; i++) {
    if (atomic_read(state + i) === KMEM_OBJ_ALLOCATED) fn(kmem_cache_obj_ptr(c, i));
  }
}
