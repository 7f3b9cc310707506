import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bucketLow,
  bucketOf,
  bucketWidth,
  Histogram,
  NR_BUCKETS,
  summarize,
} from '../../src/harness/histogram.js';

/** Nearest-rank percentile of a sorted array: the reference the histogram must match. */
function exact(sorted: readonly number[], p: number): number {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

function within(got: number, want: number, rel: number): boolean {
  return Math.abs(got - want) <= Math.max(rel * want, 0);
}

describe('histogram buckets', () => {
  it('are exact below 256 ns and contiguous above, each at most 1/128 of its values wide', () => {
    for (let v = 0; v < 256; v++) expect(bucketOf(v)).toBe(v);
    for (let i = 1; i < NR_BUCKETS; i++) {
      expect(bucketLow(i)).toBe(bucketLow(i - 1) + bucketWidth(i - 1));
      if (i >= 256) expect(bucketWidth(i) / bucketLow(i)).toBeLessThanOrEqual(1 / 128);
      expect(bucketOf(bucketLow(i))).toBe(i);
      expect(bucketOf(bucketLow(i) + bucketWidth(i) - 1)).toBe(i);
    }
  });

  it('cover at least 10 s, and clamp beyond the top without losing the exact max', () => {
    const top = bucketLow(NR_BUCKETS - 1);
    expect(top).toBeGreaterThan(10e9);
    const h = new Histogram();
    h.record(12e9);
    h.record(1e12);
    expect(bucketOf(1e12)).toBe(NR_BUCKETS - 1);
    expect(h.max).toBe(1e12);
    expect(h.percentile(50)).toBeGreaterThan(0.99 * 12e9);
    expect(h.percentile(50)).toBeLessThan(1.01 * 12e9);
  });
});

describe('histogram percentiles', () => {
  it('match a sorted array within 1% (exactly below 256 ns), for any values', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.integer({ min: 0, max: 255 }),
            fc.integer({ min: 256, max: 100_000 }),
            fc.integer({ min: 100_000, max: 20_000_000_000 }),
          ),
          { minLength: 1, maxLength: 400 },
        ),
        fc.constantFrom(1, 25, 50, 90, 99, 99.9, 100),
        (values, p) => {
          const h = new Histogram();
          for (const v of values) h.record(v);
          const sorted = [...values].sort((a, b) => a - b);
          const want = exact(sorted, p);
          const got = h.percentile(p);
          return want < 256 ? got === want : within(got, want, 0.01);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('keeps count, min, max and mean exactly', () => {
    const h = new Histogram();
    for (const v of [5, 1000, 3, 77_777]) h.record(v);
    expect(h.count).toBe(4);
    expect(h.min).toBe(3);
    expect(h.max).toBe(77_777);
    expect(h.mean).toBe((5 + 1000 + 3 + 77_777) / 4);
    expect(summarize(h).max).toBe(77_777);
    expect(new Histogram().percentile(99)).toBe(0);
  });
});

describe('histogram merge', () => {
  it('merging per-worker snapshots equals recording everything in one', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.integer({ min: 0, max: 5_000_000_000 }), { maxLength: 100 }), {
          minLength: 1,
          maxLength: 6,
        }),
        (workers) => {
          const one = new Histogram();
          const merged = new Histogram();
          for (const vs of workers) {
            const w = new Histogram();
            for (const v of vs) {
              w.record(v);
              one.record(v);
            }
            // Through a structured clone, as the snapshot crosses threads.
            merged.merge(structuredClone(w.snapshot()));
          }
          expect(merged.snapshot()).toEqual(one.snapshot());
          const all = workers.flat().sort((a, b) => a - b);
          if (all.length > 0) {
            for (const p of [50, 99, 99.9]) {
              const want = exact(all, p);
              const got = merged.percentile(p);
              expect(want < 256 ? got === want : within(got, want, 0.01)).toBe(true);
            }
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});
