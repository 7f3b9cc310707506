// Where the compiled modules are. Worker threads load JavaScript, so when this code itself runs
// from TypeScript sources (vitest), the worker and job modules are taken from dist/ instead.

import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = fileURLToPath(import.meta.url);
const fromSources = here.endsWith('.ts');
/** The package root: two levels above src/harness, three above dist/src/harness. */
const root = resolve(dirname(here), fromSources ? '../..' : '../../..');

/** The file URL of the compiled module `rel` (e.g. 'src/workers/bench'). */
export function compiledModule(rel: string): string {
  const f = join(root, 'dist', `${rel}.js`);
  if (!existsSync(f)) throw new Error(`${f} is missing: run npm run build`);
  return pathToFileURL(f).href;
}

export function packageRoot(): string {
  return root;
}
