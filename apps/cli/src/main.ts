import { existsSync, readdirSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { ArtifactStore } from '@lockpick/artifacts';
import {
  type PipelineDefinition,
  PipelineError,
  parseOverride,
  planPipeline,
  type ResolvedPipeline,
  resolvePipeline,
  runPipeline,
} from '@lockpick/engine';
import { lineChartSvg, plotSpecOf } from './plot.ts';
import { formatDuration, JsonRenderer, PlainRenderer, type RunRenderer, TerminalRenderer } from './render.ts';
import { formatTable, type TableFormat } from './table-format.ts';

const REPO_ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../..');
const PIPELINES_DIR = path.join(REPO_ROOT, 'pipelines');

/** A mistake in how the command was called: exit code 2 and a hint, never a stack trace. */
class UsageError extends Error {}

const HELP = `lockpick — stress-test capability elicitation and backdoor removal on small models

Usage: lockpick <command> [options]

Commands:
  run <pipeline>            run a pipeline; only nodes whose inputs, parameters or code changed recompute
  plan <pipeline>           per node: cached or to run, and why (runs nothing)
  why <pipeline> <node>     what changed in a node's cache key since its last run
  results <pipeline>        print the pipeline's result table from the cache (never recomputes)
  show <node|hash>          a table's schema and first rows, or a model's config and tensors
  ls                        pipelines, and the runs and objects in the store
  gc                        delete objects no manifest references, leftovers of killed runs, stale locks

Options for run, plan, why, results:
  --seeds a,b,c             seeds the pipeline sweeps (default: the pipeline's own)
  --scale NAME              budget: each pipeline's first scale is its default; 'smoke' is tiny
  --set node.param=value    override a parameter (node = a node or a sweep's name; value as JSON)
Options for run:
  --jobs N                  nodes run at once (default: cores = ${availableParallelism()})
  --keep-going              after a failure, run everything not downstream of it
  --json                    one JSON event per line instead of progress bars
  --backend NAME            auto|tensorflow|wasm|cpu: TensorFlow.js backend for training stages
                            (default: LOCKPICK_BACKEND, else auto — tfjs-node-gpu, tfjs-node, wasm, cpu)
Options for results and show:
  --format table|json|csv   output format (default table)
  --rows N                  rows shown by show (default 10)
  --plots DIR               where results writes the SVG charts of its tables
                            (default: plots/<pipeline>/ in the store)
Everywhere:
  --store DIR               artifact store (default: LOCKPICK_STORE, else data/ in the repository)
  -h, --help                this help

Pipelines: ${listPipelineNames().join(', ') || '(none found)'}
Exit codes: 0 success; 1 a node failed or results are incomplete; 2 bad command or pipeline; 130 interrupted.`;

function listPipelineNames(): string[] {
  if (!existsSync(PIPELINES_DIR)) return [];
  return readdirSync(PIPELINES_DIR)
    .filter((f) => f.endsWith('.ts') && !/\.(test|config)\.ts$/.test(f) && !f.startsWith('_'))
    .map((f) => f.slice(0, -3))
    .sort();
}

async function loadPipeline(name: string): Promise<PipelineDefinition> {
  const file = name.endsWith('.ts') ? path.resolve(name) : path.join(PIPELINES_DIR, `${name}.ts`);
  if (!existsSync(file))
    throw new UsageError(
      `no pipeline "${name}" (looked for ${file}); available: ${listPipelineNames().join(', ')}`,
    );
  const module = (await import(file)) as { default?: PipelineDefinition };
  if (!module.default?.build)
    throw new UsageError(`${file} has no default export made with definePipeline()`);
  return module.default;
}

function parseSeeds(text: string | undefined): number[] | undefined {
  if (text === undefined) return undefined;
  const seeds = text.split(',').map((s) => s.trim());
  if (seeds.some((s) => !/^-?\d+$/.test(s)))
    throw new UsageError(`--seeds ${text}: expected integers separated by commas, e.g. --seeds 1,2,3`);
  return seeds.map(Number);
}

const options = {
  store: { type: 'string' },
  seeds: { type: 'string' },
  scale: { type: 'string' },
  set: { type: 'string', multiple: true },
  jobs: { type: 'string' },
  'keep-going': { type: 'boolean' },
  json: { type: 'boolean' },
  backend: { type: 'string' },
  format: { type: 'string' },
  rows: { type: 'string' },
  plots: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true }>>['values'];

async function openStore(values: Values): Promise<ArtifactStore> {
  const root = values.store ?? process.env.LOCKPICK_STORE ?? path.join(REPO_ROOT, 'data');
  const store = await ArtifactStore.open(root);
  store.onWarning = (message) => process.stderr.write(`warning: ${message}\n`);
  return store;
}

async function resolveFromArgs(name: string | undefined, values: Values): Promise<ResolvedPipeline> {
  if (!name) throw new UsageError('which pipeline? e.g. `lockpick run quickstart`');
  const definition = await loadPipeline(name);
  return resolvePipeline(definition, {
    seeds: parseSeeds(values.seeds),
    scale: values.scale,
    overrides: (values.set ?? []).map(parseOverride),
  });
}

function tableFormat(values: Values): TableFormat {
  const format = values.format ?? 'table';
  if (format !== 'table' && format !== 'json' && format !== 'csv')
    throw new UsageError(`--format ${format}: expected table, json or csv`);
  return format;
}

async function commandRun(args: string[], values: Values): Promise<number> {
  const pipeline = await resolveFromArgs(args[0], values);
  const store = await openStore(values);
  const jobs = values.jobs === undefined ? undefined : Number(values.jobs);
  if (jobs !== undefined && !(Number.isInteger(jobs) && jobs > 0))
    throw new UsageError(`--jobs ${values.jobs}: expected a positive integer`);
  if (values.backend !== undefined) {
    if (!['auto', 'tensorflow', 'wasm', 'cpu'].includes(values.backend))
      throw new UsageError(`--backend ${values.backend}: expected auto, tensorflow, wasm or cpu`);
    // Stages (and their worker threads, which share this environment) read it when they start.
    process.env.LOCKPICK_BACKEND = values.backend;
  }
  const renderer: RunRenderer = values.json
    ? new JsonRenderer(process.stdout)
    : process.stdout.isTTY
      ? new TerminalRenderer(process.stdout)
      : new PlainRenderer(process.stdout);
  const abort = new AbortController();
  let interrupts = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    process.stderr.write(
      `\n${signal}: stopping; finished nodes are kept (press Ctrl-C again to quit at once)\n`,
    );
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const summary = await new Promise<import('@lockpick/engine').RunSummary>((resolve, reject) => {
    runPipeline(pipeline, store, { jobs, keepGoing: values['keep-going'], signal: abort.signal }).subscribe({
      next: (event) => {
        renderer.onEvent(event);
        if (event.type === 'run-done') resolve(event.summary);
      },
      error: reject,
    });
  });
  renderer.close();
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  if (summary.cancelled) return 130;
  if (summary.failed.length > 0) return 1;
  if (pipeline.results.length > 0 && !values.json)
    process.stdout.write(`See the results: lockpick results ${args[0]}${echoArgs(values)}\n`);
  return 0;
}

function echoArgs(values: Values): string {
  let s = '';
  if (values.seeds) s += ` --seeds ${values.seeds}`;
  if (values.scale) s += ` --scale ${values.scale}`;
  for (const o of values.set ?? []) s += ` --set ${o}`;
  if (values.store) s += ` --store ${values.store}`;
  return s;
}

/**
 * A plan line's reasons, with a long list of upstream nodes shortened (a report gathering a sweep
 * waits on every node of it); `lockpick why` lists them all.
 */
export function planReasons(reasons: readonly string[], shown = 3): string[] {
  const upstream = /^upstream "(.*)" runs first$/;
  const waiting = reasons.filter((r) => upstream.test(r));
  if (waiting.length <= shown) return [...reasons];
  const names = waiting.slice(0, shown).map((r) => `"${r.match(upstream)![1]}"`);
  return [
    `upstream ${names.join(', ')} and ${waiting.length - shown} more run first`,
    ...reasons.filter((r) => !upstream.test(r)),
  ];
}

async function commandPlan(args: string[], values: Values): Promise<number> {
  const pipeline = await resolveFromArgs(args[0], values);
  const store = await openStore(values);
  const plan = await planPipeline(pipeline, store);
  const width = Math.max(...plan.map((e) => e.node.length));
  for (const e of plan) {
    const status = e.status === 'cached' ? 'cached' : 'run   ';
    process.stdout.write(`${status}  ${e.node.padEnd(width)}  ${planReasons(e.reasons).join('; ')}\n`);
  }
  const toRun = plan.filter((e) => e.status === 'run').length;
  process.stdout.write(`${toRun} of ${plan.length} nodes to run\n`);
  return 0;
}

async function commandWhy(args: string[], values: Values): Promise<number> {
  const [name, node] = args;
  if (!node) throw new UsageError('usage: lockpick why <pipeline> <node>');
  const pipeline = await resolveFromArgs(name, values);
  if (!pipeline.nodes.some((n) => n.name === node))
    throw new UsageError(
      `pipeline ${name} has no node "${node}"; nodes: ${pipeline.nodes.map((n) => n.name).join(', ')}`,
    );
  const store = await openStore(values);
  const plan = await planPipeline(pipeline, store);
  const entry = plan.find((e) => e.node === node)!;
  const previous = (await store.readRunRecord(pipeline.name))?.nodes[node];
  if (entry.status === 'cached') {
    const same = previous?.key === entry.key;
    process.stdout.write(
      `${node}: cached (key ${entry.key?.slice(0, 12)})${same ? ', unchanged since its last run' : ', from an earlier run with the same key'}\n`,
    );
  } else {
    process.stdout.write(`${node}: will run, because:\n${entry.reasons.map((r) => `  - ${r}`).join('\n')}\n`);
  }
  return 0;
}

async function commandResults(args: string[], values: Values): Promise<number> {
  const pipeline = await resolveFromArgs(args[0], values);
  if (pipeline.results.length === 0)
    throw new UsageError(`pipeline ${pipeline.name} declares no result table`);
  const store = await openStore(values);
  const plan = await planPipeline(pipeline, store);
  const missing = plan.filter((e) => e.status !== 'cached');
  if (missing.length > 0) {
    process.stderr.write(
      `results of ${pipeline.name} are not complete: ${missing.length} of ${plan.length} nodes have not run with these settings (${missing
        .slice(0, 5)
        .map((e) => e.node)
        .join(', ')}${missing.length > 5 ? ', …' : ''}).\nRun: lockpick run ${args[0]}${echoArgs(values)}\n`,
    );
    return 1;
  }
  const format = tableFormat(values);
  for (const [index, result] of pipeline.results.entries()) {
    const entry = plan.find((e) => e.node === result.node)!;
    const ref = entry.outputs![result.output];
    const table = await store.readTable(ref);
    if (pipeline.results.length > 1 && format !== 'json')
      process.stdout.write(
        `${index > 0 ? '\n' : ''}${format === 'csv' ? '# ' : '== '}${result.node}.${result.output}\n`,
      );
    process.stdout.write(`${formatTable(table, format)}\n`);
    if (format === 'table')
      process.stdout.write(
        `(${table.numRows} rows; Parquet: ${path.relative(process.cwd(), store.objectPath(ref.hash))})\n`,
      );
    const spec = plotSpecOf(table, `${result.node}.${result.output}`);
    if (spec) {
      const dir = values.plots ?? path.join(store.root, 'plots', pipeline.name);
      const file = path.join(dir, `${result.node}.${result.output}.svg`);
      await fs.mkdir(dir, { recursive: true });
      // Written whole to a temporary name, then renamed: a reader never sees half a chart.
      const tmp = `${file}.${process.pid}.tmp`;
      await fs.writeFile(tmp, lineChartSvg(table, spec));
      await fs.rename(tmp, file);
      if (format === 'table') process.stdout.write(`chart: ${path.relative(process.cwd(), file)}\n`);
    }
  }
  return 0;
}

async function commandShow(args: string[], values: Values): Promise<number> {
  const target = args[0];
  if (!target)
    throw new UsageError(
      'usage: lockpick show <node|hash> (a node name from a recorded run, or an object hash or prefix)',
    );
  const store = await openStore(values);
  const refs: { label: string; hash: string; kind: 'table' | 'model' }[] = [];
  const manifests = await store.listManifests();
  if (/^[0-9a-f]{6,64}$/.test(target)) {
    for (const m of manifests)
      for (const [output, ref] of Object.entries(m.outputs))
        if (ref.hash.startsWith(target) && !refs.some((r) => r.hash === ref.hash))
          refs.push({ label: `${m.node}.${output}`, hash: ref.hash, kind: ref.kind });
  }
  if (refs.length === 0) {
    const runsDir = path.join(store.root, 'runs');
    for (const file of await fs.readdir(runsDir)) {
      const record = await store.readRunRecord(file.replace(/\.json$/, ''));
      const [pipelineName, nodeName] = target.includes(':') ? target.split(':', 2) : [undefined, target];
      if (!record || (pipelineName && record.pipeline !== pipelineName)) continue;
      const node = record.nodes[nodeName];
      if (!node) continue;
      const manifest = await store.readManifest(node.key);
      if (!manifest) continue;
      for (const [output, ref] of Object.entries(manifest.outputs))
        refs.push({ label: `${record.pipeline}:${nodeName}.${output}`, hash: ref.hash, kind: ref.kind });
    }
  }
  if (refs.length === 0)
    throw new UsageError(
      `nothing named "${target}" in ${store.root}: give a node of a recorded run (see \`lockpick ls\`) or an object hash`,
    );
  const rows = values.rows === undefined ? 10 : Number(values.rows);
  for (const ref of refs) {
    process.stdout.write(`${ref.label}  ${ref.kind}  ${ref.hash}\n  file: ${store.objectPath(ref.hash)}\n`);
    if (ref.kind === 'table') {
      const table = await store.readTable(ref.hash);
      process.stdout.write(
        `  ${table.numRows} rows; schema: ${table.schema.fields.map((f) => `${f.name}: ${f.type}`).join(', ')}\n\n`,
      );
      process.stdout.write(`${formatTable(table, tableFormat(values), rows)}\n\n`);
    } else {
      const model = await store.readModel(ref.hash);
      process.stdout.write(`  config: ${JSON.stringify(model.config)}\n`);
      let params = 0;
      for (const t of model.tensors) {
        if (!t.name.startsWith('optimizer/')) params += t.data.length;
        process.stdout.write(`  ${t.name.padEnd(40)} ${t.dtype} [${t.shape.join(', ')}]\n`);
      }
      process.stdout.write(`  ${params.toLocaleString('en')} parameters (optimizer slots excluded)\n\n`);
    }
  }
  return 0;
}

async function commandLs(values: Values): Promise<number> {
  process.stdout.write('Pipelines:\n');
  for (const name of listPipelineNames()) {
    const def = await loadPipeline(name);
    process.stdout.write(`  ${name.padEnd(22)} ${def.description}\n`);
  }
  const store = await openStore(values);
  process.stdout.write(`\nStore ${store.root}:\n`);
  for (const file of (await fs.readdir(path.join(store.root, 'runs'))).sort()) {
    const record = await store.readRunRecord(file.replace(/\.json$/, ''));
    if (record)
      process.stdout.write(
        `  run ${record.pipeline}: ${Object.keys(record.nodes).length} nodes, last updated ${record.updatedAt}\n`,
      );
  }
  let objects = 0;
  let bytes = 0;
  const objectsDir = path.join(store.root, 'objects', 'sha256');
  for (const prefix of await fs.readdir(objectsDir))
    for (const rest of await fs.readdir(path.join(objectsDir, prefix))) {
      objects++;
      bytes += (await fs.stat(path.join(objectsDir, prefix, rest))).size;
    }
  const manifests = (await fs.readdir(path.join(store.root, 'manifests'))).length;
  process.stdout.write(`  ${objects} objects (${(bytes / 1e6).toFixed(1)} MB), ${manifests} manifests\n`);
  return 0;
}

async function commandGc(values: Values): Promise<number> {
  const store = await openStore(values);
  const removed = await store.gc();
  process.stdout.write(
    `removed ${removed.objects} unreferenced objects (${(removed.bytes / 1e6).toFixed(1)} MB) and ${removed.tmp} temporary files\n`,
  );
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    process.stderr.write(`lockpick: ${(error as Error).message}\nSee \`lockpick --help\`.\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (values.help || !command || command === 'help') {
    process.stdout.write(`${HELP}\n`);
    return command || values.help ? 0 : 2;
  }
  const started = performance.now();
  try {
    switch (command) {
      case 'run':
        return await commandRun(rest, values);
      case 'plan':
        return await commandPlan(rest, values);
      case 'why':
        return await commandWhy(rest, values);
      case 'results':
        return await commandResults(rest, values);
      case 'show':
        return await commandShow(rest, values);
      case 'ls':
        return await commandLs(values);
      case 'gc':
        return await commandGc(values);
      default:
        throw new UsageError(`unknown command "${command}"; commands: run, plan, why, results, show, ls, gc`);
    }
  } catch (error) {
    if (error instanceof UsageError || error instanceof PipelineError) {
      process.stderr.write(`lockpick ${command}: ${error.message}\n`);
      return 2;
    }
    const e = error as Error;
    process.stderr.write(
      `lockpick ${command} failed after ${formatDuration(performance.now() - started)}: ${e.message}\n`,
    );
    if (process.env.LOCKPICK_DEBUG) process.stderr.write(`${e.stack}\n`);
    return 1;
  }
}
