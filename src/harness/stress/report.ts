// What a stress run prints and writes: the text summary (with the command line that re-runs a
// failure), JSON (every counter, every violation with each task's last events), JUnit XML (one
// testcase per scheme × check) and a self-contained HTML page.

import { BUGS } from '../../sched/bugs.js';
import { esc } from '../markup.js';
import { CHECK_NAMES, CHECKS } from './checker.js';
import type { SchemeResult, StressReport, Violation } from './engine.js';

/** One line per catalogue entry: its name, then its story (scripts split at the first space). */
export function listBugs(): string {
  return `${BUGS.map((b) => `${b.name} ${b.story}`).join('\n')}\n`;
}

const CHAOS_COUNTERS = ['CHAOS_DELAY', 'CHAOS_KILL', 'CHAOS_SPURIOUS_WAKE', 'CHAOS_KILL_EINTR'];

function totalViolations(r: SchemeResult): number {
  return r.violations.length;
}

/** The command line that re-runs one scheme of this report (its seed included). */
export function rerunLine(report: StressReport, scheme: string): string {
  return report.commandLine.replace(/--schemes \S+/, `--schemes ${scheme}`);
}

function describeViolation(v: Violation, indent = '  '): string {
  const lines = [
    `${indent}${v.check} (${CHECKS[v.check]}), ${v.phase === 'run' ? 'during the run' : v.phase === 'quiescent' ? 'at a quiescent point' : 'at the end'}, at ${v.atMs} ms:`,
    ...v.message.split('\n').map((l) => `${indent}  ${l}`),
    `${indent}  last events of each task (oldest first):`,
    ...v.tasks.map(
      (t) =>
        `${indent}    task ${t.task} (${t.role}): ${t.events.length > 0 ? t.events.join(' ') : '(none)'}`,
    ),
  ];
  return lines.join('\n');
}

export function renderStressText(report: StressReport): string {
  const out: string[] = [];
  const bugs = report.bugs.length > 0 ? `, injected bug: ${report.bugs.join(', ')}` : '';
  out.push(
    `faultline stress: workload ${report.workload}, ${report.threads} faulters, chaos ${report.chaos.level}, kill rate ${report.killRate}/s, seed ${report.seed}${bugs}`,
  );
  out.push('scheme       time      ops  checks  violations  lost-wakeups  result');
  for (const r of report.results) {
    out.push(
      `${r.scheme.padEnd(11)} ${`${(r.durationMs / 1000).toFixed(1)}s`.padStart(6)} ${String(r.opsTotal).padStart(8)} ${String(r.checksRun).padStart(7)} ${String(totalViolations(r)).padStart(11)} ${String(r.lostWakeups).padStart(13)}  ${r.ok ? 'ok' : 'FAILED'}`,
    );
  }
  for (const r of report.results) {
    if (r.ok) continue;
    out.push('');
    out.push(`${r.scheme}: ${r.violations.length} violation(s)`);
    for (const v of r.violations) out.push(describeViolation(v));
    out.push(`re-run: ${rerunLine(report, r.scheme)}`);
  }
  return `${out.join('\n')}\n`;
}

export function stressJson(report: StressReport): string {
  return `${JSON.stringify({ tool: 'faultline stress', version: 1, ...report }, null, 2)}\n`;
}

/** JUnit XML: one testsuite per scheme, one testcase per check; a violation fails its case. */
export function stressJunit(report: StressReport): string {
  const suites = report.results.map((r) => {
    const cases = CHECK_NAMES.map((c) => {
      const vs = r.violations.filter((v) => v.check === c);
      const body =
        vs.length === 0
          ? ''
          : `<failure message="${esc(vs[0]!.message.split('\n')[0]!)}" type="${esc(vs[0]!.kind)}">${esc(
              `${vs.map((v) => describeViolation(v, '')).join('\n\n')}\nre-run: ${rerunLine(report, r.scheme)}`,
            )}</failure>`;
      return `    <testcase classname="faultline.stress.${esc(r.scheme)}" name="${esc(c)}: ${esc(CHECKS[c])}" time="${(r.durationMs / 1000).toFixed(3)}">${body}</testcase>`;
    });
    const failures = CHECK_NAMES.filter((c) => r.violations.some((v) => v.check === c)).length;
    return `  <testsuite name="faultline stress ${esc(r.scheme)}" tests="${CHECK_NAMES.length}" failures="${failures}" errors="0" time="${(r.durationMs / 1000).toFixed(3)}">
    <properties><property name="seed" value="${report.seed}"/><property name="command" value="${esc(rerunLine(report, r.scheme))}"/></properties>
${cases.join('\n')}
  </testsuite>`;
  });
  const failures = report.results.reduce(
    (s, r) => s + CHECK_NAMES.filter((c) => r.violations.some((v) => v.check === c)).length,
    0,
  );
  return `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="faultline stress" tests="${report.results.length * CHECK_NAMES.length}" failures="${failures}">
${suites.join('\n')}
</testsuites>
`;
}

// ---- HTML ----------------------------------------------------------------------------------

/** A small line chart as inline SVG: x = ms, one series. */
function lineChart(points: ReadonlyArray<readonly [number, number]>, label: string): string {
  const W = 360;
  const H = 140;
  const P = 30;
  const maxX = Math.max(1, ...points.map((p) => p[0]));
  const maxY = Math.max(1, ...points.map((p) => p[1]));
  const xy = (p: readonly [number, number]): string =>
    `${(P + ((W - 2 * P) * p[0]) / maxX).toFixed(1)},${(H - P - ((H - 2 * P) * p[1]) / maxY).toFixed(1)}`;
  const path =
    points.length > 0 ? `<polyline class="series" points="${points.map(xy).join(' ')}"/>` : '';
  return `<svg width="${W}" height="${H}" role="img" aria-label="${esc(label)}"><line class="axis" x1="${P}" y1="${H - P}" x2="${W - P}" y2="${H - P}"/><line class="axis" x1="${P}" y1="${P}" x2="${P}" y2="${H - P}"/>${path}<text x="${P}" y="${P - 8}">${esc(label)} (max ${maxY})</text><text x="${W - P}" y="${H - 8}" text-anchor="end">${maxX} ms</text></svg>`;
}

/** Horizontal bars: one per entry. */
function barChart(entries: ReadonlyArray<readonly [string, number]>, label: string): string {
  const W = 420;
  const row = 16;
  const H = 24 + row * entries.length;
  const max = Math.max(1, ...entries.map((e) => e[1]));
  const bars = entries
    .map(
      ([k, v], i) =>
        `<text x="150" y="${24 + i * row + 11}" text-anchor="end">${esc(k)}</text><rect class="bar" x="155" y="${24 + i * row + 2}" width="${((W - 220) * v) / max}" height="${row - 4}"/><text x="${160 + ((W - 220) * v) / max}" y="${24 + i * row + 11}">${v.toFixed(0)}</text>`,
    )
    .join('');
  return `<svg width="${W}" height="${H}" role="img" aria-label="${esc(label)}"><text x="4" y="14">${esc(label)}</text>${bars}</svg>`;
}

export function renderStressHtml(report: StressReport): string {
  const sections = report.results
    .map((r) => {
      const secs = Math.max(0.001, r.durationMs / 1000);
      const rates = Object.entries(r.ops)
        .filter(([, n]) => n > 0)
        .map(([k, n]) => [k, n / secs] as const);
      const chaos = CHAOS_COUNTERS.map((c) => [c, r.counters[c] ?? 0] as const);
      const viol = r.timeline.map((t) => [t[0], t[1]] as const);
      const checks = CHECK_NAMES.map(
        (c) =>
          `<tr class="${r.errors[c] > 0 ? 'bad' : ''}"><td>${esc(c)}</td><td>${esc(CHECKS[c])}</td><td>${r.errors[c]}</td></tr>`,
      ).join('');
      const vs = r.violations.map((v) => `<pre>${esc(describeViolation(v, ''))}</pre>`).join('');
      return `<h2>${esc(r.scheme)}: ${r.ok ? 'every check held' : `${r.violations.length} violation(s)`}</h2>
<p>${(r.durationMs / 1000).toFixed(1)} s, ${r.opsTotal} operations, ${r.checksRun} quiescent checks, ${r.lostWakeups} lost wake-ups</p>
<div class="charts">
<figure>${lineChart(viol, 'violations over time')}<figcaption>violations so far at each quiescent check</figcaption></figure>
<figure>${barChart(rates, 'operations per second per kind')}<figcaption>role.kind</figcaption></figure>
<figure>${barChart(chaos, 'chaos events')}<figcaption>delays injected, kills, spurious wake-ups, -EINTR returns</figcaption></figure>
</div>
<table><tr><th>check</th><th>what</th><th>violations</th></tr>${checks}</table>
${vs}${r.ok ? '' : `<p>re-run: <code>${esc(rerunLine(report, r.scheme))}</code></p>`}`;
    })
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>faultline stress report</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
.charts{display:flex;flex-wrap:wrap;gap:16px}
figure{margin:0;border:1px solid #ddd;padding:8px}figcaption{font-size:12px;color:#555}
table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ddd;padding:2px 6px;text-align:left}
tr.bad td{background:#fdd}.axis{stroke:#999}.series{fill:none;stroke:#c33;stroke-width:2}.bar{fill:#48c}
text{font-size:11px;fill:#333}pre{background:#f6f6f6;padding:8px;overflow:auto;font-size:12px}
</style></head><body>
<h1>faultline stress</h1>
<p>workload ${esc(report.workload)}, ${report.threads} faulters, chaos ${esc(report.chaos.level)}, kill rate ${report.killRate}/s, seed ${report.seed}${report.bugs.length > 0 ? `, injected: ${esc(report.bugs.join(', '))}` : ''}<br>
command: <code>${esc(report.commandLine)}</code><br>result: <strong>${report.ok ? 'every check held' : 'FAILED'}</strong></p>
${sections}
</body></html>
`;
}
