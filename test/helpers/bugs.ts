// Main-thread helpers for test/races/bug_*.test.ts: a world with one catalogue entry switched on
// (or none), and the flag words the thread bodies in test/threads/bugs.ts order themselves by.

import { type BugName, bug_mask, set_injected_bugs } from '../../src/sched/bugs.js';
import { arena_alloc } from '../../src/shm/arena.js';
import { LINE_WORDS } from '../../src/shm/layout/index.js';
import { type WorldConfig, world_create } from '../../src/workload/world.js';
import { NR_FLAGS } from '../threads/bugs.js';

export const BUG_THREADS = 'test/threads/bugs';

/** The two variants every catalogue test runs: the fixed code, then the broken one. */
export const VARIANTS = ['fixed', 'broken'] as const;
export type Variant = (typeof VARIANTS)[number];

/** A small world running `bug` when the variant is 'broken', the fixed code otherwise. */
export function bugWorld(
  bug: BugName,
  variant: Variant,
  config: Partial<WorldConfig> = {},
): { sab: SharedArrayBuffer } {
  return world_create({
    maxVmas: 64,
    frames: 64,
    maxTasks: 6,
    ...config,
    bugs: variant === 'broken' ? bug_mask([bug]) : 0,
  });
}

/** Zeroed flag words for one scenario. */
export function flags(): number {
  return arena_alloc(NR_FLAGS, LINE_WORDS, 'scenario flags');
}

/** Leave the main thread running the fixed code (afterEach). */
export function clearBugs(): void {
  set_injected_bugs(0);
}
