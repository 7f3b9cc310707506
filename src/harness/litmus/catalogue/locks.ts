// Litmus tests of two reader/writer primitives: a seqcount reader against its writer
// (src/sync/seqcount.ts) and down_read_trylock() against down_write() (src/sync/rwsem.ts).

import { atomic_fetch_add, atomic_read, atomic_set, cpu_relax } from '../../../sched/atomics.js';
import { RWSEM, SEQCOUNT } from '../../../shm/layout/index.js';
import {
  down_read_trylock,
  down_write,
  init_rwsem,
  up_read,
  up_write,
} from '../../../sync/rwsem.js';
import {
  read_seqcount_begin,
  read_seqcount_retry,
  seqcount_init,
  write_seqcount_begin,
  write_seqcount_end,
} from '../../../sync/seqcount.js';
import { defineLitmus, type LitmusTest } from '../define.js';
import { set_result } from '../mem.js';

// ---- seqcount -------------------------------------------------------------------------------

// Fixed offsets (computed at import, before a worker's layout is configured): a seqcount_t and
// an rw_semaphore are packed structs, the same size in both layouts.
const SEQ = 0;
const A = 1;
const B = 2;

/**
 * A writer changes a pair (a, b) from (0, 0) to (1, 1) inside a write section; a reader takes a
 * snapshot with read_seqcount_begin / read_seqcount_retry, with a short pause between its two
 * loads so the writer often lands inside. r0, r1: the pair the reader accepted.
 */
const seqcountPair: LitmusTest = defineLitmus({
  name: 'seqcount',
  description:
    'a seqcount reader against its writer: the reader never accepts a torn pair (one old value, one new)',
  module: import.meta.url,
  words: 3,
  prepare: () => {
    if (SEQCOUNT.SIZE > A) throw new RangeError(`seqcount: seqcount_t is ${SEQCOUNT.SIZE} words`);
  },
  results: 2,
  init: (s) => {
    seqcount_init(s + SEQ);
    atomic_set(s + A, 0);
    atomic_set(s + B, 0);
  },
  actors: [
    (s) => {
      write_seqcount_begin(s + SEQ); // the caller's writer lock: this actor is the only writer
      atomic_set(s + A, 1);
      atomic_set(s + B, 1);
      write_seqcount_end(s + SEQ);
    },
    (s, r) => {
      let a: number;
      let b: number;
      let start: number;
      do {
        start = read_seqcount_begin(s + SEQ);
        a = atomic_read(s + A);
        for (let k = 0; k < 64; k++) cpu_relax();
        b = atomic_read(s + B);
      } while (read_seqcount_retry(s + SEQ, start));
      set_result(r, a);
      set_result(r + 1, b);
    },
  ],
  outcomes: [
    { id: '0, 0', expect: 'ACCEPTABLE', desc: 'the snapshot from before the write' },
    { id: '1, 1', expect: 'ACCEPTABLE', desc: 'the snapshot from after the write' },
    {
      id: '*, *',
      expect: 'FORBIDDEN',
      desc: 'a torn pair accepted: the writer was inside and the retry did not catch it',
    },
  ],
  iterations: 10_000,
});

// ---- rwsem: down_read_trylock against down_write -------------------------------------------

const SEM = 0;
/** Who is inside: +1 for the reader, +2 for the writer, each while it holds the lock. */
const INSIDE = 16;
const READER = 1;
const WRITER = 2;

/**
 * r0: the reader (0 trylock failed, 1 held the lock alone, 2 found the writer inside);
 * r1: the writer (1 held the lock alone, 2 found the reader inside); r2: the final count word.
 */
const trylockVsWrite: LitmusTest = defineLitmus({
  name: 'rwsem-trylock',
  description: 'down_read_trylock against down_write: never both inside; the lock ends unlocked',
  module: import.meta.url,
  words: INSIDE + 1,
  prepare: () => {
    if (RWSEM.SIZE > INSIDE)
      throw new RangeError(`rwsem-trylock: rw_semaphore is ${RWSEM.SIZE} words`);
  },
  results: 3,
  init: (s) => {
    init_rwsem(s + SEM);
    atomic_set(s + INSIDE, 0);
  },
  actors: [
    (s, r) => {
      if (!down_read_trylock(s + SEM)) return set_result(r, 0);
      const seen = atomic_fetch_add(s + INSIDE, READER);
      set_result(r, (seen & WRITER) !== 0 ? 2 : 1);
      atomic_fetch_add(s + INSIDE, -READER);
      up_read(s + SEM);
    },
    (s, r) => {
      down_write(s + SEM);
      const seen = atomic_fetch_add(s + INSIDE, WRITER);
      set_result(r + 1, (seen & READER) !== 0 ? 2 : 1);
      atomic_fetch_add(s + INSIDE, -WRITER);
      up_write(s + SEM);
    },
  ],
  arbiter: (s, r) => set_result(r + 2, atomic_read(s + SEM + RWSEM.count)),
  outcomes: [
    {
      id: '0, 1, 0',
      expect: 'ACCEPTABLE',
      desc: 'the writer held (or waited for) the lock: trylock failed',
    },
    { id: '1, 1, 0', expect: 'ACCEPTABLE', desc: 'reader and writer took turns' },
    {
      id: '2, *, *',
      expect: 'FORBIDDEN',
      desc: 'the reader found the writer inside: read and write lock held at once',
    },
    {
      id: '*, 2, *',
      expect: 'FORBIDDEN',
      desc: 'the writer found the reader inside: read and write lock held at once',
    },
  ],
  iterations: 10_000,
});

export const LOCK_TESTS: readonly LitmusTest[] = [seqcountPair, trylockVsWrite];
