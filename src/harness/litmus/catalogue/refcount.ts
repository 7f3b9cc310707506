// Litmus tests of refcount_t as the per-VMA locks use it (src/sync/refcount.ts,
// src/schemes/vma_refcnt.ts). An instance is a vm_area_struct's worth of words; only vm_refcnt
// is used.

import { atomic_set } from '../../../sched/atomics.js';
import {
  __vma_refcount_get,
  VMA_LOCK_OFFSET,
  vma_refcount_got,
} from '../../../schemes/vma_refcnt.js';
import { VMA } from '../../../shm/layout/index.js';
import {
  __refcount_add_not_zero,
  refcount_dec,
  refcount_dec_and_test,
  refcount_inc_not_zero,
  refcount_read,
  refcount_sub_and_test,
} from '../../../sync/refcount.js';
import { defineLitmus, type LitmusSpec, type LitmusTest } from '../define.js';
import { set_result } from '../mem.js';

/**
 * Words of one instance: room for a whole VMA in either layout (padding on or off). Fixed: a
 * module's constants are computed at import, before a worker's layout is configured.
 */
const VMA_WORDS = 64;

/**
 * refcount_inc_not_zero_limited_acquire() (the reader's increment of vm_refcnt) against a writer
 * adding VMA_LOCK_OFFSET (__vma_enter_locked). Results: r0 the reader (0 refused, 1 got in
 * before the writer, 2 got in with the offset already added), r1 the count the writer's add
 * saw (1: no reader inside, 2: one reader it must wait for), r2 the final count.
 */
function limited(bugs: LitmusSpec['bugs']): LitmusTest {
  return defineLitmus({
    name: bugs === undefined ? 'refcount-limited' : 'refcount-limited+refcount-unlimited',
    description:
      'refcount_inc_not_zero_limited_acquire(vm_refcnt, VMA_REF_LIMIT) against a writer adding VMA_LOCK_OFFSET: no reader gets in once the offset is added',
    module: import.meta.url,
    words: VMA_WORDS,
    results: 3,
    ...(bugs === undefined ? {} : { bugs }),
    init: (s) => atomic_set(s + VMA.vm_refcnt, 1), // attached, unlocked
    actors: [
      (s, r) => {
        const old = __vma_refcount_get(s);
        if (!vma_refcount_got(old)) return set_result(r, 0);
        set_result(r, (old & VMA_LOCK_OFFSET) === 0 ? 1 : 2);
        refcount_dec(s + VMA.vm_refcnt); // vma_end_read
      },
      (s, r) => {
        const old = __refcount_add_not_zero(s + VMA.vm_refcnt, VMA_LOCK_OFFSET);
        set_result(r + 1, old);
        refcount_sub_and_test(s + VMA.vm_refcnt, VMA_LOCK_OFFSET); // __vma_exit_locked
      },
    ],
    arbiter: (s, r) => set_result(r + 2, refcount_read(s + VMA.vm_refcnt)),
    outcomes: [
      {
        id: '0, 1, 1',
        expect: 'ACCEPTABLE',
        desc: 'the writer added the offset first; the reader was refused',
      },
      { id: '1, 1, 1', expect: 'ACCEPTABLE', desc: 'the reader came and went before the writer' },
      {
        id: '1, 2, 1',
        expect: 'ACCEPTABLE',
        desc: 'the reader got in first; the writer would wait for it',
      },
      {
        id: '2, *, *',
        expect: 'FORBIDDEN',
        desc: 'a reader got in after the writer added VMA_LOCK_OFFSET: the writer believes it excluded every reader',
      },
    ],
    iterations: 20_000,
  });
}

/**
 * refcount_dec_and_test() dropping the last reference against refcount_inc_not_zero() taking a
 * new one: r0 1 if the drop hit 0 (the caller frees), r1 1 if the increment succeeded, r2 the
 * final count.
 */
const decVsInc: LitmusTest = defineLitmus({
  name: 'refcount-dec-vs-inc',
  description:
    'refcount_dec_and_test of the last reference against refcount_inc_not_zero: no resurrection from 0',
  module: import.meta.url,
  words: 1,
  results: 3,
  init: (s) => atomic_set(s, 1),
  actors: [
    (s, r) => set_result(r, refcount_dec_and_test(s) ? 1 : 0),
    (s, r) => set_result(r + 1, refcount_inc_not_zero(s) ? 1 : 0),
  ],
  arbiter: (s, r) => set_result(r + 2, refcount_read(s)),
  outcomes: [
    {
      id: '1, 0, 0',
      expect: 'ACCEPTABLE',
      desc: 'the drop came first and freed; the increment was refused',
    },
    {
      id: '0, 1, 1',
      expect: 'ACCEPTABLE',
      desc: 'the increment came first; the drop left one reference',
    },
    {
      id: '1, 1, *',
      expect: 'FORBIDDEN',
      desc: 'resurrection: a reference taken on an object whose count reached 0 and was freed',
    },
  ],
  iterations: 20_000,
});

export const REFCOUNT_TESTS: readonly LitmusTest[] = [
  limited(undefined),
  limited(['refcount-unlimited']),
  decVsInc,
];
