// What a worker thread costs to start: CPU (the whole process's, so the thread's own boot and
// the main thread's share) and wall time until it has loaded its modules and answered.
// `npm run bench:thread-start -- [--threads N] [--rounds R]`
//
// Variants, interleaved round by round (the machine is shared):
//   empty worker    a bare `new Worker` that posts one message: Node's own floor
//   bench, modules  a piscina pool on workers/bench.ts as separate modules, loading the job module
//   bench, bundle   the same pool on dist/bundle/bench.js (what bench and stress use)
// Each round starts N threads at once and waits until every one has answered one task.

import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { UsageError } from '../src/errors.js';
import { benchWorkerFor, compiledModule, workerModule } from '../src/harness/paths.js';

const { values } = parseArgs({
  options: { threads: { type: 'string', default: '8' }, rounds: { type: 'string', default: '5' } },
});
const threads = Number(values.threads);
const rounds = Number(values.rounds);
if (!Number.isInteger(threads) || threads < 1 || threads > 256) {
  throw new UsageError(`--threads ${values.threads}: allowed an integer 1..256`);
}
if (!Number.isInteger(rounds) || rounds < 1 || rounds > 50) {
  throw new UsageError(`--rounds ${values.rounds}: allowed an integer 1..50`);
}

const jobs = compiledModule('src/workload/jobs');

async function empty(n: number): Promise<void> {
  const ws = Array.from(
    { length: n },
    () =>
      new Worker("require('node:worker_threads').parentPort.postMessage(0)", {
        eval: true,
      }),
  );
  await Promise.all(ws.map((w) => new Promise((r) => w.once('message', r))));
  await Promise.all(ws.map((w) => w.terminate()));
}

async function pool(n: number, filename: string): Promise<void> {
  const p = new Piscina({ filename, minThreads: n, maxThreads: n, concurrentTasksPerWorker: 1 });
  // No buffer: the task loads the job module, fails to attach and answers {ok: false}.
  await Promise.all(Array.from({ length: n }, () => p.run({ jobModule: jobs })));
  await p.destroy();
}

const variants: Array<[string, (n: number) => Promise<void>]> = [
  ['empty worker', empty],
  ['bench, modules', (n) => pool(n, workerModule('bench'))],
  ['bench, bundle', (n) => pool(n, benchWorkerFor(jobs))],
];
const cpu: number[][] = variants.map(() => []);
const wall: number[][] = variants.map(() => []);
for (let r = 0; r < rounds; r++) {
  for (const [i, [, run]] of variants.entries()) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await run(threads);
    const c = process.cpuUsage(c0);
    wall[i]!.push((performance.now() - t0) / threads);
    cpu[i]!.push((c.user + c.system) / 1000 / threads);
  }
}
const median = (a: number[]): number => [...a].sort((x, y) => x - y)[a.length >> 1]!;
const range = (a: number[]): string => `${Math.min(...a).toFixed(0)}-${Math.max(...a).toFixed(0)}`;
console.log(
  `${threads} threads at once, ${rounds} interleaved rounds; per thread, median [min-max] ms`,
);
console.log(`${'variant'.padEnd(16)}${'CPU'.padStart(16)}${'wall'.padStart(16)}`);
for (const [i, [name]] of variants.entries()) {
  console.log(
    `${name.padEnd(16)}${`${median(cpu[i]!).toFixed(1)} [${range(cpu[i]!)}]`.padStart(16)}${`${median(wall[i]!).toFixed(1)} [${range(wall[i]!)}]`.padStart(16)}`,
  );
}
