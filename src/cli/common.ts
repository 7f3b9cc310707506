// What every command shares: flag parsing (node:util parseArgs, strict and typed), value
// parsers whose errors are one line naming the flag, the value and what is allowed, help text
// wrapping, and how an error becomes an exit code (0 ok, 1 a run failed, 2 bad input).

import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { clipLine, shownArg, shownValue, UsageError } from '../errors.js';
import { RunFailure } from '../harness/runner.js';
import { parseWorkload, type WorkloadSpec } from '../workload/spec.js';

/** One `faultline COMMAND`: its file under src/cli/ exports one of these. */
export interface Command {
  readonly name: string;
  /** one line for `faultline --help` */
  readonly summary: string;
  /** Run with the arguments after the command name; resolves to the exit code. */
  run(argv: readonly string[]): Promise<number>;
}

// ---- flags ---------------------------------------------------------------------------------

/** What `parseArgs` takes as `options` (its own name for it is not exported). */
export type ParseArgsOptionsConfig = NonNullable<ParseArgsConfig['options']>;

type Parsed<T extends ParseArgsOptionsConfig> = ReturnType<
  typeof parseArgs<{ options: T; strict: true; allowPositionals: true }>
>;

export interface FlagsResult<T extends ParseArgsOptionsConfig> {
  /** true when -h/--help was given: print the help, ignore everything else */
  readonly help: boolean;
  readonly values: Parsed<T>['values'];
  readonly positionals: readonly string[];
}

/**
 * Parse `argv` against `options` (which must include `help: {type: 'boolean', short: 'h'}`).
 * A value flag takes the next word even when it starts with one dash (`--threads -1` is a bad
 * thread count, not an unknown option); a word starting with `--` is never taken as a value.
 * Each value flag may be given once. Errors are UsageErrors in the house form; `positionals` is
 * how many plain arguments the command takes (none by default).
 */
export function parseFlags<T extends ParseArgsOptionsConfig>(
  command: string,
  argv: readonly string[],
  options: T,
  positionals = 0,
): FlagsResult<T> {
  const loose = parseArgs({
    args: [...argv],
    options,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const allowed = Object.entries(options).flatMap(([name, o]) =>
    o.short === undefined ? [`--${name}`] : [`--${name}`, `-${o.short}`],
  );
  const seen = new Set<string>();
  const normal: string[] = [];
  const plain: string[] = [];
  let help = false;
  let error: UsageError | null = null;
  for (const t of loose.tokens) {
    if (t.kind === 'option-terminator') continue;
    if (t.kind === 'positional') {
      plain.push(t.value);
      if (plain.length > positionals) {
        error ??= new UsageError(
          `unexpected argument ${shownValue(t.value)}; faultline ${command} takes ${
            positionals === 0 ? 'only options' : `at most ${positionals} argument(s) and options`
          }`,
        );
      }
      continue;
    }
    const o = Object.hasOwn(options, t.name) ? options[t.name] : undefined;
    const flag = `--${t.name}`;
    if (o === undefined) {
      error ??= new UsageError(
        `unknown option ${shownArg(t.rawName)}; allowed: ${allowed.join(', ')}`,
      );
    } else if (o.type === 'boolean') {
      if (t.name === 'help') help = true;
      if (t.value !== undefined) {
        error ??= new UsageError(
          `${flag}=${shownArg(t.value)}: ${flag} takes no value; allowed: ${flag} alone`,
        );
      } else if (!seen.has(t.name)) normal.push(flag);
      seen.add(t.name);
    } else if (t.value === undefined || (!t.inlineValue && t.value.startsWith('--'))) {
      error ??= new UsageError(`${flag} needs a value; see faultline ${command} --help`);
    } else if (seen.has(t.name)) {
      error ??= new UsageError(`${flag} given twice; allowed: once`);
    } else {
      seen.add(t.name);
      normal.push(`${flag}=${t.value}`);
    }
  }
  const none = { help, values: {} as Parsed<T>['values'], positionals: [] };
  if (help) return none;
  if (error !== null) throw error;
  // Every word is checked; the strict parse only types the values.
  const strict = parseArgs({
    args: [...normal, '--', ...plain],
    options,
    strict: true,
    allowPositionals: true,
  });
  return { help, values: strict.values, positionals: strict.positionals };
}

// ---- values --------------------------------------------------------------------------------

/** The items of a comma-separated list; an empty item is an error. */
export function parseList(flag: string, v: string, allowed: string): string[] {
  const items = v.split(',').map((s) => s.trim());
  if (items.some((s) => s === '')) {
    throw new UsageError(`${flag} ${shownValue(v)}: empty item; allowed: ${allowed}`);
  }
  return items;
}

/** A list of names from `allowed` (`noun` names one in the error), duplicates dropped. */
export function parseNames<T extends string>(
  flag: string,
  v: string,
  allowed: readonly T[],
  noun: string,
): T[] {
  const names = parseList(flag, v, allowed.join(', '));
  for (const n of names) {
    if (!(allowed as readonly string[]).includes(n)) {
      throw new UsageError(
        `${flag}: unknown ${noun} ${shownValue(n)}; allowed: ${allowed.join(', ')}`,
      );
    }
  }
  return [...new Set(names as T[])];
}

/** An integer min..max written in decimal digits; `what` says what it counts. */
export function parseIntArg(flag: string, v: string, min: number, max: number, what = ''): number {
  const n = Number(v);
  if (!/^\d{1,16}$/.test(v) || n < min || n > max) {
    throw new UsageError(
      `${flag} ${shownArg(v)}: allowed: an integer ${min}..${max}${what === '' ? '' : ` (${what})`}`,
    );
  }
  return n;
}

/** A comma-separated list of integers min..max, sorted, duplicates dropped. */
export function parseIntList(
  flag: string,
  v: string,
  min: number,
  max: number,
  example: string,
): number[] {
  const allowed = `integers ${min}..${max}, e.g. ${example}`;
  const ns = parseList(flag, v, allowed).map((s) => {
    const n = Number(s);
    if (!/^\d{1,16}$/.test(s) || n < min || n > max) {
      throw new UsageError(`${flag}: ${shownValue(s)} is not allowed; allowed: ${allowed}`);
    }
    return n;
  });
  return [...new Set(ns)].sort((a, b) => a - b);
}

/**
 * A length of time in ms: `500ms`, `2s`, or a bare number of seconds (`2`, `0.5`), as `timeout`
 * and most tools take it. Rounded to whole milliseconds.
 */
export function parseDuration(flag: string, v: string, minMs: number, maxMs: number): number {
  const m = /^(\d{1,9}(?:\.\d{1,9})?)(ms|s)?$/.exec(v.trim());
  const ms = m === null ? Number.NaN : Number(m[1]) * (m[2] === 'ms' ? 1 : 1000);
  if (!(ms >= minMs && ms <= maxMs)) {
    throw new UsageError(
      `${flag} ${shownArg(v)}: allowed: a time like 2s, 500ms or 2 (seconds), from ${fmtMs(minMs)} to ${fmtMs(maxMs)}`,
    );
  }
  return Math.round(ms);
}

const fmtMs = (ms: number): string => (ms >= 1000 && ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`);

/** The largest workload file read: a workload is a few hundred bytes. */
export const MAX_WORKLOAD_BYTES = 1 << 20;

/** Read and check a workload JSON file; every failure is a one-line UsageError. */
export function readWorkloadFile(
  flag: string,
  file: string,
  schemes: readonly string[],
): WorkloadSpec {
  const shown = shownArg(file);
  let text: string;
  try {
    const st = statSync(file);
    if (!st.isFile()) {
      throw new UsageError(`${flag} ${shown}: not a regular file; allowed: a JSON file`);
    }
    if (st.size > MAX_WORKLOAD_BYTES) {
      throw new UsageError(
        `${flag} ${shown}: ${st.size} bytes; allowed: a JSON file of at most ${MAX_WORKLOAD_BYTES} bytes`,
      );
    }
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(
      `${flag} ${shown}: cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'}); allowed: a JSON file`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${flag} ${shown}: not valid JSON (${firstLine(err)})`);
  }
  try {
    return parseWorkload(raw, shownArg(basename(file)), schemes);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    // Describing the value failed (it should not: descriptions are bounded); still one line.
    throw new UsageError(
      `${flag} ${shown}: cannot be checked (${firstLine(err)}); allowed: a workload as the README describes`,
    );
  }
}

function firstLine(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  return clipLine(m.split('\n')[0] ?? '');
}

// ---- help ----------------------------------------------------------------------------------

export const HELP_WIDTH = 100;
/** The column option descriptions start in. */
const DESC_COL = 26;

/**
 * Words wrapped so that no line passes column `width` when every line starts at column
 * `indent` (the first line is placed by the caller; the rest are indented here).
 */
export function wrap(text: string, width = HELP_WIDTH, indent = 0): string {
  const room = width - indent;
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter((w) => w !== '')) {
    if (line !== '' && line.length + 1 + word.length > room) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  lines.push(line);
  return lines.join(`\n${' '.repeat(indent)}`);
}

/** An `options:` block: each [flags, description] row, descriptions wrapped in their column. */
export function optionsHelp(rows: readonly (readonly [string, string])[]): string {
  const out = rows.map(([flags, desc]) => {
    const head = `  ${flags}`;
    const first =
      head.length < DESC_COL ? head.padEnd(DESC_COL) : `${head}\n${' '.repeat(DESC_COL)}`;
    return first + wrap(desc, HELP_WIDTH, DESC_COL);
  });
  return `options:\n${out.join('\n')}\n`;
}

// ---- errors --------------------------------------------------------------------------------

/** Print an error the house way and return the exit code: 2 bad input, 1 anything else. */
export function reportError(err: unknown): number {
  if (err instanceof UsageError) {
    // One line whatever the message holds.
    const line = err.message.replace(/\s*[\r\n]+\s*/g, ' ');
    process.stderr.write(`faultline: ${line.length > 2000 ? `${line.slice(0, 1999)}…` : line}\n`);
    return 2;
  }
  if (err instanceof RunFailure) {
    process.stderr.write(`faultline: run failed: ${err.message}\n`);
    return 1;
  }
  process.stderr.write(
    `faultline: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  return 1;
}
