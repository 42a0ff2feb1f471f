import { createHash } from 'node:crypto';
import { constants, existsSync, readdirSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { availableParallelism, homedir, tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ArtifactStore, NoStoreError, StoreBusyError } from '@lockpick/artifacts';
import {
  describeRunSettings,
  isSmokeScale,
  type PipelineDefinition,
  PipelineError,
  parseOverride,
  planPipeline,
  previousNodeRuns,
  type ResolvedPipeline,
  type RunEvent,
  type RunSummary,
  resolvePipeline,
  runIdOf,
  runPipeline,
  runSettings,
  selectNodes,
} from '@lockpick/engine';
import type { Observable } from 'rxjs';
import { formatNodeParams, nodeParams } from './params.ts';
import { chartRows, chartSpecOf, chartSvg, tableRows } from './plot.ts';
import { formatDuration, JsonRenderer, PlainRenderer, type RunRenderer, TerminalRenderer } from './render.ts';
import { commandReport } from './report/command.ts';
import { loadResults } from './results-data.ts';
import { BEFORE_IDS, formatRuns } from './runs.ts';
import { didYouMean } from './suggest.ts';
import { formatTable, type TableFormat } from './table-format.ts';
import { stageTimes } from './times.ts';

/**
 * The cluster library, loaded only by the commands that use a queue or an S3 store: BullMQ and the
 * AWS SDK take a second or two to import, which every other command would pay at start-up.
 */
const cluster = () => import('@lockpick/cluster');

const REPO_ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../..');
const PIPELINES_DIR = path.join(REPO_ROOT, 'pipelines');

/** A mistake in how the command was called: exit code 2 and a hint, never a stack trace. */
class UsageError extends Error {}

const options = {
  store: { type: 'string' },
  seeds: { type: 'string' },
  scale: { type: 'string' },
  set: { type: 'string', multiple: true },
  jobs: { type: 'string' },
  'keep-going': { type: 'boolean' },
  only: { type: 'string', multiple: true },
  json: { type: 'boolean' },
  backend: { type: 'string' },
  format: { type: 'string' },
  rows: { type: 'string' },
  plots: { type: 'string' },
  out: { type: 'string' },
  queue: { type: 'string' },
  cache: { type: 'string' },
  concurrency: { type: 'string' },
  'stall-ms': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type OptionName = keyof typeof options;
type Values = ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true }>>['values'];

/** What each option means, for the help texts: the option as written, then its explanation. */
const OPTION_HELP: Record<OptionName, [string, string]> = {
  seeds: ['--seeds a,b,c', "seeds the pipeline sweeps (default: the pipeline's own)"],
  scale: ['--scale NAME', "budget: each pipeline's first scale is its default; 'smoke' is tiny"],
  set: ['--set node.param=value', "override a parameter (node = a node or a sweep's name; value as JSON)"],
  jobs: ['--jobs N', `nodes run at once (default: cores = ${availableParallelism()})`],
  'keep-going': ['--keep-going', 'after a failure, run everything not downstream of it'],
  only: [
    '--only NODE[,NODE…]',
    'only these nodes and what they read from (node or sweep names; * matches\n' +
      "anything: --only 'lock-*-100'); repeatable",
  ],
  json: ['--json', 'one JSON event per line instead of progress bars'],
  backend: [
    '--backend NAME',
    'auto|tensorflow|wasm|cpu: TensorFlow.js backend for training stages\n' +
      '(default: LOCKPICK_BACKEND, else auto — tfjs-node-gpu, tfjs-node, wasm, cpu)',
  ],
  format: ['--format table|json|csv', 'output format (default table)'],
  rows: ['--rows N', 'rows of each table show prints (default 10)'],
  plots: [
    '--plots DIR',
    'where results writes the SVG charts of its tables (default: plots/<pipeline>/<run-id>/\n' +
      'in the store, when the store is writable)',
  ],
  out: ['--out DIR', 'where report writes index.html (default: report/ in the store)'],
  store: [
    '--store DIR|URL',
    'artifact store (default: LOCKPICK_STORE, else data/ in the repository); a shared one\n' +
      'is file:///folder or s3://bucket/prefix[?endpoint=URL&region=R]',
  ],
  queue: ['--queue redis://HOST:PORT', "run the pipeline's nodes on workers through this Redis"],
  cache: [
    '--cache DIR',
    'local cache of a shared store (default: LOCKPICK_CACHE, else ~/.cache/lockpick/<store>)',
  ],
  concurrency: [
    '--concurrency N',
    `nodes a worker computes at once (default: cores = ${availableParallelism()})`,
  ],
  'stall-ms': [
    '--stall-ms MS',
    "how long a dead worker's node waits before another worker takes it over (default 30000)",
  ],
  help: ['-h, --help', 'this help'],
};

const PIPELINE_OPTIONS: OptionName[] = ['seeds', 'scale', 'set'];

interface CommandSpec {
  usage: string;
  summary: string;
  /** Options it takes besides --store and --help. */
  options: OptionName[];
  /** More about it, for `lockpick <command> --help`. */
  details: string;
}

const COMMANDS: Record<string, CommandSpec> = {
  run: {
    usage: 'run <pipeline>',
    summary: 'run a pipeline; only nodes whose inputs, parameters or code changed recompute',
    options: [...PIPELINE_OPTIONS, 'only', 'jobs', 'keep-going', 'json', 'backend', 'queue'],
    details:
      'Nodes already computed with the same inputs, parameters and code come from the cache. Ctrl-C\n' +
      'stops cleanly (finished nodes are kept; run the same command again to resume); a second\n' +
      'Ctrl-C quits at once. If the reader of its output goes away (`… | head`), the run carries on\n' +
      'quietly and exits with its own status.\n' +
      'With --queue redis://HOST:PORT and a shared --store (file:///… or s3://…), nodes to compute\n' +
      'go on the queue for `lockpick worker`s on any machine; Ctrl-C withdraws the ones no worker\n' +
      'has started (started ones finish and are cached).',
  },
  plan: {
    usage: 'plan <pipeline>',
    summary: 'per node: cached or to run, and why (runs nothing)',
    options: [...PIPELINE_OPTIONS, 'only'],
    details: 'Reads the store only: compares each node with its last recorded run.',
  },
  why: {
    usage: 'why <pipeline> <node>',
    summary: "what changed in a node's cache key since its last run",
    options: PIPELINE_OPTIONS,
    details: 'Lists every reason, where `plan` shortens long lists of upstream nodes.',
  },
  results: {
    usage: 'results <pipeline>',
    summary: "print the pipeline's result tables from the cache (never recomputes)",
    options: [...PIPELINE_OPTIONS, 'format', 'plots'],
    details:
      'Serves the run with these --scale, --seeds and --set (the default scale when none is given),\n' +
      'and names it first: its run id and settings; a smoke run is marked as one. Exits 1 if a\n' +
      'result is not cached with these settings, or if a cached object is damaged (the message names\n' +
      'its file); `run` then recomputes it. Never writes to the store except the charts in its\n' +
      'plots/<pipeline>/<run-id>/ folder, and only when the store is writable.',
  },
  times: {
    usage: 'times <pipeline>',
    summary: "where a run's compute went: node-seconds per stage, the slowest node, training tokens/s",
    options: [...PIPELINE_OPTIONS, 'format'],
    details:
      'Reads the manifests of the nodes computed with these --scale, --seeds and --set (a run still\n' +
      "going shows what it has done so far). node_seconds sums each node's own time, so with two\n" +
      'nodes at a time it is up to twice the wall time; tokens_per_second is the training throughput\n' +
      "of the stage's nodes, weighted by their durations. A node cached from an earlier run counts\n" +
      'with the time it took then. Never writes to the store.',
  },
  report: {
    usage: 'report [pipeline…]',
    summary: 'write one offline HTML page of results beside the published ones (all pipelines if none named)',
    options: [...PIPELINE_OPTIONS, 'out'],
    details:
      'Per pipeline whose results are complete in the store: its result tables (sortable, published\n' +
      'values beside ours and the difference coloured), its charts (Vega-Lite), the findings its\n' +
      'report stages judge (reproduced / not reproduced / inconclusive) and provenance (commit,\n' +
      'backend and duration per node, settings, store hashes). An incomplete pipeline is listed with\n' +
      'the command that finishes it. Writes index.html, specs/ and data/ into --out (default: report/\n' +
      'in the store); never changes anything else in the store.',
  },
  params: {
    usage: 'params <pipeline> [node]',
    summary: "each node's parameters: value, the stage's default, and where the value comes from",
    options: [...PIPELINE_OPTIONS, 'format'],
    details:
      "node: a node name, or a sweep's name for all its points. With --set, shows the values the\n" +
      'override gives. --format json prints one JSON object per node.',
  },
  show: {
    usage: 'show <node|pipeline:node|hash>',
    summary: "a table's schema and first rows, or a model's config and tensors",
    options: ['format', 'rows'],
    details:
      'node: a node of a recorded run (pipeline:node when several pipelines have it); hash: an\n' +
      'object hash or a prefix of at least 6 characters. Prints the object file of each output.',
  },
  runs: {
    usage: 'runs [pipeline]',
    summary: 'the recorded runs: id, pipeline, scale, seeds, --set overrides, last update, nodes',
    options: ['format'],
    details:
      'A run id is derived from the pipeline and its settings (--scale, --seeds, --set): a run with\n' +
      'other settings, a smoke run say, keeps its own record and never replaces another. `plan`,\n' +
      '`why` and `results` pick the run whose settings they are given. A record written before runs\n' +
      'had ids is listed as "(before ids)", its settings unknown.',
  },
  ls: {
    usage: 'ls',
    summary: 'pipelines, and the runs and objects in the store',
    options: [],
    details: '',
  },
  gc: {
    usage: 'gc',
    summary: 'delete objects no manifest references, leftovers of killed runs, stale locks',
    options: [],
    details:
      'Keeps every object any manifest references, so results of earlier settings stay cached, and\n' +
      "the checkpoints unfinished nodes resume from. Refuses (exit 1, naming the run's process and\n" +
      'pipeline) while a run is using the store: objects a running node has written are not yet\n' +
      'referenced by its manifest. A run that starts while gc collects waits for it.',
  },
  worker: {
    usage: 'worker',
    summary: 'compute the nodes runs put on --queue, with the shared --store (until Ctrl-C)',
    options: ['queue', 'concurrency', 'stall-ms', 'backend'],
    details:
      'Start one per machine, from the same commit as the runs: a node whose cache key this\n' +
      'checkout does not reproduce is refused, saying why. Inputs are fetched into --cache and\n' +
      'verified by hash; outputs are uploaded, then the manifest. If a worker dies mid-node,\n' +
      'another takes the node over after --stall-ms. Ctrl-C stops taking nodes and lets the\n' +
      'running ones finish; a second Ctrl-C quits at once.',
  },
};

function optionLines(names: readonly OptionName[]): string {
  return names
    .map((name) => {
      const [flag, text] = OPTION_HELP[name];
      const [first, ...more] = text.split('\n');
      return [`  ${flag.padEnd(26)}${first}`, ...more.map((m) => `${' '.repeat(28)}${m}`)].join('\n');
    })
    .join('\n');
}

function generalHelp(): string {
  const width = Math.max(...Object.values(COMMANDS).map((c) => c.usage.length)) + 2;
  const commands = Object.values(COMMANDS)
    .map((c) => `  ${c.usage.padEnd(width)}${c.summary}`)
    .join('\n');
  return `lockpick — stress-test capability elicitation and backdoor removal on small models

Usage: npx lockpick <command> [options]     (npx lockpick <command> --help: that command's options)

Commands:
${commands}

Options for run, plan, why, results, params, report:
${optionLines(PIPELINE_OPTIONS)}
Options for report:
${optionLines(['out'])}
Options for run (and --only for plan):
${optionLines(['only', 'jobs', 'keep-going', 'json', 'backend'])}
Options for results, params, show and runs:
${optionLines(['format', 'rows', 'plots'])}
Options for worker (and --queue for run):
${optionLines(['queue', 'concurrency', 'stall-ms'])}
Everywhere:
${optionLines(['store', 'cache', 'help'])}

Pipelines: ${listPipelineNames().join(', ') || '(none found)'}
Exit codes: 0 success; 1 a node failed, results are incomplete or damaged, or gc refused because
a run is using the store; 2 bad command, pipeline, option or store; 130 interrupted.`;
}

function commandHelp(name: string, spec: CommandSpec): string {
  const all: OptionName[] = [...spec.options, 'store', 'cache', 'help'];
  return `Usage: npx lockpick ${spec.usage} [options]

${spec.summary[0].toUpperCase()}${spec.summary.slice(1)}.${spec.details ? `\n${spec.details}` : ''}

Options:
${optionLines(all)}${spec.usage.includes('<pipeline>') ? `\n\nPipelines: ${listPipelineNames().join(', ')}` : ''}
${name === 'run' ? `\nExample: npx lockpick run quickstart --scale smoke --set 'data.evalRows=512'` : ''}`.trimEnd();
}

function listPipelineNames(): string[] {
  if (!existsSync(PIPELINES_DIR)) return [];
  return readdirSync(PIPELINES_DIR)
    .filter((f) => f.endsWith('.ts') && !/\.(test|config)\.ts$/.test(f) && !f.startsWith('_'))
    .map((f) => f.slice(0, -3))
    .sort();
}

async function loadPipeline(name: string): Promise<PipelineDefinition> {
  const file = name.endsWith('.ts') ? path.resolve(name) : path.join(PIPELINES_DIR, `${name}.ts`);
  if (!existsSync(file)) {
    const names = listPipelineNames();
    throw new UsageError(
      `no pipeline "${name}" (looked for ${file}); available: ${names.join(', ')}${didYouMean(name, names)}`,
    );
  }
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

/** An integer option's value, or undefined when absent; anything else is a usage error. */
function integerOption(
  values: Values,
  name: 'jobs' | 'rows' | 'concurrency' | 'stall-ms',
  min: number,
): number | undefined {
  const text = values[name];
  if (text === undefined) return undefined;
  const n = /^\s*\d+\s*$/.test(text) ? Number(text) : Number.NaN;
  if (!(Number.isSafeInteger(n) && n >= min))
    throw new UsageError(
      `--${name} ${text}: expected ${min === 1 ? 'a positive' : 'a non-negative'} integer, e.g. --${name} ${min === 1 ? 4 : 10}`,
    );
  return n;
}

// ---- the store ---------------------------------------------------------------------------------

/** The store as given: --store, else LOCKPICK_STORE (an empty one counts as unset), else undefined. */
function storeTextOf(
  values: { store?: string },
  env: NodeJS.ProcessEnv,
): { text: string; source: '--store' | 'LOCKPICK_STORE' } | undefined {
  if (values.store !== undefined) {
    if (values.store.trim() === '') throw new UsageError('--store: empty path; give the store folder');
    return { text: values.store, source: '--store' };
  }
  const fromEnv = env.LOCKPICK_STORE?.trim();
  return fromEnv ? { text: fromEnv, source: 'LOCKPICK_STORE' } : undefined;
}

/** The shared store's URL when the store given is one (file:///folder or s3://bucket/prefix). */
export function sharedStoreUrlOf(values: { store?: string }, env: NodeJS.ProcessEnv): string | undefined {
  const given = storeTextOf(values, env);
  return given && /^(file|s3):\/\//.test(given.text) ? given.text : undefined;
}

/**
 * Where this machine caches a shared store: --cache, else LOCKPICK_CACHE, else a folder per store
 * under ~/.cache/lockpick (per store, so mirrored records of two stores never mix).
 */
export function cacheRootOf(values: { cache?: string }, env: NodeJS.ProcessEnv, url: string): string {
  if (values.cache !== undefined) {
    if (values.cache.trim() === '') throw new UsageError('--cache: empty path; give a folder');
    return path.resolve(values.cache);
  }
  const fromEnv = env.LOCKPICK_CACHE?.trim();
  if (fromEnv) return path.resolve(fromEnv);
  const id = createHash('sha256').update(url).digest('hex').slice(0, 12);
  return path.join(homedir(), '.cache', 'lockpick', id);
}

/**
 * The store folder: --store, else LOCKPICK_STORE (an empty one counts as unset), else data/. A
 * shared folder (file:///…) is a store like any other; an S3 store is read through its local cache.
 */
export function storeRootOf(
  values: { store?: string; cache?: string },
  env: NodeJS.ProcessEnv,
): { root: string; source: '--store' | 'LOCKPICK_STORE' | 'the default' } {
  const given = storeTextOf(values, env);
  if (!given) return { root: path.join(REPO_ROOT, 'data'), source: 'the default' };
  if (given.text.startsWith('file://')) return { root: fileURLToPath(given.text), source: given.source };
  if (given.text.startsWith('s3://'))
    return { root: cacheRootOf(values, env, given.text), source: given.source };
  return { root: path.resolve(given.text), source: given.source };
}

/**
 * Opens the store. `run` creates it if needed; the read-only commands (plan, why, results, show,
 * ls) open it read-only and never create one, so a mistyped --store fails instead of leaving an
 * empty store behind; gc needs an existing one too. An S3 store is first mirrored into its local
 * cache (records, manifests, and the objects the cache lacks), which those commands then read.
 */
async function openStore(
  values: Values,
  mode: 'create' | 'read-only' | 'existing',
  pipeline?: string,
): Promise<ArtifactStore> {
  const url = sharedStoreUrlOf(values, process.env);
  if (url?.startsWith('s3://')) {
    if (mode !== 'read-only')
      throw new UsageError(
        `${url}: an S3 store is written by workers only: run with --queue redis://HOST:PORT (and gc is not available on S3)`,
      );
    const { SharedStore } = await cluster();
    const shared = await SharedStore.open(url, cacheRootOf(values, process.env, url));
    try {
      await shared.mirror((message) => process.stderr.write(`warning: ${message}\n`));
    } finally {
      shared.close();
    }
  }
  const { root, source } = storeRootOf(values, process.env);
  let store: ArtifactStore;
  try {
    store = mode === 'create' ? await ArtifactStore.open(root) : await ArtifactStore.openExisting(root);
  } catch (error) {
    if (!(error instanceof NoStoreError)) throw error;
    const how = source === 'the default' ? '' : ` (from ${source})`;
    throw new UsageError(
      `no store at ${root}${how}; run \`npx lockpick run ${pipeline ?? '<pipeline>'}\` first or check --store`,
    );
  }
  if (mode === 'existing') store = await ArtifactStore.open(root);
  store.onWarning = (message) => process.stderr.write(`warning: ${message}\n`);
  return store;
}

// ---- output --------------------------------------------------------------------------------------

/**
 * Set once stdout's reader has gone (`lockpick run … | head`): from then on output is dropped. A
 * run goes on computing its nodes and exits with its own status; the read-only commands stop.
 */
let stdoutClosed = false;

/** Writes to stdout unless its reader has gone. */
function out(text: string): void {
  if (!stdoutClosed) process.stdout.write(text);
}

const stdoutSink = { write: out };

// ---- signals -----------------------------------------------------------------------------------

/**
 * What SIGINT and SIGTERM do. Until `run` has its nodes to stop cleanly, a signal ends the command
 * at once with 130 ("interrupted"); Node's default would end it by the signal, with no exit code.
 */
let onInterrupt: (signal: NodeJS.Signals) => void = () => process.exit(130);
const interruptListener = (signal: NodeJS.Signals) => onInterrupt(signal);

async function resolveFromArgs(
  name: string | undefined,
  values: Values,
  command: string,
): Promise<ResolvedPipeline> {
  if (!name) throw new UsageError(`which pipeline? e.g. \`npx lockpick ${command} quickstart\``);
  const definition = await loadPipeline(name);
  return resolvePipeline(definition, {
    seeds: parseSeeds(values.seeds),
    scale: values.scale,
    overrides: (values.set ?? []).map(parseOverride),
  });
}

/** The pipeline cut down to `--only`'s nodes and their upstream (all of it without `--only`). */
function onlyFromArgs(pipeline: ResolvedPipeline, values: Values): ResolvedPipeline {
  const patterns = (values.only ?? []).flatMap((v) => v.split(',')).filter((v) => v.length > 0);
  return patterns.length > 0 ? selectNodes(pipeline, patterns) : pipeline;
}

function tableFormat(values: Values): TableFormat {
  const format = values.format ?? 'table';
  if (format !== 'table' && format !== 'json' && format !== 'csv')
    throw new UsageError(
      `--format ${format}: expected table, json or csv${didYouMean(format, ['table', 'json', 'csv'])}`,
    );
  return format;
}

/** The node names of a pipeline a user may give: every node, and every sweep's name. */
function nodeNameHint(pipeline: ResolvedPipeline, name: string): string {
  const names = new Set(pipeline.nodes.flatMap((n) => [n.name, n.base]));
  const bases = [...new Set(pipeline.nodes.map((n) => n.base))];
  const shown = bases.slice(0, 12).join(', ') + (bases.length > 12 ? ', …' : '');
  return `pipeline ${pipeline.name} has no node "${name}"; nodes: ${shown}${didYouMean(name, names)}`;
}

// ---- commands ----------------------------------------------------------------------------------

async function commandRun(args: string[], values: Values): Promise<number> {
  const pipeline = onlyFromArgs(await resolveFromArgs(args[0], values, 'run'), values);
  const jobs = integerOption(values, 'jobs', 1);
  if (values.backend !== undefined) {
    const backends = ['auto', 'tensorflow', 'wasm', 'cpu'];
    if (!backends.includes(values.backend))
      throw new UsageError(
        `--backend ${values.backend}: expected auto, tensorflow, wasm or cpu${didYouMean(values.backend, backends)}`,
      );
    // Stages (and their worker threads, which share this environment) read it when they start.
    process.env.LOCKPICK_BACKEND = values.backend;
  }
  const runs = await runSource(pipeline, values, jobs);
  const renderer: RunRenderer = values.json
    ? new JsonRenderer(stdoutSink)
    : process.stdout.isTTY
      ? new TerminalRenderer(process.stdout)
      : new PlainRenderer(stdoutSink, values.queue === undefined ? undefined : 'on a cluster worker');
  const abort = new AbortController();
  let interrupts = 0;
  const startupInterrupt = onInterrupt;
  onInterrupt = (signal) => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    process.stderr.write(
      `\n${signal}: stopping; finished nodes are kept (press Ctrl-C again to quit at once)\n`,
    );
    abort.abort();
  };
  let summary: RunSummary;
  try {
    summary = await new Promise<RunSummary>((resolve, reject) => {
      runs.events({ keepGoing: values['keep-going'], signal: abort.signal }).subscribe({
        next: (event) => {
          renderer.onEvent(event);
          if (event.type === 'run-done') resolve(event.summary);
        },
        error: reject,
      });
    });
  } finally {
    renderer.close();
    onInterrupt = startupInterrupt;
    await runs.close();
  }
  if (summary.cancelled) return 130;
  if (summary.failed.length > 0) return 1;
  if (pipeline.results.length > 0 && !values.json)
    out(`See the results: npx lockpick results ${args[0]}${echoArgs(values)}\n`);
  return 0;
}

/**
 * Where a run's nodes are computed: here, in the store (a folder, possibly a shared one), or with
 * --queue on the cluster's workers, with a shared store.
 */
async function runSource(
  pipeline: ResolvedPipeline,
  values: Values,
  jobs: number | undefined,
): Promise<{
  events(options: { keepGoing?: boolean; signal: AbortSignal }): Observable<RunEvent>;
  close(): Promise<void>;
}> {
  if (values.queue === undefined) {
    const store = await openStore(values, 'create');
    return {
      events: (options) => runPipeline(pipeline, store, { jobs, ...options }),
      close: async () => undefined,
    };
  }
  const url = sharedStoreUrlOf(values, process.env);
  if (!url)
    throw new UsageError(
      '--queue needs a shared --store that every worker reaches: file:///shared/folder or s3://bucket/prefix',
    );
  if (jobs !== undefined)
    throw new UsageError('--jobs does not apply with --queue: each worker has its own --concurrency');
  const { checkRedisReachable, NodeQueue, runPipelineOnCluster, SharedStore } = await cluster();
  await checkRedisReachable(values.queue).catch((error: Error) => {
    throw new UsageError(error.message);
  });
  const shared = await SharedStore.open(url, cacheRootOf(values, process.env, url));
  const queue = new NodeQueue(values.queue);
  await queue.ready();
  return {
    events: (options) => runPipelineOnCluster(pipeline, shared, queue, options),
    close: async () => {
      await queue.close();
      shared.close();
    },
  };
}

/** `worker`: computes the nodes runs queue, until Ctrl-C (which lets running nodes finish). */
async function commandWorker(args: string[], values: Values): Promise<number> {
  if (args.length > 0)
    throw new UsageError('usage: npx lockpick worker --queue redis://HOST:PORT --store URL');
  if (values.queue === undefined)
    throw new UsageError(
      'which queue? e.g. `npx lockpick worker --queue redis://10.0.0.5:6379 --store s3://…`',
    );
  const url = sharedStoreUrlOf(values, process.env);
  if (!url)
    throw new UsageError(
      '--store: a worker needs the shared store: file:///shared/folder or s3://bucket/prefix',
    );
  if (values.backend !== undefined) process.env.LOCKPICK_BACKEND = values.backend;
  const concurrency = integerOption(values, 'concurrency', 1) ?? availableParallelism();
  const stallMs = integerOption(values, 'stall-ms', 100);
  const { checkRedisReachable, SharedStore, startClusterWorker } = await cluster();
  await checkRedisReachable(values.queue).catch((error: Error) => {
    throw new UsageError(error.message);
  });
  const cache = cacheRootOf(values, process.env, url);
  const shared = await SharedStore.open(url, cache);
  let name = '';
  const worker = await startClusterWorker({
    queueUrl: values.queue,
    store: shared,
    concurrency,
    ...(stallMs !== undefined ? { stallMs } : {}),
    log: (line) => out(`[worker ${name}] ${line}\n`),
  });
  name = worker.name;
  out(
    `[worker ${name}] ready: queue ${values.queue}, store ${url}, cache ${cache}, concurrency ${concurrency}\n`,
  );
  await new Promise<void>((resolve) => {
    let interrupts = 0;
    onInterrupt = (signal) => {
      interrupts++;
      if (interrupts > 1) process.exit(130);
      process.stderr.write(`\n${signal}: finishing the running nodes (Ctrl-C again to quit at once)\n`);
      void worker.close().then(resolve);
    };
  });
  shared.close();
  return 130;
}

/** Quotes an argument for a POSIX shell when it holds anything a shell would interpret. */
function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

function echoArgs(values: Values): string {
  let s = '';
  if (values.seeds) s += ` --seeds ${shellQuote(values.seeds)}`;
  if (values.scale) s += ` --scale ${shellQuote(values.scale)}`;
  for (const o of values.set ?? []) s += ` --set ${shellQuote(o)}`;
  if (values.store) s += ` --store ${shellQuote(values.store)}`;
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
  const pipeline = onlyFromArgs(await resolveFromArgs(args[0], values, 'plan'), values);
  // Before the first run the default store (data/) holds nothing yet: plan against an empty
  // throwaway store (every node runs) rather than refuse or create data/'s folders.
  const { root, source } = storeRootOf(values, process.env);
  let scratch: string | undefined;
  if (source === 'the default' && !existsSync(path.join(root, 'manifests'))) {
    scratch = await fs.mkdtemp(path.join(tmpdir(), 'lockpick-plan-'));
    out(`(no runs in ${root} yet: every node would run)\n`);
  }
  const store = scratch ? await ArtifactStore.open(scratch) : await openStore(values, 'read-only', args[0]);
  const plan = await planPipeline(pipeline, store).finally(() =>
    scratch ? fs.rm(scratch, { recursive: true, force: true }) : undefined,
  );
  if (!scratch) out(`${await comparedWith(store, pipeline)}\n`);
  const width = Math.max(...plan.map((e) => e.node.length));
  for (const e of plan) {
    const status = e.status === 'cached' ? 'cached' : 'run   ';
    out(`${status}  ${e.node.padEnd(width)}  ${planReasons(e.reasons).join('; ')}\n`);
  }
  const toRun = plan.filter((e) => e.status === 'run').length;
  out(`${toRun} of ${plan.length} nodes to run\n`);
  return 0;
}

/** Plan's first line: this run's id and settings, and which recorded run its reasons compare with. */
async function comparedWith(store: ArtifactStore, pipeline: ResolvedPipeline): Promise<string> {
  const id = runIdOf(pipeline);
  const head = `run ${id} (${describeRunSettings(runSettings(pipeline))})`;
  const { runs } = await previousNodeRuns(store, pipeline);
  const [closest] = runs;
  if (closest?.id === id) return `${head}: compared with its last run, ${closest.updatedAt}`;
  if (!closest) return `${head}: no recorded run of scale ${pipeline.options.scale} to compare with`;
  const what = closest.settings
    ? `run ${closest.id} (${describeRunSettings(closest.settings)})`
    : 'the run recorded before run ids';
  return `${head}: not recorded yet; compared with ${what}, ${closest.updatedAt}`;
}

async function commandWhy(args: string[], values: Values): Promise<number> {
  const [name, node] = args;
  if (!node) throw new UsageError('usage: npx lockpick why <pipeline> <node>');
  const pipeline = await resolveFromArgs(name, values, 'why');
  if (!pipeline.nodes.some((n) => n.name === node)) throw new UsageError(nodeNameHint(pipeline, node));
  const store = await openStore(values, 'read-only', name);
  const plan = await planPipeline(pipeline, store);
  const entry = plan.find((e) => e.node === node)!;
  const previous = (await previousNodeRuns(store, pipeline)).nodes[node];
  if (entry.status === 'cached') {
    const same = previous?.key === entry.key;
    out(
      `${node}: cached (key ${entry.key?.slice(0, 12)})${same ? ', unchanged since its last run' : ', from an earlier run with the same key'}\n`,
    );
  } else {
    out(`${node}: will run, because:\n${entry.reasons.map((r) => `  - ${r}`).join('\n')}\n`);
  }
  return 0;
}

async function commandResults(args: string[], values: Values): Promise<number> {
  const pipeline = await resolveFromArgs(args[0], values, 'results');
  if (pipeline.results.length === 0)
    throw new UsageError(`pipeline ${pipeline.name} declares no result table`);
  const format = tableFormat(values);
  const store = await openStore(values, 'read-only', args[0]);
  // The same plan-then-read path `lockpick report` uses (results-data.ts).
  const loaded = await loadResults(pipeline, store);
  const rerun = `npx lockpick run ${args[0]}${echoArgs(values)}`;
  if (loaded.state === 'damaged') {
    process.stderr.write(
      `results of ${pipeline.name} cannot be served: cached objects are damaged\n${loaded.damaged.join('\n')}\n` +
        `Recompute them with: ${rerun}\n`,
    );
    return 1;
  }
  if (loaded.state === 'incomplete') {
    const { missing, plan } = loaded;
    process.stderr.write(
      `results of ${pipeline.name} are not complete: ${missing.length} of ${plan.length} nodes have not run with these settings (${missing
        .slice(0, 5)
        .map((e) => e.node)
        .join(', ')}${missing.length > 5 ? ', …' : ''}).\nRun: ${rerun}\n`,
    );
    return 1;
  }
  const runId = runIdOf(pipeline);
  const header = await resultsHeader(store, pipeline, runId);
  // The header goes first in the table format; json and csv stay machine-readable, so a smoke
  // run's mark goes to stderr for them.
  if (format === 'table') out(`${header}\n\n`);
  else if (isSmokeScale(pipeline.options.scale)) process.stderr.write(`${header}\n`);
  const chartDir = await chartFolder(values, store, pipeline.name, runId);
  for (const [index, result] of loaded.tables.entries()) {
    const { table, hash } = result;
    if (pipeline.results.length > 1 && format !== 'json')
      out(`${index > 0 ? '\n' : ''}${format === 'csv' ? '# ' : '== '}${result.node}.${result.output}\n`);
    out(`${formatTable(table, format)}\n`);
    if (format === 'table')
      out(`(${table.numRows} rows; Parquet: ${path.relative(process.cwd(), store.objectPath(hash))})\n`);
    const spec = chartSpecOf(table, result.label);
    if (spec && chartDir) {
      const file = path.join(chartDir.dir, `${result.node}.${result.output}.svg`);
      try {
        await fs.mkdir(chartDir.dir, { recursive: true });
        // Written whole to a temporary name, then renamed: a reader never sees half a chart.
        const tmp = `${file}.${process.pid}.tmp`;
        await fs.writeFile(tmp, await chartSvg(spec, chartRows(tableRows(table), spec).rows));
        await fs.rename(tmp, file);
      } catch (error) {
        if (chartDir.asked) throw error;
        process.stderr.write(
          `warning: chart not written (${(error as Error).message}); choose a folder with --plots DIR\n`,
        );
        continue;
      }
      if (format === 'table') out(`chart: ${path.relative(process.cwd(), file)}\n`);
    }
  }
  return 0;
}

/**
 * `results`' first line: which run it serves (id, settings, when recorded), marked loudly when it
 * is a smoke run, whose tiny budgets make its numbers a test of the plumbing, not a result.
 */
async function resultsHeader(
  store: ArtifactStore,
  pipeline: ResolvedPipeline,
  runId: string,
): Promise<string> {
  const record = await store.readRunRecord(pipeline.name, runId);
  const when = record ? `, last run ${record.updatedAt}` : '';
  const smoke = isSmokeScale(pipeline.options.scale)
    ? '\nSMOKE RUN: tiny budgets, for tests; these numbers are not results'
    : '';
  return `${pipeline.name}, run ${runId} (${describeRunSettings(runSettings(pipeline))}${when})${smoke}`;
}

/**
 * Where `results` draws its charts: --plots DIR when given; else plots/<pipeline>/<run-id>/ in the
 * store (one folder per run, so a smoke run's charts never replace a full run's), but only when the
 * store is writable (results must work on a read-only store); else nowhere.
 */
async function chartFolder(
  values: Values,
  store: ArtifactStore,
  pipeline: string,
  runId?: string,
): Promise<{ dir: string; asked: boolean } | undefined> {
  if (values.plots !== undefined) {
    if (values.plots.trim() === '') throw new UsageError('--plots: empty path; give a folder for the charts');
    return { dir: path.resolve(values.plots), asked: true };
  }
  try {
    await fs.access(store.root, constants.W_OK);
  } catch {
    return undefined;
  }
  return { dir: path.join(store.root, 'plots', pipeline, ...(runId ? [runId] : [])), asked: false };
}

/** `report`: the page itself is built in report/; this hands it what main owns. */
function commandReportOf(names: string[], values: Values): Promise<number> {
  const outText = values.out === undefined ? '' : ` --out ${shellQuote(values.out)}`;
  return commandReport(names, {
    pipelineNames: listPipelineNames,
    loadPipeline,
    resolveOptions: {
      seeds: parseSeeds(values.seeds),
      scale: values.scale,
      overrides: (values.set ?? []).map(parseOverride),
    },
    overrideTexts: values.set ?? [],
    openStore: (pipeline) => openStore(values, 'read-only', pipeline),
    rerunCommand: (name) => `npx lockpick run ${name}${echoArgs(values)}`,
    command: `npx lockpick report${names.map((n) => ` ${shellQuote(n)}`).join('')}${echoArgs(values)}${outText}`,
    out: values.out,
    repoRoot: REPO_ROOT,
    usageError: (message) => new UsageError(message),
    print: out,
  });
}

async function commandParams(args: string[], values: Values): Promise<number> {
  const [name, nodeName] = args;
  const pipeline = await resolveFromArgs(name, values, 'params');
  const format = tableFormat(values);
  const nodes = nodeName
    ? pipeline.nodes.filter((n) => n.name === nodeName || n.base === nodeName)
    : pipeline.nodes;
  if (nodes.length === 0) throw new UsageError(nodeNameHint(pipeline, nodeName));
  const overrides = (values.set ?? []).map(parseOverride);
  if (format === 'table') {
    out(`${nodes.map((n) => formatNodeParams(n, nodeParams(n, overrides))).join('\n\n')}\n`);
    return 0;
  }
  const rows = nodes.map((n) => ({ node: n.name, stage: n.stage.name, params: nodeParams(n, overrides) }));
  if (format === 'json') out(`${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);
  else {
    out('node,stage,parameter,value,default,from\n');
    const quote = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
    for (const r of rows)
      for (const p of r.params)
        out(
          `${[r.node, r.stage, p.name, JSON.stringify(p.value), p.default === undefined ? '' : JSON.stringify(p.default), p.from].map(quote).join(',')}\n`,
        );
  }
  return 0;
}

async function commandShow(args: string[], values: Values): Promise<number> {
  const target = args[0];
  if (!target)
    throw new UsageError(
      'usage: npx lockpick show <node|pipeline:node|hash> (a node of a recorded run, or an object hash or prefix)',
    );
  const rows = integerOption(values, 'rows', 0) ?? 10;
  const format = tableFormat(values);
  const store = await openStore(values, 'read-only');
  const refs: { label: string; hash: string; kind: 'table' | 'model'; runs?: string[] }[] = [];
  if (/^[0-9a-f]{6,64}$/.test(target)) {
    for (const m of await store.listManifests())
      for (const [output, ref] of Object.entries(m.outputs))
        if (ref.hash.startsWith(target) && !refs.some((r) => r.hash === ref.hash))
          refs.push({ label: `${m.node}.${output}`, hash: ref.hash, kind: ref.kind });
  }
  const recordedNodes = new Set<string>();
  if (refs.length === 0) {
    const [pipelineName, nodeName] = target.includes(':') ? target.split(':', 2) : [undefined, target];
    // Every recorded run (newest first) that has the node: runs with other settings may hold other
    // objects under the same node name; each object is shown once, with the runs that made it.
    const runsOf = new Map<string, string[]>();
    for (const record of await store.listRunRecords(pipelineName)) {
      for (const n of Object.keys(record.nodes))
        recordedNodes.add(pipelineName ? `${record.pipeline}:${n}` : n);
      const node = record.nodes[nodeName];
      if (!node) continue;
      const manifest = await store.readManifest(node.key);
      if (!manifest) continue;
      for (const [output, ref] of Object.entries(manifest.outputs)) {
        const runs = runsOf.get(ref.hash) ?? [];
        runs.push(record.id ?? BEFORE_IDS);
        if (runs.length === 1) {
          runsOf.set(ref.hash, runs);
          refs.push({
            label: `${record.pipeline}:${nodeName}.${output}`,
            hash: ref.hash,
            kind: ref.kind,
            runs,
          });
        }
      }
    }
  }
  if (refs.length === 0)
    throw new UsageError(
      `nothing named "${target}" in ${store.root}: give a node of a recorded run (see \`npx lockpick ls\`) or an object hash${didYouMean(target, recordedNodes)}`,
    );
  for (const ref of refs) {
    const runs = ref.runs ? `  (run ${ref.runs.join(', ')})` : '';
    out(`${ref.label}  ${ref.kind}  ${ref.hash}${runs}\n  file: ${store.objectPath(ref.hash)}\n`);
    if (ref.kind === 'table') {
      const table = await store.readTable(ref.hash);
      out(
        `  ${table.numRows} rows; schema: ${table.schema.fields.map((f) => `${f.name}: ${f.type}`).join(', ')}\n\n`,
      );
      out(`${formatTable(table, format, rows)}\n\n`);
    } else {
      const model = await store.readModel(ref.hash);
      out(`  config: ${JSON.stringify(model.config)}\n`);
      let params = 0;
      for (const t of model.tensors) {
        if (!t.name.startsWith('optimizer/')) params += t.data.length;
        out(`  ${t.name.padEnd(40)} ${t.dtype} [${t.shape.join(', ')}]\n`);
      }
      out(`  ${params.toLocaleString('en')} parameters (optimizer slots excluded)\n\n`);
    }
  }
  return 0;
}

async function commandLs(values: Values): Promise<number> {
  out('Pipelines:\n');
  for (const name of listPipelineNames()) {
    const def = await loadPipeline(name);
    out(`  ${name.padEnd(22)} ${def.description}\n`);
  }
  const store = await openStore(values, 'read-only');
  out(`\nStore ${store.root}:\n`);
  const records = await store.listRunRecords();
  records.sort((a, b) => a.pipeline.localeCompare(b.pipeline));
  for (const record of records) {
    const settings = record.settings ? ` (${describeRunSettings(record.settings)})` : '';
    out(
      `  run ${record.pipeline} ${record.id ?? BEFORE_IDS}${settings}: ${Object.keys(record.nodes).length} nodes, last updated ${record.updatedAt}\n`,
    );
  }
  let objects = 0;
  let bytes = 0;
  const objectsDir = path.join(store.root, 'objects', 'sha256');
  const listDir = (dir: string) => fs.readdir(dir).catch(() => [] as string[]);
  for (const prefix of await listDir(objectsDir))
    for (const rest of await listDir(path.join(objectsDir, prefix))) {
      objects++;
      bytes += (await fs.stat(path.join(objectsDir, prefix, rest))).size;
    }
  const manifests = (await store.list('manifests')).length;
  out(`  ${objects} objects (${(bytes / 1e6).toFixed(1)} MB), ${manifests} manifests\n`);
  return 0;
}

async function commandTimes(args: string[], values: Values): Promise<number> {
  const pipeline = await resolveFromArgs(args[0], values, 'times');
  const format = tableFormat(values);
  const store = await openStore(values, 'read-only', args[0]);
  // The plan has read each cached node's manifest already; its timings come with the entry.
  const { table, summary } = stageTimes(await planPipeline(pipeline, store));
  if (format === 'table') {
    const span =
      summary.firstStart && summary.lastFinish
        ? `, between ${summary.firstStart} and ${summary.lastFinish} (${formatDuration(
            Date.parse(summary.lastFinish) - Date.parse(summary.firstStart),
          )} apart)`
        : '';
    out(
      `${pipeline.name}, run ${runIdOf(pipeline)} (${describeRunSettings(runSettings(pipeline))}): ` +
        `${summary.computed} of ${summary.planned} nodes computed${span}; ` +
        `${formatDuration(summary.nodeSeconds * 1000)} of node time\n\n`,
    );
  }
  out(`${formatTable(table, format)}\n`);
  return 0;
}

async function commandRuns(args: string[], values: Values): Promise<number> {
  const [pipeline] = args;
  if (args.length > 1) throw new UsageError('usage: npx lockpick runs [pipeline]');
  const format = tableFormat(values);
  const store = await openStore(values, 'read-only', pipeline);
  const records = await store.listRunRecords(pipeline);
  if (pipeline && records.length === 0) {
    const known = listPipelineNames();
    if (!known.includes(pipeline)) {
      const recorded = (await store.listRunRecords()).map((r) => r.pipeline);
      throw new UsageError(
        `no pipeline "${pipeline}" and no recorded run of it; pipelines: ${known.join(', ')}${didYouMean(pipeline, [...known, ...recorded])}`,
      );
    }
  }
  if (records.length === 0) {
    if (format === 'table') out(`no recorded runs${pipeline ? ` of ${pipeline}` : ''} in ${store.root}\n`);
    return 0;
  }
  out(`${formatRuns(records, format)}\n`);
  return 0;
}

async function commandGc(values: Values): Promise<number> {
  const store = await openStore(values, 'existing');
  let removed: Awaited<ReturnType<ArtifactStore['gc']>>;
  try {
    removed = await store.gc();
  } catch (error) {
    // Not a usage mistake and not a crash: the store is busy; say who holds it and what to do.
    if (!(error instanceof StoreBusyError)) throw error;
    process.stderr.write(`lockpick gc: refused: ${error.message}\n`);
    return 1;
  }
  out(
    `removed ${removed.objects} unreferenced objects (${(removed.bytes / 1e6).toFixed(1)} MB) and ${removed.tmp} temporary files\n`,
  );
  return 0;
}

// ---- entry point -------------------------------------------------------------------------------

const ALL_OPTIONS = Object.keys(options).map((o) => `--${o}`);

/** The options given that `command` does not take, as a usage error naming those it does. */
function checkOptionsApply(command: string, spec: CommandSpec, values: Values): void {
  for (const name of Object.keys(values) as OptionName[]) {
    if (
      values[name] === undefined ||
      name === 'store' ||
      name === 'cache' ||
      name === 'help' ||
      spec.options.includes(name)
    )
      continue;
    const taken = [...spec.options, 'store'].map((o) => `--${o}`).join(', ');
    throw new UsageError(
      `--${name} does not apply to ${command} (it takes ${taken}); see \`npx lockpick ${command} --help\``,
    );
  }
}

/** parseArgs's complaint, with a did-you-mean for an unknown option. */
function argumentError(error: Error & { code?: string }): string {
  const unknown = /^Unknown option '([^']+)'/.exec(error.message)?.[1];
  if (error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && unknown)
    return `unknown option ${unknown}${didYouMean(unknown.replace(/=.*$/, ''), ALL_OPTIONS, '')}`;
  return error.message;
}

/** Ends the process with `code` once stdout has taken everything written to it. */
export function exitWhenFlushed(code: number): void {
  if (stdoutClosed) process.exit(code);
  process.stdout.write('', () => process.exit(code));
}

export async function main(argv: string[]): Promise<number> {
  process.on('SIGINT', interruptListener);
  process.on('SIGTERM', interruptListener);
  let command: string | undefined;
  const onStdoutError = (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    stdoutClosed = true;
    // `show … | head`: the reader has what it wanted and nothing is left to do. A run goes on (its
    // nodes are the point, its output is not) and exits with its own status.
    if (command !== 'run') process.exit(0);
  };
  process.stdout.on('error', onStdoutError);
  try {
    return await dispatch(argv, (c) => {
      command = c;
    });
  } finally {
    process.off('SIGINT', interruptListener);
    process.off('SIGTERM', interruptListener);
    process.stdout.off('error', onStdoutError);
  }
}

async function dispatch(argv: string[], setCommand: (command: string) => void): Promise<number> {
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    process.stderr.write(`lockpick: ${argumentError(error as Error)}\nSee \`npx lockpick --help\`.\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  let [command, ...rest] = positionals;
  if (command === 'help' && rest[0] && COMMANDS[rest[0]]) {
    // `lockpick help run` is `lockpick run --help`
    [command, ...rest] = [rest[0]];
    values.help = true;
  }
  if (!command || command === 'help') {
    out(`${generalHelp()}\n`);
    return command || values.help ? 0 : 2;
  }
  const spec = COMMANDS[command];
  if (!spec) {
    process.stderr.write(
      `lockpick: unknown command "${command}"; commands: ${Object.keys(COMMANDS).join(', ')}${didYouMean(command, Object.keys(COMMANDS))}\n`,
    );
    return 2;
  }
  setCommand(command);
  if (values.help) {
    out(`${commandHelp(command, spec)}\n`);
    return 0;
  }
  const started = performance.now();
  try {
    checkOptionsApply(command, spec, values);
    switch (command) {
      case 'run':
        return await commandRun(rest, values);
      case 'plan':
        return await commandPlan(rest, values);
      case 'why':
        return await commandWhy(rest, values);
      case 'results':
        return await commandResults(rest, values);
      case 'params':
        return await commandParams(rest, values);
      case 'show':
        return await commandShow(rest, values);
      case 'runs':
        return await commandRuns(rest, values);
      case 'times':
        return await commandTimes(rest, values);
      case 'report':
        return await commandReportOf(rest, values);
      case 'ls':
        return await commandLs(values);
      case 'gc':
        return await commandGc(values);
      case 'worker':
        return await commandWorker(rest, values);
      default:
        throw new Error(`command "${command}" is listed but not implemented`);
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
