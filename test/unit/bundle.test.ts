import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type BundleManifest, fileHash, freshBundle } from '../../src/harness/bundle.js';
import { benchWorkerFor, compiledModule, workerModule } from '../../src/harness/paths.js';

const roots: string[] = [];
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

/** A package root with one compiled module, its source and a bundle of it, as the build leaves. */
function fakeBuild(): string {
  const root = mkdtempSync(join(tmpdir(), 'fl-bundle-'));
  roots.push(root);
  mkdirSync(join(root, 'dist/bundle'), { recursive: true });
  mkdirSync(join(root, 'dist/src'), { recursive: true });
  mkdirSync(join(root, 'src'), { recursive: true });
  writeFileSync(join(root, 'src/a.ts'), 'export const a = 1;\n');
  writeFileSync(join(root, 'dist/src/a.js'), 'export const a = 1;\n');
  writeFileSync(join(root, 'dist/bundle/w.js'), 'const a = 1;\n');
  const m: BundleManifest = {
    version: 1,
    bundle: 'dist/bundle/w.js',
    bundleHash: fileHash(join(root, 'dist/bundle/w.js')),
    inputs: { 'dist/src/a.js': fileHash(join(root, 'dist/src/a.js')) },
    sources: { 'src/a.ts': fileHash(join(root, 'src/a.ts')) },
  };
  writeFileSync(join(root, 'dist/bundle/w.json'), JSON.stringify(m));
  return root;
}

describe('the worker bundle is never run against newer sources', () => {
  it('a bundle matching every input and source is used', () => {
    const root = fakeBuild();
    expect(freshBundle(root, 'w')).toBe(join(root, 'dist/bundle/w.js'));
  });

  it('a changed source, compiled module or bundle, or a missing bundle, is refused by name', () => {
    const cases: Array<[string, (root: string) => void, RegExp]> = [
      [
        'source',
        (r) => writeFileSync(join(r, 'src/a.ts'), 'export const a = 2;\n'),
        /source src\/a\.ts changed/,
      ],
      [
        'compiled',
        (r) => writeFileSync(join(r, 'dist/src/a.js'), 'x\n'),
        /dist\/src\/a\.js changed/,
      ],
      [
        'bundle',
        (r) => writeFileSync(join(r, 'dist/bundle/w.js'), 'x\n'),
        /bundle dist\/bundle\/w\.js changed/,
      ],
      ['gone', (r) => rmSync(join(r, 'src/a.ts')), /src\/a\.ts is gone/],
      ['missing', (r) => rmSync(join(r, 'dist/bundle/w.js')), /is missing: run npm run build/],
    ];
    for (const [name, change, message] of cases) {
      const root = fakeBuild();
      change(root);
      expect(() => freshBundle(root, 'w'), name).toThrow(message);
    }
  });

  it('bench and stress job modules get the checked bundle; any other job module the separate worker', () => {
    expect(benchWorkerFor(compiledModule('src/workload/jobs'))).toMatch(
      /\/dist\/bundle\/bench\.js$/,
    );
    expect(benchWorkerFor(compiledModule('src/harness/stress/job'))).toMatch(
      /\/dist\/bundle\/bench\.js$/,
    );
    expect(benchWorkerFor('file:///elsewhere/job.js')).toBe(workerModule('bench'));
  });
});
