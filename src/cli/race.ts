// `faultline race NAME [--variant fixed|broken|both] [--list] [--all] [--repeat N] [--json F]
// [--junit F]`: replay a race argued on the mailing list, step by step, on real threads.

import { UsageError } from '../errors.js';
import { esc } from '../harness/markup.js';
import { type RaceResult, runRace, type Variant } from '../harness/race/race.js';
import { RACE_SCRIPTS } from '../harness/race/registry.js';
import { type Command, parseFlags } from './common.js';
import {
  checkWritable,
  loadScript,
  parseIntFlag,
  parseVariant,
  writeReport,
} from './race_common.js';

export const RACE_HELP = `usage: faultline race NAME [--variant fixed|broken|both] [--repeat N] [--json F] [--junit F]
       faultline race --all [--variant ...] [--json F] [--junit F]
       faultline race --list

Runs a race script: a small scenario on real worker threads whose shared-memory steps are
taken in the order the script's labelled schedule says, in the fixed variant (the kernel's
code: it must hold) and the broken one (a bug catalogue switch: it must show the bug). Prints
the interleaving as a timeline, the outcome and the verdict. NAME may also be a compiled
script file (.js) whose default export is a RaceScript (see the README).

  --variant V   fixed, broken or both (default both)
  --all         every shipped script
  --list        one line per script: its name, then its source thread
  --repeat N    run each variant N times (1..1000, default 1); every run must agree
  --json F      write the results as JSON
  --junit F     write the results as JUnit XML (one test case per script and variant)

Exit: 0 when every verdict is what the script expects, 1 otherwise, 2 on bad input.
`;

export function junit(results: readonly RaceResult[]): string {
  const fails = results.filter((r) => !r.pass).length;
  const cases = results.map((r) => {
    const name = `${r.script} (${r.variant})`;
    const body = r.pass
      ? ''
      : `<failure message="${esc(`expected it ${r.expected}; ${r.verdict}`)}">${esc(r.timeline)}</failure>`;
    return `  <testcase classname="faultline.race" name="${esc(name)}">${body}</testcase>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuite name="faultline race" tests="${results.length}" failures="${fails}">\n${cases.join('\n')}\n</testsuite>\n`;
}

const OPTIONS = {
  variant: { type: 'string' },
  list: { type: 'boolean' },
  all: { type: 'boolean' },
  repeat: { type: 'string' },
  json: { type: 'string' },
  junit: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

async function raceMain(argv: readonly string[]): Promise<number> {
  const { help, values, positionals } = parseFlags('race', argv, OPTIONS, 1);
  if (help) {
    process.stdout.write(RACE_HELP);
    return 0;
  }
  if (values.list === true) {
    const w = Math.max(...RACE_SCRIPTS.map((e) => e.script.name.length));
    for (const e of RACE_SCRIPTS)
      process.stdout.write(`${e.script.name.padEnd(w)}  ${e.script.thread}\n`);
    return 0;
  }
  const variant = parseVariant(values.variant, 'both');
  const repeat = parseIntFlag('--repeat', values.repeat, 1, 1000, 1);
  checkWritable('--json', values.json);
  checkWritable('--junit', values.junit);
  if (values.json !== undefined && values.json === values.junit) {
    throw new UsageError(
      `--json and --junit both name ${values.json}; allowed: two different files`,
    );
  }
  let names: string[];
  if (values.all === true) {
    if (positionals.length > 0)
      throw new UsageError(`--all with a NAME (${positionals[0]}): allowed one of them`);
    names = RACE_SCRIPTS.map((e) => e.script.name);
  } else {
    if (positionals.length !== 1) {
      throw new UsageError(
        positionals.length === 0
          ? 'race: a script NAME, --all or --list is needed; see faultline race --list'
          : `race: one NAME allowed, got ${positionals.length} (${positionals.join(' ').slice(0, 60)})`,
      );
    }
    names = [positionals[0]!];
  }
  const variants: Variant[] = variant === 'both' ? ['fixed', 'broken'] : [variant];
  const loaded = [];
  for (const n of names) loaded.push(await loadScript(n));
  const results: RaceResult[] = [];
  for (const { script, module } of loaded) {
    process.stdout.write(`\n== ${script.name}: ${script.summary}\n   source: ${script.thread}\n`);
    const rs = await runRace(script, module, variants, repeat);
    for (const r of rs) {
      const expect = r.variant === 'fixed' ? script.fixed : script.broken;
      process.stdout.write(`\n-- ${r.variant} variant (expected: ${expect})\n${r.timeline}\n`);
      process.stdout.write(`outcome: ${r.outcome}; ${r.verdict}\n`);
      const what = r.variant === 'fixed' ? 'the fix holds' : 'the bug shows';
      const agree = r.verdict.startsWith('runs disagree') ? 'disagree' : 'agree';
      const extra = repeat > 1 ? `, ${repeat} runs ${agree}` : '';
      process.stdout.write(
        `verdict: ${r.pass ? 'PASS' : 'FAIL'}: expected ${what}${r.pass ? ', and it does' : ', and it does not'} (${r.steps} steps${extra}; schedule ${r.schedule})\n`,
      );
      results.push(r);
    }
  }
  const pass = results.filter((r) => r.pass).length;
  process.stdout.write(`\n${pass} of ${results.length} verdicts as expected\n`);
  writeReport(
    values.json,
    `${JSON.stringify(
      results.map(({ exec: _e, ...r }) => r),
      null,
      2,
    )}\n`,
  );
  writeReport(values.junit, junit(results));
  return pass === results.length ? 0 : 1;
}

export const race: Command = {
  name: 'race',
  summary: 'the mailing-list races as deterministic scripts, fixed and broken (--list)',
  run: raceMain,
};
