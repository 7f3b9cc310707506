// Run-wide switches that hot paths test on every operation: the schedule hook, the injected
// bugs, the flight recorder, the lock assertions. Each lives in a property of the thread's global object rather than
// in a module `let`, because V8 treats a global property that has only ever held one value as a
// constant: optimised code embeds the value (with a dependency that deoptimises it if the
// property changes), so a switch that is off for the whole run costs no instruction at all. A
// module `let` is a load and a branch on every test: `npm run bench:sched-point` measured the
// switched-off schedule point at 3.1% over a bare Atomics.add that way, 0% this way.
//
// set_folded() replaces the property (delete, then define) so that the new value is again a
// constant for code optimised after it; code optimised before it is deoptimised once. Use it for
// switches set at the start of a run. A switch that flips often (the schedule hook, which
// without_schedule_points() turns off and on around cache fills) is assigned in place instead:
// V8 then stops treating it as constant and tests it like a module variable, which costs the
// controlled run nothing it would notice and never deoptimises in a loop.

declare global {
  var __faultline_hooked: boolean;
  var __faultline_bugs: number;
  var __faultline_tracing: boolean;
  /** the per-VMA locks' debug assertions (a world's `assertions`): live in tests and stress */
  var __faultline_assertions: boolean;
}

type FoldedFlag =
  | '__faultline_hooked'
  | '__faultline_bugs'
  | '__faultline_tracing'
  | '__faultline_assertions';

/** Give a run-wide switch a new value that optimised code may again treat as a constant. */
export function set_folded<K extends FoldedFlag>(name: K, value: (typeof globalThis)[K]): void {
  const g = globalThis as unknown as Record<string, unknown>;
  if (Object.hasOwn(g, name) && g[name] === value) return;
  delete g[name];
  g[name] = value;
}

// Defined once when the module loads, so that every reader finds the property.
if (!Object.hasOwn(globalThis, '__faultline_hooked')) globalThis.__faultline_hooked = false;
if (!Object.hasOwn(globalThis, '__faultline_bugs')) globalThis.__faultline_bugs = 0;
if (!Object.hasOwn(globalThis, '__faultline_tracing')) globalThis.__faultline_tracing = true;
if (!Object.hasOwn(globalThis, '__faultline_assertions')) globalThis.__faultline_assertions = false;
