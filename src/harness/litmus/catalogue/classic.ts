// The classic litmus shapes (the names of the herd/klitmus and jcstress literature), each in
// two memory flavours (mem.ts): `NAME` on Atomics, where the non-SC outcome is FORBIDDEN, and
// `NAME.plain` on plain typed-array accesses, where it is ACCEPTABLE_INTERESTING. Words of an
// instance: x = s + 0, y = s + 1 (data = s + 0, flag = s + 1 in MP).

import { defineLitmus, type Expect, type LitmusTest } from '../define.js';
import { ATOMICS, type Mem, PLAIN, set_result } from '../mem.js';

const X = 0;
const Y = 1;

/** The class of an outcome that sequential consistency forbids, in flavour m. */
function nonSc(m: Mem): Expect {
  return m === ATOMICS ? 'FORBIDDEN' : 'ACCEPTABLE_INTERESTING';
}

function suffix(m: Mem): string {
  return m === ATOMICS ? '' : '.plain';
}

function flavourNote(m: Mem): string {
  return m === ATOMICS ? 'Atomics (sequentially consistent)' : 'plain typed-array accesses';
}

function sb(m: Mem): LitmusTest {
  return defineLitmus({
    name: `sb${suffix(m)}`,
    description: `store buffering: each actor stores one word, then loads the other; ${flavourNote(m)}`,
    module: import.meta.url,
    words: 2,
    results: 2,
    actors: [
      (s, r) => {
        m.store(s + X, 1);
        set_result(r, m.load(s + Y));
      },
      (s, r) => {
        m.store(s + Y, 1);
        set_result(r + 1, m.load(s + X));
      },
    ],
    outcomes: [
      { id: '0, 1', expect: 'ACCEPTABLE', desc: 'actor 0 ran first' },
      { id: '1, 0', expect: 'ACCEPTABLE', desc: 'actor 1 ran first' },
      { id: '1, 1', expect: 'ACCEPTABLE', desc: 'both stores before both loads' },
      {
        id: '0, 0',
        expect: nonSc(m),
        desc:
          m === ATOMICS
            ? 'each load passed the other side’s earlier store: impossible under SC'
            : 'store buffering: each store waited in its store buffer while the later load went ahead',
      },
    ],
    init: (s) => {
      m.store(s + X, 0);
      m.store(s + Y, 0);
    },
    iterations: 20_000,
    ...(m === PLAIN ? { hopeToSee: '0, 0' } : {}),
  });
}

function mp(m: Mem): LitmusTest {
  return defineLitmus({
    name: `mp${suffix(m)}`,
    description: `message passing: data then flag, read as flag then data; ${flavourNote(m)}`,
    module: import.meta.url,
    words: 2,
    results: 2,
    actors: [
      (s) => {
        m.store(s + X, 1); // data
        m.store(s + Y, 1); // flag
      },
      (s, r) => {
        set_result(r, m.load(s + Y));
        set_result(r + 1, m.load(s + X));
      },
    ],
    outcomes: [
      { id: '0, 0', expect: 'ACCEPTABLE', desc: 'the reader ran first' },
      { id: '0, 1', expect: 'ACCEPTABLE', desc: 'the reader saw the data but not yet the flag' },
      { id: '1, 1', expect: 'ACCEPTABLE', desc: 'the reader saw the flag and the data' },
      {
        id: '1, 0',
        expect: nonSc(m),
        desc: 'flag seen but stale data: the message arrived before its content',
      },
    ],
    init: (s) => {
      m.store(s + X, 0);
      m.store(s + Y, 0);
    },
    iterations: 20_000,
  });
}

function lb(m: Mem): LitmusTest {
  return defineLitmus({
    name: `lb${suffix(m)}`,
    description: `load buffering: each actor loads one word, then stores the other; ${flavourNote(m)}`,
    module: import.meta.url,
    words: 2,
    results: 2,
    actors: [
      (s, r) => {
        set_result(r, m.load(s + X));
        m.store(s + Y, 1);
      },
      (s, r) => {
        set_result(r + 1, m.load(s + Y));
        m.store(s + X, 1);
      },
    ],
    outcomes: [
      { id: '0, 0', expect: 'ACCEPTABLE', desc: 'both loads before both stores' },
      { id: '0, 1', expect: 'ACCEPTABLE', desc: 'actor 0 ran first' },
      { id: '1, 0', expect: 'ACCEPTABLE', desc: 'actor 1 ran first' },
      {
        id: '1, 1',
        expect: nonSc(m),
        desc: 'each load saw the other side’s later store: a store moved before an earlier load',
      },
    ],
    init: (s) => {
      m.store(s + X, 0);
      m.store(s + Y, 0);
    },
    iterations: 20_000,
  });
}

function iriw(m: Mem): LitmusTest {
  return defineLitmus({
    name: `iriw${suffix(m)}`,
    description: `independent reads of independent writes: two readers must agree on the order of two writes; ${flavourNote(m)}`,
    module: import.meta.url,
    words: 2,
    results: 4,
    actors: [
      (s) => m.store(s + X, 1),
      (s) => m.store(s + Y, 1),
      (s, r) => {
        set_result(r, m.load(s + X));
        set_result(r + 1, m.load(s + Y));
      },
      (s, r) => {
        set_result(r + 2, m.load(s + Y));
        set_result(r + 3, m.load(s + X));
      },
    ],
    outcomes: [
      {
        id: '1, 0, 1, 0',
        expect: nonSc(m),
        desc: 'reader 2 saw x before y, reader 3 saw y before x: no single order of the writes',
      },
      { id: '*, *, *, *', expect: 'ACCEPTABLE', desc: 'consistent with one order of the writes' },
    ],
    init: (s) => {
      m.store(s + X, 0);
      m.store(s + Y, 0);
    },
    iterations: 10_000,
  });
}

function w22(m: Mem): LitmusTest {
  return defineLitmus({
    name: `2+2w${suffix(m)}`,
    description: `2+2W: two actors write both words in opposite orders; the arbiter reads what stayed; ${flavourNote(m)}`,
    module: import.meta.url,
    words: 2,
    results: 2,
    actors: [
      (s) => {
        m.store(s + X, 1);
        m.store(s + Y, 2);
      },
      (s) => {
        m.store(s + Y, 1);
        m.store(s + X, 2);
      },
    ],
    arbiter: (s, r) => {
      set_result(r, m.load(s + X));
      set_result(r + 1, m.load(s + Y));
    },
    outcomes: [
      { id: '1, 2', expect: 'ACCEPTABLE', desc: 'actor 1 then actor 0' },
      { id: '2, 1', expect: 'ACCEPTABLE', desc: 'actor 0 then actor 1' },
      { id: '2, 2', expect: 'ACCEPTABLE', desc: 'interleaved: each side’s second store came last' },
      {
        id: '1, 1',
        expect: nonSc(m),
        desc: 'each side’s first store came last: both pairs of stores were reordered',
      },
    ],
    init: (s) => {
      m.store(s + X, 0);
      m.store(s + Y, 0);
    },
    iterations: 20_000,
  });
}

function corr(m: Mem): LitmusTest {
  return defineLitmus({
    name: `corr${suffix(m)}`,
    description: `read-read coherence: two loads of one word never go back in time; ${flavourNote(m)}`,
    module: import.meta.url,
    words: 1,
    results: 2,
    actors: [
      (s) => m.store(s + X, 1),
      (s, r) => {
        set_result(r, m.load(s + X));
        set_result(r + 1, m.load(s + X));
      },
    ],
    outcomes: [
      { id: '0, 0', expect: 'ACCEPTABLE', desc: 'both loads before the store' },
      { id: '0, 1', expect: 'ACCEPTABLE', desc: 'the store landed between the loads' },
      { id: '1, 1', expect: 'ACCEPTABLE', desc: 'both loads after the store' },
      {
        id: '1, 0',
        expect: m === ATOMICS ? 'FORBIDDEN' : 'ACCEPTABLE_INTERESTING',
        desc:
          m === ATOMICS
            ? 'the second load saw an older value than the first: coherence broken'
            : 'plain loads promise no coherence in the JS memory model (x86 keeps it)',
      },
    ],
    init: (s) => m.store(s + X, 0),
    iterations: 20_000,
  });
}

export const CLASSIC: readonly LitmusTest[] = [
  sb(ATOMICS),
  sb(PLAIN),
  mp(ATOMICS),
  mp(PLAIN),
  lb(ATOMICS),
  lb(PLAIN),
  iriw(ATOMICS),
  iriw(PLAIN),
  w22(ATOMICS),
  w22(PLAIN),
  corr(ATOMICS),
  corr(PLAIN),
];
