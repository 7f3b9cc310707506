// Writing reports to disk: never half-written. Each file is written to a temporary name in the
// same directory and renamed over the target, so a reader sees the old file or the whole new one.

import {
  accessSync,
  constants,
  existsSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { shownArg, UsageError } from '../errors.js';
import type { BenchReport } from './results.js';

export function writeFileAtomic(file: string, text: string): void {
  const dir = dirname(resolve(file));
  const tmp = join(dir, `.${basename(file)}.${process.pid}.tmp`);
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, file);
  } catch (err) {
    if (existsSync(tmp)) unlinkSync(tmp);
    throw err;
  }
}

/** Check before a run that `file` can be written later (its directory exists). */
export function checkOutputPath(flag: string, file: string): void {
  if (file === '') throw new UsageError(`${flag}: empty file name; allowed: a file path`);
  const dir = dirname(resolve(file));
  const [f, d] = [shownArg(file), shownArg(dir)];
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new UsageError(
      `${flag} ${f}: directory ${d} does not exist; allowed: a file in an existing directory`,
    );
  }
  if (existsSync(file) && statSync(file).isDirectory()) {
    throw new UsageError(`${flag} ${f}: is a directory; allowed: a file path`);
  }
  // Checked now, not after a long run: the report goes to a temporary file in that directory.
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new UsageError(
      `${flag} ${f}: directory ${d} is not writable; allowed: a file in a writable directory`,
    );
  }
}

/** The JSON report: { machine, config, results, warnings }. */
export function reportJson(report: BenchReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
