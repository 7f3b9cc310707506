// One task per worker thread (and one for the main thread): the kernel's task_struct, as far as
// locking needs it.

import { RWSEM_WAITER } from './rwsem.js';
import { defineStruct } from './struct.js';

/** Entries in each task's flight recorder. A power of two. */
export const EVENT_RING_ENTRIES = 64;
/** Words per flight-recorder entry: [time µs (low 32 bits), event id, arg a, arg b]. */
export const EVENT_WORDS = 4;
/** Per-task counters (src/sched/counters.ts names them). */
export const NR_TASK_COUNTERS = 64;
/** Wait sites with a lost-wake-up counter each (WAIT_SITE below, index 0 unused). */
export const NR_WAIT_SITES = 7;

export const TASK = defineStruct('task_struct', {
  /**
   * The park word (futex-style parker):
   *   0  EMPTY     no wake-up pending
   *   1  NOTIFIED  a wake-up is pending; the next park() returns at once and clears it
   *  -1  PARKED    the owner sleeps in Atomics.wait; an unpark must notify
   * Only the owner moves EMPTY→PARKED and back; anyone may set NOTIFIED.
   */
  park: { words: 1, hot: true },
  /**
   * Pending signals, a bitmask (SIGKILL_PENDING, SIGNAL_PENDING). Set by kill() from any task,
   * never cleared while the task runs a killable wait (the kernel's fatal signals are sticky).
   */
  signal: 1,
  /** a word only this task touches: smp_mb() is an RMW on it */
  fence: 1,
  /**
   * A word nobody writes or notifies: preempt_delay_us() sleeps on it to model an involuntary
   * preemption (the task stays inside whatever section it is in; RCU sees no sleep).
   */
  preempt: 1,
  /** slot number, 0..max_tasks-1; the main thread is task 0 */
  id: 1,
  /** OS thread id, for CPU placement reports; 0 if unknown */
  tid: 1,
  /** which CPU the worker was pinned to, -1 none */
  cpu: 1,
  /** the state the task sleeps in: TASK_RUNNING / TASK_UNINTERRUPTIBLE / TASK_KILLABLE */
  state: 1,
  /** what the task waits for (an event id) and on which word, for the watchdog's report */
  wait_event: 1,
  wait_addr: 1,
  /** the object the wait is for, when it is not the word itself (a VMA whose readers a writer waits out), else 0 */
  wait_obj: 1,
  /**
   * RCU reader slot. memb flavour: 0 outside any read section; otherwise a snapshot of the
   * grace-period counter with the nesting count in the low bits. QSBR flavour: 0 offline;
   * otherwise the grace-period counter at this task's last quiescent state. Written by the
   * owner, read by synchronize_rcu() in other tasks.
   */
  rcu_ctr: { words: 1, hot: true },
  /** ring write index (monotonic; entry = index mod EVENT_RING_ENTRIES) */
  ring_head: 1,
  ring: EVENT_RING_ENTRIES * EVENT_WORDS,
  /** counters only this task writes (plain writes), summed by the harness after a run */
  counters: { words: NR_TASK_COUNTERS, hot: true },
  /** a progress tick the watchdog reads: bumped by the workload loop */
  progress: { words: 1, hot: true },
  /**
   * This task's rw_semaphore waiter node (src/shm/layout/rwsem.ts): a task sleeps on at most
   * one rwsem at a time, so its node lives here instead of on a stack.
   */
  rwsem_waiter: { struct: RWSEM_WAITER },
  /**
   * The address space this task runs in (the kernel's task->mm), 0 for a kernel thread or a
   * task of none: the OOM killer sends SIGKILL to every task whose mm is the victim's.
   */
  mm: 1,
  /**
   * Lost wake-ups of this task, one counter per WAIT_SITE (only the owner writes them): a wait
   * slice that timed out while the condition it waited for already held, and no wake-up came
   * within LOST_WAKE_GRACE_MS after. The kernel would have hung there.
   */
  lost_wake: NR_WAIT_SITES,
  /** the word the last lost wake-up waited on, and its WAIT_SITE (0 if none) */
  lost_wake_addr: 1,
  lost_wake_site: 1,
});

/**
 * Where a task can sleep waiting for another task's wake-up (TASK.lost_wake's index). Each is
 * a wait loop in src/sync whose slice time-out checks for a lost wake-up.
 */
export const WAIT_SITE = {
  NONE: 0,
  /** rcuwait_wait_event(): the VMA writer waiting for readers to leave */
  RCUWAIT: 1,
  /** rwsem_down_read_slowpath(): a queued reader */
  RWSEM_READ: 2,
  /** rwsem_down_write_slowpath(): a queued writer */
  RWSEM_WRITE: 3,
  /** synchronize_rcu()'s sleep on gp_futex */
  RCU_GP: 4,
  /** synchronize_srcu()'s sleep on the SRCU waiter word */
  SRCU_GP: 5,
  /** srcu_spf's kworker waiting for SRCU work (src/mm/srcu_work.ts) */
  SRCU_WORK: 6,
} as const;

export const WAIT_SITE_NAMES: readonly string[] = [
  'none',
  'rcuwait_wait_event',
  'rwsem_down_read_slowpath',
  'rwsem_down_write_slowpath',
  'synchronize_rcu',
  'synchronize_srcu',
  'srcu_kworker',
];

/** TASK.state values */
export const TASK_RUNNING = 0;
export const TASK_UNINTERRUPTIBLE = 1;
export const TASK_KILLABLE = 2;

/** TASK.signal bits */
export const SIGKILL_PENDING = 1 << 0;
