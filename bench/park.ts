// Park/unpark round trips between two real threads: the figures behind park()'s spin-then-sleep
// policy (src/sched/task.ts). One round trip = A unparks B, B wakes and unparks A, A wakes.
// `npm run bench:park -- [--rounds N]`
//
// V8 sends every Atomics.wait/notify through one process-wide mutex and a condition variable, so
// a sleeping hand-over costs a kernel futex wake and a context switch; a hand-over that lands
// while the wakee still spins costs two cache-line transfers. The table shows both, and the
// default spin count in between.

import { cpus } from 'node:os';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { UsageError } from '../src/errors.js';
import { atomic_notify, atomic_read, atomic_set, atomic_wait } from '../src/sched/atomics.js';
import { get_park_spin, park, set_park_spin, task_attach, unpark } from '../src/sched/task.js';
import { arena_alloc, attachArena, createArena, task_ptr } from '../src/shm/arena.js';
import { LINE_WORDS } from '../src/shm/layout/index.js';

interface Job {
  readonly sab: SharedArrayBuffer;
  readonly me: number;
  readonly peer: number;
  readonly rounds: number;
  readonly spin: number;
  readonly go: number;
}

function pingPong(j: Job): void {
  attachArena(j.sab);
  task_attach(j.me);
  set_park_spin(j.spin);
  const peer = task_ptr(j.peer);
  // Wait for the start on the go word itself: a park() here could eat the peer's first token.
  while (atomic_read(j.go) === 0) atomic_wait(j.go, 0, 1);
  for (let i = 0; i < j.rounds; i++) {
    if (j.me === 1) {
      unpark(peer);
      while (!park(50)) {
        /* bounded sleeps until the token comes back */
      }
    } else {
      while (!park(50)) {
        /* bounded sleeps until the token comes */
      }
      unpark(peer);
    }
  }
}

if (!isMainThread) {
  pingPong(workerData as Job);
  parentPort?.postMessage('done');
}

async function measure(spin: number, rounds: number): Promise<number> {
  const { sab } = createArena({ sizeMiB: 1, maxTasks: 3 });
  task_attach(0);
  const go = arena_alloc(1, LINE_WORDS);
  const done: Array<Promise<void>> = [];
  const workers: Worker[] = [];
  for (const [me, peer] of [
    [1, 2],
    [2, 1],
  ] as const) {
    const w = new Worker(new URL(import.meta.url), {
      workerData: { sab, me, peer, rounds, spin, go } satisfies Job,
    });
    workers.push(w);
    done.push(
      new Promise((res, rej) => {
        w.once('message', () => res());
        w.once('error', rej);
      }),
    );
  }
  await new Promise((r) => setTimeout(r, 100)); // both threads up and parked
  const t0 = process.hrtime.bigint();
  atomic_set(go, 1);
  atomic_notify(go, 2);
  try {
    await Promise.all(done);
  } catch (err) {
    // One side died: the other would wait for its token forever, in bounded sleeps.
    await Promise.all(workers.map((w) => w.terminate()));
    throw err;
  }
  return Number(process.hrtime.bigint() - t0) / 1e3 / rounds;
}

async function main(argv: readonly string[]): Promise<void> {
  let rounds = 20_000;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--rounds') {
      rounds = Number(argv[++i]);
      if (!Number.isInteger(rounds) || rounds < 100 || rounds > 10_000_000) {
        throw new UsageError(`--rounds ${argv[i] ?? ''}: allowed 100..10000000`);
      }
    } else throw new UsageError(`${argv[i]}: unknown option; allowed: --rounds N`);
  }
  const def = get_park_spin();
  console.log(
    `park/unpark round trips, 2 threads, ${cpus().length} cores, node ${process.version}`,
  );
  for (const [label, spin] of [
    ['sleep at once (spin 0)', 0],
    ['spin 200', 200],
    ['spin 2000', 2000],
    ['spin 20000', 20_000],
  ] as const) {
    const us = await measure(spin, rounds);
    const mark = spin === def ? '  <- park() default' : '';
    console.log(`  ${label.padEnd(24)} ${us.toFixed(2).padStart(8)} µs per round trip${mark}`);
  }
}

if (isMainThread) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    process.stderr.write(`park: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = e instanceof UsageError ? 2 : 1;
  });
}
