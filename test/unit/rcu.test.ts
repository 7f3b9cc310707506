import { describe, expect, it } from 'vitest';
import { LayoutError, LockStateError } from '../../src/errors.js';
import { atomic_read } from '../../src/sched/atomics.js';
import { CNT } from '../../src/sched/counters.js';
import { reset_counters, sum_counter, task_attach } from '../../src/sched/task.js';
import { arena_alloc, createArena, get_root, task_ptr } from '../../src/shm/arena.js';
import {
  RCU_GP_COUNT,
  RCU_GP_CTR_UNIT,
  RCU_NEST_MASK,
  RCU_STATE,
  ROOT,
  TASK,
} from '../../src/shm/layout/index.js';
import {
  call_rcu,
  get_state_synchronize_rcu,
  poll_state_synchronize_rcu,
  RCU_FLAVORS,
  type RcuFlavor,
  rcu_barrier,
  rcu_flavor,
  rcu_gp_try_advance,
  rcu_init,
  rcu_pending_callbacks,
  rcu_process_callbacks,
  rcu_quiescent_state,
  rcu_read_lock,
  rcu_read_lock_held,
  rcu_read_unlock,
  rcu_set_counters_for_test,
  rcu_state_ptr,
  rcu_thread_exit,
  rcu_thread_offline,
  rcu_thread_online,
  start_poll_synchronize_rcu,
  synchronize_rcu,
} from '../../src/sync/rcu.js';
import { runThreads } from '../helpers/threads.js';

const THREADS = 'test/threads/rcu';

function setupFlavor(
  maxTasks = 8,
  flavor: RcuFlavor = 'memb',
): { sab: SharedArrayBuffer; rsp: number } {
  const a = createArena({ sizeMiB: 4, maxTasks });
  task_attach(0);
  const rsp = rcu_init({ flavor });
  return { sab: a.sab, rsp };
}

const setup = setupFlavor;

function mySlot(): number {
  return atomic_read(task_ptr(0) + TASK.rcu_ctr);
}

/** Flags for one reader/writer pair, each on its own line. */
function flags(n: number): number[] {
  return Array.from({ length: n }, () => arena_alloc(1, 16));
}

describe('rcu: one task', () => {
  it('publishes rcu_state at ROOT.RCU, and refuses to run without it', () => {
    createArena({ sizeMiB: 1, maxTasks: 2 });
    task_attach(0);
    expect(() => rcu_read_lock()).toThrow(LayoutError);
    const rsp = rcu_init();
    expect(get_root(ROOT.RCU)).toBe(rsp);
    expect(rcu_state_ptr()).toBe(rsp);
    expect(atomic_read(rsp + RCU_STATE.gp_ctr)).toBe(RCU_GP_COUNT);
  });

  it('nests: the slot holds the counter snapshot and the depth; 0 outside', () => {
    const { rsp } = setup();
    expect(mySlot()).toBe(0);
    expect(rcu_read_lock_held()).toBe(false);
    rcu_read_lock();
    expect(mySlot()).toBe(atomic_read(rsp + RCU_STATE.gp_ctr));
    rcu_read_lock();
    rcu_read_lock();
    expect(mySlot() & RCU_NEST_MASK).toBe(3);
    expect(rcu_read_lock_held()).toBe(true);
    rcu_read_unlock();
    rcu_read_unlock();
    expect(mySlot() & RCU_NEST_MASK).toBe(1);
    rcu_read_unlock();
    expect(mySlot()).toBe(0);
    expect(rcu_read_lock_held()).toBe(false);
    expect(() => rcu_read_unlock()).toThrow(LockStateError);
  });

  it('synchronize_rcu with no readers returns after one grace period (one flip, gp_seq + 2)', () => {
    const { rsp } = setup();
    reset_counters(1);
    const ctr = atomic_read(rsp + RCU_STATE.gp_ctr);
    synchronize_rcu();
    expect(atomic_read(rsp + RCU_STATE.gp_ctr)).toBe(ctr + RCU_GP_CTR_UNIT);
    expect(atomic_read(rsp + RCU_STATE.gp_seq)).toBe(2);
    synchronize_rcu();
    expect(atomic_read(rsp + RCU_STATE.gp_seq)).toBe(4);
    expect(sum_counter(CNT.RCU_SYNC, 1)).toBe(2);
  });

  it('synchronize_rcu and rcu_barrier inside a read section throw LockStateError', () => {
    const { rsp } = setup();
    rcu_read_lock();
    expect(() => synchronize_rcu()).toThrow(LockStateError);
    expect(() => synchronize_rcu()).toThrow(/would wait for itself/);
    call_rcu(() => {});
    expect(() => rcu_barrier()).toThrow(LockStateError);
    expect(atomic_read(rsp + RCU_STATE.gp_seq)).toBe(0);
    rcu_read_unlock();
    rcu_barrier();
    expect(rcu_pending_callbacks()).toBe(0);
  });

  it('polled cookies: not done before a grace period, done after', () => {
    setup();
    const c = get_state_synchronize_rcu();
    expect(poll_state_synchronize_rcu(c)).toBe(false);
    synchronize_rcu();
    expect(poll_state_synchronize_rcu(c)).toBe(true);
    // Our own read section holds back a non-blocking advance; leaving it lets one through.
    rcu_read_lock();
    const d = start_poll_synchronize_rcu();
    expect(poll_state_synchronize_rcu(d)).toBe(false);
    expect(rcu_gp_try_advance(d)).toBe(false);
    rcu_read_unlock();
    expect(poll_state_synchronize_rcu(d)).toBe(false);
    expect(rcu_gp_try_advance(d)).toBe(true);
    expect(poll_state_synchronize_rcu(d)).toBe(true);
  });

  it('call_rcu: callbacks run once, in order, only after their grace period', () => {
    setup();
    reset_counters(1);
    const ran: number[] = [];
    expect(rcu_process_callbacks()).toBe(0);
    rcu_read_lock();
    for (let i = 0; i < 5; i++) call_rcu(() => ran.push(i));
    // Inside our own section no grace period can end: nothing runs.
    expect(rcu_process_callbacks()).toBe(0);
    expect(rcu_process_callbacks()).toBe(0);
    expect(ran).toEqual([]);
    rcu_read_unlock();
    expect(rcu_process_callbacks()).toBe(5);
    expect(ran).toEqual([0, 1, 2, 3, 4]);
    expect(rcu_process_callbacks()).toBe(0);
    // A callback that queues another: the second needs its own grace period.
    call_rcu(() => {
      ran.push(5);
      call_rcu(() => ran.push(6));
    });
    rcu_barrier();
    expect(ran).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(sum_counter(CNT.RCU_CALLBACKS, 1)).toBe(7);
    expect(rcu_pending_callbacks()).toBe(0);
  });

  it('grace periods and cookies keep working across the Int32 wrap of both counters', () => {
    const { rsp } = setup();
    // gp_ctr 0x7fff0001: the next flip makes it negative; gp_seq two short of 2^31.
    rcu_set_counters_for_test(0x7fff0001, 0x7ffffffe);
    const c = get_state_synchronize_rcu();
    expect(c).toBe(-0x80000000);
    expect(poll_state_synchronize_rcu(c)).toBe(false);
    synchronize_rcu();
    expect(atomic_read(rsp + RCU_STATE.gp_ctr)).toBe(0x80000001 | 0);
    expect(poll_state_synchronize_rcu(c)).toBe(true);
    // Unsigned wrap of gp_ctr (0xffff0001 → 0x00000001), with callbacks queued across it.
    rcu_set_counters_for_test(0xffff0001 | 0, -2);
    const ran: number[] = [];
    call_rcu(() => ran.push(1));
    rcu_read_lock();
    expect(rcu_read_lock_held()).toBe(true);
    expect(rcu_process_callbacks()).toBe(0);
    rcu_read_unlock();
    rcu_barrier();
    expect(ran).toEqual([1]);
    expect(atomic_read(rsp + RCU_STATE.gp_ctr)).toBe(0x00000001);
    expect(atomic_read(rsp + RCU_STATE.gp_seq)).toBe(0);
  });
});

describe('rcu qsbr: one task', () => {
  it('an online task: read sections touch no shared word; a quiescent state publishes gp_ctr', () => {
    const { rsp } = setup(8, 'qsbr');
    expect(rcu_flavor()).toBe('qsbr');
    rcu_thread_online();
    const ctr = atomic_read(rsp + RCU_STATE.gp_ctr);
    expect(mySlot()).toBe(ctr);
    rcu_read_lock();
    rcu_read_lock();
    expect(rcu_read_lock_held()).toBe(true);
    expect(mySlot()).toBe(ctr);
    rcu_read_unlock();
    rcu_read_unlock();
    expect(rcu_read_lock_held()).toBe(false);
    expect(() => rcu_read_unlock()).toThrow(LockStateError);
    // synchronize_rcu from an online task does not wait for itself, and leaves it online...
    synchronize_rcu();
    expect(mySlot()).toBe(atomic_read(rsp + RCU_STATE.gp_ctr));
    // ...its slot lags the counter until the next quiescent state.
    rcu_set_counters_for_test(0x7fff0001, atomic_read(rsp + RCU_STATE.gp_seq));
    expect(mySlot()).not.toBe(0x7fff0001);
    rcu_quiescent_state();
    expect(mySlot()).toBe(0x7fff0001);
    rcu_thread_offline();
    expect(mySlot()).toBe(0);
  });

  it('a task that is not online gets memb-style sections: the slot is set only inside', () => {
    const { rsp } = setup(8, 'qsbr');
    expect(mySlot()).toBe(0);
    rcu_read_lock();
    expect(mySlot()).toBe(atomic_read(rsp + RCU_STATE.gp_ctr));
    rcu_read_lock();
    rcu_read_unlock();
    expect(mySlot()).not.toBe(0);
    rcu_read_unlock();
    expect(mySlot()).toBe(0);
    rcu_quiescent_state(); // offline: a no-op
    expect(mySlot()).toBe(0);
  });

  it('debug checks: no quiescent state, offline or online inside a read section', () => {
    setup(8, 'qsbr');
    rcu_thread_online();
    rcu_read_lock();
    expect(() => rcu_quiescent_state()).toThrow(/inside an RCU read section/);
    expect(() => rcu_thread_offline()).toThrow(LockStateError);
    expect(() => synchronize_rcu()).toThrow(/would wait for itself/);
    rcu_read_unlock();
    rcu_thread_offline();
    rcu_read_lock();
    expect(() => rcu_thread_online()).toThrow(LockStateError);
    // A task leaving with a section open (it threw) clears its slot.
    rcu_thread_exit();
    expect(mySlot()).toBe(0);
    expect(rcu_read_lock_held()).toBe(false);
  });

  it('rcu_init refuses an unknown flavour', () => {
    createArena({ sizeMiB: 1, maxTasks: 2 });
    task_attach(0);
    expect(() => rcu_init({ flavor: 'tree' as RcuFlavor })).toThrow(/allowed: qsbr, memb/);
  });
});

describe('rcu qsbr: real threads', () => {
  it('a grace period waits for an online task to report a quiescent state, not for a sleeper', async () => {
    const { sab } = setup(8, 'qsbr');
    const [started, qs, release] = flags(3) as [number, number, number];
    const res = await runThreads(sab, THREADS, [
      { taskId: 1, fn: 'onlineSpinner', args: { started, spinMs: 30, qs, release } },
      { taskId: 2, fn: 'syncAfterStart', args: { started, qs, release } },
    ]);
    expect(res[1]).toBe(1);
  });

  it('parking inside a read section is reported (debug check)', async () => {
    const { sab } = setup(8, 'qsbr');
    const res = await runThreads(sab, THREADS, [{ taskId: 1, fn: 'parkInsideSection' }]);
    expect(res[0]).toMatch(/slept inside an RCU read section/);
  });
});

describe.each(RCU_FLAVORS)('rcu %s: real threads', (flavor) => {
  const setup = (maxTasks = 8) => setupFlavor(maxTasks, flavor);
  it('synchronize_rcu waits for a reader that entered before it', async () => {
    const { sab } = setup();
    const [started, ended] = flags(2) as [number, number];
    const res = await runThreads(sab, THREADS, [
      { taskId: 1, fn: 'holdReader', args: { started, release: 0, holdMs: 30, ended } },
      { taskId: 2, fn: 'syncAfterReader', args: { started, ended } },
    ]);
    expect(res[1]).toBe(1);
  });

  it('synchronize_rcu waits for its reader across the counter wrap points', async () => {
    const { sab, rsp } = setup();
    for (const [ctr, seq] of [
      [0x7fff0001, 0x7ffffffe],
      [0xffff0001 | 0, -2],
    ] as const) {
      rcu_set_counters_for_test(ctr, seq);
      const [started, ended] = flags(2) as [number, number];
      const res = await runThreads(sab, THREADS, [
        { taskId: 1, fn: 'holdReader', args: { started, release: 0, holdMs: 20, ended } },
        { taskId: 2, fn: 'syncAfterReader', args: { started, ended } },
      ]);
      expect(res[1]).toBe(1);
      expect(atomic_read(rsp + RCU_STATE.gp_ctr)).toBe((ctr + RCU_GP_CTR_UNIT) | 0);
    }
  });

  it("call_rcu callbacks wait for another task's reader, then run once each, in order", async () => {
    const { sab } = setup();
    const [started, release, ended] = flags(3) as [number, number, number];
    const res = await runThreads(sab, THREADS, [
      { taskId: 1, fn: 'holdReader', args: { started, release, holdMs: 0, ended } },
      { taskId: 2, fn: 'callbacksBehindReader', args: { started, release, n: 20 } },
    ]);
    const r = res[1] as {
      early: number;
      pollEarly: boolean;
      order: number[];
      pollLate: boolean;
      again: number;
    };
    expect(r.early).toBe(0);
    expect(r.pollEarly).toBe(false);
    expect(r.order).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(r.pollLate).toBe(true);
    expect(r.again).toBe(0);
    expect(sum_counter(CNT.RCU_CALLBACKS, 3)).toBe(20);
  });

  it('a reader whose stale snapshot equals the post-flip counter is still waited for', async () => {
    const { sab } = setup();
    // Start just below the unsigned wrap so the counters cross it on the way.
    rcu_set_counters_for_test(0xffff0001 | 0, 0);
    const [stalled, go, inside, ended] = flags(4) as [number, number, number, number];
    const res = await runThreads(sab, THREADS, [
      { taskId: 1, fn: 'staleReader', args: { stalled, go, inside, ended, holdMs: 30 } },
      { taskId: 2, fn: 'staleWriter', args: { stalled, go, inside, ended } },
    ]);
    const w = res[1] as { ended: number; snap: number; ctrAfter: number };
    expect(w.snap).toBe(0xffff0001 | 0);
    // The second grace period's flip landed exactly on the reader's stale snapshot...
    expect(w.ctrAfter).toBe(w.snap);
    // ...and synchronize_rcu still did not return before the reader left.
    expect(w.ended).toBe(1);
  });
});
