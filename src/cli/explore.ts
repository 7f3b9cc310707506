// `faultline explore NAME [--variant fixed|broken] [--preemptions K] [--max-executions N]
// [--strategy dfs|pct] [--seed S] [--depth D] [--replay STRING] [--json F]`: every
// interleaving of a small scenario within a preemption bound (or random PCT schedules), on
// real threads under the controlled scheduler.

import { UsageError } from '../errors.js';
import { ControlledRun, type Execution, variantMask } from '../harness/race/engine.js';
import { explore as exploreSearch } from '../harness/race/explore.js';
import type { RaceScript } from '../harness/race/scenario.js';
import { decodeSchedule } from '../harness/race/schedule.js';
import { renderTimeline } from '../harness/race/timeline.js';
import { type Command, parseFlags } from './common.js';
import { checkWritable, loadScript, parseIntFlag, writeReport } from './race_common.js';

export const EXPLORE_HELP = `usage: faultline explore NAME [--variant fixed|broken] [--preemptions K] [--max-executions N]
                         [--strategy dfs|pct] [--seed S] [--depth D] [--no-prune]
                         [--replay STRING] [--json F]

Searches the interleavings of a race script's scenario without its schedule: DFS over the
scheduler's choices with iterative preemption bounding (every schedule with at most K
preemptions, fewest first), or PCT random schedules from a seed. Reports the executions run,
the distinct outcomes with counts, and the first failing schedule (fewest preemptions) as a
string that --replay runs again step for step.

  --variant V          fixed or broken (default broken)
  --preemptions K      DFS bound, 0..10 (default 2)
  --max-executions N   1..10000000 (default 20000; DFS: executions judged, not pruned ones)
  --strategy S         dfs or pct (default dfs)
  --seed S             PCT seed, 0..4294967295 (default 1)
  --depth D            PCT depth d (d-1 priority change points), 1..8 (default 3)
  --no-prune           DFS without sleep sets (every schedule within the bound is run)
  --replay STRING      run one schedule (as printed, e.g. 1x3.2x3.1x4) and show its timeline
  --json F             write the result as JSON

Exit: 0 when no execution failed (or a replay held), 1 when one did, 2 on bad input.
`;

function show(script: RaceScript, run: ControlledRun, e: Execution): void {
  process.stdout.write(`${renderTimeline(script, run.env, e)}\n`);
  process.stdout.write(
    `outcome: ${e.outcome}; ${e.verdict.ok ? 'ok' : 'FAILS'}: ${e.verdict.text} (${e.steps} steps, ${e.preemptions} preemption${e.preemptions === 1 ? '' : 's'})\n`,
  );
}

const OPTIONS = {
  variant: { type: 'string' },
  preemptions: { type: 'string' },
  'max-executions': { type: 'string' },
  strategy: { type: 'string' },
  seed: { type: 'string' },
  depth: { type: 'string' },
  replay: { type: 'string' },
  'no-prune': { type: 'boolean' },
  json: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

async function exploreMain(argv: readonly string[]): Promise<number> {
  const { help, values, positionals } = parseFlags('explore', argv, OPTIONS, 1);
  if (help) {
    process.stdout.write(EXPLORE_HELP);
    return 0;
  }
  if (positionals.length !== 1) {
    throw new UsageError('explore: one scenario NAME is needed; see faultline race --list');
  }
  const variant = values.variant ?? 'broken';
  if (variant !== 'fixed' && variant !== 'broken') {
    throw new UsageError(`--variant ${variant}: allowed fixed or broken`);
  }
  const strategy = values.strategy ?? 'dfs';
  if (strategy !== 'dfs' && strategy !== 'pct') {
    throw new UsageError(`--strategy ${strategy}: allowed dfs or pct`);
  }
  const K = parseIntFlag('--preemptions', values.preemptions, 0, 10, 2);
  const maxExecutions = parseIntFlag(
    '--max-executions',
    values['max-executions'],
    1,
    10_000_000,
    20_000,
  );
  const seed = parseIntFlag('--seed', values.seed, 0, 4294967295, 1);
  const depth = parseIntFlag('--depth', values.depth, 1, 8, 3);
  checkWritable('--json', values.json);
  const { script, module } = await loadScript(positionals[0]!);
  const prefix =
    values.replay === undefined ? null : decodeSchedule(values.replay, script.tasks.length);
  const run = await ControlledRun.open(script, module, variant);
  try {
    const bugs = variantMask(script, variant);
    process.stdout.write(`== ${script.name} (${variant} variant): ${script.summary}\n`);
    if (prefix !== null) {
      const e = await run.run(bugs, { mode: 'default', prefix });
      show(script, run, e);
      if (e.outcome === 'diverged') {
        process.stdout.write(
          `the schedule diverged at step ${e.outcomeStep + 1}: that task could not run there\n`,
        );
      }
      writeReport(
        values.json,
        `${JSON.stringify({ script: script.name, variant, replay: values.replay, outcome: e.outcome, ok: e.verdict.ok, verdict: e.verdict.text, steps: e.steps, schedule: e.schedule }, null, 2)}\n`,
      );
      return e.verdict.ok && e.outcome !== 'diverged' ? 0 : 1;
    }
    const progress = process.stderr.isTTY
      ? (n: number): void => {
          if (n % 500 === 0) process.stderr.write(`\r${n} executions`);
        }
      : undefined;
    const r = await exploreSearch(run, {
      strategy,
      preemptions: K,
      maxExecutions,
      seed,
      depth,
      bugs,
      prune: values['no-prune'] !== true,
      ...(progress === undefined ? {} : { onExecution: progress }),
    });
    if (progress !== undefined) process.stderr.write('\r\x1b[K');
    const rate = r.executions / Math.max(r.elapsedMs / 1000, 1e-9);
    const how =
      strategy === 'dfs' ? `DFS, at most ${K} preemptions` : `PCT, seed ${seed}, depth ${depth}`;
    process.stdout.write(
      `${how}: ${r.executions} executions in ${(r.elapsedMs / 1000).toFixed(2)} s (${rate.toFixed(0)}/s, up to ${r.maxSteps} steps each); ${
        strategy === 'dfs'
          ? r.exhausted
            ? 'search exhausted'
            : `stopped at --max-executions ${maxExecutions}, not exhausted`
          : 'random schedules'
      }${r.pruned > 0 ? `; ${r.pruned} ended early by the sleep sets` : ''}\noutcomes:\n`,
    );
    for (const o of r.outcomes) {
      process.stdout.write(
        `  ${String(o.count).padStart(8)}  ${o.ok ? 'ok  ' : 'FAIL'}  ${o.text}\n`,
      );
    }
    const f = r.firstFailure;
    if (f === null) process.stdout.write('no failing execution\n');
    else {
      process.stdout.write(
        `\nfirst failing schedule (${f.preemptions} preemption${f.preemptions === 1 ? '' : 's'}${
          r.minimiseExecutions > 0
            ? `; minimised by a DFS of ${r.minimiseExecutions} executions`
            : ''
        }): ${f.schedule}\n` +
          `replay: faultline explore ${positionals[0]} --variant ${variant} --replay ${f.schedule}\n\n`,
      );
      show(script, run, f);
    }
    writeReport(
      values.json,
      `${JSON.stringify(
        {
          script: script.name,
          variant,
          strategy,
          preemptions: K,
          seed,
          executions: r.executions,
          pruned: r.pruned,
          sleepSets: strategy === 'dfs' && values['no-prune'] !== true,
          exhausted: r.exhausted,
          elapsedMs: Math.round(r.elapsedMs),
          executionsPerSecond: Math.round(rate),
          outcomes: r.outcomes,
          firstFailure:
            f === null
              ? null
              : { schedule: f.schedule, preemptions: f.preemptions, verdict: f.verdict.text },
        },
        null,
        2,
      )}\n`,
    );
    return f === null ? 0 : 1;
  } finally {
    await run.close();
  }
}

export const explore: Command = {
  name: 'explore',
  summary: 'every interleaving of a small scenario within a preemption bound, or PCT',
  run: exploreMain,
};
