import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { renderHtml } from '../../src/harness/html.js';
import { fixtureReport } from './report-fixture.js';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

function dumpDom(file: string): Promise<string> {
  const profile = mkdtempSync(join(tmpdir(), 'faultline-chromium-'));
  const args = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    `--user-data-dir=${profile}`,
    '--dump-dom',
    pathToFileURL(file).href,
  ];
  return new Promise((resolve, reject) => {
    execFile(CHROMIUM!, args, { timeout: 60_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`chromium failed: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

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
    expect(
      CHROMIUM,
      'chromium is missing: apt-get update && apt-get install -y chromium',
    ).toBeDefined();
    const dir = mkdtempSync(join(tmpdir(), 'faultline-html-'));
    const file = join(dir, 'report.html');
    writeFileSync(file, html);
    const dom = await dumpDom(file);
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
