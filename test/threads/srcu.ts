// Thread bodies for test/unit/srcu.test.ts: SRCU readers that block inside their sections.
// (The poisoned-object torture for SRCU is in test/threads/rcu.ts, flavor 'srcu'.)

import { atomic_read, atomic_set, SP_RMW, set_schedule_hook } from '../../src/sched/atomics.js';
import { check_abort, current_id, park } from '../../src/sched/task.js';
import { SRCU, srcu_data_off, srcu_lock_count_off } from '../../src/shm/layout/index.js';
import {
  call_srcu,
  poll_state_synchronize_srcu,
  srcu_barrier,
  srcu_process_callbacks,
  srcu_read_lock,
  srcu_read_unlock,
  start_poll_synchronize_srcu,
  synchronize_srcu,
} from '../../src/sync/srcu.js';
import { sleepMs, waitFor } from './rcu.js';

/**
 * Enter a read section of ssp, raise `started`, then block: sleep in park() slices of sliceMs
 * until `release` is set (or for holdMs if release is 0). Raise `ended`, then leave.
 */
export function blockingReader(a: {
  ssp: number;
  started: number;
  release: number;
  holdMs: number;
  sliceMs: number;
  ended: number;
}): number {
  const idx = srcu_read_lock(a.ssp);
  atomic_set(a.started, 1);
  if (a.release !== 0) {
    while (atomic_read(a.release) === 0) {
      park(a.sliceMs);
      check_abort();
    }
  } else {
    sleepMs(a.holdMs);
  }
  atomic_set(a.ended, 1);
  srcu_read_unlock(a.ssp, idx);
  return idx;
}

/** Once every reader is inside, synchronize_srcu(ssp); report how many sections had ended. */
export function syncSrcuAfterReaders(a: {
  ssp: number;
  started: number[];
  ended: number[];
}): number {
  for (const s of a.started) waitFor(s, 1);
  synchronize_srcu(a.ssp);
  return a.ended.reduce((n, e) => n + atomic_read(e), 0);
}

/**
 * Readers are blocked inside sections of `sspA` until we set `release`. Queue n callbacks on
 * the unrelated `sspB` and wait for them all (srcu_barrier), then queue n on sspA and show that
 * processing runs none of them while the readers are inside; release the readers; srcu_barrier
 * on sspA runs them.
 */
export function callSrcuBesideBlockedReaders(a: {
  sspA: number;
  sspB: number;
  started: number[];
  ended: number[];
  release: number;
  n: number;
}): {
  orderB: number[];
  endedWhenBDone: number;
  earlyA: number;
  pollEarlyA: boolean;
  orderA: number[];
  pollLateA: boolean;
  endedAtEnd: number;
} {
  for (const s of a.started) waitFor(s, 1);
  const orderB: number[] = [];
  for (let i = 0; i < a.n; i++) call_srcu(a.sspB, () => orderB.push(i));
  srcu_barrier(a.sspB);
  const endedWhenBDone = a.ended.reduce((n, e) => n + atomic_read(e), 0);

  const orderA: number[] = [];
  for (let i = 0; i < a.n; i++) call_srcu(a.sspA, () => orderA.push(i));
  const cookie = start_poll_synchronize_srcu(a.sspA);
  let earlyA = 0;
  for (let k = 0; k < 50; k++) {
    earlyA += srcu_process_callbacks(a.sspA);
    if (k % 10 === 0) park(1);
  }
  const pollEarlyA = poll_state_synchronize_srcu(a.sspA, cookie);
  atomic_set(a.release, 1);
  srcu_barrier(a.sspA);
  return {
    orderB,
    endedWhenBDone,
    earlyA,
    pollEarlyA,
    orderA,
    pollLateA: poll_state_synchronize_srcu(a.sspA, cookie),
    endedAtEnd: a.ended.reduce((n, e) => n + atomic_read(e), 0),
  };
}

/**
 * The late reader: a schedule hook stops srcu_read_lock() between its load of srcu_idx and its
 * increment of srcu_lock_count[idx], until the writer says `go`; then it stays inside holdMs.
 */
export function staleSrcuReader(a: {
  ssp: number;
  stalled: number;
  go: number;
  inside: number;
  ended: number;
  holdMs: number;
}): number {
  const idx = atomic_read(a.ssp + SRCU.srcu_idx);
  const myLock = a.ssp + srcu_data_off(current_id()) + srcu_lock_count_off(idx);
  set_schedule_hook((kind, what) => {
    if (kind !== SP_RMW || what !== myLock) return;
    set_schedule_hook(null);
    atomic_set(a.stalled, 1);
    waitFor(a.go, 1);
  });
  const got = srcu_read_lock(a.ssp);
  atomic_set(a.inside, 1);
  sleepMs(a.holdMs);
  atomic_set(a.ended, 1);
  srcu_read_unlock(a.ssp, got);
  return got;
}

/**
 * The writer against staleSrcuReader: one grace period while the reader is stalled (it has
 * loaded the index but not counted itself yet), so the reader then counts itself on the index
 * that is no longer current; then a second synchronize_srcu. Returns the reader's `ended` and
 * the index before and after.
 */
export function staleSrcuWriter(a: {
  ssp: number;
  stalled: number;
  go: number;
  inside: number;
  ended: number;
}): { ended: number; idxBefore: number; idxAfterFirst: number } {
  waitFor(a.stalled, 1);
  const idxBefore = atomic_read(a.ssp + SRCU.srcu_idx);
  synchronize_srcu(a.ssp);
  const idxAfterFirst = atomic_read(a.ssp + SRCU.srcu_idx);
  atomic_set(a.go, 1);
  waitFor(a.inside, 1);
  synchronize_srcu(a.ssp);
  return { ended: atomic_read(a.ended), idxBefore, idxAfterFirst };
}
