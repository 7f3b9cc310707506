// A headless browser to look at HTML reports with (the report test, `npm run report:screenshot`).
// The browser comes from npm: the @sparticuz/chromium devDependency ships a Chromium build inside
// its package (nothing is downloaded at install or run time; the first launch unpacks it to
// /tmp/chromium, a few seconds), driven by puppeteer-core. Its package.json says Node >= 20.11
// for the version pinned here. Only if that build cannot run here (another CPU architecture) is
// a `chromium` on the PATH used instead.

import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import chromium from '@sparticuz/chromium';
import puppeteer, { type Browser } from 'puppeteer-core';

/** The first executable `name` on the PATH, or null. */
function onPath(names: readonly string[]): string | null {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    for (const n of names) {
      const f = join(dir, n);
      try {
        accessSync(f, constants.X_OK);
        return f;
      } catch {
        // not here
      }
    }
  }
  return null;
}

export interface LaunchedBrowser {
  readonly browser: Browser;
  /** which Chromium: 'npm @sparticuz/chromium' or the system path */
  readonly source: string;
}

export async function launchBrowser(): Promise<LaunchedBrowser> {
  let npmError: unknown;
  try {
    const executablePath = await chromium.executablePath();
    const browser = await puppeteer.launch({
      executablePath,
      args: chromium.args,
      headless: 'shell',
    });
    return { browser, source: 'npm @sparticuz/chromium' };
  } catch (err) {
    npmError = err;
  }
  const system = onPath(['chromium', 'chromium-browser']);
  if (system === null) {
    throw new Error(
      `the Chromium from npm (@sparticuz/chromium) did not start and no chromium is on the PATH: ${String(npmError)}`,
    );
  }
  const browser = await puppeteer.launch({
    executablePath: system,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
    headless: true,
  });
  return { browser, source: system };
}
