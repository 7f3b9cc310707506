// Executions per second under the controlled scheduler: a two-task scenario of about 50 steps
// (bench/controlled_scenario.ts), run by DFS with preemption bounding for a fixed time.
// `npm run bench:controlled -- [--time MS] [--no-prune]` (--no-prune: DFS without sleep sets, so
// that every execution runs to its end, as before they existed).

import { compiledModule } from '../src/harness/paths.js';
import { ControlledRun } from '../src/harness/race/engine.js';
import { explore } from '../src/harness/race/explore.js';
import scenario from './controlled_scenario.js';

const arg = process.argv.indexOf('--time');
const timeMs = arg > 0 ? Number(process.argv[arg + 1]) : 3000;
const prune = !process.argv.includes('--no-prune');
if (!Number.isInteger(timeMs) || timeMs < 100 || timeMs > 600_000) {
  process.stderr.write(`--time ${process.argv[arg + 1]}: allowed whole milliseconds 100..600000\n`);
  process.exit(2);
}

const run = await ControlledRun.open(scenario, compiledModule('bench/controlled_scenario'));
try {
  // Calibrate: how many executions fit in the time.
  const probe = await explore(run, {
    strategy: 'dfs',
    preemptions: 3,
    maxExecutions: 200,
    seed: 1,
    depth: 3,
    bugs: 0,
    prune,
  });
  const per = probe.elapsedMs / probe.executions;
  const n = Math.max(100, Math.floor(timeMs / per));
  const h0 = run.handoffStats();
  const r = await explore(run, {
    strategy: 'dfs',
    preemptions: 3,
    maxExecutions: n,
    seed: 1,
    depth: 3,
    bugs: 0,
    prune,
  });
  const h1 = run.handoffStats();
  const rate = r.executions / (r.elapsedMs / 1000);
  process.stdout.write(
    `controlled scheduler, ${scenario.summary}: ${r.executions} executions in ${(r.elapsedMs / 1000).toFixed(2)} s = ${rate.toFixed(0)} executions/s (up to ${r.maxSteps} steps each, DFS at most 3 preemptions${prune ? `, sleep sets: ${r.pruned} ended early` : ', no pruning'}${r.exhausted ? ', exhausted' : ''}); failures ${r.failures}\n`,
  );
  const ex = h1.executions - h0.executions;
  const per1 = (k: 'handoffs' | 'handoffsSlept' | 'genWakes' | 'harnessWakes'): string =>
    ((h1[k] - h0[k]) / ex).toFixed(2);
  process.stdout.write(
    `per execution: ${per1('handoffs')} hand-offs between tasks, ${per1('handoffsSlept')} of them to a sleeping task; ${per1('genWakes')} starts woke a sleeping worker; ${per1('harnessWakes')} ends woke the harness\n`,
  );
} finally {
  await run.close();
}
