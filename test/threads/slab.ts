// Thread bodies for test/unit/slab.test.ts and test/stress/slab.test.ts.

import { InvariantViolation } from '../../src/errors.js';
import {
  atomic_cmpxchg,
  atomic_fetch_add,
  atomic_read,
  atomic_set,
  atomic_xchg,
  SP_LOAD,
  SP_NAMED,
  set_schedule_hook,
} from '../../src/sched/atomics.js';
import { SP } from '../../src/sched/points.js';
import { check_abort, current_id, park } from '../../src/sched/task.js';
import { kmem_cache_alloc, kmem_cache_free } from '../../src/shm/slab.js';

/** Free every object in `objs` (objects another task allocated). */
export function freeObjects(args: { c: number; objs: number[] }): number {
  for (const p of args.objs) kmem_cache_free(args.c, p);
  return args.objs.length;
}

/** Allocate until the cache is exhausted; return the objects. */
export function allocAll(args: { c: number }): number[] {
  const out: number[] = [];
  for (let p = kmem_cache_alloc(args.c); p !== 0; p = kmem_cache_alloc(args.c)) out.push(p);
  return out;
}

/** Owner word value of an object sitting in the mailbox. */
export const HANDED_OFF = -1;

export interface ChurnArgs {
  readonly c: number;
  readonly rounds: number;
  /** most objects held at once */
  readonly maxHold: number;
  readonly seed: number;
  /** `slots` words: hand-off slots (0 empty, else an object pointer) */
  readonly mailbox: number;
  readonly slots: number;
  /** word of each object holding its owner's task id (never the freeptr word) */
  readonly ownerWord: number;
  /** word of each object holding the owner's private token */
  readonly tokenWord: number;
  /** a start barrier: word sync counts arrivals; all start once `parties` have arrived */
  readonly sync: number;
  readonly parties: number;
}

export interface ChurnResult {
  readonly allocs: number;
  readonly frees: number;
  readonly exhausted: number;
  readonly handedOff: number;
  readonly taken: number;
}

/**
 * Allocate, own, hand off, take over and free objects at random. Every object is owned by one
 * task at a time: the owner writes its id and a private token, and checks both before it frees
 * or hands the object off. Throws InvariantViolation if another task touched an object it owns.
 */
export function churn(a: ChurnArgs): ChurnResult {
  const me = current_id();
  atomic_fetch_add(a.sync, 1);
  while (atomic_read(a.sync) < a.parties) {
    check_abort();
    park(1);
  }
  let s = a.seed | 1;
  const rnd = (n: number): number => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) % n;
  };
  const held: number[] = [];
  const tokens: number[] = [];
  let allocs = 0;
  let frees = 0;
  let exhausted = 0;
  let handedOff = 0;
  let taken = 0;
  let tokenSeq = me << 20;
  const own = (p: number): void => {
    tokenSeq = (tokenSeq + 1) | 0;
    atomic_set(p + a.ownerWord, me);
    atomic_set(p + a.tokenWord, tokenSeq);
    held.push(p);
    tokens.push(tokenSeq);
  };
  const release = (i: number): number => {
    const p = held[i]!;
    const tok = tokens[i]!;
    const o = atomic_read(p + a.ownerWord);
    const t = atomic_read(p + a.tokenWord);
    if (o !== me || t !== tok) {
      throw new InvariantViolation(
        `task ${me}: object ${p} changed while owned (owner ${o}, token ${t}, expected ${me}, ${tok})`,
      );
    }
    held[i] = held[held.length - 1]!;
    tokens[i] = tokens[tokens.length - 1]!;
    held.pop();
    tokens.pop();
    return p;
  };
  for (let r = 0; r < a.rounds; r++) {
    if ((r & 255) === 0) check_abort();
    const op = rnd(8);
    if (op < 4 && held.length < a.maxHold) {
      const p = kmem_cache_alloc(a.c);
      if (p === 0) exhausted++;
      else {
        allocs++;
        own(p);
      }
    } else if (op < 6 && held.length > 0) {
      kmem_cache_free(a.c, release(rnd(held.length)));
      frees++;
    } else if (op === 6 && held.length > 0) {
      const slot = a.mailbox + rnd(a.slots);
      const p = held[held.length - 1]!;
      if (atomic_read(slot) === 0) {
        release(held.length - 1);
        atomic_set(p + a.ownerWord, HANDED_OFF);
        if (atomic_cmpxchg(slot, 0, p) === 0) handedOff++;
        else own(p); // the slot filled meanwhile: keep it
      }
    } else if (op === 7) {
      const p = atomic_xchg(a.mailbox + rnd(a.slots), 0);
      if (p !== 0) {
        const o = atomic_read(p + a.ownerWord);
        if (o !== HANDED_OFF) {
          throw new InvariantViolation(`task ${me}: mailbox object ${p} has owner ${o}`);
        }
        taken++;
        own(p);
      }
    }
  }
  while (held.length > 0) {
    kmem_cache_free(a.c, release(held.length - 1));
    frees++;
  }
  return { allocs, frees, exhausted, handedOff, taken };
}

// ---- objects in flight (test/unit/slab.test.ts) --------------------------------------------

export interface InFlightArgs {
  readonly c: number;
  /** the cache's list.in_flight word */
  readonly inFlightWord: number;
  /** set by the mover once it is stopped with its refill in flight */
  readonly stalled: number;
  /** set by the allocator when it looks at in_flight (it found nothing and may wait) */
  readonly looked: number;
  /** set by the allocator when its kmem_cache_alloc returned */
  readonly done: number;
}

/**
 * Allocate once from an empty per-task cache: the refill takes every object from the list and
 * stops in flight (SP.SLAB_IN_FLIGHT) until the allocator has looked at in_flight or returned.
 */
export function inFlightMover(a: InFlightArgs): number {
  let stopped = false;
  set_schedule_hook((kind, what) => {
    if (stopped || kind !== SP_NAMED || what !== SP.SLAB_IN_FLIGHT) return;
    stopped = true;
    atomic_set(a.stalled, 1);
    while (atomic_read(a.looked) === 0 && atomic_read(a.done) === 0) {
      park(1);
      check_abort();
    }
  });
  try {
    const p = kmem_cache_alloc(a.c);
    if (!stopped) throw new InvariantViolation('the refill never went in flight');
    return p;
  } finally {
    set_schedule_hook(null);
  }
}

/** Once the mover is stopped in flight, allocate: the object, or 0 (reported exhausted). */
export function inFlightAllocator(a: InFlightArgs): number {
  while (atomic_read(a.stalled) === 0) {
    park(1);
    check_abort();
  }
  set_schedule_hook((kind, what) => {
    if (kind === SP_LOAD && what === a.inFlightWord) atomic_set(a.looked, 1);
  });
  try {
    return kmem_cache_alloc(a.c);
  } finally {
    set_schedule_hook(null);
    atomic_set(a.done, 1);
  }
}
