import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { launchBrowser } from '../../bench/browser.js';
import { renderHtml } from '../../src/harness/html.js';
import { schemeLabel } from '../../src/harness/results.js';
import { fixtureReport } from './report-fixture.js';

/** A laptop screen: the report must be readable at this width without scrolling sideways. */
const LAPTOP = { width: 1366, height: 768 };

interface ChartSeen {
  readonly kind: string;
  readonly preset: string;
  readonly left: number;
  readonly right: number;
  readonly xAxes: number;
  readonly yAxes: number;
  readonly titles: readonly string[];
  readonly tickLabels: readonly string[];
  readonly series: readonly string[];
  readonly legend: readonly { scheme: string; text: string; right: number }[];
  readonly smallestFontPx: number;
  /** bars drawn less than 1 px tall */
  readonly flatBars: number;
}

interface PageSeen {
  readonly drawn: string | undefined;
  readonly viewportWidth: number;
  readonly scrollWidth: number;
  readonly bodyFontPx: number;
  readonly charts: readonly ChartSeen[];
}

// Runs in the page (plain JS: the project's tsconfig has no DOM types). What a reader sees.
const LOOK = `(() => {
  const px = (e) => parseFloat(getComputedStyle(e).fontSize);
  const charts = [...document.querySelectorAll('.chart')].map((c) => {
    const svg = c.querySelector('svg');
    if (svg === null) return { kind: c.dataset.kind, preset: c.dataset.preset, xAxes: 0, yAxes: 0, titles: [], tickLabels: [], series: [], legend: [], left: 0, right: 0, smallestFontPx: 0, flatBars: 0 };
    const box = svg.getBoundingClientRect();
    const axes = [...svg.querySelectorAll('line.axis')].map((l) => ['x1', 'x2', 'y1', 'y2'].map((k) => Number(l.getAttribute(k))));
    const inLegend = (t) => t.closest('.legend') !== null;
    return {
      kind: c.dataset.kind,
      preset: c.dataset.preset,
      left: box.left,
      right: box.right,
      xAxes: axes.filter(([x1, x2, y1, y2]) => y1 === y2 && x2 - x1 > 100).length,
      yAxes: axes.filter(([x1, x2, y1, y2]) => x1 === x2 && y2 - y1 > 100).length,
      titles: [...svg.querySelectorAll('.axis-title')].map((t) => t.textContent),
      tickLabels: [...svg.querySelectorAll('text:not(.axis-title)')].filter((t) => !inLegend(t)).map((t) => t.textContent),
      series: [...svg.querySelectorAll('.series, .bar')].map((p) => p.getAttribute('data-scheme')),
      legend: [...svg.querySelectorAll('.legend-item')].map((g) => ({ scheme: g.dataset.scheme, text: g.textContent, right: g.getBoundingClientRect().right - box.left })),
      smallestFontPx: Math.min(...[...svg.querySelectorAll('text')].map(px)),
      flatBars: [...svg.querySelectorAll('.bar')].filter((b) => b.getBBox().height < 1).length,
    };
  });
  return {
    drawn: document.body.dataset.chartsDrawn,
    viewportWidth: document.documentElement.clientWidth,
    scrollWidth: document.documentElement.scrollWidth,
    bodyFontPx: px(document.body),
    charts,
  };
})()`;

describe('HTML report', () => {
  const html = renderHtml(fixtureReport(), (p) => `the ${p} preset`);

  it('is one self-contained file: no external URL, data inline', () => {
    // The only URL is the SVG namespace name, which is never fetched.
    const urls = html.match(/(https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}[^\s"'<)]*/gi) ?? [];
    expect(urls.filter((u) => u !== 'http://www.w3.org/2000/svg')).toEqual([]);
    expect(html).not.toMatch(/<(link|img|iframe)\b|<script[^>]+src=/i);
    expect(html).toContain('Test CPU &#60;&#38;&#62;');
    expect(html).toContain('id="report-data"');
  });

  it('renders in headless Chromium what a reader needs: axes, a series per scheme, a legend, no script error, at laptop width', async () => {
    const report = fixtureReport();
    const dir = mkdtempSync(join(tmpdir(), 'faultline-html-'));
    const file = join(dir, 'report.html');
    writeFileSync(file, html);
    const { browser, source } = await launchBrowser();
    try {
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on('pageerror', (e) => problems.push(`page error: ${String(e)}`));
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warn')
          problems.push(`console ${m.type()}: ${m.text()}`);
      });
      page.on('request', (r) => {
        if (r.url() !== pathToFileURL(file).href) problems.push(`request: ${r.url()}`);
      });
      await page.setViewport(LAPTOP);
      await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
      const seen = (await page.evaluate(LOOK)) as PageSeen;
      expect(problems, source).toEqual([]);
      // Two presets, two charts each; the script marks the body when it drew them.
      expect(seen.drawn).toBe('4');
      expect(seen.charts).toHaveLength(4);
      // Readable on a laptop: nothing wider than the window, charts inside it, sane type.
      expect(seen.scrollWidth).toBeLessThanOrEqual(seen.viewportWidth);
      expect(seen.bodyFontPx).toBeGreaterThanOrEqual(12);
      for (const c of seen.charts) {
        const what = `${c.kind} chart of ${c.preset}`;
        const schemes = [
          ...new Set(report.results.filter((r) => r.preset === c.preset).map(schemeLabel)),
        ].sort();
        expect(c.left, what).toBeGreaterThanOrEqual(0);
        expect(c.right, what).toBeLessThanOrEqual(seen.viewportWidth);
        expect(c.smallestFontPx, what).toBeGreaterThanOrEqual(10);
        // Axes: both lines, a title on each, and numbers along them.
        expect([c.xAxes, c.yAxes], what).toEqual([1, 1]);
        expect(c.titles.length, what).toBeGreaterThanOrEqual(2);
        expect(c.tickLabels.filter((t) => /\d/.test(t)).length, what).toBeGreaterThanOrEqual(4);
        // A series (line or bars) per scheme, and a legend naming each, inside the chart.
        expect([...new Set(c.series)].sort(), what).toEqual(schemes);
        expect(c.legend.map((l) => l.scheme).sort(), what).toEqual(schemes);
        // Every latency in the fixture is above 0: each bar must show (a p50 on the chart's
        // floor once drew nothing).
        expect(c.flatBars, what).toBe(0);
        for (const l of c.legend) {
          expect(l.text, what).toBe(l.scheme);
          expect(l.right, what).toBeLessThanOrEqual(540);
        }
      }
      const dom = await page.content();
      // Throughput: one line per scheme per preset, and the linear-scaling reference.
      const series =
        dom.match(
          /<path class="series" data-scheme="[a-z_/]+" d="M[\d.]+,[\d.]+(L[\d.]+,[\d.]+)*"/g,
        ) ?? [];
      expect(series.length).toBe(4);
      expect(
        series.filter((s) => s.includes('data-scheme="vma_refcnt"') && s.includes('L')),
      ).toHaveLength(1);
      expect(dom.match(/<path class="linear-ref" d="M[\d.]+,[\d.]+L[\d.]+,[\d.]+"/g)).toHaveLength(
        2,
      );
      // Latency: p50/p99/p99.9/max bars for each scheme; io-fault adds writer latency.
      const bars = dom.match(/<path class="bar" /g) ?? [];
      expect(bars.length).toBe(2 * 4 + 2 * 4 * 2);
      expect(dom).toContain('VMA_LOCK_SUCCESS');
    } finally {
      await browser.close();
    }
  });
});
