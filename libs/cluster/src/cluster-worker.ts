import { hostname } from 'node:os';
import { ArtifactStore } from '@lockpick/artifacts';
import {
  describeKeyChange,
  nodeKey,
  type ResolvedNode,
  type ResolvedPipeline,
  type RunSummary,
  runPipeline,
} from '@lockpick/engine';
import { type Job, UnrecoverableError, Worker } from 'bullmq';
import { pinnedInputStages } from './pinned-input.ts';
import {
  CORRUPT_INPUT_MARK,
  NODE_QUEUE,
  type NodeJobData,
  type NodeJobProgress,
  type NodeJobResult,
  redisConnection,
} from './queue.ts';
import type { SharedStore } from './shared-store.ts';
import { loadStage, WORKSPACE_ROOT } from './workspace.ts';

export interface ClusterWorkerOptions {
  queueUrl: string;
  store: SharedStore;
  /** Nodes computed at once (the CLI defaults it to the machine's cores). */
  concurrency: number;
  /**
   * How long a job's lock lasts unrenewed (default 30 s): a worker that dies mid-node loses its
   * job to another worker after about this long. The lock is renewed from the event loop, so a
   * stage must not block it this long (heavy stages run in threads when concurrency > 1).
   */
  stallMs?: number;
  /** Where stage files are loaded from (default: this checkout). */
  workspaceRoot?: string;
  /** One line per job started, finished, refused or failed. */
  log?: (line: string) => void;
}

export interface ClusterWorker {
  /** `host:pid`, as runs and logs name it. */
  readonly name: string;
  /** Stops taking jobs and waits for the running ones to finish. */
  close(): Promise<void>;
}

/** Progress reports sent through Redis at most this often per job: a bar, not a log. */
const PROGRESS_INTERVAL_MS = 500;

/**
 * A long-running worker: takes ready nodes from the queue, fetches their inputs into the local cache
 * (verified by hash), computes them with the engine, uploads outputs then the manifest, and
 * acknowledges. It refuses a node whose cache key its own code does not reproduce.
 */
export async function startClusterWorker(options: ClusterWorkerOptions): Promise<ClusterWorker> {
  const name = `${hostname()}:${process.pid}`;
  const log = options.log ?? (() => undefined);
  const stallMs = options.stallMs ?? 30_000;
  const worker = new Worker<NodeJobData, NodeJobResult>(
    NODE_QUEUE,
    (job) => computeJob(job, options, name, log),
    {
      connection: redisConnection(options.queueUrl),
      concurrency: options.concurrency,
      lockDuration: stallMs,
      stalledInterval: stallMs,
      // Taken over twice; a third stall fails the node instead of killing a fourth worker (it may be
      // what kills them).
      maxStalledCount: 2,
    },
  );
  worker.on('error', (error) => log(`queue error: ${error.message} (retrying)`));
  worker.on('failed', (job, error) => {
    if (job) log(`failed ${job.data.node} ${job.data.key.slice(0, 12)}: ${error.message}`);
  });
  await worker.waitUntilReady();
  return { name, close: () => worker.close() };
}

async function computeJob(
  job: Job<NodeJobData, NodeJobResult>,
  options: ClusterWorkerOptions,
  workerName: string,
  log: (line: string) => void,
): Promise<NodeJobResult> {
  const started = performance.now();
  const timings = {
    queuedAt: job.timestamp,
    startedAt: Date.now(),
    finishedAt: 0,
    fetchMs: 0,
    computeMs: 0,
    publishMs: 0,
  };
  const data = job.data;
  const shared = options.store;
  const label = `${data.node} ${data.key.slice(0, 12)}`;
  log(`start ${label} (pipeline ${data.pipeline})`);

  let stage: ResolvedNode['stage'];
  try {
    stage = await loadStage(data.stage.module, data.stage.name, options.workspaceRoot ?? WORKSPACE_ROOT);
  } catch (error) {
    throw new UnrecoverableError(
      `worker ${workerName} refuses node "${data.node}": ${(error as Error).message}`,
    );
  }

  // The node as the run resolved it, its inputs read from pinned stand-ins (see pinned-input.ts).
  const inputNames = Object.keys(data.inputs);
  const pins: ResolvedNode[] = inputNames.map((input, i) => ({
    name: `pinned-${i}`,
    base: 'pinned',
    stage: pinnedInputStages[data.inputs[input].kind],
    params: { hash: data.inputs[input].hash },
    inputs: {},
  }));
  const node: ResolvedNode = {
    name: data.node,
    base: data.node,
    stage,
    params: data.params,
    inputs: Object.fromEntries(
      inputNames.map((input, i) => [input, { node: pins[i].name, output: 'artifact' }]),
    ),
  };
  const inputHashes = Object.fromEntries(inputNames.map((input) => [input, data.inputs[input].hash]));
  const mine = nodeKey(node, inputHashes);
  if (mine.key !== data.key) {
    const changes = describeKeyChange(data.components, mine.components);
    throw new UnrecoverableError(
      `worker ${workerName} refuses node "${data.node}": its checkout gives cache key ${mine.key.slice(0, 12)}, ` +
        `the run asked for ${data.key.slice(0, 12)} (${changes.join('; ') || 'key components differ'}). ` +
        'Start workers from the same commit (and installed packages) as the run.',
    );
  }

  // Another run's job may have computed it since this one was queued (or before a Redis restart).
  const existing = await shared.readManifest(data.key);
  if (existing && (await shared.hasObjects(existing.outputs))) {
    log(`done ${label} (already in the shared store)`);
    timings.finishedAt = Date.now();
    return {
      status: 'computed-elsewhere',
      durationMs: performance.now() - started,
      worker: workerName,
      timings,
    };
  }

  let phase = performance.now();
  for (const [input, ref] of Object.entries(data.inputs)) {
    const fetched = await shared.fetchObject(ref.hash);
    if (fetched === 'ok') continue;
    // The object is unusable: delete it so the node that made it counts as not cached, and let the
    // run recompute that node, then this one.
    if (fetched === 'corrupt') await shared.discardRemoteObject(ref.hash);
    throw new UnrecoverableError(
      `input "${input}" (object ${ref.hash.slice(0, 12)}) is ${fetched === 'corrupt' ? 'corrupt (its bytes do not match its hash; deleted)' : 'missing'} ` +
        `in ${shared.url} [${CORRUPT_INPUT_MARK} ${ref.hash}]`,
    );
  }

  timings.fetchMs = performance.now() - phase;
  phase = performance.now();
  // A store object per job: the engine sets its onWarning for the length of a run.
  const cache = await ArtifactStore.open(shared.cache.root);
  for (const [i, pin] of pins.entries()) {
    const pinKey = nodeKey(pin, {});
    if (await cache.readManifest(pinKey.key)) continue;
    const now = new Date().toISOString();
    await cache.writeManifest({
      key: pinKey.key,
      stage: pin.stage.name,
      node: pin.name,
      components: pinKey.components,
      outputs: { artifact: data.inputs[inputNames[i]] },
      metrics: {},
      timings: { startedAt: now, finishedAt: now, durationMs: 0 },
      versions: {},
    });
  }
  const pipeline: ResolvedPipeline = {
    name: 'cluster-node',
    description: 'one node of a cluster run, on its pinned inputs',
    options: { seeds: [0], scale: 'cluster' },
    overrides: [],
    nodes: [...pins, node],
    results: [],
  };

  const summary = await new Promise<RunSummary>((resolve, reject) => {
    let lastProgress = 0;
    runPipeline(pipeline, cache, {
      jobs: 1,
      // Threads let several heavy stages use several cores; one at a time, inline saves their start-up.
      workers: options.concurrency > 1,
    }).subscribe({
      next: (event) => {
        if (event.type === 'run-done') resolve(event.summary);
        else if (event.type === 'node-done' && event.node === data.node && event.key !== data.key)
          reject(new Error(`the engine computed key ${event.key} for ${data.node}, not ${data.key}`));
        else if (event.type === 'node-event' && event.node === data.node) {
          const stageEvent: NodeJobProgress = event.event;
          if (stageEvent.type === 'progress' && performance.now() - lastProgress < PROGRESS_INTERVAL_MS)
            return;
          if (stageEvent.type !== 'progress' && stageEvent.type !== 'log') return;
          lastProgress = performance.now();
          void job.updateProgress(stageEvent).catch(() => undefined);
        }
      },
      error: reject,
    });
  });
  if (summary.failed.length > 0) throw new Error(summary.failed.map((f) => f.error).join('; '));
  const manifest = await cache.readManifest(data.key);
  if (!manifest) throw new Error(`node ${data.node} finished without a manifest in the local cache`);
  timings.computeMs = performance.now() - phase;
  phase = performance.now();
  await shared.publish(manifest);
  timings.publishMs = performance.now() - phase;
  timings.finishedAt = Date.now();
  const durationMs = performance.now() - started;
  log(`done ${label} (computed in ${(durationMs / 1000).toFixed(1)} s)`);
  return { status: 'computed', durationMs, worker: workerName, timings };
}
