// `faultline stress` as a user runs it: --list-bugs, bad input (exit 2, one line, nothing
// written), a short clean run (exit 0) writing JSON, JUnit and HTML, and a broken variant
// (exit 1) whose report names the check and prints the command that re-runs it.

import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHECK_NAMES } from '../../src/harness/stress/checker.js';
import { BUGS } from '../../src/sched/bugs.js';
import { expectOneLineUsageError, type Ran, runCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'faultline-stress-'));

function run(args: readonly string[]): Promise<Ran> {
  return runCli(['stress', ...args], 60_000);
}

/** A bad invocation: exit 2, exactly one line on stderr matching `re`, nothing on stdout. */
async function bad(args: readonly string[], re: RegExp): Promise<void> {
  expectOneLineUsageError(await run(args), args.join(' '), re);
}

describe('faultline stress: the command line', () => {
  it('--list-bugs prints one line per catalogue entry: its name, then its story', async () => {
    const r = await run(['--list-bugs']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.map((l) => l.split(' ')[0])).toEqual(BUGS.map((b) => b.name));
    lines.forEach((l, i) => {
      expect(l).toBe(`${BUGS[i]!.name} ${BUGS[i]!.story}`);
    });
  });

  it('bad input exits 2 with one line naming the value and what is allowed', async () => {
    const j = join(dir, 'never.json');
    await Promise.all([
      bad(['--schemes', 'vma_magic'], /--schemes: unknown scheme "vma_magic"; allowed: mmap_lock/),
      bad(['--chaos', 'wild'], /--chaos wild: allowed: off, light, heavy/),
      bad(['--inject-bug', 'nope'], /--inject-bug nope: unknown bug; allowed: detach-no-wait/),
      bad(['--threads', '0'], /--threads 0: allowed: an integer 1\.\.64/),
      bad(['--duration', '1s', '--ops', '5'], /--duration and --ops both given/),
      bad(['--preset', 'pft', '--workload', 'x.json'], /--preset and --workload both given/),
      bad(['--kill-rate', '-3'], /--kill-rate -3: allowed: a number 0\.\.100000/),
      bad(['--json', j, '--junit', j], /--json and --junit both name/),
      bad(['--repeat-until-fail', '0'], /--repeat-until-fail 0: allowed: an integer 1\.\./),
    ]);
    expect(existsSync(j)).toBe(false);
  });

  it('a clean run exits 0 and writes JSON, JUnit (one testcase per scheme and check) and HTML', async () => {
    const json = join(dir, 's.json');
    const junit = join(dir, 's.xml');
    const html = join(dir, 's.html');
    const r = await run([
      '--schemes',
      'vma_refcnt',
      '--duration',
      '1s',
      '--seed',
      '5',
      '--no-progress',
      '--json',
      json,
      '--junit',
      junit,
      '--html',
      html,
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/vma_refcnt .* ok\n/);
    const rep = JSON.parse(readFileSync(json, 'utf8'));
    expect(rep.seed).toBe(5);
    expect(rep.commandLine).toMatch(/--seed 5/);
    expect(rep.results[0].violations).toEqual([]);
    expect(rep.results[0].counters.FAULTS).toBeGreaterThan(0);
    const xml = readFileSync(junit, 'utf8');
    expect(xml.match(/<testcase /g)).toHaveLength(CHECK_NAMES.length);
    expect(xml).not.toMatch(/<failure/);
    expect(readFileSync(html, 'utf8')).toMatch(/every check held/);
  });
});
