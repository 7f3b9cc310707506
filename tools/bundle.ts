// Build step after tsc (`npm run build`): bundle the compiled bench worker and the job modules it
// runs into dist/bundle/bench.js, one file a worker thread loads instead of ~75 modules, and write
// the manifest that lets freshBundle() refuse it once any input or source changes
// (src/harness/bundle.ts says why).
//
// The input is tsc's output (dist/), so the bundle is the same code the separate modules are.
// Job modules are bundled as namespaces and handed to the worker by their file URL as the
// package's own paths compute it, so `task.jobModule` finds them.

import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { build } from 'esbuild';
import { BUNDLE_DIR, type BundleManifest, fileHash, sourceOf } from '../src/harness/bundle.js';
import { BUNDLED_JOBS, packageRoot } from '../src/harness/paths.js';

const root = packageRoot();
const outDir = join(root, BUNDLE_DIR);
mkdirSync(outDir, { recursive: true });

const entry = [
  ...BUNDLED_JOBS.map((rel, i) => `import * as job${i} from '../${rel}.js';`),
  "import runBenchTask, { setBundledJobs } from '../workers/bench.js';",
  'setBundledJobs(new Map([',
  ...BUNDLED_JOBS.map((rel, i) => `  [new URL('../${rel}.js', import.meta.url).href, job${i}],`),
  ']));',
  'export default runBenchTask;',
].join('\n');

const outfile = join(outDir, 'bench.js');
const tmp = `${outfile}.tmp`;
const result = await build({
  absWorkingDir: root,
  stdin: { contents: entry, resolveDir: outDir, sourcefile: 'bench-entry.js', loader: 'js' },
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  keepNames: true,
  sourcemap: false,
  metafile: true,
  outfile: tmp,
  logLevel: 'warning',
});

const inputs: Record<string, string> = {};
const sources: Record<string, string> = {};
for (const input of Object.keys(result.metafile.inputs)) {
  if (input === '<stdin>' || input === `${BUNDLE_DIR}/bench-entry.js`) continue; // the entry above
  const rel = input; // relative to absWorkingDir, the package root
  // A module that finds files from its own import.meta.url would look from dist/bundle/.
  if (/import\.meta/.test(readFileSync(join(root, rel), 'utf8'))) {
    throw new Error(`tools/bundle: ${rel} uses import.meta and cannot be bundled`);
  }
  inputs[rel] = fileHash(join(root, rel));
  const src = sourceOf(rel);
  if (src !== null) {
    try {
      sources[src] = fileHash(join(root, src));
    } catch {
      // a compiled module without a source (none today): only its compiled form is checked
    }
  }
}
renameSync(tmp, outfile);
const manifest: BundleManifest = {
  version: 1,
  bundle: relative(root, outfile),
  bundleHash: fileHash(outfile),
  inputs,
  sources,
};
writeFileSync(join(outDir, 'bench.json'), `${JSON.stringify(manifest, null, 1)}\n`);
