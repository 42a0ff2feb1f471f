// Report benchmark: a figure, not a pass/fail test. Run with `npm run bench:report` (add `-- --json`
// for one JSON object). Builds the report of 20 pipelines whose long result table has 10,000 rows
// each (synthetic scores judged by the real function-composition report stage), prints the time to
// write it (target < 5 s), and checks the page paginates the long tables and draws thinned charts;
// with Chromium installed it also times the page's load from file://.
import { existsSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ArtifactStore } from '@lockpick/artifacts';
import { resolvePipeline, runPipeline } from '@lockpick/engine';
import { lastValueFrom } from 'rxjs';
import { buildReport, type ReportEntry } from '../apps/cli/src/report/build.ts';
import { reportFixturePipeline } from '../apps/cli/src/report/testing/fixture-pipeline.ts';

const json = process.argv.includes('--json');
const pipelines = Number(process.argv.find((a) => a.startsWith('--pipelines='))?.slice(12) ?? 20);
const rows = Number(process.argv.find((a) => a.startsWith('--rows='))?.slice(7) ?? 10_000);
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const say = (line: string) => {
  if (!json) process.stdout.write(`${line}\n`);
};

const root = await fs.mkdtemp(path.join(tmpdir(), 'lockpick-bench-report-'));
try {
  const store = await ArtifactStore.open(root);
  const resolved = Array.from({ length: pipelines }, (_, i) =>
    resolvePipeline(reportFixturePipeline(`bench-report-${i + 1}`, rows)),
  );
  const t0 = performance.now();
  for (const p of resolved) await lastValueFrom(runPipeline(p, store, { workers: false }));
  say(
    `stores: ${pipelines} pipelines × ${rows} rows computed in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );

  const entries: ReportEntry[] = resolved.map((pipeline) => ({
    pipeline,
    overrides: [],
    rerun: `npx lockpick run ${pipeline.name}`,
  }));
  const out = path.join(root, 'report');
  const t1 = performance.now();
  const built = await buildReport({ store, out, entries, command: 'bench/report.ts', repoRoot: repo });
  const seconds = (performance.now() - t1) / 1000;
  const long = built.model.pipelines.flatMap((p) => p.tables).filter((t) => t.label === 'scores.long');
  const chartRows = long.map(
    (t) =>
      (t.chart?.spec.datasets as { table: unknown[] } | undefined)?.table.length ?? Number.POSITIVE_INFINITY,
  );
  const figures: Record<string, number> = {
    pipelines,
    rowsPerLongTable: rows,
    buildSeconds: Number(seconds.toFixed(2)),
    pageMegabytes: Number((built.bytes / 1e6).toFixed(1)),
    maxChartRows: Math.max(...chartRows),
  };
  if (long.length !== pipelines || long.some((t) => t.rows.length !== rows))
    throw new Error('the report lost rows of a long table');
  if (Math.max(...chartRows) > 1000) throw new Error('a long table was charted without thinning');
  say(
    `report: ${pipelines} pipelines × ${rows} rows written in ${seconds.toFixed(2)} s (target < 5 s); page ${figures.pageMegabytes} MB`,
  );
  say(`charts: each long table drawn from ${Math.max(...chartRows)} binned rows (of ${rows})`);

  const chromium = ['/usr/bin/chromium', process.env.LOCKPICK_CHROMIUM].find((p) => p && existsSync(p));
  if (chromium) {
    const { chromium: launcher } = await import('playwright-core');
    const browser = await launcher.launch({ executablePath: chromium, args: ['--no-sandbox'] });
    try {
      const page = await (await browser.newContext({ offline: true })).newPage();
      const t2 = performance.now();
      await page.goto(pathToFileURL(built.index).href);
      await page.waitForSelector('section.pipeline', { timeout: 120_000 });
      figures.pageReadableSeconds = Number(((performance.now() - t2) / 1000).toFixed(2));
      const marks = await page.evaluate(() =>
        Object.fromEntries(
          performance.getEntriesByType('mark').map((m) => [m.name, Math.round(m.startTime)]),
        ),
      );
      say(`browser marks (ms since navigation): ${JSON.stringify(marks)}`);
      await page.waitForSelector('body[data-ready="true"]', { timeout: 120_000 });
      figures.pageLoadSeconds = Number(((performance.now() - t2) / 1000).toFixed(2));
      const first = page.locator('.table-wrap[data-label="scores.long"]').first();
      figures.rowsDrawnPerLongTable = await first.locator('tbody tr').count();
      const pager = (await first.locator('.pager').textContent()) ?? '';
      say(
        `browser: text and tables in ${figures.pageReadableSeconds} s, every chart drawn in ${figures.pageLoadSeconds} s; a long table shows ${figures.rowsDrawnPerLongTable} rows (${pager.replace(/.*next ›/, '').trim()})`,
      );
    } finally {
      await browser.close();
    }
  } else say('browser: no Chromium at /usr/bin/chromium, page load not timed');
  if (json) process.stdout.write(`${JSON.stringify(figures)}\n`);
} finally {
  await fs.rm(root, { recursive: true, force: true });
}
