// `faultline litmus`: the litmus catalogue (src/harness/litmus/catalogue/) on real threads, one
// jcstress-like table per test. Exit 0 when no fixed test saw a FORBIDDEN outcome and every
// broken variant showed its FORBIDDEN outcome; 1 otherwise; 2 on bad input. Reports are written
// only after every test ran, each to a temporary file renamed into place.

import { resolve } from 'node:path';
import { shownArg, shownValue, UsageError } from '../errors.js';
import { CATALOGUE, selectLitmus } from '../harness/litmus/catalogue/index.js';
import type { LitmusTest } from '../harness/litmus/define.js';
import {
  litmusHtml,
  litmusJson,
  litmusJunit,
  litmusReport,
  renderLitmusResult,
} from '../harness/litmus/report.js';
import { type LitmusResult, runLitmus } from '../harness/litmus/run.js';
import { machineInfo } from '../harness/machine.js';
import { Progress } from '../harness/progress.js';
import { checkOutputPath, writeFileAtomic } from '../harness/report.js';
import {
  type Command,
  optionsHelp,
  parseDuration,
  parseFlags,
  parseIntArg,
  wrap,
} from './common.js';

/** The most instances one test may run. */
export const MAX_ITERATIONS = 1e9;
export const MAX_TIME_MS = 3_600_000;

const OPTIONS = {
  list: { type: 'boolean' },
  iterations: { type: 'string' },
  time: { type: 'string' },
  json: { type: 'string' },
  junit: { type: 'string' },
  html: { type: 'string' },
  'no-progress': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export function litmusHelp(): string {
  return `usage: faultline litmus [NAME|--list] [OPTIONS]

${wrap(
  `Runs litmus tests on real worker threads, in the style of jcstress and klitmus7: two to four
  actors on a few shared words, many independent instances per round, outcome counts classed
  ACCEPTABLE, ACCEPTABLE_INTERESTING (marked *) or FORBIDDEN (marked !). NAME is a test (sb,
  rcuwait+rcuwait-plain-ordering) or a family (sb runs sb and sb.plain); alone, it runs the
  whole catalogue. A test named TEST+BUG is a broken variant with that catalogue bug switched
  on: it passes only if its FORBIDDEN outcome shows up, and stops after the round in which it
  first does. Exit 0 when every test passed.`,
)}

${optionsHelp([
  ['--list', 'print the test names, one per line, and exit'],
  [
    '--iterations N',
    `instances to run per test (1..${MAX_ITERATIONS}; default: each test's own, 5,000 to 50,000)`,
  ],
  [
    '--time T',
    'stop each test after this long even if iterations remain: 5s, 500ms (default: none)',
  ],
  ['--json FILE', 'write the results as JSON'],
  ['--junit FILE', 'write JUnit XML: one testcase per litmus test'],
  ['--html FILE', 'write a self-contained HTML page with an outcome histogram per test'],
  ['--no-progress', 'no progress line (there is none when stderr is not a terminal)'],
  ['-h, --help', 'this text'],
])}`;
}

export interface LitmusArgs {
  readonly list: boolean;
  readonly tests: readonly LitmusTest[];
  readonly iterations: number | null;
  readonly timeMs: number;
  readonly json: string | null;
  readonly junit: string | null;
  readonly html: string | null;
  readonly progress: boolean;
}

/** Parse `faultline litmus` arguments. Returns null when --help was asked for. */
export function parseLitmusArgs(argv: readonly string[]): LitmusArgs | null {
  const { help, values: v, positionals } = parseFlags('litmus', argv, OPTIONS, 1);
  if (help) return null;
  const name = positionals[0];
  if (name !== undefined && v.list === true) {
    throw new UsageError(`--list with test ${shownValue(name)}; allowed: NAME or --list, not both`);
  }
  let tests: readonly LitmusTest[] = CATALOGUE;
  if (name !== undefined) {
    tests = selectLitmus(name);
    if (tests.length === 0) {
      throw new UsageError(
        `unknown litmus test ${shownValue(name)}; allowed: ${CATALOGUE.map((t) => t.name).join(', ')} (faultline litmus --list)`,
      );
    }
  }
  const iterations =
    v.iterations === undefined
      ? null
      : parseIntArg('--iterations', v.iterations, 1, MAX_ITERATIONS, 'instances per test');
  const timeMs = v.time === undefined ? 0 : parseDuration('--time', v.time, 10, MAX_TIME_MS);
  const outs: Array<[string, string | null]> = [
    ['--json', v.json ?? null],
    ['--junit', v.junit ?? null],
    ['--html', v.html ?? null],
  ];
  for (const [flag, f] of outs) if (f !== null) checkOutputPath(flag, f);
  for (let i = 0; i < outs.length; i++) {
    for (let j = i + 1; j < outs.length; j++) {
      const [fa, a] = outs[i]!;
      const [fb, b] = outs[j]!;
      if (a !== null && b !== null && resolve(a) === resolve(b)) {
        throw new UsageError(`${fa} and ${fb} both name ${shownArg(a)}; allowed: different files`);
      }
    }
  }
  return {
    list: v.list === true,
    tests,
    iterations,
    timeMs,
    json: v.json ?? null,
    junit: v.junit ?? null,
    html: v.html ?? null,
    progress: v['no-progress'] !== true,
  };
}

export const litmus: Command = {
  name: 'litmus',
  summary: 'litmus tests of atomics and kernel primitives on real threads (jcstress style)',
  async run(argv) {
    const args = parseLitmusArgs(argv);
    if (args === null) {
      process.stdout.write(litmusHelp());
      return 0;
    }
    if (args.list) {
      process.stdout.write(CATALOGUE.map((t) => `${t.name}\n`).join(''));
      return 0;
    }
    const progress = new Progress(args.tests.length, args.progress);
    const color = process.stdout.isTTY === true;
    const results: LitmusResult[] = [];
    for (const [i, t] of args.tests.entries()) {
      progress.start(i, t.name);
      const r = await runLitmus(t, {
        ...(args.iterations === null ? {} : { iterations: args.iterations }),
        timeMs: args.timeMs,
        // A broken variant has made its point once its FORBIDDEN outcome shows.
        stopOnFirst: t.bugs.length > 0,
      });
      progress.done();
      results.push(r);
      process.stdout.write(`${renderLitmusResult(r, color)}\n`);
    }
    const rep = litmusReport(
      machineInfo(),
      { iterations: args.iterations, timeMs: args.timeMs },
      results,
    );
    const failed = results.filter((r) => !r.passed);
    process.stdout.write(
      failed.length === 0
        ? `${results.length} litmus tests passed\n`
        : `${failed.length} of ${results.length} litmus tests FAILED: ${failed.map((r) => r.name).join(', ')}\n`,
    );
    const writes: Array<[string | null, () => string, string]> = [
      [args.json, () => litmusJson(rep), 'json'],
      [args.junit, () => litmusJunit(rep), 'junit'],
      [args.html, () => litmusHtml(rep), 'html'],
    ];
    for (const [file, render, what] of writes) {
      if (file === null) continue;
      writeFileAtomic(file, render());
      process.stdout.write(`${what} report: ${file}\n`);
    }
    return rep.passed ? 0 : 1;
  },
};
