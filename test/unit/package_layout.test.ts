import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { WORKER_MODULES, workerModule } from '../../src/harness/paths.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? tsFiles(join(dir, e.name))
      : e.name.endsWith('.ts')
        ? [join(dir, e.name)]
        : [],
  );
}

const importsOf = (f: string): string[] =>
  [...readFileSync(f, 'utf8').matchAll(/^(?:import|export)\b[^;]*?from '([^']+)'/gms)].map(
    (m) => m[1]!,
  );

describe('package layout: workers/ at the top level, imports pointing one way', () => {
  it('nothing in src/ imports workers/; workers/ import only src/ and packages', () => {
    for (const f of tsFiles(join(root, 'src'))) {
      for (const i of importsOf(f)) {
        const target = relative(root, resolve(dirname(f), i));
        expect(target.startsWith('workers'), `${relative(root, f)} imports ${i}`).toBe(false);
      }
    }
    const workers = tsFiles(join(root, 'workers'));
    expect(workers.map((f) => relative(root, f)).sort()).toEqual(
      WORKER_MODULES.map((w) => `workers/${w}.ts`).sort(),
    );
    for (const f of workers) {
      for (const i of importsOf(f).filter((x) => x.startsWith('.'))) {
        const target = relative(root, resolve(dirname(f), i));
        expect(target.startsWith('src/'), `${relative(root, f)} imports ${i}`).toBe(true);
      }
    }
  });

  it('one module owns the path to the worker modules', () => {
    const mentions = tsFiles(join(root, 'src')).filter((f) =>
      /['`]workers\//.test(readFileSync(f, 'utf8')),
    );
    expect(mentions.map((f) => relative(root, f))).toEqual(['src/harness/paths.ts']);
    for (const w of WORKER_MODULES)
      expect(workerModule(w)).toMatch(new RegExp(`/dist/workers/${w}\\.js$`));
  });
});
