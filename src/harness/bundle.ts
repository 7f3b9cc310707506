// The bench worker's one-file bundle and its freshness check.
//
// A worker thread that loads the bench worker as separate modules spends most of its start in
// Node's ESM loader (resolving, reading and compiling some 75 files: about 110 ms of CPU per
// thread here, on top of the ~80 ms any worker costs). The build (`npm run build`, after tsc)
// therefore also writes dist/bundle/bench.js: the compiled bench worker and the job modules it
// runs, in one file (tools/bundle.ts), with a manifest beside it naming every file it was made
// from and each one's hash, and the TypeScript source of each.
//
// A bundle older than its sources must never run: a pool asks for it through freshBundle(),
// which re-hashes every input and its source and throws, naming the first that differs, unless
// all match. A worker that loads separate modules and a bundle never mix in one thread: a job
// module loaded beside the bundle would get its own copies of the shared-memory modules'
// per-thread state, so the bundle refuses a job module it does not carry (workers/bench.ts).

import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FaultlineError } from '../errors.js';

/** The manifest written beside a bundle (dist/bundle/NAME.json). */
export interface BundleManifest {
  readonly version: 1;
  /** the bundle file, relative to the package root */
  readonly bundle: string;
  /** sha256 of the bundle file */
  readonly bundleHash: string;
  /** every compiled module inside it (relative to the package root), with its sha256 */
  readonly inputs: Readonly<Record<string, string>>;
  /** the TypeScript source of each input that has one (relative to the package root), sha256 */
  readonly sources: Readonly<Record<string, string>>;
}

export const BUNDLE_DIR = 'dist/bundle';

export function fileHash(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** The TypeScript source of a compiled module (dist/src/x.js → src/x.ts), relative to the root. */
export function sourceOf(compiled: string): string | null {
  const m = /^dist\/(.+)\.js$/.exec(compiled);
  return m === null ? null : `${m[1]}.ts`;
}

export class StaleBundle extends FaultlineError {
  override name = 'StaleBundle';
}

const verified = new Map<string, string>();

/**
 * The path of bundle `name` (dist/bundle/NAME.js under `root`) after checking it against the
 * files it was made from: throws StaleBundle naming the first input or source that changed,
 * disappeared or appeared since the build, or a missing bundle. Checked once per process.
 */
export function freshBundle(root: string, name: string): string {
  const file = join(root, BUNDLE_DIR, `${name}.js`);
  const seen = verified.get(file);
  if (seen !== undefined) return seen;
  const manifestFile = join(root, BUNDLE_DIR, `${name}.json`);
  const rebuild = 'run npm run build';
  if (!existsSync(file) || !existsSync(manifestFile)) {
    throw new StaleBundle(`${file} is missing: ${rebuild}`);
  }
  const m = JSON.parse(readFileSync(manifestFile, 'utf8')) as BundleManifest;
  const check = (rel: string, hash: string | undefined, what: string): void => {
    const p = join(root, rel);
    const now = existsSync(p) ? fileHash(p) : undefined;
    if (now !== hash) {
      const how = now === undefined ? 'is gone' : hash === undefined ? 'appeared' : 'changed';
      throw new StaleBundle(
        `${file} is stale: ${what} ${rel} ${how} since the bundle was built; ${rebuild}`,
      );
    }
  };
  if (m.version !== 1) throw new StaleBundle(`${manifestFile}: unknown version; ${rebuild}`);
  check(m.bundle, m.bundleHash, 'the bundle');
  for (const [rel, hash] of Object.entries(m.inputs)) {
    check(rel, hash, 'the compiled module');
    const src = sourceOf(rel);
    if (src !== null) check(src, m.sources[src], 'the source');
  }
  verified.set(file, file);
  return file;
}
