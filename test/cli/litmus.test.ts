// `faultline litmus` end to end: --list, one small run with every report, exit codes, bad input.

import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CATALOGUE } from '../../src/harness/litmus/catalogue/index.js';
import { type Ran, runCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'faultline-litmus-'));

function run(args: readonly string[]): Promise<Ran> {
  return runCli(['litmus', ...args], 120_000);
}

describe('faultline litmus', () => {
  it('--list prints one test name per line', async () => {
    const r = await run(['--list']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(CATALOGUE.map((t) => `${t.name}\n`).join(''));
    for (const n of ['sb', 'sb.plain', 'mp', 'lb', 'iriw', '2+2w', 'corr', 'rcuwait', 'srcu']) {
      expect(r.stdout.split('\n')).toContain(n);
    }
  });

  it('runs a family, prints the table, writes JSON, JUnit and HTML, exits 0', async () => {
    const [json, junit, html] = ['r.json', 'r.xml', 'r.html'].map((f) => join(dir, f)) as [
      string,
      string,
      string,
    ];
    const r = await run([
      'refcount-limited',
      '--iterations',
      '20000',
      '--time',
      '8s',
      '--json',
      json,
      '--junit',
      junit,
      '--html',
      html,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/refcount-limited\n/);
    expect(r.stdout).toMatch(
      /refcount-limited\+refcount-unlimited {2}\[broken: refcount-unlimited\]/,
    );
    expect(r.stdout).toMatch(/outcome +count +share +expect +description/);
    expect(r.stdout).toMatch(/! 2, 1, 1 /); // the broken variant's FORBIDDEN row, marked
    expect(r.stdout).toContain('2 litmus tests passed');
    const rep = JSON.parse(readFileSync(json, 'utf8'));
    expect(rep.passed).toBe(true);
    expect(rep.results.map((x: { name: string }) => x.name)).toEqual([
      'refcount-limited',
      'refcount-limited+refcount-unlimited',
    ]);
    const xml = readFileSync(junit, 'utf8');
    expect(xml).toMatch(/<testsuite name="faultline litmus" tests="2" failures="0"/);
    expect(xml.match(/<testcase /g)).toHaveLength(2);
    const page = readFileSync(html, 'utf8');
    expect(page.match(/<section class="test pass"/g)).toHaveLength(2);
    expect(page).toMatch(/<g class="bar" data-outcome="2, 1, 1" data-expect="FORBIDDEN"/);
  });

  it('bad input: one line naming the value, exit 2, nothing written', async () => {
    const out = join(dir, 'never.json');
    const cases: Array<[string[], RegExp]> = [
      [['nope'], /^faultline: unknown litmus test "nope"; allowed: sb, sb\.plain, /],
      [
        ['--iterations', '0', '--time', '1s'],
        /--iterations 0: allowed: an integer 1\.\.1000000000/,
      ],
      [['sb', '--list'], /--list with test "sb"; allowed: NAME or --list, not both/],
      [['sb', '--json', out, '--html', out], /--json and --html both name/],
    ];
    const ran = await Promise.all(cases.map(([a]) => run(a)));
    for (const [i, r] of ran.entries()) {
      expect(r.code, cases[i]![0].join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      const lines = r.stderr.split('\n').filter((l) => l !== '');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(cases[i]![1]);
    }
    expect(existsSync(out)).toBe(false);
  });
});
