// A litmus test, in the style of jcstress and klitmus7: two to four actors (small functions on a
// few shared words), an optional arbiter that reads the final state, and a table of outcomes,
// each ACCEPTABLE, ACCEPTABLE_INTERESTING or FORBIDDEN with a one-line reason.
//
// An instance of a test is `words` shared words (the test's state) and `results` result words.
// The runner (run.ts) lays many instances side by side in the buffer (jcstress's striding) and
// has every actor, on its own worker thread, walk the same instances in the same order after a
// fresh barrier, so that the actors meet on the same instance often. After the round, the
// arbiter runs on each instance, the result words form the outcome ("r0, r1, ..."), and the
// instance is reset for the next round.
//
// Worker threads load JavaScript: the actors run in the workers, so a test lives in a module
// that Node can import (a compiled .js file), and names that module in `module`
// (`import.meta.url` from the defining module). The runner imports it in each worker and finds
// the test by name among its exports.

import type { BugName } from '../../sched/bugs.js';

export const EXPECTS = ['ACCEPTABLE', 'ACCEPTABLE_INTERESTING', 'FORBIDDEN'] as const;
export type Expect = (typeof EXPECTS)[number];

/** One row of a test's outcome table. */
export interface OutcomeSpec {
  /**
   * The result words this row matches, comma-separated: "0, 1", with `*` for any value
   * ("1, *"). Rows are tried in order; the first that matches classifies the outcome.
   */
  readonly id: string;
  readonly expect: Expect;
  /** one line: why this outcome is allowed, interesting or forbidden */
  readonly desc: string;
}

/**
 * An actor or the arbiter: `s` is the word index of the instance's shared words, `r` the word
 * index of its result words. It writes its results with set_result(r + k, v).
 */
export type LitmusFn = (s: number, r: number) => void;

export interface LitmusSpec {
  /** a short name users type (`faultline litmus NAME`): letters, digits, `.`, `+`, `-`, `_` */
  readonly name: string;
  /** one line: what the test shows */
  readonly description: string;
  /** the file URL of the module that exports this test (usually `import.meta.url`) */
  readonly module: string;
  /** shared words per instance (state) */
  readonly words: number;
  /** result words per instance: the outcome is r0, r1, ... in order */
  readonly results: number;
  /**
   * Once per instance, on the main thread before any actor starts: allocate what the instance
   * needs (arena_alloc, init_srcu_struct, ...) and store pointers in its shared words. Optional.
   */
  readonly prepare?: LitmusFn;
  /**
   * Before every round, for every instance: put its shared words in their initial state (the
   * runner has zeroed its result words). Runs on an actor's thread after the previous round's
   * barrier, so plain stores are fine. Optional: words start at 0 after prepare.
   */
  readonly init?: LitmusFn;
  /** two to four actors, each on its own worker thread */
  readonly actors: readonly LitmusFn[];
  /** reads the final state of an instance after every actor finished with it (optional) */
  readonly arbiter?: LitmusFn;
  readonly outcomes: readonly OutcomeSpec[];
  /**
   * A broken variant: these catalogue bugs (src/sched/bugs.ts) are switched on in the buffer,
   * and the test PASSES only if a FORBIDDEN outcome shows up (the bug is demonstrable). A fixed
   * test (no bugs) passes only if no FORBIDDEN outcome shows up.
   */
  readonly bugs?: readonly BugName[];
  /** instances per round (default 256); fewer for tests whose actors block or sleep */
  readonly instances?: number;
  /** total instances to run when the caller gives no --iterations (default 100_000) */
  readonly iterations?: number;
  /**
   * When set, the outcome this names (an outcome id) is one the run hopes to see (the plain
   * store-buffering outcome); the report says whether it was seen. It never fails a run.
   */
  readonly hopeToSee?: string;
  /**
   * Whether the actors meet on every instance before running it (default true): they then
   * collide on the same instance far more often, at the cost of one atomic add and a spin per
   * instance. false lets them run through a round unsynchronised (the round barrier only).
   */
  readonly sync?: boolean;
}

/** A checked litmus test: what defineLitmus returns and the runner accepts. */
export interface LitmusTest extends LitmusSpec {
  readonly instances: number;
  readonly iterations: number;
  readonly bugs: readonly BugName[];
}

export const MIN_ACTORS = 2;
export const MAX_ACTORS = 4;
export const MAX_RESULTS = 8;
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9.+_-]{0,63}$/;

/** Match an outcome against an id pattern ("1, *"). */
export function outcomeMatches(pattern: string, outcome: readonly number[]): boolean {
  const fields = pattern.split(',').map((f) => f.trim());
  if (fields.length !== outcome.length) return false;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]!;
    if (f !== '*' && Number(f) !== outcome[i]) return false;
  }
  return true;
}

/** The row that classifies an outcome; an outcome no row matches is FORBIDDEN (unexpected). */
export function classify(
  test: Pick<LitmusSpec, 'outcomes'>,
  outcome: readonly number[],
): { expect: Expect; desc: string } {
  for (const o of test.outcomes) {
    if (outcomeMatches(o.id, outcome)) return { expect: o.expect, desc: o.desc };
  }
  return { expect: 'FORBIDDEN', desc: 'not in the test’s outcome table: unexpected' };
}

/** Check a spec and fill in the defaults. Throws a RangeError naming the bad field. */
export function defineLitmus(spec: LitmusSpec): LitmusTest {
  const bad = (what: string): never => {
    throw new RangeError(`litmus test ${JSON.stringify(spec.name)}: ${what}`);
  };
  if (typeof spec.name !== 'string' || !NAME_RE.test(spec.name)) {
    bad('name: allowed 1-64 letters, digits, ".", "+", "-", "_", starting with a letter or digit');
  }
  if (typeof spec.module !== 'string' || !/^file:/.test(spec.module)) {
    bad(`module ${JSON.stringify(spec.module)}: allowed a file URL (import.meta.url)`);
  }
  if (spec.actors.length < MIN_ACTORS || spec.actors.length > MAX_ACTORS) {
    bad(`${spec.actors.length} actors: allowed ${MIN_ACTORS}..${MAX_ACTORS}`);
  }
  if (!Number.isInteger(spec.words) || spec.words < 1 || spec.words > 4096) {
    bad(`words ${spec.words}: allowed 1..4096`);
  }
  if (!Number.isInteger(spec.results) || spec.results < 1 || spec.results > MAX_RESULTS) {
    bad(`results ${spec.results}: allowed 1..${MAX_RESULTS}`);
  }
  const instances = spec.instances ?? 256;
  if (!Number.isInteger(instances) || instances < 1 || instances > 65_536) {
    bad(`instances ${instances}: allowed 1..65536`);
  }
  const iterations = spec.iterations ?? 100_000;
  if (!Number.isInteger(iterations) || iterations < 1)
    bad(`iterations ${iterations}: allowed >= 1`);
  if (spec.outcomes.length === 0) bad('no outcomes: list at least one');
  for (const o of spec.outcomes) {
    const fields = o.id.split(',').map((f) => f.trim());
    if (fields.length !== spec.results || fields.some((f) => f !== '*' && !/^-?\d+$/.test(f))) {
      bad(`outcome ${JSON.stringify(o.id)}: allowed ${spec.results} comma-separated integers or *`);
    }
    if (!EXPECTS.includes(o.expect)) {
      bad(`outcome ${JSON.stringify(o.id)}: expect ${o.expect}; allowed ${EXPECTS.join(', ')}`);
    }
  }
  return { ...spec, instances, iterations, bugs: spec.bugs ?? [] };
}
