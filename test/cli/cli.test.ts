import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli.js';
import { expectOneLineUsageError, type Ran, runCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'faultline-cli-'));

function run(args: readonly string[]): Promise<Ran> {
  return runCli(args);
}

/** A bad invocation: exit 2, exactly one line on stderr matching `re`, nothing on stdout. */
async function bad(args: readonly string[], re: RegExp): Promise<void> {
  expectOneLineUsageError(await run(args), args.join(' '), re);
}

/** `bad`, in this process (main() with stdout and stderr captured): no process start. */
async function badHere(args: readonly string[], re: RegExp): Promise<void> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((c) => {
    out += String(c);
    return true;
  });
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((c) => {
    err += String(c);
    return true;
  });
  let code: number;
  try {
    code = await main(args);
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
  expectOneLineUsageError({ code, stdout: out, stderr: err }, args.join(' '), re);
}

describe('faultline --help', () => {
  it('prints the commands and exits 0, for the program and for bench', async () => {
    const top = await run(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/^faultline: /);
    expect(top.stdout).toMatch(/bench {5}every locking scheme/);
    const b = await run(['bench', '--help']);
    expect(b.code).toBe(0);
    for (const f of [
      '--preset',
      '--schemes',
      '--threads',
      '--duration',
      '--pin',
      '--workload',
      '--json',
      '--html',
      '--no-progress',
      '--instrumentation',
      '--rwsem-spin',
    ]) {
      expect(b.stdout).toContain(f);
    }
    // the kernel era of each scheme
    expect(b.stdout).toMatch(/mmap_lock +before v6\.4, and before the v6\.5 killable fault path/);
    expect(b.stdout).toMatch(/vma_refcnt +v6\.15\+/);
    expect((await run(['help'])).code).toBe(0);
  });
});

describe('faultline race and explore', () => {
  it('--list names each script and its source; a script runs both variants, exit 0', async () => {
    const l = await run(['race', '--list']);
    expect(l.code).toBe(0);
    expect(l.stdout).toMatch(/^rcuwait-lost-wakeup +\S/m);
    const r = await run(['race', 'rcuwait-lost-wakeup']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/outcome: deadlock; lost wake-up/);
    expect(r.stdout).toMatch(/2 of 2 verdicts as expected/);
  });
  it("explore finds the broken variant's bug (exit 1) and --replay repeats it", async () => {
    const e = await run(['explore', 'rcuwait-lost-wakeup']);
    expect(e.code).toBe(1);
    const s = /first failing schedule \(1 preemption\): (\S+)/.exec(e.stdout)?.[1];
    expect(s).toBeDefined();
    const r = await run(['explore', 'rcuwait-lost-wakeup', '--replay', s!]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/outcome: deadlock/);
  });
  it('bad input exits 2 with one line', async () => {
    await Promise.all([
      bad(['race', 'nope'], /unknown race script 'nope': allowed .*rcuwait-lost-wakeup/),
      bad(
        ['race', 'rcuwait-lost-wakeup', '--variant', 'x'],
        /--variant x: allowed fixed, broken or both/,
      ),
      bad(
        ['explore', 'rcuwait-lost-wakeup', '--preemptions', '11'],
        /--preemptions 11: allowed an integer 0\.\.10/,
      ),
      bad(['explore', 'rcuwait-lost-wakeup', '--replay', '1x0'], /bad schedule part '1x0'/),
    ]);
  });
});

describe('faultline bench: bad input exits 2 with one line naming the value and what is allowed', () => {
  it('flags and values', async () => {
    // Two as separate processes (the exit code and stderr of the real program); the rest in
    // this process through main(), which is what the program runs: no 20 process starts.
    await Promise.all([
      bad(['frobnicate'], /unknown command "frobnicate"; allowed: bench, stress/),
      bad(['bench', '--bogus'], /unknown option --bogus; allowed: --preset, /),
    ]);
    for (const [args, re] of [
      [['bench', 'extra'], /unexpected argument "extra"/],
      [['bench', '--threads'], /--threads needs a value/],
      [['--threads', '0'], /--threads: "0" is not allowed; allowed: integers 1\.\.256/],
      [['--threads', '1,x'], /--threads: "x" is not allowed/],
      [['--threads', '1,,2'], /--threads "1,,2": empty item/],
      [
        ['--duration', '0.01'],
        /--duration 0\.01: allowed: a time like 2s, 500ms or 2 \(seconds\), from 50ms to 600s/,
      ],
      [['--duration', '601'], /--duration 601: allowed: a time like/],
      [['--pin=yes'], /^faultline: --pin=yes: --pin takes no value; allowed: --pin alone$/],
      [['--threads', '--json', 'x'], /--threads needs a value/],
      [['--preset', `pft,${'x'.repeat(100_000)}`], /^faultline: --preset: unknown preset "x{70}/],
      [['--threads', '1\n2'], /^faultline: --threads: "1\\n2" is not allowed/],
      [['--duration', '10ms'], /--duration 10ms: allowed/],
      [['--warmup', 'soon'], /--warmup soon: allowed/],
      [['--ops', '0'], /--ops 0: allowed: an integer 1\.\.1000000000/],
      [['--repeat', '0'], /--repeat 0: allowed: an integer 1\.\.21/],
      [
        ['--preset', 'pft,nope'],
        /--preset: unknown preset "nope"; allowed: pft, pft-munmap, shared-mprotect, io-fault, maps-reader, srcu-munmap/,
      ],
      [
        ['--schemes', 'mmap_lock,big_lock'],
        /--schemes: unknown scheme "big_lock"; allowed: mmap_lock, vma_rwsem, vma_refcnt, srcu_spf/,
      ],
      [['--instrumentation', 'maybe'], /--instrumentation maybe: allowed: on, off or on,off/],
      [['--rwsem-spin', 'fast'], /--rwsem-spin fast: allowed: on, off or on,off/],
      [
        ['--json', '/nonexistent-dir/r.json'],
        /--json \/nonexistent-dir\/r\.json: directory \/nonexistent-dir does not exist/,
      ],
      [['--html', dir], /--html .*: is a directory/],
      [
        ['--json', join(dir, 'same'), '--html', join(dir, 'same')],
        /--json and --html both name .*same; allowed: two different files/,
      ],
      [['--duration', '1s', '--duration', '2s'], /--duration given twice/],
      [['--preset', 'shared-mprotect', '--threads', '300'], /--threads: "300"/],
    ] as const) {
      await badHere(args, re);
    }
  });

  it('workload files: unreadable, not JSON, unknown field, bad value', async () => {
    await bad(
      ['--workload', join(dir, 'missing.json')],
      /--workload .*missing\.json: cannot read \(ENOENT\); allowed: a JSON file/,
    );
    const notJson = join(dir, 'not.json');
    writeFileSync(notJson, '{ nope');
    await badHere(['--workload', notJson], /--workload .*not\.json: not valid JSON/);
    const unknown = join(dir, 'unknown.json');
    writeFileSync(unknown, JSON.stringify({ name: 'w', vmas: { count: 2, size: 4 } }));
    await badHere(
      ['--workload', unknown],
      /^faultline: unknown\.json\.vmas: unknown field "size"; allowed: layout, count, pages$/,
    );
    const badValue = join(dir, 'bad.json');
    writeFileSync(badValue, JSON.stringify({ faultCost: { kind: 'sleep', us: 0 } }));
    await badHere(
      ['--workload', badValue],
      /^faultline: bad\.json\.faultCost\.us: 0 is not allowed; allowed: an integer 1\.\.1000000$/,
    );
    const spread = join(dir, 'spread.json');
    writeFileSync(spread, JSON.stringify({ name: 'spread', vmas: { count: 1024, pages: 1 } }));
    await badHere(
      ['--workload', spread, '--threads', '9'],
      /^faultline: workload spread at 9 threads places 9216 VMAs, each on its own page-table page, up to page 4719104; allowed: at most 4194304 \(lower vmas\.count\)$/,
    );
    const big = join(dir, 'big.json');
    writeFileSync(big, JSON.stringify({ name: 'big', vmas: { pages: 65536 } }));
    await badHere(
      ['--workload', big, '--threads', '1,2'],
      /^faultline: workload big at 2 threads maps 131072 faulter pages; allowed: at most 65536 \(lower vmas\.count or vmas\.pages\)$/,
    );
  });

  it('a workload nested 400000 deep (the JSON parses, describing it would not): one line', async () => {
    // Before the echo was bounded, this ended in a RangeError stack trace and exit 1.
    const deep = join(dir, 'deep.json');
    writeFileSync(deep, `{"writers": ${'['.repeat(400_000)}${']'.repeat(400_000)}}`);
    await bad(
      ['--workload', deep],
      /^faultline: deep\.json\.writers\[0\]: \[\[\[\[…\]\]\]\] is not allowed; allowed: an object with fields count, ops, thinkUs, pages$/,
    );
  });

  it('writes nothing when the input is bad', async () => {
    const out = mkdtempSync(join(tmpdir(), 'faultline-none-'));
    await bad(
      ['--json', join(out, 'r.json'), '--html', join(out, 'r.html'), '--threads', '-1'],
      /--threads/,
    );
    expect(readdirSync(out)).toEqual([]);
  });
});

describe('faultline bench: a tiny real run', () => {
  it('exits 0, prints the table, and writes valid JSON with every field', async () => {
    const json = join(dir, 'run.json');
    const html = join(dir, 'run.html');
    const r = await run([
      'bench',
      '--preset',
      'pft-munmap',
      '--schemes',
      'vma_refcnt',
      '--threads',
      '2',
      '--duration',
      '200ms',
      '--warmup',
      '50ms',
      '--json',
      json,
      '--html',
      html,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe(''); // no progress bar when stderr is not a terminal
    expect(r.stdout).toMatch(/^machine: /);
    expect(r.stdout).toMatch(/ran on \d+ cores?/);
    expect(r.stdout).toMatch(/pft-munmap: /);
    expect(r.stdout).toMatch(/\n {2}vma_refcnt +\d/);
    const rep = JSON.parse(readFileSync(json, 'utf8'));
    expect(Object.keys(rep.machine).sort()).toEqual(['cores', 'cpuModel', 'node', 'os']);
    expect(rep.config.schemes).toEqual(['vma_refcnt']);
    expect(rep.config.threads).toEqual([2]);
    expect(rep.results).toHaveLength(1);
    const x = rep.results[0];
    expect(x).toMatchObject({ preset: 'pft-munmap', scheme: 'vma_refcnt', threads: 2, writers: 1 });
    expect(x.faultsPerSec).toBeGreaterThan(0);
    expect(x.writerOpsPerSec).toBeGreaterThan(0);
    for (const l of [x.faultLatencyNs, x.writerLatencyNs]) {
      expect(Object.keys(l).sort()).toEqual(['max', 'p50', 'p99', 'p999']);
      expect(l.p50).toBeGreaterThan(0);
      expect(l.p50).toBeLessThanOrEqual(l.p99);
      expect(l.p99).toBeLessThanOrEqual(l.p999);
      expect(l.p999).toBeLessThanOrEqual(l.max);
    }
    // Counters are exact: every fault the workers timed is a fault the ops counted.
    expect(x.counters.FAULTS).toBe(x.ops['faulter.fault'].count);
    expect(x.counters.MUNMAP_OPS).toBe(x.ops['writer.munmap'].count);
    expect(x.counters.VMA_LOCK_SUCCESS).toBeGreaterThan(0);
    expect(x.placement).toHaveLength(3);
    expect(readFileSync(html, 'utf8')).toMatch(/^<!doctype html>/);
    expect(existsSync(`${json}.tmp`)).toBe(false);
  });
});

describe('faultline bench --repeat', () => {
  it('runs each configuration N times and reports the median run', async () => {
    const json = join(dir, 'repeat.json');
    const r = await run([
      'bench',
      '--preset',
      'pft',
      '--schemes',
      'mmap_lock,vma_refcnt',
      '--threads',
      '1',
      '--duration',
      '100ms',
      '--warmup',
      '20ms',
      '--repeat',
      '3',
      '--json',
      json,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/median of 3 interleaved runs/);
    const rep = JSON.parse(readFileSync(json, 'utf8'));
    expect(rep.config.repeat).toBe(3);
    expect(rep.results).toHaveLength(2);
    for (const x of rep.results) {
      const runs: number[] = x.repeats.faultsPerSec;
      expect(runs).toHaveLength(3);
      expect(x.faultsPerSec).toBe([...runs].sort((a, b) => a - b)[1]);
    }
  });
});
