// The buffer header: word 0 onward. Word 0 itself is never handed out, so a pointer of 0 is NULL.

import { defineStruct } from './struct.js';

/** 'FLT1' in ASCII: the first word of every faultline buffer. */
export const FAULTLINE_MAGIC = 0x31544c46;
/** Bump when the header itself changes shape; struct changes are caught by the fingerprint. */
export const LAYOUT_VERSION = 1;

/** Well-known root pointers: subsystems publish their global objects here at creation. */
export const ROOT = {
  /** rcu_state (src/sync/rcu.ts) */
  RCU: 0,
  /** the SRCU domain used by srcu_spf (src/sync/srcu.ts) */
  SRCU: 1,
  /** the mm model's globals: slabs, mm table (src/mm) */
  MM: 2,
  /** the frame pool (src/mm/frames.ts) */
  FRAMES: 3,
  /** the harness's run control block (src/harness) */
  RUN: 4,
  /** refcount warning counters (src/sync/refcount.ts) */
  REFCOUNT_WARN: 5,
  /** the controlled scheduler's block (src/sched/control.ts) */
  CTL: 6,
  /** the stress run's control block (src/harness/stress) */
  STRESS: 12,
} as const;
export const NR_ROOTS = 16;

/** Header flag bits. */
export const HDR_FLAG_PADDING = 1 << 0;
/**
 * rw_semaphore writers queue at once instead of spinning on the owner first: the kernel built
 * without CONFIG_RWSEM_SPIN_ON_OWNER. Read by rwsem_down_write_slowpath (src/sync/rwsem.ts).
 */
export const HDR_FLAG_RWSEM_NO_SPIN = 1 << 1;

export const HEADER = defineStruct('header', {
  /** FAULTLINE_MAGIC */
  magic: 1,
  /** LAYOUT_VERSION */
  version: 1,
  /** layoutFingerprint() of the creator; attach refuses another one */
  fingerprint: 1,
  /** HDR_FLAG_* */
  flags: 1,
  /** total words in the buffer */
  total_words: 1,
  /** number of task slots */
  max_tasks: 1,
  /** word index of task slot 0 */
  task_base: 1,
  /** words per task slot */
  task_words: 1,
  /** the bump allocator's next free word; atomic add */
  bump: { words: 1, hot: true },
  /**
   * Non-zero: every task must stop waiting and unwind with HarnessAbort. Set by the watchdog or
   * when a worker fails; checked by every bounded wait loop.
   */
  abort: { words: 1, hot: true },
  /** the bug catalogue's injected mask (src/sched/bugs.ts BUG.*); 0 runs the fixed code */
  bugs: 1,
  /** root pointers, indexed by ROOT.* */
  roots: 16,
});
