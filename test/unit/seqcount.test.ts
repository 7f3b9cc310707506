import { beforeEach, describe, expect, it } from 'vitest';
import { LockStateError } from '../../src/errors.js';
import { atomic_read, atomic_set } from '../../src/sched/atomics.js';
import { CNT } from '../../src/sched/counters.js';
import { sum_counter, task_attach } from '../../src/sched/task.js';
import { arena_alloc, createArena } from '../../src/shm/arena.js';
import { LINE_WORDS, SEQCOUNT, SPINLOCK } from '../../src/shm/layout/index.js';
import {
  raw_read_seqcount,
  raw_seqcount_try_begin,
  raw_write_seqcount_begin,
  raw_write_seqcount_end,
  read_seqcount_begin,
  read_seqcount_retry,
  seqcount_assert_write_locked,
  seqcount_init,
  seqcount_write_active,
  write_seqcount_begin,
  write_seqcount_end,
} from '../../src/sync/seqcount.js';
import { spin_lock_init } from '../../src/sync/spinlock.js';
import { runThreads } from '../helpers/threads.js';
import type { ReaderResult } from '../threads/seqcount.js';

let s = 0;

beforeEach(() => {
  createArena({ sizeMiB: 1, maxTasks: 2 });
  task_attach(0);
  s = arena_alloc(SEQCOUNT.SIZE, LINE_WORDS);
  seqcount_init(s);
});

describe('seqcount_t', () => {
  it('starts even at 0; a write section makes it odd, then even again', () => {
    expect(raw_read_seqcount(s)).toBe(0);
    expect(read_seqcount_begin(s)).toBe(0);
    expect(seqcount_write_active(s)).toBe(false);
    write_seqcount_begin(s);
    expect(raw_read_seqcount(s)).toBe(1);
    expect(seqcount_write_active(s)).toBe(true);
    expect(() => seqcount_assert_write_locked(s)).not.toThrow();
    write_seqcount_end(s);
    expect(raw_read_seqcount(s)).toBe(2);
    expect(() => seqcount_assert_write_locked(s)).toThrow(LockStateError);
  });

  it('read_seqcount_retry is false with no writer, true once a writer entered', () => {
    const start = read_seqcount_begin(s);
    expect(read_seqcount_retry(s, start)).toBe(false);
    raw_write_seqcount_begin(s);
    expect(read_seqcount_retry(s, start)).toBe(true);
    raw_write_seqcount_end(s);
    expect(read_seqcount_retry(s, start)).toBe(true);
    expect(read_seqcount_retry(s, read_seqcount_begin(s))).toBe(false);
  });

  it('raw_seqcount_try_begin returns the even value, or -1 (odd) while a writer is inside', () => {
    expect(raw_seqcount_try_begin(s)).toBe(0);
    write_seqcount_begin(s);
    const t = raw_seqcount_try_begin(s);
    expect(t).toBe(-1);
    expect(t & 1).toBe(1);
    // -1 never passes a retry check, whatever even value the sequence holds afterwards.
    write_seqcount_end(s);
    expect(read_seqcount_retry(s, t)).toBe(true);
    expect(raw_seqcount_try_begin(s)).toBe(2);
  });

  it('wraps as a u32: 0xFFFFFFFE → 0xFFFFFFFF (odd) → 0 → 1 → 2', () => {
    atomic_set(s + SEQCOUNT.sequence, 0xfffffffe | 0);
    const start = read_seqcount_begin(s);
    expect(start >>> 0).toBe(0xfffffffe);
    expect(raw_seqcount_try_begin(s) >>> 0).toBe(0xfffffffe);
    write_seqcount_begin(s);
    expect(raw_read_seqcount(s) >>> 0).toBe(0xffffffff);
    expect(seqcount_write_active(s)).toBe(true);
    expect(raw_seqcount_try_begin(s)).toBe(-1);
    expect(read_seqcount_retry(s, start)).toBe(true);
    write_seqcount_end(s);
    expect(raw_read_seqcount(s)).toBe(0);
    expect(seqcount_write_active(s)).toBe(false);
    expect(read_seqcount_retry(s, start)).toBe(true);
    const again = read_seqcount_begin(s);
    expect(again).toBe(0);
    // Later than the old start in u32 order: the difference, not `<`, says so.
    expect(((again - start) | 0) > 0).toBe(true);
    write_seqcount_begin(s);
    write_seqcount_end(s);
    expect(raw_read_seqcount(s)).toBe(2);
    expect(read_seqcount_retry(s, again)).toBe(true);
  });

  it('throws LockStateError on an unbalanced begin or end, leaving the sequence alone', () => {
    expect(() => write_seqcount_end(s)).toThrow(LockStateError);
    expect(raw_read_seqcount(s)).toBe(0);
    write_seqcount_begin(s);
    expect(() => write_seqcount_begin(s)).toThrow(/already odd/);
    expect(raw_read_seqcount(s)).toBe(1);
    write_seqcount_end(s);
    expect(raw_read_seqcount(s)).toBe(2);
  });
});

describe('seqcount_t on real threads', () => {
  it('readers never accept a torn snapshot (2 writers, 4 readers, sequence wraps)', async () => {
    const a = createArena({ sizeMiB: 4, maxTasks: 8 });
    task_attach(0);
    const seq = arena_alloc(SEQCOUNT.SIZE, LINE_WORDS);
    const lock = arena_alloc(SPINLOCK.SIZE, LINE_WORDS);
    const n = 8;
    const data = arena_alloc(n, LINE_WORDS);
    const writersDone = arena_alloc(1, LINE_WORDS);
    spin_lock_init(lock);
    // Start 2000 below the wrap, so the sequence crosses 0xFFFFFFFF → 0 during the run.
    const s0 = -2000;
    atomic_set(seq + SEQCOUNT.sequence, s0);
    const writes = 15_000;
    const common = { s: seq, lock, data, n, s0, writersDone, nWriters: 2 };
    const res = await runThreads(a.sab, 'test/threads/seqcount', [
      { taskId: 1, fn: 'seqWriter', args: { ...common, writes } },
      { taskId: 2, fn: 'seqWriter', args: { ...common, writes } },
      { taskId: 3, fn: 'seqReader', args: { ...common, useTryBegin: false } },
      { taskId: 4, fn: 'seqReader', args: { ...common, useTryBegin: false } },
      { taskId: 5, fn: 'seqReader', args: { ...common, useTryBegin: true } },
      { taskId: 6, fn: 'seqReader', args: { ...common, useTryBegin: true } },
    ]);
    const readers = res.slice(2) as ReaderResult[];
    const total = (f: (x: ReaderResult) => number): number => readers.reduce((t, x) => t + f(x), 0);
    console.log(
      `seqcount: accepted ${total((x) => x.accepted)}, retried ${total((x) => x.retries)}, ` +
        `try_begin busy ${total((x) => x.busy)}, waited for even ${sum_counter(CNT.SEQCOUNT_READ_WAIT, 8)}`,
    );
    expect(readers.map((x) => x.firstTorn)).toEqual(['', '', '', '']);
    expect(total((x) => x.torn)).toBe(0);
    expect(readers.every((x) => x.accepted > 0)).toBe(true);
    expect(atomic_read(data)).toBe(2 * writes);
    expect(raw_read_seqcount(seq)).toBe((s0 + 4 * writes) | 0);
    expect(((raw_read_seqcount(seq) - s0) | 0) >>> 0).toBe(4 * writes);
  });
});
