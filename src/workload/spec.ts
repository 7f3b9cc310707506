// Workloads are data: what the faulting workers and the writers do, as a small object that a
// preset names or a user passes with --workload FILE. Every field has a default, so a file need
// only say what differs; an unknown field or a bad value is a UsageError that names the field
// and what is allowed (the CLI prints it on one line and exits 2).

import { shownValue, UsageError } from '../errors.js';

/** The work a fault does while it holds its lock (VMA lock, SRCU section or mmap_lock). */
export type FaultCost =
  | { readonly kind: 'zero' }
  | { readonly kind: 'spin'; readonly ns: number }
  | {
      readonly kind: 'sleep';
      readonly us: number;
      /** set per run from the workload's faultWait (runFaultCost), never in a file */
      readonly wait?: FaultWait;
    };

export const WRITER_OPS = ['mmapMunmap', 'mprotect', 'maps', 'madvise'] as const;
export type WriterOp = (typeof WRITER_OPS)[number];

export const SRCU_FREE = ['call_srcu', 'synchronize_srcu'] as const;

/**
 * How a fault with a sleeping cost (an I/O wait) waits: `retry` drops its lock, waits, and
 * re-faults with FAULT_FLAG_TRIED (the kernel's default for file and swap I/O); `hold` sleeps
 * holding its lock (the pessimistic case, which makes a held lock look costlier).
 */
export const FAULT_WAIT = ['retry', 'hold'] as const;
export type FaultWait = (typeof FAULT_WAIT)[number];
export type SrcuFree = (typeof SRCU_FREE)[number];

export interface WriterGroup {
  /** writer workers in this group */
  readonly count: number;
  /**
   * Relative weights of the operations each writer picks from:
   *   mmapMunmap  map an unrelated VMA, then unmap it (two operations, timed apart)
   *   mprotect    flip a faulters' VMA between read-write and read-only
   *   maps        read /proc/pid/maps (every VMA, through per-VMA locks where the scheme has them)
   *   madvise     MADV_DONTNEED a faulters' VMA
   */
  readonly ops: Readonly<Partial<Record<WriterOp, number>>>;
  /** pause between operations, µs (0: none) */
  readonly thinkUs: number;
  /** size of the VMAs mmapMunmap maps, in pages */
  readonly pages: number;
}

export interface WorkloadSpec {
  readonly name: string;
  readonly description: string;
  /**
   * The faulters' VMAs. private: `count` VMAs per faulter, each its own. shared: `count` VMAs
   * that every faulter faults in, each faulter in its own slice of pages of each. spread: one
   * large mm of `count` small VMAs (a hole after each) that every faulter picks from at random
   * (access uniform or zipf), zapping its oldest faulted page once it holds SPREAD_RING.
   * churn: `count` VMAs per faulter, none mapped at set-up: each round the faulter mmaps each
   * one afresh, faults its pages and munmaps it, so every round's first fault in a VMA is the
   * anon_vma one (vmf_anon_prepare and its RETRY/ABORT).
   */
  readonly vmas: {
    readonly layout: 'private' | 'shared' | 'spread' | 'churn';
    readonly count: number;
    readonly pages: number;
  };
  /**
   * private and shared: the order a faulter touches its pages in each round (random: a fresh
   * shuffle each round). spread: how a faulter picks the VMA of each fault — uniform, or zipf
   * (Zipf-like with s = 1: the k-th hottest VMA is picked in proportion to 1/k).
   */
  readonly access: 'sequential' | 'random' | 'uniform' | 'zipf';
  /** the fraction of faults that are writes (0..1) */
  readonly writeFraction: number;
  readonly faultCost: FaultCost;
  readonly writers: readonly WriterGroup[];
  /** srcu_spf runs once per value listed: how munmap frees VMAs */
  readonly srcuFree: readonly SrcuFree[];
  /**
   * With a `sleep` fault cost: every scheme runs once per value listed (FAULT_WAIT; absent:
   * ['retry'], the kernel's). Only ['hold'] is allowed with another cost (nothing to wait for).
   */
  readonly faultWait?: readonly FaultWait[];
  /** run only these schemes (absent: every scheme asked for) */
  readonly schemes?: readonly string[];
}

export const DEFAULT_WORKLOAD: WorkloadSpec = {
  name: 'custom',
  description: 'a workload from a file',
  vmas: { layout: 'private', count: 1, pages: 128 },
  access: 'sequential',
  writeFraction: 1,
  faultCost: { kind: 'zero' },
  writers: [],
  srcuFree: ['call_srcu'],
};

export const DEFAULT_WRITER: WriterGroup = {
  count: 1,
  ops: { mmapMunmap: 1 },
  thinkUs: 0,
  pages: 16,
};

export const LIMITS = {
  vmaCount: 1024,
  /** spread layout: VMAs in the one large mm */
  spreadVmaCount: 200_000,
  /** spread layout: pages per VMA */
  spreadVmaPages: 64,
  vmaPages: 65_536,
  writerGroups: 8,
  writersPerGroup: 64,
  thinkUs: 1_000_000,
  spinNs: 10_000_000,
  sleepUs: 1_000_000,
} as const;

// ---- validation ----------------------------------------------------------------------------

type Obj = Record<string, unknown>;

function fail(path: string, got: unknown, allowed: string): never {
  throw new UsageError(`${path}: ${shownValue(got)} is not allowed; allowed: ${allowed}`);
}

function object(path: string, v: unknown, fields: readonly string[]): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    fail(path, v, `an object with fields ${fields.join(', ')}`);
  }
  for (const k of Object.keys(v)) {
    if (!fields.includes(k)) {
      throw new UsageError(
        `${path}: unknown field ${shownValue(k)}; allowed: ${fields.join(', ')}`,
      );
    }
  }
  return v as Obj;
}

function int(path: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    fail(path, v, `an integer ${min}..${max}`);
  }
  return v;
}

function num(path: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    fail(path, v, `a number ${min}..${max}`);
  }
  return v;
}

function oneOf<T extends string>(path: string, v: unknown, allowed: readonly T[]): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    fail(path, v, allowed.join(' | '));
  }
  return v as T;
}

function str(path: string, v: unknown, re: RegExp, what: string): string {
  if (typeof v !== 'string' || !re.test(v)) fail(path, v, what);
  return v;
}

function faultCost(path: string, v: unknown): FaultCost {
  const o = object(path, v, ['kind', 'ns', 'us']);
  const kind = oneOf(`${path}.kind`, o['kind'], ['zero', 'spin', 'sleep'] as const);
  if (kind === 'zero') {
    object(path, v, ['kind']);
    return { kind };
  }
  if (kind === 'spin') {
    object(path, v, ['kind', 'ns']);
    return { kind, ns: int(`${path}.ns`, o['ns'], 1, LIMITS.spinNs) };
  }
  object(path, v, ['kind', 'us']);
  return { kind, us: int(`${path}.us`, o['us'], 1, LIMITS.sleepUs) };
}

function writerGroup(path: string, v: unknown): WriterGroup {
  const o = object(path, v, ['count', 'ops', 'thinkUs', 'pages']);
  const ops: Partial<Record<WriterOp, number>> = {};
  if (o['ops'] !== undefined) {
    const m = object(`${path}.ops`, o['ops'], WRITER_OPS);
    for (const k of WRITER_OPS) {
      if (m[k] !== undefined) ops[k] = num(`${path}.ops.${k}`, m[k], 0, 1_000_000);
    }
    if (Object.values(ops).every((w) => w === 0)) {
      fail(`${path}.ops`, m, `weights for ${WRITER_OPS.join(', ')} with at least one above 0`);
    }
  }
  return {
    count:
      o['count'] === undefined
        ? DEFAULT_WRITER.count
        : int(`${path}.count`, o['count'], 0, LIMITS.writersPerGroup),
    ops: o['ops'] === undefined ? DEFAULT_WRITER.ops : ops,
    thinkUs:
      o['thinkUs'] === undefined
        ? DEFAULT_WRITER.thinkUs
        : int(`${path}.thinkUs`, o['thinkUs'], 0, LIMITS.thinkUs),
    pages:
      o['pages'] === undefined
        ? DEFAULT_WRITER.pages
        : int(`${path}.pages`, o['pages'], 1, LIMITS.vmaPages),
  };
}

const TOP_FIELDS = [
  'name',
  'description',
  'vmas',
  'access',
  'writeFraction',
  'faultCost',
  'writers',
  'srcuFree',
  'faultWait',
  'schemes',
] as const;

/**
 * Check a parsed workload (a file's JSON or a preset) and fill in the defaults. `path` names
 * the source in messages (e.g. the file name); `schemes` are the scheme names allowed.
 */
export function parseWorkload(
  raw: unknown,
  path: string,
  schemes: readonly string[],
): WorkloadSpec {
  const o = object(path, raw, TOP_FIELDS);
  const d = DEFAULT_WORKLOAD;
  const get = <T>(k: (typeof TOP_FIELDS)[number], f: (p: string, v: unknown) => T, dflt: T): T =>
    o[k] === undefined ? dflt : f(`${path}.${k}`, o[k]);
  const vmas = get(
    'vmas',
    (p, v) => {
      const m = object(p, v, ['layout', 'count', 'pages']);
      const layout =
        m['layout'] === undefined
          ? d.vmas.layout
          : oneOf(`${p}.layout`, m['layout'], ['private', 'shared', 'spread', 'churn'] as const);
      const spread = layout === 'spread';
      return {
        layout,
        count:
          m['count'] === undefined
            ? d.vmas.count
            : int(`${p}.count`, m['count'], 1, spread ? LIMITS.spreadVmaCount : LIMITS.vmaCount),
        pages:
          m['pages'] === undefined
            ? spread
              ? 1
              : d.vmas.pages
            : int(`${p}.pages`, m['pages'], 1, spread ? LIMITS.spreadVmaPages : LIMITS.vmaPages),
      };
    },
    d.vmas,
  );
  const spread = vmas.layout === 'spread';
  const access = get(
    'access',
    (p, v) =>
      spread
        ? oneOf(p, v, ['uniform', 'zipf'] as const)
        : oneOf(p, v, ['sequential', 'random'] as const),
    spread ? 'uniform' : d.access,
  );
  const list = <T>(p: string, v: unknown, max: number, each: (p: string, v: unknown) => T): T[] => {
    if (!Array.isArray(v) || v.length > max) fail(p, v, `a list of at most ${max}`);
    return v.map((x, i) => each(`${p}[${i}]`, x));
  };
  const base: WorkloadSpec = {
    name: get(
      'name',
      (p, v) => str(p, v, /^[a-z0-9][a-z0-9_-]{0,39}$/, 'a name of a-z 0-9 _ - (up to 40)'),
      d.name,
    ),
    description: get(
      'description',
      (p, v) => str(p, v, /^[^\n]{0,200}$/, 'one line of text'),
      d.description,
    ),
    vmas,
    access,
    writeFraction: get('writeFraction', (p, v) => num(p, v, 0, 1), d.writeFraction),
    faultCost: get('faultCost', faultCost, d.faultCost),
    writers: get('writers', (p, v) => list(p, v, LIMITS.writerGroups, writerGroup), d.writers),
    srcuFree: get(
      'srcuFree',
      (p, v) => {
        const l = list(p, v, 2, (q, x) => oneOf(q, x, SRCU_FREE));
        if (l.length === 0 || new Set(l).size !== l.length)
          fail(p, v, 'one or both of call_srcu, synchronize_srcu');
        return l;
      },
      d.srcuFree,
    ),
  };
  const sleeps = base.faultCost.kind === 'sleep';
  const waits = get(
    'faultWait',
    (p, v) => {
      const l = list(p, v, 2, (q, x) => oneOf(q, x, FAULT_WAIT));
      if (l.length === 0 || new Set(l).size !== l.length) fail(p, v, 'one or both of retry, hold');
      if (!sleeps && l.some((w) => w !== 'hold')) {
        fail(p, v, `['hold'] only: faultCost.kind ${base.faultCost.kind} has no wait to drop`);
      }
      return l;
    },
    undefined,
  );
  const spec: WorkloadSpec = waits === undefined ? base : { ...base, faultWait: waits };
  if (o['schemes'] !== undefined) {
    const l = list(`${path}.schemes`, o['schemes'], schemes.length, (q, x) => oneOf(q, x, schemes));
    if (l.length === 0) fail(`${path}.schemes`, l, `a non-empty list of ${schemes.join(', ')}`);
    return { ...spec, schemes: l };
  }
  return spec;
}

/**
 * The fault cost one run gives its faulters: the spec's, with the run's wait mode for a sleep
 * (null: the spec's first).
 */
export function runFaultCost(w: WorkloadSpec, wait: FaultWait | null): FaultCost {
  const c = w.faultCost;
  return c.kind === 'sleep' ? { ...c, wait: wait ?? faultWaits(w)[0]! } : c;
}

/** The wait modes a workload runs: its faultWait, or the default for its cost. */
export function faultWaits(w: WorkloadSpec): readonly FaultWait[] {
  return w.faultWait ?? (w.faultCost.kind === 'sleep' ? ['retry'] : ['hold']);
}

/** Writer workers in the workload. */
export function writerCount(w: WorkloadSpec): number {
  return w.writers.reduce((s, g) => s + g.count, 0);
}
