// Workloads are data: what the faulting workers and the writers do, as a small object that a
// preset names or a user passes with --workload FILE. Every field has a default, so a file need
// only say what differs; an unknown field or a bad value is a UsageError that names the field
// and what is allowed (the CLI prints it on one line and exits 2).

import { createRequire } from 'node:module';
import type * as Z from 'zod';
import { shownValue, UsageError } from '../errors.js';

export const WRITER_OPS = ['mmapMunmap', 'mprotect', 'maps', 'madvise'] as const;
export type WriterOp = (typeof WRITER_OPS)[number];

export const SRCU_FREE = ['call_srcu', 'synchronize_srcu'] as const;
export type SrcuFree = (typeof SRCU_FREE)[number];

export const LIMITS = {
  vmaCount: 1024,
  vmaPages: 65_536,
  writerGroups: 8,
  writersPerGroup: 64,
  thinkUs: 1_000_000,
  spinNs: 10_000_000,
  sleepUs: 1_000_000,
} as const;

// ---- validation ----------------------------------------------------------------------------
// One zod schema is the workload file format: parseWorkload() validates with it (filling in the
// defaults), and schema/workload.schema.json is generated from it (workloadJsonSchema), so an
// editor can complete and check a file that names it in "$schema". Each schema's error text is
// what is allowed; formatIssue() turns zod's first issue into the one-line message.

// zod is loaded on first use, not with this module: the CLI parses a workload file rarely,
// and loading zod costs every faultline process about 0.2 s of CPU.
let zod: typeof Z | undefined;
function z(): typeof Z {
  zod ??= createRequire(import.meta.url)('zod') as typeof Z;
  return zod;
}

/** `allowed` as zod's error text for every check of one schema. */
const says = (allowed: string) => ({ error: allowed });

const int = (min: number, max: number) =>
  z()
    .int(says(`an integer ${min}..${max}`))
    .min(min, says(`an integer ${min}..${max}`))
    .max(max, says(`an integer ${min}..${max}`));

const num = (min: number, max: number) =>
  z()
    .number(says(`a number ${min}..${max}`))
    .min(min, says(`a number ${min}..${max}`))
    .max(max, says(`a number ${min}..${max}`));

const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z().enum(values, says(values.join(' | ')));

/** An object that refuses unknown fields; its error text is its field list. */
function fields<S extends Z.ZodRawShape>(shape: S) {
  const names = Object.keys(shape).join(', ');
  return z().strictObject(shape, {
    error: (iss) => (iss.code === 'unrecognized_keys' ? names : `an object with fields ${names}`),
  });
}

const list = <T extends Z.ZodType>(item: T, max: number) =>
  z()
    .array(item, says(`a list of at most ${max}`))
    .max(max, says(`a list of at most ${max}`));

const faultCostSchema = () =>
  z()
    .discriminatedUnion(
      'kind',
      [
        fields({ kind: z().literal('zero') }),
        fields({
          kind: z().literal('spin'),
          ns: int(1, LIMITS.spinNs).describe('busy-wait this many ns'),
        }),
        fields({
          kind: z().literal('sleep'),
          us: int(1, LIMITS.sleepUs).describe('sleep this many µs (Atomics.wait)'),
        }),
      ],
      {
        error: (iss) =>
          typeof iss.input === 'object' && iss.input !== null && !Array.isArray(iss.input)
            ? 'zero | spin | sleep'
            : 'an object with fields kind, ns, us',
      },
    )
    .describe(
      'the work a fault does while it holds its lock (VMA lock, SRCU section or mmap_lock)',
    );

const weight = () => num(0, 1_000_000).exactOptional();
const writerOpsSchema = () =>
  fields({
    mmapMunmap: weight().describe(
      'map an unrelated VMA, then unmap it (two operations, timed apart)',
    ),
    mprotect: weight().describe("flip a faulters' VMA between read-write and read-only"),
    maps: weight().describe(
      'read /proc/pid/maps (every VMA, through per-VMA locks where the scheme has them)',
    ),
    madvise: weight().describe("MADV_DONTNEED a faulters' VMA"),
  })
    .refine(
      (o) => Object.values(o).some((w) => w !== undefined && w > 0),
      says(`weights for ${WRITER_OPS.join(', ')} with at least one above 0`),
    )
    .describe('relative weights of the operations each writer picks from');

const writerGroupSchema = () =>
  fields({
    count: int(0, LIMITS.writersPerGroup).default(1).describe('writer workers in this group'),
    ops: writerOpsSchema().default(() => ({ mmapMunmap: 1 })),
    thinkUs: int(0, LIMITS.thinkUs).default(0).describe('pause between operations, µs (0: none)'),
    pages: int(1, LIMITS.vmaPages)
      .default(16)
      .describe('size of the VMAs mmapMunmap maps, in pages'),
  });

/** The workload file format; `schemes` are the scheme names a file may list. */
export function workloadSchema(schemes: readonly [string, ...string[]]) {
  const srcuFree = `one or both of ${SRCU_FREE.join(', ')}`;
  return fields({
    name: z()
      .string(says('a name of a-z 0-9 _ - (up to 40)'))
      .regex(/^[a-z0-9][a-z0-9_-]{0,39}$/, says('a name of a-z 0-9 _ - (up to 40)'))
      .default('custom'),
    description: z()
      .string(says('one line of text'))
      .regex(/^[^\n]{0,200}$/, says('one line of text'))
      .default('a workload from a file'),
    vmas: fields({
      layout: oneOf(['private', 'shared']).default('private'),
      count: int(1, LIMITS.vmaCount).default(1),
      pages: int(1, LIMITS.vmaPages).default(128),
    })
      .prefault({})
      .describe(
        "the faulters' VMAs. private: `count` VMAs per faulter, each its own. shared: `count` VMAs that every faulter faults in, each faulter in its own slice of pages of each",
      ),
    access: oneOf(['sequential', 'random'])
      .default('sequential')
      .describe(
        'the order a faulter touches its pages in each round (random: a fresh shuffle each round)',
      ),
    writeFraction: num(0, 1).default(1).describe('the fraction of faults that are writes (0..1)'),
    faultCost: faultCostSchema().default(() => ({ kind: 'zero' as const })),
    writers: list(writerGroupSchema(), LIMITS.writerGroups).default(() => []),
    srcuFree: list(oneOf(SRCU_FREE), 2)
      .min(1, says(srcuFree))
      .refine((l) => new Set(l).size === l.length, says(srcuFree))
      .meta({ uniqueItems: true })
      .default(() => ['call_srcu' as const])
      .describe('srcu_spf runs once per value listed: how munmap frees VMAs'),
    schemes: list(oneOf(schemes), schemes.length)
      .min(1, says(`a non-empty list of ${schemes.join(', ')}`))
      .exactOptional()
      .describe('run only these schemes (absent: every scheme asked for)'),
    $schema: z()
      .string(says('a string (the JSON Schema this file follows)'))
      .exactOptional()
      .describe('the JSON Schema this file follows (ignored by faultline)'),
  });
}

type DeepReadonly<T> = T extends readonly (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/** A checked workload, every default filled in: what parseWorkload returns. */
export type WorkloadSpec = DeepReadonly<
  Omit<Z.output<ReturnType<typeof workloadSchema>>, '$schema'>
>;
export type WriterGroup = WorkloadSpec['writers'][number];
/** The work a fault does while it holds its lock (VMA lock, SRCU section or mmap_lock). */
export type FaultCost = WorkloadSpec['faultCost'];

/** What an empty workload file means. */
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

/** What a writer group `{}` means. */
export const DEFAULT_WRITER: WriterGroup = {
  count: 1,
  ops: { mmapMunmap: 1 },
  thinkUs: 0,
  pages: 16,
};

/** The JSON Schema of workload files (schema/workload.schema.json is this, written out). */
export function workloadJsonSchema(schemes: readonly [string, ...string[]]): unknown {
  return {
    ...z().toJSONSchema(workloadSchema(schemes), { io: 'input', target: 'draft-2020-12' }),
    title: 'faultline workload',
    description:
      'A workload for faultline bench --workload FILE. Every field has a default; see the README.',
  };
}

/** The one-line message for zod's issue: where, the value (bounded), and what is allowed. */
function formatIssue(source: string, iss: Z.core.$ZodIssue): string {
  let at = source;
  for (const k of iss.path) at += typeof k === 'number' ? `[${k}]` : `.${String(k)}`;
  if (iss.code === 'unrecognized_keys') {
    return `${at}: unknown field ${shownValue(iss.keys[0])}; allowed: ${iss.message}`;
  }
  let got: unknown = iss.input;
  if (iss.code === 'invalid_union' && 'discriminator' in iss) {
    // zod puts the discriminator in the path and the whole object in the input.
    got = (iss.input as Record<string, unknown> | undefined)?.[String(iss.discriminator)];
  }
  return `${at}: ${shownValue(got)} is not allowed; allowed: ${iss.message}`;
}

/**
 * Check a parsed workload (a file's JSON or a preset) and fill in the defaults. `path` names
 * the source in messages (e.g. the file name); `schemes` are the scheme names allowed.
 */
export function parseWorkload(
  raw: unknown,
  path: string,
  schemes: readonly string[],
): WorkloadSpec {
  if (schemes.length === 0) throw new RangeError('parseWorkload: no scheme names');
  const r = workloadSchema(schemes as [string, ...string[]]).safeParse(raw, {
    reportInput: true,
  });
  if (!r.success) throw new UsageError(formatIssue(path, r.error.issues[0]!));
  const { $schema: _, schemes: only, ...spec } = r.data;
  return only === undefined ? spec : { ...spec, schemes: only };
}

/** Writer workers in the workload. */
export function writerCount(w: WorkloadSpec): number {
  return w.writers.reduce((s, g) => s + g.count, 0);
}
