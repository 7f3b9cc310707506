// The stress run's control block (src/harness/stress): the quiescent-point barrier, the live
// mms of the run, and the chaos counters that are not per task. The stress engine allocates one
// from the arena and publishes it at ROOT.STRESS before any worker starts.

import { defineStruct } from './struct.js';

/** mm slots a stress run tracks (the main mm, plus one per exiter). */
export const STRESS_MM_SLOTS = 32;

export const STRESS = defineStruct('stress_control', {
  /**
   * The pause barrier, part 1: the generation of the pause the checker asked for (0: none yet).
   * The checker bumps it (RELEASE); workers read it between operations (ACQUIRE) and, when it
   * moved past the last one they served, arrive and wait for `resume` to reach it.
   */
  pause: { words: 1, hot: true },
  /** part 2: workers that arrived at the current pause (reset by the checker before bumping) */
  arrived: { words: 1, hot: true },
  /** part 3: the last pause generation released; workers wait on this word */
  resume: { words: 1, hot: true },
  /** workers that take part in pauses (hogs and the killer do not) */
  participants: 1,
  /** the run's seed (low 31 bits), for reports read from the buffer */
  seed: 1,
  /**
   * mm slots: slot i holds the mm its owner (the main thread for 0, exiter i for i >= 1) has
   * alive, or 0 while it has none. Written only by the owner, read by the checker at a pause.
   */
  mms: STRESS_MM_SLOTS,
});
