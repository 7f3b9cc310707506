// The bug catalogue is one list for stress, race and litmus: every entry must be a real switch
// in the code it breaks, read somewhere under src/ (not only declared), with a unique bit and a
// `where` that names an existing file.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUG, BUGS, bug_mask, bug_names } from '../../src/sched/bugs.js';

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

describe('the bug catalogue', () => {
  const code = sources('src')
    .filter((p) => !p.endsWith(join('sched', 'bugs.ts')))
    .map((p) => readFileSync(p, 'utf8'))
    .join('\n');

  it('every switch is read by a bug_on() in src/, outside the catalogue itself', () => {
    const unused = Object.keys(BUG).filter((k) => !code.includes(`BUG.${k}`));
    expect(unused).toEqual([]);
  });

  it('entries and switches match one to one: unique names and bits, where names a file', () => {
    const bits = Object.values(BUG) as number[];
    expect(new Set(BUGS.map((b) => b.bit))).toEqual(new Set(bits));
    expect(new Set(BUGS.map((b) => b.name)).size).toBe(BUGS.length);
    for (const b of BUGS) {
      expect(b.bit & (b.bit - 1), b.name).toBe(0);
      expect(b.story.length, b.name).toBeGreaterThan(20);
      expect(existsSync(b.where.split(':')[0]!.trim()), `${b.name}: ${b.where}`).toBe(true);
    }
  });

  it('names round-trip through a mask; an unknown name is refused by name', () => {
    const all = BUGS.map((b) => b.name);
    expect(bug_names(bug_mask(all))).toEqual(all);
    expect(() => bug_mask(['no-such-bug'])).toThrow(/unknown bug "no-such-bug": allowed /);
  });
});
