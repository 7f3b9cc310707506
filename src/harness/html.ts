// The HTML report: one self-contained file (inline data, CSS and script; no external URL). The
// page's script draws SVG charts from the embedded report: throughput against threads per
// scheme with a linear-scaling reference line (as will-it-scale plots it), latency percentiles
// per scheme on a log scale, and a counters table. test/cli/html.test.ts renders it in headless
// Chromium and checks the drawn paths.

import { machineLines } from './machine.js';
import { esc } from './markup.js';
import { type BenchReport, schemeLabel } from './results.js';
import { fmtNs, fmtRate, fmtRatio, LOCK_COUNTERS } from './table.js';
import { computeTargets } from './targets.js';

/** JSON safe inside a <script> element. */
function scriptJson(v: unknown): string {
  return JSON.stringify(v)
    .replace(/</g, '\\u003c')
    .replace(/\u2028|\u2029/g, ' ');
}

export function renderHtml(report: BenchReport, describe: (preset: string) => string): string {
  const maxThreads = Math.max(0, ...report.results.map((r) => r.threads + r.writers));
  const presets = [...new Set(report.results.map((r) => r.preset))];
  const targets = computeTargets(report);
  const counterRows = report.results
    .map(
      (r) =>
        `<tr><td>${esc(r.preset)}${r.faultWait ? ` (${esc(r.faultWait)})` : ''}</td><td>${esc(schemeLabel(r))}</td><td>${r.threads}+${r.writers}</td><td>${r.instrumentation}</td>` +
        `<td>${fmtRate(r.faultsPerSec)}</td><td>${fmtNs(r.faultLatencyNs.p99)}</td><td>${fmtRate(r.writerOpsPerSec)}</td><td>${fmtNs(r.writerLatencyNs.p99)}</td>` +
        LOCK_COUNTERS.map((c) => `<td>${r.counters[c] ?? 0}</td>`).join('') +
        '</tr>',
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>faultline bench report</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
.charts{display:flex;flex-wrap:wrap;gap:16px}
figure{margin:0;border:1px solid #ddd;padding:8px}figcaption{font-size:12px;color:#555}
table{border-collapse:collapse;font-size:12px}.wide{overflow-x:auto}td,th{border:1px solid #ddd;padding:2px 6px;text-align:right}
td:first-child,td:nth-child(2){text-align:left}
.axis{stroke:#999}.grid{stroke:#eee}.linear-ref{stroke:#999;stroke-dasharray:4 3;fill:none}
.series{fill:none;stroke-width:2}text{font-size:11px;fill:#333}
</style></head><body>
<h1>faultline bench</h1>
<p>${machineLines(report.machine, maxThreads).map(esc).join('<br>')}<br>timing: ${esc(report.config.timing)}</p>
${report.warnings.map((w) => `<p>warning: ${esc(w)}</p>`).join('\n')}
<noscript><p>The charts are drawn by this page's script; the tables below need none.</p></noscript>
${presets
  .map(
    (p) => `<h2>${esc(p)}</h2><p>${esc(describe(p))}</p>
<div class="charts" data-preset="${esc(p)}">
<figure><div class="chart" data-kind="throughput" data-preset="${esc(p)}"></div><figcaption>faults/s against faulting threads; dashed: linear scaling from the fewest threads</figcaption></figure>
<figure><div class="chart" data-kind="latency" data-preset="${esc(p)}"></div><figcaption>latency percentiles (p50, p99, p99.9, max) per scheme at the most threads, log scale</figcaption></figure>
</div>`,
  )
  .join('\n')}
<h2>targets (shown, not asserted)</h2>
<ul>${targets.map((t) => `<li>${esc(t.what)} at ${t.threads} threads: <b>${fmtRatio(t.ratio)}</b></li>`).join('')}</ul>
<h2>counters</h2>
<div class="wide"><table><tr><th>preset</th><th>scheme</th><th>threads+<wbr>writers</th><th>instr.</th><th>faults/s</th><th>fault p99</th><th>writer ops/s</th><th>writer p99</th>${LOCK_COUNTERS.map((c) => `<th>${c.replace(/_/g, '_<wbr>')}</th>`).join('')}</tr>
${counterRows}
</table></div>
<script type="application/json" id="report-data">${scriptJson(report)}</script>
<script>${CHART_SCRIPT}</script>
</body></html>
`;
}

// The page's own script: plain DOM + SVG, no library.
const CHART_SCRIPT = `
(function () {
  'use strict';
  var report = JSON.parse(document.getElementById('report-data').textContent);
  var NS = 'http://www.w3.org/2000/svg';
  var COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2'];
  var W = 540, H = 260, L = 64, R = 180, T = 14, B = 34;
  function el(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function text(parent, x, y, s, anchor) {
    var t = el('text', { x: x, y: y, 'text-anchor': anchor || 'start' }, parent);
    t.textContent = s;
    return t;
  }
  function label(r) { return (r.srcuFree === null ? r.scheme : r.scheme + '/' + r.srcuFree) + (r.faultWait ? ' (' + r.faultWait + ')' : ''); }
  function rate(v) {
    if (v >= 1e6) return (v / 1e6).toFixed(1) + 'M';
    if (v >= 1e3) return (v / 1e3).toFixed(1) + 'k';
    return v.toFixed(0);
  }
  function ns(v) {
    function n(x) { return x >= 100 ? x.toFixed(0) : String(Number(x.toPrecision(2))); }
    if (v < 1e3) return n(v) + 'ns';
    if (v < 1e6) return n(v / 1e3) + 'us';
    if (v < 1e9) return n(v / 1e6) + 'ms';
    return n(v / 1e9) + 's';
  }
  var instr = report.results.some(function (r) { return r.instrumentation === 'off'; }) ? 'off' : 'on';
  var labels = [];
  report.results.forEach(function (r) { if (labels.indexOf(label(r)) < 0) labels.push(label(r)); });
  function color(l) { return COLORS[labels.indexOf(l) % COLORS.length]; }
  function legend(svg, names) {
    var g = el('g', { class: 'legend' }, svg);
    names.forEach(function (n, i) {
      var item = el('g', { class: 'legend-item', 'data-scheme': n }, g);
      el('rect', { x: W - R + 10, y: T + i * 16, width: 10, height: 10, fill: color(n) }, item);
      text(item, W - R + 24, T + i * 16 + 9, n);
    });
  }
  function yTitle(svg, s) {
    var t = text(svg, 0, 0, s, 'middle');
    t.setAttribute('class', 'axis-title');
    t.setAttribute('transform', 'translate(12,' + (T + H - B) / 2 + ') rotate(-90)');
  }
  function xTitle(svg, x, s) {
    text(svg, x, H - 4, s, 'middle').setAttribute('class', 'axis-title');
  }
  function throughput(div, preset) {
    var rs = report.results.filter(function (r) { return r.preset === preset && r.instrumentation === instr; });
    var threads = [];
    rs.forEach(function (r) { if (threads.indexOf(r.threads) < 0) threads.push(r.threads); });
    threads.sort(function (a, b) { return a - b; });
    var names = [];
    rs.forEach(function (r) { if (names.indexOf(label(r)) < 0) names.push(label(r)); });
    var t0 = threads[0], tN = threads[threads.length - 1];
    var base = 0;
    rs.forEach(function (r) { if (r.threads === t0) base = Math.max(base, r.faultsPerSec); });
    var ymax = base * tN / t0;
    rs.forEach(function (r) { ymax = Math.max(ymax, r.faultsPerSec); });
    ymax = ymax > 0 ? ymax * 1.05 : 1;
    var xmin = threads.length > 1 ? t0 : t0 - 1, xmax = threads.length > 1 ? tN : tN + 1;
    function X(t) { return L + (t - xmin) / (xmax - xmin) * (W - L - R); }
    function Y(v) { return H - B - v / ymax * (H - T - B); }
    var svg = el('svg', { width: W, height: H, viewBox: '0 0 ' + W + ' ' + H, role: 'img' }, div);
    for (var g = 0; g <= 4; g++) {
      var gy = Y(ymax * g / 4);
      el('line', { class: 'grid', x1: L, x2: W - R, y1: gy, y2: gy }, svg);
      text(svg, L - 6, gy + 4, rate(ymax * g / 4), 'end');
    }
    el('line', { class: 'axis', x1: L, x2: W - R, y1: H - B, y2: H - B }, svg);
    el('line', { class: 'axis', x1: L, x2: L, y1: T, y2: H - B }, svg);
    threads.forEach(function (t) { text(svg, X(t), H - B + 14, String(t), 'middle'); });
    xTitle(svg, (L + W - R) / 2, 'faulting threads');
    yTitle(svg, 'faults/s');
    el('path', { class: 'linear-ref', d: 'M' + X(t0) + ',' + Y(base) + 'L' + X(tN) + ',' + Y(base * tN / t0) }, svg);
    names.forEach(function (n) {
      var pts = rs.filter(function (r) { return label(r) === n; })
        .sort(function (a, b) { return a.threads - b.threads; });
      var d = pts.map(function (r, i) { return (i ? 'L' : 'M') + X(r.threads) + ',' + Y(r.faultsPerSec); }).join('');
      el('path', { class: 'series', 'data-scheme': n, d: d, stroke: color(n) }, svg);
      pts.forEach(function (r) { el('circle', { cx: X(r.threads), cy: Y(r.faultsPerSec), r: 3, fill: color(n) }, svg); });
    });
    legend(svg, names);
  }
  function latency(div, preset) {
    var rs = report.results.filter(function (r) { return r.preset === preset && r.instrumentation === instr; });
    var tN = Math.max.apply(null, rs.map(function (r) { return r.threads; }));
    rs = rs.filter(function (r) { return r.threads === tN; });
    var groups = [['fault', 'faultLatencyNs']];
    if (rs.some(function (r) { return r.writerOpsPerSec > 0; })) groups.push(['writer', 'writerLatencyNs']);
    var ps = ['p50', 'p99', 'p999', 'max'];
    var lo = Infinity, hi = 0;
    rs.forEach(function (r) { groups.forEach(function (g) { ps.forEach(function (p) {
      var v = r[g[1]][p]; if (v > 0) { lo = Math.min(lo, v); hi = Math.max(hi, v); } }); }); });
    if (!(hi > 0)) { lo = 1; hi = 10; }
    // The floor is a decade strictly below the smallest value, so every bar has a height.
    var e0 = Math.ceil(Math.log10(lo)) - 1, e1 = Math.ceil(Math.log10(hi));
    if (e1 === e0) e1++;
    function Y(v) { return H - B - (Math.log10(Math.max(v, Math.pow(10, e0))) - e0) / (e1 - e0) * (H - T - B); }
    var svg = el('svg', { width: W, height: H, viewBox: '0 0 ' + W + ' ' + H, role: 'img' }, div);
    for (var e = e0; e <= e1; e++) {
      el('line', { class: 'grid', x1: L, x2: W - R, y1: Y(Math.pow(10, e)), y2: Y(Math.pow(10, e)) }, svg);
      text(svg, L - 6, Y(Math.pow(10, e)) + 4, ns(Math.pow(10, e)), 'end');
    }
    el('line', { class: 'axis', x1: L, x2: W - R, y1: H - B, y2: H - B }, svg);
    el('line', { class: 'axis', x1: L, x2: L, y1: T, y2: H - B }, svg);
    yTitle(svg, 'latency');
    var slots = groups.length * ps.length;
    var slotW = (W - L - R) / slots;
    var barW = Math.max(2, (slotW - 4) / Math.max(1, rs.length));
    groups.forEach(function (g, gi) {
      ps.forEach(function (p, pi) {
        var x0 = L + (gi * ps.length + pi) * slotW + 2;
        text(svg, x0 + slotW / 2 - 2, H - B + 14, p === 'p999' ? 'p99.9' : p, 'middle');
        rs.forEach(function (r, ri) {
          var v = r[g[1]][p];
          var y = Y(v);
          var x = x0 + ri * barW;
          el('path', { class: 'bar', 'data-scheme': label(r), d: 'M' + x + ',' + (H - B) + 'V' + y + 'H' + (x + barW - 1) + 'V' + (H - B) + 'Z', fill: color(label(r)) }, svg);
        });
      });
      xTitle(svg, L + (gi * ps.length + 2) * slotW, g[0] + ' latency');
    });
    legend(svg, rs.map(label));
  }
  var charts = document.querySelectorAll('.chart');
  for (var i = 0; i < charts.length; i++) {
    var c = charts[i];
    if (c.getAttribute('data-kind') === 'throughput') throughput(c, c.getAttribute('data-preset'));
    else latency(c, c.getAttribute('data-preset'));
  }
  document.body.setAttribute('data-charts-drawn', String(charts.length));
})();
`;
