// Shared by `faultline race` and `faultline explore`: finding a script by name or file, the
// variant flag, and writing report files only after their directories were checked.

import { accessSync, constants, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { UsageError } from '../errors.js';
import { compiledModule } from '../harness/paths.js';
import { RACE_SCRIPTS, script_by_name } from '../harness/race/registry.js';
import type { RaceScript } from '../harness/race/scenario.js';

export interface LoadedScript {
  readonly script: RaceScript;
  /** file URL of the module the task threads load */
  readonly module: string;
}

/** A shipped script by name, or a user's compiled script file (its default export). */
export async function loadScript(name: string): Promise<LoadedScript> {
  const e = script_by_name(name);
  if (e !== null) return { script: e.script, module: compiledModule(e.rel) };
  if (name.endsWith('.js') || name.endsWith('.mjs')) {
    const url = pathToFileURL(resolve(name)).href;
    let mod: { default?: RaceScript };
    try {
      mod = (await import(url)) as { default?: RaceScript };
    } catch (err) {
      throw new UsageError(`script file ${name}: cannot load it (${String(err).split('\n')[0]})`);
    }
    const s = mod.default;
    if (s === undefined || typeof s.name !== 'string' || !Array.isArray(s.tasks)) {
      throw new UsageError(`script file ${name}: its default export is not a race script`);
    }
    return { script: s, module: url };
  }
  throw new UsageError(
    `unknown race script '${name.slice(0, 60)}': allowed ${RACE_SCRIPTS.map((x) => x.script.name).join(', ')}, or a compiled script file (.js)`,
  );
}

export type VariantFlag = 'fixed' | 'broken' | 'both';

export function parseVariant(v: string | undefined, dflt: VariantFlag): VariantFlag {
  if (v === undefined) return dflt;
  if (v === 'fixed' || v === 'broken' || v === 'both') return v;
  throw new UsageError(`--variant ${v}: allowed fixed, broken or both`);
}

export function parseIntFlag(
  flag: string,
  v: string | undefined,
  lo: number,
  hi: number,
  dflt: number,
): number {
  if (v === undefined) return dflt;
  if (!/^[0-9]+$/.test(v) || Number(v) < lo || Number(v) > hi) {
    throw new UsageError(`${flag} ${v}: allowed an integer ${lo}..${hi}`);
  }
  return Number(v);
}

/** Fail now (exit 2) if a report file could not be written later. */
export function checkWritable(flag: string, file: string | undefined): void {
  if (file === undefined) return;
  try {
    accessSync(dirname(resolve(file)), constants.W_OK);
  } catch {
    throw new UsageError(`${flag} ${file}: its directory does not exist or is not writable`);
  }
}

export function writeReport(file: string | undefined, text: string): void {
  if (file !== undefined) writeFileSync(file, text);
}
