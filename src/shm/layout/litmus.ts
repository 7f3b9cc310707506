// Layout of the litmus runner's control block (src/harness/litmus/run.ts). A test's instances
// (its own shared words and result words) are arrays the runner allocates beside it; what each
// instance's words mean is the test's business (src/harness/litmus/catalogue/).

import { defineStruct } from './struct.js';

export const LITMUS_CTL = defineStruct('litmus_control', {
  /**
   * The round barrier: arrivals so far. Phase p (1, 2, ...) is open once it reaches
   * actors * p; rounds use two phases each (start, end), so every round gets a fresh barrier.
   */
  barrier: { words: 1, hot: true },
  /**
   * 1: run the next round, 0: stop. Written only by actor 0 before it arrives at a round's
   * start barrier, read by every actor after it passes that barrier, so all agree.
   */
  go: { words: 1, hot: true },
  /** rounds run so far (written by actor 0) */
  rounds: 1,
  /**
   * Set to 1 by any actor whose tally met an outcome the run stops on (a FORBIDDEN one, or the
   * one the test hopes to see) when the run was asked to stop at the first; actor 0 reads it when
   * it decides on the next round.
   */
  seen: { words: 1, hot: true },
});
