// Shared by test/stress/stress_*.test.ts: a short stress run and which catalogue entries have
// landed (their switch is read somewhere in src/).

import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUG, BUGS } from '../../src/sched/bugs.js';

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

/** Catalogue names whose bug_on(BUG.X) switch is read in src/ (outside the catalogue itself). */
export function landedBugs(): string[] {
  const text = tsFiles(join(root, 'src'))
    .filter((f) => !f.endsWith(join('sched', 'bugs.ts')))
    .map((f) => readFileSync(f, 'utf8'))
    .join('\n');
  return BUGS.filter((b) => {
    const key = Object.entries(BUG).find(([, bit]) => bit === b.bit)?.[0];
    return key !== undefined && new RegExp(`BUG\\.${key}\\b`).test(text);
  }).map((b) => b.name);
}
