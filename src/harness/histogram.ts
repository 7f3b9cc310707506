// A latency histogram in the HdrHistogram style: log-linear buckets over nanoseconds.
//
// Values below 2^EXACT_BITS (256 ns) each have their own bucket (exact). Above that, every
// power of two [2^e, 2^(e+1)) is cut into 2^SUB_BITS (128) equal buckets, so a bucket is at most
// 1/128 of its values wide: reporting the bucket's middle is within 0.4% of any value in it (the
// ≤ 1% the runner promises). The top bucket starts at 2^MAX_BITS ns (about 68.7 s); larger values
// are counted there, and the exact maximum is kept beside the buckets.
//
// A histogram belongs to one worker thread while it runs (plain JavaScript, no shared memory);
// workers return snapshot()s at the end and the runner merges them.

export const EXACT_BITS = 8;
export const SUB_BITS = EXACT_BITS - 1;
export const MAX_BITS = 36;

const EXACT = 1 << EXACT_BITS;
const SUB = 1 << SUB_BITS;
/** Buckets: the exact ones, then SUB per power of two from 2^EXACT_BITS to 2^MAX_BITS. */
export const NR_BUCKETS = EXACT + (MAX_BITS - EXACT_BITS + 1) * SUB;

/** What a worker sends back: cloneable, sparse. */
export interface HistogramSnapshot {
  readonly count: number;
  readonly min: number;
  readonly max: number;
  readonly sum: number;
  /** [bucket index, count] pairs, only the non-empty buckets */
  readonly buckets: ReadonlyArray<readonly [number, number]>;
}

/** floor(log2(v)) for an integer v ≥ 1 (any size a double holds exactly). */
function log2floor(v: number): number {
  if (v < 0x1_0000_0000) return 31 - Math.clz32(v);
  return 32 + (31 - Math.clz32(Math.floor(v / 0x1_0000_0000)));
}

/** The bucket of value v (ns, rounded to an integer, clamped at 0). */
export function bucketOf(v: number): number {
  if (v < EXACT) return v < 0 ? 0 : v | 0;
  let e = log2floor(v);
  if (e > MAX_BITS) e = MAX_BITS;
  const sub = Math.floor(v / 2 ** (e - SUB_BITS)) - SUB;
  return EXACT + (e - EXACT_BITS) * SUB + Math.min(sub, SUB - 1);
}

/** The lowest value of bucket i. */
export function bucketLow(i: number): number {
  if (i < EXACT) return i;
  const k = i - EXACT;
  const e = EXACT_BITS + Math.floor(k / SUB);
  return (SUB + (k % SUB)) * 2 ** (e - SUB_BITS);
}

/** The width of bucket i in ns (1 for the exact ones). */
export function bucketWidth(i: number): number {
  if (i < EXACT) return 1;
  return 2 ** (EXACT_BITS + Math.floor((i - EXACT) / SUB) - SUB_BITS);
}

export class Histogram {
  private readonly counts = new Float64Array(NR_BUCKETS);
  private n = 0;
  private lo = Number.POSITIVE_INFINITY;
  private hi = 0;
  private total = 0;

  /** Record one value in ns (fractions are rounded). */
  record(ns: number): void {
    const v = ns < 0 ? 0 : Math.round(ns);
    this.counts[bucketOf(v)]!++;
    this.n++;
    this.total += v;
    if (v < this.lo) this.lo = v;
    if (v > this.hi) this.hi = v;
  }

  get count(): number {
    return this.n;
  }
  get min(): number {
    return this.n === 0 ? 0 : this.lo;
  }
  get max(): number {
    return this.hi;
  }
  get mean(): number {
    return this.n === 0 ? 0 : this.total / this.n;
  }

  /**
   * The value at percentile p (0 < p ≤ 100), nearest rank: the smallest recorded value with at
   * least p% of the values at or below it, as the middle of its bucket, clamped to [min, max].
   * 0 when empty.
   */
  percentile(p: number): number {
    if (this.n === 0) return 0;
    const rank = Math.max(1, Math.ceil((p / 100) * this.n));
    let seen = 0;
    for (let i = 0; i < NR_BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) {
        const mid = bucketLow(i) + Math.floor(bucketWidth(i) / 2);
        return Math.min(Math.max(mid, this.lo), this.hi);
      }
    }
    return this.hi;
  }

  /** Add every value of `other` into this one. */
  merge(other: Histogram | HistogramSnapshot): this {
    const s = other instanceof Histogram ? other.snapshot() : other;
    for (const [i, c] of s.buckets) this.counts[i]! += c;
    if (s.count > 0) {
      this.lo = Math.min(this.lo, s.min);
      this.hi = Math.max(this.hi, s.max);
    }
    this.n += s.count;
    this.total += s.sum;
    return this;
  }

  snapshot(): HistogramSnapshot {
    const buckets: Array<readonly [number, number]> = [];
    for (let i = 0; i < NR_BUCKETS; i++) {
      const c = this.counts[i]!;
      if (c !== 0) buckets.push([i, c]);
    }
    return { count: this.n, min: this.min, max: this.hi, sum: this.total, buckets };
  }

  static from(s: HistogramSnapshot): Histogram {
    return new Histogram().merge(s);
  }
}

/** The summary every report prints. */
export interface LatencySummary {
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
}

export function summarize(h: Histogram): LatencySummary {
  return { p50: h.percentile(50), p99: h.percentile(99), p999: h.percentile(99.9), max: h.max };
}
