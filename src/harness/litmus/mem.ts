// The two memory flavours a classic litmus shape runs in, and how actors write their results.
//
// - ATOMICS: every access is an Atomics load or store: sequentially consistent, so the shapes'
//   non-SC outcomes are FORBIDDEN.
// - PLAIN: plain typed-array loads and stores on the shared buffer. The JavaScript memory model
//   orders nothing between plain accesses to different words (and the JIT may reorder them), so
//   the non-SC outcomes are allowed: ACCEPTABLE_INTERESTING. What the hardware shows depends on
//   it: on x86 (TSO) a store may wait in the store buffer while a later load of another word
//   goes ahead, so store buffering (SB's r0 = r1 = 0) shows up, and the other shapes do not.
//
// Plain access to shared words is otherwise only allowed under a lock (STYLE.md §5); here the
// unordered access IS the thing under test.

import { atomic_read, atomic_set, plain_read, plain_set } from '../../sched/atomics.js';

export interface Mem {
  readonly name: 'atomics' | 'plain';
  load(p: number): number;
  store(p: number, v: number): void;
}

export const ATOMICS: Mem = { name: 'atomics', load: atomic_read, store: atomic_set };
export const PLAIN: Mem = { name: 'plain', load: plain_read, store: plain_set };

/**
 * An actor's or the arbiter's result: result word `r` (the instance's result base plus the
 * result's index). A plain store: the round's end barrier orders it before the tally.
 */
export function set_result(r: number, v: number): void {
  plain_set(r, v);
}
