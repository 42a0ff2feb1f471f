/**
 * A PNG of a report page as a browser draws it, for the README:
 *
 *   npx tsx apps/cli/scripts/screenshot-report.ts data/report/index.html docs/report.png [--height 1800]
 *
 * Uses Debian's chromium through playwright-core (nothing is downloaded); the page is opened from
 * file:// and shot once its charts have drawn. `--height` clips a long page to its first pixels.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const [page, out] = process.argv
  .slice(2)
  .filter((a, i, all) => !a.startsWith('--') && all[i - 1] !== '--height');
const heightAt = process.argv.indexOf('--height');
const height = heightAt > 0 ? Number(process.argv[heightAt + 1]) : 1800;
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
if (!page || !out) {
  process.stderr.write('usage: screenshot-report.ts <index.html> <out.png> [--height PIXELS]\n');
  process.exit(2);
}
if (!existsSync(page)) {
  process.stderr.write(`screenshot-report: no page at ${page}: write one with \`npx lockpick report\`\n`);
  process.exit(1);
}
if (!existsSync(executablePath)) {
  process.stderr.write(
    `screenshot-report: no chromium at ${executablePath} (apt-get install chromium, or set CHROMIUM)\n`,
  );
  process.exit(1);
}
const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
try {
  const tab = await browser.newPage({ viewport: { width: 1280, height }, deviceScaleFactor: 1 });
  await tab.goto(pathToFileURL(path.resolve(page)).href);
  // Charts render asynchronously (vega-embed): wait until none is pending.
  await tab.waitForFunction('document.querySelectorAll(\'.chart[data-rendered="pending"]\').length === 0');
  await tab.screenshot({ path: out, clip: { x: 0, y: 0, width: 1280, height } });
  process.stdout.write(`${out}\n`);
} finally {
  await browser.close();
}
