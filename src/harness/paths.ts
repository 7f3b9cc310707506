// Where the compiled modules are. Worker threads load JavaScript, so when this code itself runs
// from TypeScript sources (vitest), the worker and job modules are taken from dist/ instead.

import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { freshBundle } from './bundle.js';

const here = fileURLToPath(import.meta.url);
const fromSources = here.endsWith('.ts');
/** The package root: two levels above src/harness, three above dist/src/harness. */
const root = resolve(dirname(here), fromSources ? '../..' : '../../..');

/** The file URL of the compiled module `rel` (e.g. 'src/workload/jobs'). */
export function compiledModule(rel: string): string {
  const f = join(root, 'dist', `${rel}.js`);
  if (!existsSync(f)) throw new Error(`${f} is missing: run npm run build`);
  return pathToFileURL(f).href;
}

/**
 * The worker modules, top-level `workers/` in the package: piscina task modules (bench,
 * scenario) and the controlled scheduler's task thread (controlled, a plain worker_threads
 * entry). This is the one place that knows where they are: src/ never imports them.
 */
export const WORKER_MODULES = ['bench', 'scenario', 'controlled'] as const;
export type WorkerModule = (typeof WORKER_MODULES)[number];

/** The file URL of the compiled worker module `name` (dist/workers/NAME.js). */
export function workerModule(name: WorkerModule): string {
  return compiledModule(`workers/${name}`);
}

/**
 * The job modules the bench worker's bundle (dist/bundle/bench.js, made by the build) carries,
 * as compiled paths: bench's jobs and stress's.
 */
export const BUNDLED_JOBS = ['src/workload/jobs', 'src/harness/stress/job'] as const;

/**
 * The file URL of the module a bench worker thread should load to run `jobModule`: the one-file
 * bundle when it carries that job module (a thread starts in about half the CPU time), checked
 * against its sources first (freshBundle throws if any changed since the build); otherwise the
 * separate modules of workers/bench, which import the job module by URL.
 */
export function benchWorkerFor(jobModule: string): string {
  if (!BUNDLED_JOBS.some((rel) => compiledModule(rel) === jobModule)) return workerModule('bench');
  return pathToFileURL(freshBundle(root, 'bench')).href;
}

export function packageRoot(): string {
  return root;
}
