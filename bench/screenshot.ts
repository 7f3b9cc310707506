// A picture of an HTML report, for people: `npm run report:screenshot -- FILE.html OUT.png
// [--width PX]`. Opens the report in the headless Chromium from npm (bench/browser.ts) at a
// laptop's width (1366 px unless --width says otherwise), waits for the charts, and writes a
// full-page PNG. Bad input is one line and exit 2, as in faultline.

import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseFlags, parseIntArg, reportError } from '../src/cli/common.js';
import { shownArg, UsageError } from '../src/errors.js';
import { checkOutputPath } from '../src/harness/report.js';
import { launchBrowser } from './browser.js';

const USAGE = 'usage: npm run report:screenshot -- FILE.html OUT.png [--width PX]';

async function screenshot(argv: readonly string[]): Promise<number> {
  const { help, values, positionals } = parseFlags(
    'report:screenshot',
    argv,
    { width: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    2,
  );
  if (help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const [html, png] = positionals;
  if (html === undefined || png === undefined) {
    throw new UsageError(`needs FILE.html and OUT.png; allowed: ${USAGE}`);
  }
  if (!existsSync(html) || !statSync(html).isFile()) {
    throw new UsageError(`${shownArg(html)}: no such file; allowed: an HTML report file`);
  }
  if (!png.endsWith('.png'))
    throw new UsageError(`${shownArg(png)}: allowed: a file name ending .png`);
  checkOutputPath('OUT.png', png);
  const width = values.width === undefined ? 1366 : parseIntArg('--width', values.width, 320, 3840);
  const { browser, source } = await launchBrowser();
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.setViewport({ width, height: 800 });
    await page.goto(pathToFileURL(resolve(html)).href, { waitUntil: 'load' });
    await page.waitForSelector('body[data-charts-drawn]', { timeout: 10_000 });
    await page.screenshot({ path: png as `${string}.png`, fullPage: true });
    for (const e of errors) process.stderr.write(`warning: the page's script failed: ${e}\n`);
    process.stdout.write(`screenshot: ${png} (${width} px wide, ${source})\n`);
  } finally {
    await browser.close();
  }
  return 0;
}

screenshot(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.exitCode = reportError(err);
  },
);
