// Running the built command line as a user would: `node dist/src/cli.js ARGS`, and the one check
// every bad-input case shares (exit 2, one line on stderr, nothing on stdout).

import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { distModule } from './threads.js';

export const CLI = fileURLToPath(distModule('src/cli'));

export interface Ran {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Run `faultline ...args` in a child process; a kill or a timeout reports code -1. */
export function runCli(args: readonly string[], timeoutMs = 60_000): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

/** What a bad invocation must give: exit 2, exactly one stderr line matching `re`, no stdout. */
export function expectOneLineUsageError(r: Ran, what: string, re: RegExp): void {
  expect(r.code, `${what} → ${r.stderr}`).toBe(2);
  expect(r.stdout).toBe('');
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(re);
}
