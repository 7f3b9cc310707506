// Struct declarations for the shared buffer.
//
// A struct is a list of fields, each a number of 32-bit words. Fields marked `hot` are the
// ones several CPUs write (a lock word, a reference count): with padding on, each hot field
// starts a 64-byte cache line and owns it, so that it never shares a line with its neighbours.
// With padding off, every struct is packed (that is the configuration the size figures use).
//
// Offsets are recomputed in place by configureLayout(), which the arena calls when it creates
// or attaches a buffer, so every thread computes the same offsets from the header's flags.
// Every other module reads offsets from these objects; no offset is typed anywhere else.

/** Bytes in a shared word. Everything in the buffer is an Int32 word. */
export const WORD_BYTES = 4;
/** Words in a 64-byte cache line. */
export const LINE_WORDS = 64 / WORD_BYTES;

/**
 * A field: a number of words, optionally `hot` (own cache line when padding is on), or an
 * embedded struct (its size follows the padding setting too).
 */
export type FieldSpec =
  | number
  | { readonly words: number; readonly hot?: boolean }
  | { readonly struct: { readonly SIZE: number }; readonly hot?: boolean };

export type Struct<K extends string> = { readonly [F in K]: number } & {
  /** Size in words, rounded up to whole cache lines when padding is on and a field is hot. */
  readonly SIZE: number;
  readonly NAME: string;
};

interface Registered {
  readonly name: string;
  readonly fields: ReadonlyArray<readonly [string, () => number, boolean]>;
  readonly target: Record<string, number | string>;
}

const registry: Registered[] = [];
let padding = true;

function place(reg: Registered, pad: boolean): void {
  let off = 0;
  let anyHot = false;
  for (const [name, size, hot] of reg.fields) {
    const words = size();
    if (pad && hot) {
      off = alignUp(off, LINE_WORDS);
      reg.target[name] = off;
      off += alignUp(words, LINE_WORDS);
      anyHot = true;
    } else {
      reg.target[name] = off;
      off += words;
    }
  }
  reg.target['SIZE'] = pad && anyHot ? alignUp(off, LINE_WORDS) : Math.max(off, 1);
}

export function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

/** Declare a struct. The returned object's offsets follow the current padding setting. */
export function defineStruct<K extends string>(
  name: string,
  fields: { readonly [F in K]: FieldSpec },
): Struct<K> {
  const list: Array<readonly [string, () => number, boolean]> = [];
  for (const [f, spec] of Object.entries(fields) as Array<[string, FieldSpec]>) {
    let size: () => number;
    if (typeof spec === 'number') size = () => spec;
    else if ('struct' in spec) size = () => spec.struct.SIZE;
    else size = () => spec.words;
    const hot = typeof spec === 'number' ? false : spec.hot === true;
    const words = size();
    if (!Number.isInteger(words) || words < 1) {
      throw new Error(`struct ${name}: field ${f} has ${words} words; a field takes 1 or more`);
    }
    list.push([f, size, hot]);
  }
  const target: Record<string, number | string> = { NAME: name };
  const reg: Registered = { name, fields: list, target };
  place(reg, padding);
  registry.push(reg);
  return target as unknown as Struct<K>;
}

/** Recompute every struct's offsets for the given padding setting. */
export function configureLayout(opts: { readonly padding: boolean }): void {
  // Every struct is placed for the current setting when declared and whenever it changes, so
  // the same setting again changes nothing (each worker attaches once a run).
  if (opts.padding === padding) return;
  padding = opts.padding;
  for (const reg of registry) place(reg, padding);
}

export function layoutPadding(): boolean {
  return padding;
}

/**
 * A fingerprint of every declared struct (names, offsets, sizes) under the current setting.
 * The header stores it, so a worker built from other sources cannot attach by accident.
 */
export function layoutFingerprint(): number {
  const key = `${padding} ${registry.length}`;
  const have = fingerprints.get(key);
  if (have !== undefined) return have;
  const h = computeFingerprint();
  fingerprints.set(key, h);
  return h;
}

/** layoutFingerprint() by padding setting and number of structs declared. */
const fingerprints = new Map<string, number>();

function computeFingerprint(): number {
  let h = 0x811c9dc5;
  const mix = (s: string): void => {
    for (let i = 0; i < s.length; i++) {
      h ^= s.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
  };
  const names = registry.map((r) => r.name).sort();
  for (const n of names) {
    const reg = registry.find((r) => r.name === n)!;
    mix(n);
    for (const [f] of reg.fields) mix(`${f}@${reg.target[f]}`);
    mix(`#${reg.target['SIZE']}`);
  }
  return h | 0;
}

export function describeLayout(): Array<{
  name: string;
  sizeWords: number;
  fields: Record<string, number>;
}> {
  return registry.map((r) => {
    const fields: Record<string, number> = {};
    for (const [f] of r.fields) fields[f] = r.target[f] as number;
    return { name: r.name, sizeWords: r.target['SIZE'] as number, fields };
  });
}
