import { describe, expect, it } from 'vitest';
import { LockStateError } from '../../src/errors.js';
import { atomic_read } from '../../src/sched/atomics.js';
import { CNT } from '../../src/sched/counters.js';
import { reset_counters, sum_counter, task_attach } from '../../src/sched/task.js';
import { arena_alloc, createArena, get_root } from '../../src/shm/arena.js';
import {
  ROOT,
  SRCU,
  SRCU_DATA,
  srcu_data_off,
  srcu_lock_count_off,
  srcu_struct_words,
  srcu_unlock_count_off,
} from '../../src/shm/layout/index.js';
import {
  call_srcu,
  get_state_synchronize_srcu,
  init_srcu_root,
  init_srcu_struct,
  poll_state_synchronize_srcu,
  srcu_barrier,
  srcu_gp_try_advance,
  srcu_pending_callbacks,
  srcu_process_callbacks,
  srcu_read_lock,
  srcu_read_lock_held,
  srcu_read_unlock,
  srcu_root,
  srcu_set_seq_for_test,
  start_poll_synchronize_srcu,
  synchronize_srcu,
} from '../../src/sync/srcu.js';
import { runThreads } from '../helpers/threads.js';

const THREADS = 'test/threads/srcu';

function setup(maxTasks = 8, padding = true): SharedArrayBuffer {
  const a = createArena({ sizeMiB: 4, maxTasks, padding });
  task_attach(0);
  return a.sab;
}

function flags(n: number): number[] {
  return Array.from({ length: n }, () => arena_alloc(1, 16));
}

describe('srcu: one task', () => {
  it('lays out one srcu_data per task, a cache line each when padding is on', () => {
    setup(8, false);
    expect(SRCU_DATA.SIZE).toBe(4);
    setup(8, true);
    expect(SRCU_DATA.SIZE).toBe(16);
    expect(srcu_data_off(1) - srcu_data_off(0)).toBe(16);
    expect(srcu_struct_words(8)).toBe(SRCU.SIZE + 8 * 16);
    expect(srcu_root()).toBe(0);
    const ssp = init_srcu_root();
    expect(get_root(ROOT.SRCU)).toBe(ssp);
    expect(srcu_root()).toBe(ssp);
    const other = init_srcu_struct();
    expect(other).toBeGreaterThanOrEqual(ssp + srcu_struct_words(8));
    expect(srcu_root()).toBe(ssp);
    expect(atomic_read(ssp + SRCU.nr_tasks)).toBe(8);
  });

  it('counts readers per task and index; nests across a flip; unlock misuse throws', () => {
    setup();
    const ssp = init_srcu_struct();
    const d = ssp + srcu_data_off(0);
    expect(srcu_read_lock_held(ssp)).toBe(false);
    const i0 = srcu_read_lock(ssp);
    expect(i0).toBe(0);
    expect(atomic_read(d + srcu_lock_count_off(0))).toBe(1);
    // A non-blocking grace period gets as far as the flip; our own reader holds it there.
    const c = start_poll_synchronize_srcu(ssp);
    expect(poll_state_synchronize_srcu(ssp, c)).toBe(false);
    expect(atomic_read(ssp + SRCU.srcu_idx)).toBe(1);
    const i1 = srcu_read_lock(ssp);
    expect(i1).toBe(1);
    expect(srcu_read_lock_held(ssp)).toBe(true);
    srcu_read_unlock(ssp, i0);
    expect(srcu_read_lock_held(ssp)).toBe(true);
    expect(() => srcu_read_unlock(ssp, 0)).toThrow(LockStateError);
    expect(() => srcu_read_unlock(ssp, 2)).toThrow(/allowed 0 or 1/);
    // The old index has drained: the grace period can end though a reader is still on idx 1.
    expect(srcu_gp_try_advance(ssp, c)).toBe(true);
    srcu_read_unlock(ssp, i1);
    expect(srcu_read_lock_held(ssp)).toBe(false);
    expect(atomic_read(d + srcu_unlock_count_off(1))).toBe(1);
  });

  it('synchronize_srcu inside its own section throws; of another srcu_struct it does not', () => {
    setup();
    reset_counters(1);
    const a = init_srcu_struct();
    const b = init_srcu_struct();
    const idx = srcu_read_lock(a);
    expect(() => synchronize_srcu(a)).toThrow(LockStateError);
    expect(() => srcu_barrier(a)).toThrow(/would deadlock/);
    synchronize_srcu(b);
    expect(atomic_read(b + SRCU.srcu_gp_seq)).toBe(2);
    srcu_read_unlock(a, idx);
    synchronize_srcu(a);
    expect(atomic_read(a + SRCU.srcu_gp_seq)).toBe(2);
    expect(sum_counter(CNT.SRCU_SYNC, 1)).toBe(2);
  });

  it('polled cookies and call_srcu callbacks: once each, in order, after the grace period', () => {
    setup();
    reset_counters(1);
    const ssp = init_srcu_struct();
    const c = get_state_synchronize_srcu(ssp);
    expect(poll_state_synchronize_srcu(ssp, c)).toBe(false);
    synchronize_srcu(ssp);
    expect(poll_state_synchronize_srcu(ssp, c)).toBe(true);

    const ran: number[] = [];
    const idx = srcu_read_lock(ssp);
    for (let i = 0; i < 5; i++) call_srcu(ssp, () => ran.push(i));
    expect(srcu_process_callbacks(ssp)).toBe(0);
    expect(srcu_process_callbacks(ssp)).toBe(0);
    expect(ran).toEqual([]);
    srcu_read_unlock(ssp, idx);
    expect(srcu_process_callbacks(ssp)).toBe(5);
    expect(ran).toEqual([0, 1, 2, 3, 4]);
    expect(srcu_process_callbacks(ssp)).toBe(0);
    call_srcu(ssp, () => ran.push(5));
    srcu_barrier(ssp);
    expect(ran).toEqual([0, 1, 2, 3, 4, 5]);
    expect(srcu_pending_callbacks(ssp)).toBe(0);
    expect(sum_counter(CNT.SRCU_CALLBACKS, 1)).toBe(6);
  });

  it('the grace-period sequence wraps without losing a cookie', () => {
    setup();
    const ssp = init_srcu_struct();
    srcu_set_seq_for_test(ssp, 0x7ffffffe);
    const c = get_state_synchronize_srcu(ssp);
    expect(c).toBe(-0x80000000);
    const ran: number[] = [];
    call_srcu(ssp, () => ran.push(1));
    expect(poll_state_synchronize_srcu(ssp, c)).toBe(false);
    srcu_barrier(ssp);
    expect(ran).toEqual([1]);
    expect(poll_state_synchronize_srcu(ssp, c)).toBe(true);
  });
});

describe('srcu: readers that block', () => {
  it('synchronize_srcu waits for readers sleeping inside their sections', async () => {
    const sab = setup();
    const ssp = init_srcu_struct();
    const started = flags(3);
    const ended = flags(3);
    const res = await runThreads(sab, THREADS, [
      ...[0, 1, 2].map((i) => ({
        taskId: i + 1,
        fn: 'blockingReader',
        args: {
          ssp,
          started: started[i],
          release: 0,
          holdMs: 20 + 15 * i,
          sliceMs: 5,
          ended: ended[i],
        },
      })),
      { taskId: 4, fn: 'syncSrcuAfterReaders', args: { ssp, started, ended } },
    ]);
    expect(res[3]).toBe(3);
    expect(sum_counter(CNT.SRCU_SYNC, 5)).toBe(1);
  });

  it('a reader that counts itself on the old index after a flip is waited for (scan 1)', async () => {
    const sab = setup();
    const ssp = init_srcu_struct();
    const [stalled, go, inside, ended] = flags(4) as [number, number, number, number];
    const res = await runThreads(sab, THREADS, [
      { taskId: 1, fn: 'staleSrcuReader', args: { ssp, stalled, go, inside, ended, holdMs: 30 } },
      { taskId: 2, fn: 'staleSrcuWriter', args: { ssp, stalled, go, inside, ended } },
    ]);
    const w = res[1] as { ended: number; idxBefore: number; idxAfterFirst: number };
    // The reader loaded index 0, then counted itself there after the flip to 1...
    expect(res[0]).toBe(0);
    expect([w.idxBefore, w.idxAfterFirst]).toEqual([0, 1]);
    // ...and the next grace period (which flips back to 0) still waited for it.
    expect(w.ended).toBe(1);
  });

  it('blocked readers of one srcu_struct do not stall call_srcu of another', async () => {
    const sab = setup();
    const sspA = init_srcu_struct();
    const sspB = init_srcu_struct();
    const started = flags(4);
    const ended = flags(4);
    const [release] = flags(1) as [number];
    const n = 25;
    const res = await runThreads(sab, THREADS, [
      ...[0, 1, 2, 3].map((i) => ({
        taskId: i + 1,
        fn: 'blockingReader',
        args: {
          ssp: sspA,
          started: started[i],
          release,
          holdMs: 0,
          sliceMs: 20 + 10 * i,
          ended: ended[i],
        },
      })),
      {
        taskId: 5,
        fn: 'callSrcuBesideBlockedReaders',
        args: { sspA, sspB, started, ended, release, n },
      },
    ]);
    const r = res[4] as {
      orderB: number[];
      endedWhenBDone: number;
      earlyA: number;
      pollEarlyA: boolean;
      orderA: number[];
      pollLateA: boolean;
      endedAtEnd: number;
    };
    const inOrder = Array.from({ length: n }, (_, i) => i);
    expect(r.orderB).toEqual(inOrder);
    expect(r.endedWhenBDone).toBe(0);
    expect(r.earlyA).toBe(0);
    expect(r.pollEarlyA).toBe(false);
    expect(r.orderA).toEqual(inOrder);
    expect(r.pollLateA).toBe(true);
    expect(r.endedAtEnd).toBe(4);
    expect(sum_counter(CNT.SRCU_CALLBACKS, 6)).toBe(2 * n);
  });
});
