// What a switched-off schedule point costs, A/B interleaved: `npm run bench:sched-point --
// [--rounds N]`. bench/primitives.ts measures each row for its own second, one after the other,
// so on a shared machine a change of load between two rows is as large as the gap it looks for
// (±20% between runs). Here the two loops alternate in short batches (ABAB…, the order flipped
// every round), and the figure is the median over rounds of the ratio between the two batches of
// one round: a change of load hits both sides of a pair alike.
//
// A: atomic_fetch_add (Atomics.add behind the `hooked` check); B: atomic_fetch_add_unhooked
// (the same Atomics.add with no check), each on its own private word, in its own loop; and a
// control, B': B's loop written out a second time. B/B' is what two identical loops differ by
// (code placement, the JIT's choices): a gap A/B no larger than that is not the check's.

import { UsageError } from '../src/errors.js';
import { atomic_fetch_add, atomic_fetch_add_unhooked } from '../src/sched/atomics.js';
import { task_attach } from '../src/sched/task.js';
import { arena_alloc, createArena } from '../src/shm/arena.js';
import { LINE_WORDS } from '../src/shm/layout/index.js';

const BATCH = 20_000;

function parseRounds(argv: readonly string[]): number {
  const i = argv.indexOf('--rounds');
  if (i < 0) return 400;
  const v = argv[i + 1];
  const n = Number(v);
  if (!Number.isInteger(n) || n < 10 || n > 100_000) {
    throw new UsageError(`--rounds ${v ?? ''}: allowed whole numbers 10..100000`);
  }
  return n;
}

function hooked(p: number, n: number): void {
  for (let i = 0; i < n; i++) atomic_fetch_add(p, 1);
}

function unhooked(p: number, n: number): void {
  for (let i = 0; i < n; i++) atomic_fetch_add_unhooked(p, 1);
}

/** The control: B's loop written out twice. B/B' shows what two identical loops differ by. */
function unhooked2(p: number, n: number): void {
  for (let i = 0; i < n; i++) atomic_fetch_add_unhooked(p, 1);
}

function time(f: (p: number, n: number) => void, p: number): number {
  const t0 = process.hrtime.bigint();
  f(p, BATCH);
  return Number(process.hrtime.bigint() - t0) / BATCH;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >>> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function main(): number {
  let rounds: number;
  try {
    rounds = parseRounds(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    return 2;
  }
  createArena({ sizeMiB: 1, maxTasks: 1 });
  task_attach(0);
  const a = arena_alloc(1, LINE_WORDS);
  const b = arena_alloc(1, LINE_WORDS);
  const c = arena_alloc(1, LINE_WORDS);
  // Warm the loops up to the optimising tier.
  for (let i = 0; i < 50; i++) {
    time(hooked, a);
    time(unhooked, b);
    time(unhooked2, c);
  }
  const ta: number[] = [];
  const tb: number[] = [];
  const ratio: number[] = [];
  const control: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let x: number;
    let y: number;
    let z: number;
    if (r % 2 === 0) {
      x = time(hooked, a);
      y = time(unhooked, b);
      z = time(unhooked2, c);
    } else {
      z = time(unhooked2, c);
      y = time(unhooked, b);
      x = time(hooked, a);
    }
    ta.push(x);
    tb.push(y);
    ratio.push(x / y);
    control.push(z / y);
  }
  const q = (xs: number[], f: number): number =>
    [...xs].sort((m, n) => m - n)[Math.floor(f * (xs.length - 1))]!;
  process.stdout.write(
    `switched-off schedule point, ${rounds} interleaved rounds of ${BATCH} operations:\n` +
      `  atomic_fetch_add (hooked check)   ${median(ta).toFixed(2)} ns/op (median)\n` +
      `  Atomics.add, no check             ${median(tb).toFixed(2)} ns/op (median)\n` +
      `  A/B per round: median ${median(ratio).toFixed(3)}, quartiles ${q(ratio, 0.25).toFixed(3)}..${q(ratio, 0.75).toFixed(3)}\n` +
      `  control B'/B (the same loop twice): median ${median(control).toFixed(3)}, quartiles ${q(control, 0.25).toFixed(3)}..${q(control, 0.75).toFixed(3)}\n`,
  );
  return 0;
}

process.exitCode = main();
