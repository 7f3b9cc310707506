// Layout of RCU (src/sync/rcu.ts) and SRCU (src/sync/srcu.ts).
//
// The per-task RCU reader slot is TASK.rcu_ctr (src/shm/layout/task.ts). memb flavour: a
// snapshot of rcu_state.gp_ctr with the nesting count in its low RCU_NEST_BITS bits, or 0
// outside a read section. QSBR flavour: 0 while the task is offline, else the gp_ctr value it
// last reported a quiescent state with (nesting field 1; the depth is task-local). Per-task SRCU counters live at the end of their srcu_struct, one srcu_data per task
// slot (srcu_data_off).

import { defineStruct } from './struct.js';
import { SPINLOCK } from './sync.js';

/** Low bits of an RCU counter word that count read-lock nesting (liburcu's URCU_GP_CTR_NEST_MASK). */
export const RCU_NEST_BITS = 16;
/** One level of read-lock nesting (liburcu's URCU_GP_COUNT). */
export const RCU_GP_COUNT = 1;
/** The nesting field of a reader slot: 0 = quiescent, 1..RCU_NEST_MASK = nesting depth. */
export const RCU_NEST_MASK = (1 << RCU_NEST_BITS) - 1;
/** What one flip adds to rcu_state.gp_ctr: the counter field is the bits above the nesting. */
export const RCU_GP_CTR_UNIT = 1 << RCU_NEST_BITS;

/** rcu_state.gp_futex / srcu_struct.srcu_waiting: a grace-period waiter sleeps on the word. */
export const GP_FUTEX_IDLE = 0;
export const GP_FUTEX_WAITING = -1;

/** Grace-period state machine phases (rcu_state.gp_phase, srcu_struct.srcu_gp_phase). */
export const GP_IDLE = 0;
/** Started; waiting for readers that hold a snapshot older than the current counter/index. */
export const GP_WAIT_STALE = 1;
/** Flipped; waiting for readers that entered before the flip. */
export const GP_WAIT_FLIP = 2;

export const RCU_STATE = defineStruct('rcu_state', {
  /**
   * The grace-period counter readers copy into their slot: (flips << RCU_NEST_BITS) |
   * RCU_GP_COUNT. Its nesting field is always 1, so the outermost rcu_read_lock stores it as is.
   * Written only by the grace-period owner (under `lock`), adding RCU_GP_CTR_UNIT per flip; it
   * wraps freely (only equality with a reader's snapshot is ever tested). Read by every reader.
   */
  gp_ctr: { words: 1, hot: true },
  /**
   * GP_FUTEX_WAITING while a synchronize_rcu() sleeps on this word waiting for readers; any
   * outermost rcu_read_unlock() that sees it resets it to GP_FUTEX_IDLE and wakes the sleeper.
   */
  gp_futex: { words: 1, hot: true },
  /** serializes grace-period work: synchronize_rcu() and the non-blocking advance */
  lock: { struct: SPINLOCK, hot: true },
  /**
   * Grace-period sequence (the kernel's rcu_state.gp_seq with one state bit): even = idle,
   * odd = a grace period is in progress; +1 at start, +1 at end. Written under `lock`, read
   * by anyone taking or polling a cookie. Wraps; compared by signed difference. Shares its line
   * with gp_phase, which only the writer of gp_seq touches.
   */
  gp_seq: 1,
  /** GP_IDLE / GP_WAIT_STALE / GP_WAIT_FLIP; only touched under `lock` */
  gp_phase: 1,
  /**
   * RCU_FLAG_QSBR | RCU_FLAG_DEBUG, set once by rcu_init() before any task runs; each thread
   * reads it when it first uses this rcu_state.
   */
  flags: 1,
});

/** rcu_state.flags: the QSBR flavour (else memb). */
export const RCU_FLAG_QSBR = 1 << 0;
/** rcu_state.flags: debug checks (QSBR: no quiescent state or sleep inside a read section). */
export const RCU_FLAG_DEBUG = 1 << 1;

export const SRCU = defineStruct('srcu_struct', {
  /** the index (0/1) new readers count themselves in; flipped by the grace-period owner */
  srcu_idx: { words: 1, hot: true },
  /**
   * GP_FUTEX_WAITING while synchronize_srcu() sleeps on this word; srcu_read_unlock() resets
   * it and wakes the sleeper. Read by every unlock, rarely written; with padding on it sits
   * alone on the line after srcu_idx's (a hot field takes its whole line).
   */
  srcu_waiting: 1,
  /** serializes grace-period work on this srcu_struct */
  lock: { struct: SPINLOCK, hot: true },
  /** grace-period sequence, as rcu_state.gp_seq; written under `lock` */
  srcu_gp_seq: 1,
  /** GP_IDLE / GP_WAIT_STALE / GP_WAIT_FLIP; only touched under `lock` */
  srcu_gp_phase: 1,
  /** number of srcu_data entries that follow the struct (max_tasks at init) */
  nr_tasks: 1,
});

/**
 * One task's SRCU counters (the kernel's per-CPU srcu_data; here per task, so a reader never
 * migrates between counters). Four words, each written only by its task:
 *   srcu_count + 0, + 1   srcu_lock_count[idx]    (srcu_lock_count_off)
 *   srcu_count + 2, + 3   srcu_unlock_count[idx]  (srcu_unlock_count_off)
 * Monotonic, wrapping Int32 counters. With padding on, each task's block owns a cache line.
 */
export const SRCU_DATA = defineStruct('srcu_data', {
  srcu_count: { words: 4, hot: true },
});

/** Offset within srcu_data of srcu_lock_count[idx]. */
export function srcu_lock_count_off(idx: number): number {
  return SRCU_DATA.srcu_count + idx;
}

/** Offset within srcu_data of srcu_unlock_count[idx]. */
export function srcu_unlock_count_off(idx: number): number {
  return SRCU_DATA.srcu_count + 2 + idx;
}

/** Offset within an srcu_struct of task `id`'s srcu_data. */
export function srcu_data_off(id: number): number {
  return SRCU.SIZE + id * SRCU_DATA.SIZE;
}

/** Words an srcu_struct with `nrTasks` per-task entries takes. */
export function srcu_struct_words(nrTasks: number): number {
  return SRCU.SIZE + nrTasks * SRCU_DATA.SIZE;
}
