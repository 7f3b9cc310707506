// Thread bodies for test/unit/seqcount.test.ts.
//
// The protected data: `n` words, all equal to the number of completed writes. Writers (any
// number, serialised by a spinlock) rewrite every word under write_seqcount_begin/end. A reader
// whose snapshot passes read_seqcount_retry must see every word equal, and equal to the number
// of writes the sequence it started from says were done: (start - s0) / 2, in u32 arithmetic.

import { atomic_fetch_add, atomic_read, atomic_set, cpu_relax } from '../../src/sched/atomics.js';
import { check_abort } from '../../src/sched/task.js';
import {
  raw_seqcount_try_begin,
  read_seqcount_begin,
  read_seqcount_retry,
  write_seqcount_begin,
  write_seqcount_end,
} from '../../src/sync/seqcount.js';
import { spin_lock, spin_unlock } from '../../src/sync/spinlock.js';

export interface SeqArgs {
  readonly s: number;
  readonly lock: number;
  readonly data: number;
  readonly n: number;
  /** the sequence's value before the first write */
  readonly s0: number;
  /** a word the writers bump when they finish */
  readonly writersDone: number;
  readonly nWriters: number;
}

export function seqWriter(args: SeqArgs & { writes: number }): number {
  const { s, lock, data, n, writes } = args;
  let x = 0x2545f491 ^ data;
  for (let i = 0; i < writes; i++) {
    spin_lock(lock);
    write_seqcount_begin(s);
    const v = (atomic_read(data) + 1) | 0;
    for (let j = 0; j < n; j++) {
      atomic_set(data + j, v);
      // Now and then linger inside the section, so readers find it odd and must wait.
      if ((x & 31) === 0) cpu_relax();
    }
    write_seqcount_end(s);
    spin_unlock(lock);
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    for (let k = x & 15; k > 0; k--) cpu_relax();
  }
  atomic_fetch_add(args.writersDone, 1);
  return writes;
}

export interface ReaderResult {
  readonly accepted: number;
  readonly retries: number;
  /** try_begin found a writer inside */
  readonly busy: number;
  /** accepted snapshots whose words differ or disagree with the sequence: must be 0 */
  readonly torn: number;
  readonly firstTorn: string;
}

/** Read snapshots until every writer is done (plus one last read). */
export function seqReader(args: SeqArgs & { useTryBegin: boolean }): ReaderResult {
  const { s, data, n, s0 } = args;
  let accepted = 0;
  let retries = 0;
  let busy = 0;
  let torn = 0;
  let firstTorn = '';
  const snap = new Int32Array(n);
  let streak = 0;
  for (let i = 0; ; i++) {
    if ((i & 1023) === 0) check_abort();
    const last = atomic_read(args.writersDone) === args.nWriters;
    let start: number;
    if (args.useTryBegin) {
      start = raw_seqcount_try_begin(s);
      if (start === -1) {
        busy++;
        // A writer is inside: try again soon; after a while wait (and sleep) for it instead.
        if (++streak < 256) {
          cpu_relax();
          continue;
        }
        start = read_seqcount_begin(s);
      }
      streak = 0;
    } else {
      start = read_seqcount_begin(s);
    }
    for (let j = 0; j < n; j++) snap[j] = atomic_read(data + j);
    if (read_seqcount_retry(s, start)) {
      retries++;
    } else {
      accepted++;
      const want = ((start - s0) | 0) >>> 1;
      let ok = true;
      for (let j = 0; j < n; j++) if (snap[j] !== want) ok = false;
      if (!ok) {
        torn++;
        if (firstTorn === '') firstTorn = `start ${start >>> 0} want ${want}: ${snap.join(',')}`;
      }
      if (last) break;
    }
  }
  return { accepted, retries, busy, torn, firstTorn };
}
