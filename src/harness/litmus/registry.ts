// Finding a litmus test by module and name, in the main thread and in every worker.

import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { packageRoot } from '../paths.js';
import type { LitmusTest } from './define.js';

function isLitmus(v: unknown): v is LitmusTest {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as LitmusTest).name === 'string' &&
    Array.isArray((v as LitmusTest).actors) &&
    Array.isArray((v as LitmusTest).outcomes)
  );
}

/** Every litmus test a module exports, directly or in an exported array. */
export function litmusExports(mod: Record<string, unknown>): LitmusTest[] {
  const out: LitmusTest[] = [];
  for (const v of Object.values(mod)) {
    if (isLitmus(v)) out.push(v);
    else if (Array.isArray(v)) for (const x of v) if (isLitmus(x)) out.push(x);
  }
  return out;
}

/**
 * The URL a worker thread imports for a test's module. Workers load JavaScript: a module given
 * as faultline's own TypeScript source (when this code runs under vitest) maps to its compiled
 * twin in dist/. Any other module must already be JavaScript.
 */
export function workerModule(url: string): string {
  if (!url.endsWith('.ts')) return url;
  const root = packageRoot();
  const file = fileURLToPath(url);
  const rel = relative(root, file);
  const twin = `${root}/dist/${rel.replace(/\.ts$/, '.js')}`;
  if (rel.startsWith('..') || !existsSync(twin)) {
    throw new RangeError(
      `litmus module ${url}: worker threads load JavaScript; give the compiled .js module`,
    );
  }
  return pathToFileURL(twin).href;
}

/** Import `module` and return its test called `name`. */
export async function findLitmus(module: string, name: string): Promise<LitmusTest> {
  const mod = (await import(module)) as Record<string, unknown>;
  const t = litmusExports(mod).find((x) => x.name === name);
  if (t === undefined) throw new RangeError(`litmus module ${module}: no test named ${name}`);
  return t;
}
