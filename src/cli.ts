#!/usr/bin/env node
// The command line: picks the command and maps what it throws to an exit code. Each command is
// one file under src/cli/ (shared flag helpers in src/cli/common.ts). `faultline` alone, or with
// options only, is `faultline bench`. Exit codes: 0 on success, 1 when a run fails (a worker
// error, the watchdog), 2 on bad input with one line that names the bad value and what is allowed.

import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { bench } from './cli/bench.js';
import { type Command, reportError } from './cli/common.js';
import { explore } from './cli/explore.js';
import { litmus } from './cli/litmus.js';
import { race } from './cli/race.js';
import { stress } from './cli/stress.js';
import { shownValue, UsageError } from './errors.js';

const COMMANDS: readonly Command[] = [bench, stress, race, litmus, explore];
const NAMES = [...COMMANDS.map((c) => c.name), 'help'];

function mainHelp(): string {
  const rows = [...COMMANDS, { name: 'help', summary: 'this text' }];
  return `faultline: the Linux kernel's mm locking (mmap_lock, per-VMA locks, RCU, SRCU) on real threads

usage: faultline [COMMAND] [OPTIONS]

commands:
${rows.map((c) => `  ${c.name.padEnd(10)}${c.summary}`).join('\n')}

faultline COMMAND --help tells more. Exit codes: 0 ok, 1 a run failed, 2 bad input.
`;
}

export async function main(argv: readonly string[]): Promise<number> {
  try {
    const [first, ...rest] = argv;
    if (first === '--help' || first === '-h' || first === 'help') {
      process.stdout.write(mainHelp());
      return 0;
    }
    if (first === undefined || first.startsWith('-')) return await bench.run(argv);
    const command = COMMANDS.find((c) => c.name === first);
    if (command === undefined) {
      throw new UsageError(`unknown command ${shownValue(first)}; allowed: ${NAMES.join(', ')}`);
    }
    return await command.run(rest);
  } catch (err) {
    return reportError(err);
  }
}

function invokedDirectly(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false;
  }
}

if (invokedDirectly()) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`faultline: ${String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
