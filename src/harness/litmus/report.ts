// Litmus reports: the jcstress-like table on stdout, JSON, JUnit XML, and a self-contained HTML
// page with one outcome histogram per test (static SVG: no script, no external URL).

import { type MachineInfo, machineLines } from '../machine.js';
import { esc } from '../markup.js';
import type { Expect } from './define.js';
import type { LitmusResult } from './run.js';

export interface LitmusReport {
  readonly machine: MachineInfo;
  readonly config: { readonly iterations: number | null; readonly timeMs: number };
  readonly results: readonly LitmusResult[];
  /** every test passed: no FORBIDDEN in a fixed test, a FORBIDDEN in every broken variant */
  readonly passed: boolean;
}

export function litmusReport(
  machine: MachineInfo,
  config: LitmusReport['config'],
  results: readonly LitmusResult[],
): LitmusReport {
  return { machine, config, results, passed: results.every((r) => r.passed) };
}

const int = (n: number): string => n.toLocaleString('en-US');
const pct = (n: number, of: number): string =>
  of === 0 ? '0%' : `${((100 * n) / of).toFixed(n * 1000 < of ? 3 : 2)}%`;

const MARK: Record<Expect, string> = {
  ACCEPTABLE: ' ',
  ACCEPTABLE_INTERESTING: '*',
  FORBIDDEN: '!',
};

const COLOR: Record<Expect, [string, string]> = {
  ACCEPTABLE: ['', ''],
  ACCEPTABLE_INTERESTING: ['\x1b[1;33m', '\x1b[0m'],
  FORBIDDEN: ['\x1b[1;31m', '\x1b[0m'],
};

/** One test's table: header, verdict, then outcome / count / expect / description rows. */
export function renderLitmusResult(r: LitmusResult, color = false): string {
  const head = `${r.name}${r.bugs.length > 0 ? `  [broken: ${r.bugs.join(', ')}]` : ''}`;
  const lines = [
    head,
    `  ${r.description}`,
    `  ${r.passed ? 'PASS' : 'FAIL'}: ${r.verdict} (${int(r.rounds)} rounds × ${int(r.instancesPerRound)} instances, ${r.actors} actors, ${(r.elapsedMs / 1000).toFixed(1)} s)`,
  ];
  const w = Math.max(7, ...r.rows.map((x) => x.outcome.length));
  const cw = Math.max(5, ...r.rows.map((x) => int(x.count).length));
  lines.push(
    `    ${'outcome'.padEnd(w)}  ${'count'.padStart(cw)}  ${'share'.padStart(7)}  ${'expect'.padEnd(22)}  description`,
  );
  for (const x of r.rows) {
    const [on, off] = color && x.count > 0 ? COLOR[x.expect] : ['', ''];
    lines.push(
      `  ${on}${x.count > 0 ? MARK[x.expect] : ' '} ${x.outcome.padEnd(w)}  ${int(x.count).padStart(cw)}  ${pct(x.count, r.iterations).padStart(7)}  ${x.expect.padEnd(22)}  ${x.desc}${off}`,
    );
  }
  if (r.hoped !== null) {
    lines.push(
      `  ${r.hoped.count > 0 ? 'seen' : 'not seen'}: ${r.hoped.outcome} in ${int(r.hoped.count)} of ${int(r.iterations)} instances (${pct(r.hoped.count, r.iterations)})`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** The whole report as text: machine, every test, and a summary line. */
export function renderLitmusTable(rep: LitmusReport, color = false): string {
  const parts = [
    `${machineLines(rep.machine, 0)[0]}\n`,
    '  ! FORBIDDEN seen   * ACCEPTABLE_INTERESTING seen\n',
    ...rep.results.map((r) => renderLitmusResult(r, color)),
  ];
  const failed = rep.results.filter((r) => !r.passed);
  parts.push(
    failed.length === 0
      ? `${rep.results.length} litmus tests passed\n`
      : `${failed.length} of ${rep.results.length} litmus tests FAILED: ${failed.map((r) => r.name).join(', ')}\n`,
  );
  return parts.join('\n');
}

export function litmusJson(rep: LitmusReport): string {
  return `${JSON.stringify(rep, null, 2)}\n`;
}

/** JUnit XML: one testsuite, one testcase per litmus test; a failed test carries its table. */
export function litmusJunit(rep: LitmusReport): string {
  const failures = rep.results.filter((r) => !r.passed).length;
  const time = rep.results.reduce((s, r) => s + r.elapsedMs, 0) / 1000;
  const cases = rep.results.map((r) => {
    const body = esc(renderLitmusResult(r));
    const inner = r.passed
      ? `<system-out>${body}</system-out>`
      : `<failure message="${esc(r.verdict)}" type="${r.bugs.length > 0 ? 'BugNotShown' : 'ForbiddenOutcome'}">${body}</failure>`;
    return `    <testcase classname="faultline.litmus" name="${esc(r.name)}" time="${(r.elapsedMs / 1000).toFixed(3)}">${inner}</testcase>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="faultline litmus" tests="${rep.results.length}" failures="${failures}" time="${time.toFixed(3)}">
  <testsuite name="faultline litmus" tests="${rep.results.length}" failures="${failures}" errors="0" time="${time.toFixed(3)}">
${cases.join('\n')}
  </testsuite>
</testsuites>
`;
}

const FILL: Record<Expect, string> = {
  ACCEPTABLE: '#4c8bd6',
  ACCEPTABLE_INTERESTING: '#e6a817',
  FORBIDDEN: '#d62728',
};

/** One test's histogram: a bar per outcome, on a log scale (counts span many decades). */
function histogramSvg(r: LitmusResult): string {
  const rows = r.rows;
  const rowH = 22;
  const labelW = 110;
  const barW = 420;
  const h = rows.length * rowH + 24;
  const max = Math.max(1, ...rows.map((x) => x.count));
  const scale = (n: number): number =>
    n <= 0 ? 0 : (Math.log10(n + 1) / Math.log10(max + 1)) * barW;
  const bars = rows
    .map((x, i) => {
      const y = 4 + i * rowH;
      const bw = Math.max(x.count > 0 ? 2 : 0, scale(x.count));
      return `<g class="bar" data-outcome="${esc(x.outcome)}" data-expect="${x.expect}" data-count="${x.count}"><text x="${labelW - 6}" y="${y + 14}" text-anchor="end">${esc(x.outcome)}</text><rect x="${labelW}" y="${y}" width="${bw.toFixed(1)}" height="${rowH - 6}" fill="${FILL[x.expect]}"><title>${esc(`${x.outcome}: ${int(x.count)} (${x.expect}) ${x.desc}`)}</title></rect><text x="${(labelW + bw + 6).toFixed(1)}" y="${y + 14}">${int(x.count)}</text></g>`;
    })
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${labelW + barW + 90}" height="${h}" role="img" aria-label="outcome histogram of ${esc(r.name)}"><line class="axis" x1="${labelW}" y1="0" x2="${labelW}" y2="${h - 20}"/>${bars}<text x="${labelW}" y="${h - 4}" class="note">log scale</text></svg>`;
}

/** A self-contained HTML page: per test its verdict, a histogram and the outcome table. */
export function litmusHtml(rep: LitmusReport): string {
  const sections = rep.results
    .map(
      (r) => `<section class="test ${r.passed ? 'pass' : 'fail'}" data-test="${esc(r.name)}">
<h2>${esc(r.name)}${r.bugs.length > 0 ? ` <span class="broken">broken: ${esc(r.bugs.join(', '))}</span>` : ''}</h2>
<p>${esc(r.description)}</p>
<p class="verdict"><b>${r.passed ? 'PASS' : 'FAIL'}</b>: ${esc(r.verdict)}; ${int(r.rounds)} rounds × ${int(r.instancesPerRound)} instances, ${r.actors} actors, ${(r.elapsedMs / 1000).toFixed(1)} s</p>
<figure>${histogramSvg(r)}<figcaption>outcome counts; blue ACCEPTABLE, amber ACCEPTABLE_INTERESTING, red FORBIDDEN</figcaption></figure>
<table><tr><th>outcome</th><th>count</th><th>expect</th><th>description</th></tr>
${r.rows.map((x) => `<tr class="${x.expect.toLowerCase()}${x.count > 0 ? ' seen' : ''}"><td>${esc(x.outcome)}</td><td>${int(x.count)}</td><td>${x.expect}</td><td>${esc(x.desc)}</td></tr>`).join('\n')}
</table>
</section>`,
    )
    .join('\n');
  const failed = rep.results.filter((r) => !r.passed).length;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>faultline litmus report</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
figure{margin:0;border:1px solid #ddd;padding:8px;display:inline-block}figcaption{font-size:12px;color:#555}
table{border-collapse:collapse;font-size:12px;margin-top:8px}td,th{border:1px solid #ddd;padding:2px 6px;text-align:left}
td:nth-child(2){text-align:right}
tr.acceptable_interesting.seen{background:#fff3cd}tr.forbidden.seen{background:#f8d7da}
.fail h2{color:#b00}.broken{font-size:12px;color:#a60;font-weight:normal}
.axis{stroke:#999}text{font-size:11px;fill:#333}.note{fill:#777}
</style></head><body>
<h1>faultline litmus</h1>
<p>${esc(machineLines(rep.machine, 0)[0] ?? '')}<br>${rep.results.length} tests, ${failed === 0 ? 'all passed' : `${failed} failed`}</p>
${sections}
</body></html>
`;
}
