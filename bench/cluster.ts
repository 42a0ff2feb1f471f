// Cluster benchmark: figures, not a pass/fail test. Run with `npm run bench:cluster` (add `-- --json`
// for one JSON object; `-- --nodes=N` and `-- --chain=N` to change the sizes). On this machine,
// through a Redis server of its own on loopback and a shared folder in a temporary directory:
//  1. a sweep of small training nodes (function-composition fine-tunes at smoke size) with 1, 2 and
//     4 `lockpick worker` processes, against the same sweep run locally;
//  2. a chain of no-op nodes, each waiting for the one before: the per-node coordination overhead
//     on the critical path (enqueue → start, finish → dependent enqueued, fetch, compute, upload).
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ArtifactStore } from '@lockpick/artifacts';
import { type NodeJobResult, NodeQueue, runPipelineOnCluster, SharedStore } from '@lockpick/cluster';
import { definePipeline, type ResolvedPipeline, resolvePipeline, runPipeline } from '@lockpick/engine';
import { compositionData } from '@lockpick/stage-datagen';
import { compositionInit, compositionSft } from '@lockpick/stage-training';
import { lastValueFrom } from 'rxjs';
import { LockpickProcess, TestRedis } from '../apps/cli/src/testing/cluster-harness.ts';
import { chainLink, chainStart } from './cluster-stages.ts';

const json = process.argv.includes('--json');
const option = (name: string, fallback: number) =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback);
const sweepNodes = option('nodes', 200);
const chainNodes = option('chain', 1000);
const workerCounts = [1, 2, 4];
const figures: Record<string, number> = {};
const say = (line: string) => {
  if (!json) process.stdout.write(`${line}\n`);
};

/** Small training nodes on one shared dataset and initial model: `tag` keeps each sweep uncached. */
const trainingSweep = (tag: number, count: number) =>
  definePipeline({
    name: 'bench-cluster-sweep',
    description: 'small training nodes',
    defaultSeeds: [1],
    scales: ['default'],
    build: (p) => {
      const data = p.node('data', compositionData, {
        params: { seed: 1, lockingRows: 128, pretrainRows: 512, demoRows: 16, evalRows: 128 },
        inputs: {},
      });
      const init = p.node('init', compositionInit, {
        params: { seed: 1, layers: 1, width: 16, heads: 2 },
        inputs: {},
      });
      const seeds = Array.from({ length: count }, (_, i) => i + 1);
      p.sweep('train', compositionSft, { seed: seeds }, (pt) => ({
        params: { seed: pt.seed, rows: 512, epochs: 2, batchSize: 64, learningRate: 2e-3 + tag * 1e-9 },
        inputs: { base: init.out.model, data: data.out.pretrain },
      }));
    },
  });

const chain = (tag: number, count: number) =>
  definePipeline({
    name: 'bench-cluster-chain',
    description: 'a chain of no-op nodes',
    defaultSeeds: [1],
    scales: ['default'],
    build: (p) => {
      let previous = p.node('link-0', chainStart, { params: { run: tag }, inputs: {} });
      for (let i = 1; i < count; i++)
        previous = p.node(`link-${i}`, chainLink, {
          params: { link: i },
          inputs: { previous: previous.out.table },
        }) as unknown as typeof previous;
    },
  });

const root = await fs.mkdtemp(path.join(tmpdir(), 'lockpick-bench-cluster-'));
const redis = await TestRedis.start();
const storeUrl = pathToFileURL(path.join(root, 'shared')).href;
const shared = await SharedStore.open(storeUrl, path.join(root, 'cache-run'));
const queue = new NodeQueue(redis.url);
await queue.ready();
const results = new Map<string, NodeJobResult>();
queue.events.on('completed', ({ jobId, returnvalue }) => {
  results.set(
    jobId,
    (typeof returnvalue === 'string' ? JSON.parse(returnvalue) : returnvalue) as NodeJobResult,
  );
});
let workers: LockpickProcess[] = [];

const startWorkers = async (count: number) => {
  workers = Array.from(
    { length: count },
    (_, i) =>
      new LockpickProcess([
        'worker',
        '--queue',
        redis.url,
        '--store',
        storeUrl,
        '--cache',
        path.join(root, `cache-worker-${i}`),
        '--concurrency',
        '1',
      ]),
  );
  await Promise.all(workers.map((w) => w.waitFor(/ready/, 60_000)));
};
const stopWorkers = async () => {
  await Promise.all(workers.map((w) => w.stop()));
  workers = [];
};

const onCluster = async (pipeline: ResolvedPipeline): Promise<number> => {
  const t0 = performance.now();
  const done = await lastValueFrom(runPipelineOnCluster(pipeline, shared, queue, { reconcileMs: 1000 }));
  if (done.type !== 'run-done' || done.summary.failed.length > 0)
    throw new Error(`cluster run failed: ${JSON.stringify(done)}`);
  return (performance.now() - t0) / 1000;
};

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
};
const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);

try {
  // ---- 1. small training nodes, 1 / 2 / 4 workers ---------------------------------------------
  say(`1. a sweep of ${sweepNodes} small training nodes (function-composition SFT, smoke size)`);
  // The shared dataset and initial model first (uncounted), locally into the shared folder.
  const base = await ArtifactStore.open(path.join(root, 'shared'));
  await lastValueFrom(runPipeline(resolvePipeline(trainingSweep(0, 1)), base, { jobs: 1 }));
  const localStore = await ArtifactStore.open(path.join(root, 'local'));
  await lastValueFrom(runPipeline(resolvePipeline(trainingSweep(0, 1)), localStore, { jobs: 1 }));
  let t0 = performance.now();
  await lastValueFrom(
    runPipeline(resolvePipeline(trainingSweep(1, sweepNodes)), localStore, { jobs: 1, workers: false }),
  );
  const localS = (performance.now() - t0) / 1000;
  figures.sweepLocalSeconds = localS;
  say(
    `   local run, one at a time (jobs 1, inline): ${localS.toFixed(1)} s, ${((localS / sweepNodes) * 1000).toFixed(0)} ms a node`,
  );
  let oneWorker = 0;
  for (const count of workerCounts) {
    await startWorkers(count);
    // A few nodes first, uncounted: each worker loads TensorFlow.js and its backend on its first node.
    await onCluster(resolvePipeline(trainingSweep(100 + count, 2 * count)));
    results.clear();
    const seconds = await onCluster(resolvePipeline(trainingSweep(10 + count, sweepNodes)));
    await stopWorkers();
    if (count === 1) oneWorker = seconds;
    figures[`sweep${count}WorkersSeconds`] = seconds;
    const busy = mean([...results.values()].map((r) => r.timings.computeMs));
    say(
      `   ${count} worker${count > 1 ? 's' : ' '}: ${seconds.toFixed(1)} s, ${(sweepNodes / seconds).toFixed(1)} nodes/s, ` +
        `×${(oneWorker / seconds).toFixed(2)} vs 1 worker, ×${(localS / seconds).toFixed(2)} vs local; ` +
        `compute ${busy.toFixed(0)} ms a node`,
    );
  }

  // ---- 2. coordination overhead: a chain of no-op nodes --------------------------------------
  say(`2. a chain of ${chainNodes} no-op nodes, one worker (each node waits for the one before)`);
  t0 = performance.now();
  await lastValueFrom(
    runPipeline(resolvePipeline(chain(1, chainNodes)), localStore, { jobs: 1, workers: false }),
  );
  const localChainMs = (performance.now() - t0) / chainNodes;
  await startWorkers(1);
  await onCluster(resolvePipeline(chain(0, 5)));
  results.clear();
  const cpu = process.cpuUsage();
  const chainS = await onCluster(resolvePipeline(chain(1, chainNodes)));
  const cpuUsed = process.cpuUsage(cpu);
  const runCpuMs = (cpuUsed.user + cpuUsed.system) / 1000 / chainNodes;
  await stopWorkers();
  const byStart = [...results.values()].sort((a, b) => a.timings.queuedAt - b.timings.queuedAt);
  const pickup = byStart.map((r) => r.timings.startedAt - r.timings.queuedAt);
  const handoff = byStart.slice(1).map((r, i) => r.timings.queuedAt - byStart[i].timings.finishedAt);
  const fetch = byStart.map((r) => r.timings.fetchMs);
  const compute = byStart.map((r) => r.timings.computeMs);
  const publish = byStart.map((r) => r.timings.publishMs);
  const perNode = (chainS * 1000) / chainNodes;
  Object.assign(figures, {
    chainSeconds: chainS,
    chainMsPerNode: perNode,
    enqueueToStartMs: median(pickup),
    finishToDependentQueuedMs: median(handoff),
    fetchMs: median(fetch),
    computeMs: median(compute),
    publishMs: median(publish),
    localChainMsPerNode: localChainMs,
    runSideCpuMsPerNode: runCpuMs,
  });
  say(
    `   ${chainS.toFixed(1)} s in all: ${perNode.toFixed(1)} ms a node on the critical path; per node (median, mean):`,
  );
  const row = (label: string, values: number[]) =>
    say(
      `     ${label.padEnd(34)} ${median(values).toFixed(1).padStart(6)} ms  ${mean(values).toFixed(1).padStart(6)} ms`,
    );
  row('enqueue → worker starts it', pickup);
  row('finish → dependent enqueued', handoff);
  row('fetch inputs (shared → local cache)', fetch);
  row('compute (engine, local cache)', compute);
  row('upload outputs, then manifest', publish);
  say(`   coordination = everything but compute: ${(perNode - median(compute)).toFixed(1)} ms a node`);
  figures.coordinationMsPerNode = perNode - median(compute);
  say(`   the same chain run locally (jobs 1, inline): ${localChainMs.toFixed(1)} ms a node`);
  say(`   the cluster's cost over a local run: ${(perNode - localChainMs).toFixed(1)} ms a node`);
  say(`   CPU of the run process (queue events, store checks, enqueueing): ${runCpuMs.toFixed(1)} ms a node`);
  figures.clusterOverLocalMsPerNode = perNode - localChainMs;
  if (json) process.stdout.write(`${JSON.stringify(figures)}\n`);
} finally {
  await stopWorkers();
  await queue.close();
  shared.close();
  await redis.stop();
  await fs.rm(root, { recursive: true, force: true });
}
