import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { launchBrowser } from '../../bench/browser.js';
import { renderHtml } from '../../src/harness/html.js';
import { fixtureReport } from './report-fixture.js';

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

  it('renders its charts in headless Chromium', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'faultline-html-'));
    const file = join(dir, 'report.html');
    writeFileSync(file, html);
    const { browser } = await launchBrowser();
    let dom: string;
    try {
      const page = await browser.newPage();
      await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
      dom = await page.content();
    } finally {
      await browser.close();
    }
    // Two presets, two charts each; the script marks the body when it drew them.
    expect(dom).toMatch(/<body[^>]*data-charts-drawn="4"/);
    // Throughput: one line per scheme per preset, and the linear-scaling reference.
    const series =
      dom.match(
        /<path class="series" data-scheme="[a-z_/]+" d="M[\d.]+,[\d.]+(L[\d.]+,[\d.]+)*"/g,
      ) ?? [];
    expect(series.length).toBe(4);
    expect(
      series.filter((s) => s.includes('data-scheme="vma_refcnt"') && s.includes('L')),
    ).toHaveLength(1);
    expect(dom.match(/<path class="linear-ref" d="M[\d.]+,[\d.]+L[\d.]+,[\d.]+"/g)).toHaveLength(2);
    // Latency: p50/p99/p99.9/max bars for each scheme; io-fault adds writer latency.
    const bars = dom.match(/<path class="bar" /g) ?? [];
    expect(bars.length).toBe(2 * 4 + 2 * 4 * 2);
    expect(dom).toContain('VMA_LOCK_SUCCESS');
  });
});
