// `faultline stress`: parse, run (repeating until a failure if asked), print, write the reports.
// Exit 0 when every check held, 1 on any violation, hang or lost wake-up; a UsageError goes up
// to the CLI, which prints it and exits 2. Reports are written after the runs, each atomically.

import { BUGS } from '../../sched/bugs.js';
import type { ProgressSink } from '../progress.js';
import { writeFileAtomic } from '../report.js';
import { parseStressArgs, stressHelp } from './args.js';
import { runStress, type StressProgress, type StressReport } from './engine.js';
import { renderStressHtml, renderStressText, stressJson, stressJunit } from './report.js';

export interface StressIo {
  readonly stdout: { write(s: string): boolean };
  readonly stderr: ProgressSink;
}

/** One line per bug: its name, then its story (scripts split at the first space). */
export function listBugs(): string {
  return BUGS.map((b) => `${b.name} ${b.story}`).join('\n') + '\n';
}

/** The progress line on a terminal: elapsed, operations, checks run, violations so far. */
function progressLine(err: ProgressSink, enabled: boolean, schemes: number) {
  const on = enabled && err.isTTY === true;
  let last = 0;
  return {
    update(p: StressProgress, run: number, runs: number): void {
      if (!on) return;
      const now = Date.now();
      if (now - last < 200) return;
      last = now;
      const rep = runs > 1 ? `run ${run}/${runs} ` : '';
      err.write(
        `\r\x1b[2K${rep}${p.scheme} (${p.schemeIndex + 1}/${schemes}) ${(p.elapsedMs / 1000).toFixed(1)}s  ops ${p.ops}  checks ${p.checks}  violations ${p.violations}`,
      );
    },
    done(): void {
      if (on) err.write('\r\x1b[2K');
    },
  };
}

export async function runStressCommand(argv: readonly string[], io: StressIo): Promise<number> {
  const parsed = parseStressArgs(argv);
  if (parsed.kind === 'help') {
    io.stdout.write(stressHelp());
    return 0;
  }
  if (parsed.kind === 'list-bugs') {
    io.stdout.write(listBugs());
    return 0;
  }
  const a = parsed.args;
  const progress = progressLine(io.stderr, a.progress, a.options.schemes.length);
  let report: StressReport | null = null;
  let run = 0;
  for (; run < a.repeatUntilFail; run++) {
    const seed = (a.options.seed + run) % 0x7fffffff;
    report = await runStress({
      ...a.options,
      seed,
      commandLine: a.rerun(seed),
      onProgress: (p) => progress.update(p, run + 1, a.repeatUntilFail),
    });
    if (!report.ok) break;
  }
  progress.done();
  if (report === null) return 1;
  io.stdout.write(renderStressText(report));
  if (a.repeatUntilFail > 1) {
    io.stdout.write(
      report.ok
        ? `repeat-until-fail: all ${a.repeatUntilFail} runs passed (seeds ${a.options.seed}..${a.options.seed + a.repeatUntilFail - 1})\n`
        : `repeat-until-fail: run ${run + 1} of at most ${a.repeatUntilFail} failed (seed ${report.seed})\n`,
    );
  }
  if (a.json !== null) {
    writeFileAtomic(a.json, stressJson(report));
    io.stdout.write(`json report: ${a.json}\n`);
  }
  if (a.junit !== null) {
    writeFileAtomic(a.junit, stressJunit(report));
    io.stdout.write(`junit report: ${a.junit}\n`);
  }
  if (a.html !== null) {
    writeFileAtomic(a.html, renderStressHtml(report));
    io.stdout.write(`html report: ${a.html}\n`);
  }
  return report.ok ? 0 : 1;
}
