import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseBenchArgs } from '../../src/cli/bench.js';
import { parseDuration, readWorkloadFile, wrap } from '../../src/cli/common.js';
import { shownArg, shownValue, UsageError } from '../../src/errors.js';
import { PRESET_NAMES } from '../../src/workload/presets.js';
import { SCHEMES } from '../../src/workload/world.js';

/** The UsageError message `f` throws (it must throw one). */
function usage(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    const m = (err as Error).message;
    expect(m).not.toMatch(/\n/);
    return m;
  }
  throw new Error('no UsageError');
}

describe('CLI values', () => {
  it('--duration takes a bare number of seconds and keeps the units', () => {
    expect(parseBenchArgs(['--duration', '1'])?.options.durationMs).toBe(1000);
    expect(parseBenchArgs(['--duration=0.25'])?.options.durationMs).toBe(250);
    expect(parseBenchArgs(['--duration', '2s'])?.options.durationMs).toBe(2000);
    expect(parseBenchArgs(['--duration', '500ms'])?.options.durationMs).toBe(500);
    expect(parseDuration('--warmup', '0', 0, 600_000)).toBe(0);
    for (const v of ['', '1m', '-1', '1e3', '.5', '1.', ' ', '99999999999']) {
      expect(() => parseDuration('--duration', v, 50, 600_000)).toThrow(/allowed: a time like/);
    }
  });

  it('-h anywhere asks for help; values are typed', () => {
    expect(parseBenchArgs(['--bogus', '-h'])).toBeNull();
    const a = parseBenchArgs([
      '--pin',
      '--no-progress',
      '--threads',
      '2,1,2',
      '--schemes=vma_refcnt',
    ]);
    expect(a?.options).toMatchObject({
      pin: true,
      progress: false,
      threads: [1, 2],
      schemes: ['vma_refcnt'],
    });
  });

  it('echoes any value in one bounded line', () => {
    expect(shownArg('5s')).toBe('5s');
    expect(shownArg('a b')).toBe('"a b"');
    expect(shownArg('x\ny')).toBe('"x\\ny"');
    expect(shownArg('z'.repeat(10_000))).toMatch(/^"z{77}…"$/);
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(shownValue(deep)).toBe('[[[[…]]]]');
    expect(shownValue({ a: 1, b: 'two', c: [3] })).toBe('{"a":1,"b":"two","c":[3]}');
    expect(shownValue(Array.from({ length: 1000 }, (_, i) => i)).length).toBeLessThanOrEqual(80);
    expect(shownValue('\u2028')).toBe('" "');
  });

  it('bad flags and odd values: one short line naming the value and what is allowed', () => {
    expect(usage(() => parseBenchArgs(['--pin=yes']))).toBe(
      '--pin=yes: --pin takes no value; allowed: --pin alone',
    );
    expect(usage(() => parseBenchArgs(['--threads', '--json', 'x']))).toMatch(
      /^--threads needs a value/,
    );
    const huge = usage(() => parseBenchArgs(['--preset', `pft,${'x'.repeat(100_000)}`]));
    expect(huge).toMatch(/^--preset: unknown preset "x+…"; allowed: pft,/);
    // The 100,000-character value is echoed in a bounded piece; the rest is the allowed list.
    expect(huge.length).toBeLessThan(120 + PRESET_NAMES.join(', ').length);
    expect(usage(() => parseBenchArgs(['--threads', '1\n2']))).toMatch(
      /^--threads: "1\\n2" is not/,
    );
    expect(usage(() => parseBenchArgs(['--ops', '1'.repeat(5000)])).length).toBeLessThan(200);
    expect(usage(() => parseBenchArgs([`--${'q'.repeat(5000)}`])).length).toBeLessThan(400);
  });

  it('workload files: deep, long or oddly named values are described in bounded lines', () => {
    const dir = mkdtempSync(join(tmpdir(), 'faultline-args-'));
    const deepObj = join(dir, 'deep-obj.json');
    writeFileSync(deepObj, `{"vmas": ${'{"a":'.repeat(150_000)}1${'}'.repeat(150_000)}}`);
    expect(usage(() => readWorkloadFile('--workload', deepObj, SCHEMES))).toMatch(
      /^deep-obj\.json\.vmas: unknown field "a"/,
    );
    const long = join(dir, 'long\nname.json');
    writeFileSync(long, JSON.stringify({ description: `${'y'.repeat(50_000)}\n` }));
    expect(usage(() => readWorkloadFile('--workload', long, SCHEMES))).toMatch(
      /^"long\\nname\.json"\.description: "y+…" is not allowed; allowed: one line of text$/,
    );
    const big = join(dir, 'big.json');
    writeFileSync(big, ' '.repeat((1 << 20) + 1));
    expect(usage(() => readWorkloadFile('--workload', big, SCHEMES))).toMatch(
      /: 1048577 bytes; allowed: a JSON file of at most 1048576 bytes$/,
    );
    expect(usage(() => readWorkloadFile('--workload', dir, SCHEMES))).toMatch(
      /: not a regular file; allowed: a JSON file$/,
    );
  });

  it('wraps help text within the width', () => {
    const w = wrap('aaa bbb ccc ddd', 10, 2);
    expect(w).toBe('aaa bbb\n  ccc ddd');
  });
});
