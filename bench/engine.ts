// Engine benchmark: figures, not a pass/fail test. Run with `npm run bench:engine` (add `-- --json`
// for one JSON object). Prints plan and fully cached run times for a synthetic 10,000-node sweep,
// the no-op rerun of `quickstart` beyond Node start-up, Parquet vs Arrow IPC throughput, and the
// cost of a heavy node with pooled worker threads against a fresh thread per node.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArtifactStore, parquetToTable, tableToParquet } from '@lockpick/artifacts';
import { definePipeline, planPipeline, resolvePipeline, runPipeline } from '@lockpick/engine';
import { compositionInit } from '@lockpick/stage-training';
import * as arrow from 'apache-arrow';
import { lastValueFrom } from 'rxjs';
import { numbers } from '../libs/engine/src/testing/fixture-stages.ts';

const json = process.argv.includes('--json');
const nodes = Number(process.argv.find((a) => a.startsWith('--nodes='))?.slice(8) ?? 10_000);
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const figures: Record<string, number> = {};
const say = (line: string) => {
  if (!json) process.stdout.write(`${line}\n`);
};
const time = async <T>(fn: () => Promise<T>): Promise<[T, number]> => {
  const t0 = performance.now();
  const value = await fn();
  return [value, (performance.now() - t0) / 1000];
};

const root = await fs.mkdtemp(path.join(tmpdir(), 'lockpick-bench-'));
try {
  // ---- 1. a synthetic sweep of `nodes` tiny nodes --------------------------------------------
  const sweep = definePipeline({
    name: 'bench-sweep',
    description: 'synthetic sweep',
    defaultSeeds: [1],
    scales: ['default'],
    build: (p) => {
      const ids = Array.from({ length: nodes }, (_, i) => i + 1);
      p.sweep('point', numbers, { n: ids }, (pt) => ({ params: { n: pt.n }, inputs: {} }));
    },
  });
  const store = await ArtifactStore.open(path.join(root, 'store'));
  const [resolved, resolveS] = await time(async () => resolvePipeline(sweep));
  say(`sweep of ${nodes} nodes: resolve ${resolveS.toFixed(3)} s`);
  const [, firstS] = await time(() => lastValueFrom(runPipeline(resolved, store, { workers: false })));
  say(
    `  first run (computes every node): ${firstS.toFixed(2)} s (${((nodes / firstS) | 0).toLocaleString('en')} nodes/s)`,
  );
  // A fresh store object: nothing remembered in memory from the first run, as in a new process.
  const fresh = await ArtifactStore.open(store.root);
  const [plan, planS] = await time(() => planPipeline(resolvePipeline(sweep), fresh));
  if (plan.some((e) => e.status !== 'cached')) throw new Error('plan after a full run should be all cached');
  say(`  plan, all cached:          ${planS.toFixed(3)} s   (target < 2 s)`);
  const again = await ArtifactStore.open(store.root);
  const [done, cachedS] = await time(() =>
    lastValueFrom(runPipeline(resolvePipeline(sweep), again, { workers: false })),
  );
  if (done.type !== 'run-done' || done.summary.cached.length !== nodes)
    throw new Error('cached run recomputed nodes');
  say(`  fully cached run:          ${cachedS.toFixed(3)} s   (target < 2 s)`);
  Object.assign(figures, {
    sweep_nodes: nodes,
    sweep_first_run_s: firstS,
    sweep_plan_s: planS,
    sweep_cached_run_s: cachedS,
  });

  // ---- 2. no-op rerun of quickstart, as a user runs it ----------------------------------------
  const qsStore = path.join(root, 'quickstart');
  const cli = path.join(repo, 'apps/cli/bin/lockpick.mjs');
  const runCli = () => {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [cli, 'run', 'quickstart', '--store', qsStore], {
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`lockpick run quickstart failed: ${r.stderr}`);
    return (performance.now() - t0) / 1000;
  };
  const bareNode = () => {
    const t0 = performance.now();
    spawnSync(process.execPath, ['-e', '0']);
    return (performance.now() - t0) / 1000;
  };
  const firstQs = runCli();
  const noop = Math.min(runCli(), runCli(), runCli());
  const nodeStart = Math.min(bareNode(), bareNode(), bareNode());
  say(
    `quickstart: first run ${firstQs.toFixed(2)} s; no-op rerun ${noop.toFixed(3)} s, bare Node start ${nodeStart.toFixed(3)} s`,
  );
  say(`  no-op rerun beyond Node start-up: ${(noop - nodeStart).toFixed(3)} s   (target < 1 s)`);
  Object.assign(figures, {
    quickstart_first_s: firstQs,
    quickstart_noop_s: noop,
    node_start_s: nodeStart,
    quickstart_noop_beyond_node_s: noop - nodeStart,
  });

  // ---- 3. Parquet (zstd) vs Arrow IPC on 1M rows ----------------------------------------------
  const rows = 1_000_000;
  const table = arrow.tableFromArrays({
    id: Int32Array.from({ length: rows }, (_, i) => i),
    score: Float32Array.from({ length: rows }, (_, i) => Math.sin(i)),
    label: Int32Array.from({ length: rows }, (_, i) => i % 17),
  });
  const best = (fn: () => void) => {
    let min = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      fn();
      min = Math.min(min, (performance.now() - t0) / 1000);
    }
    return min;
  };
  let parquetBytes = new Uint8Array();
  let ipcBytes = new Uint8Array();
  const pqWrite = best(() => {
    parquetBytes = tableToParquet(table);
  });
  const pqRead = best(() => parquetToTable(parquetBytes));
  const ipcWrite = best(() => {
    ipcBytes = arrow.tableToIPC(table, 'file');
  });
  const ipcRead = best(() => arrow.tableFromIPC(ipcBytes));
  const mrows = (s: number) => (rows / s / 1e6).toFixed(1);
  say(
    `1M rows × 3 columns: Parquet zstd ${(parquetBytes.byteLength / 1e6).toFixed(1)} MB, Arrow IPC ${(ipcBytes.byteLength / 1e6).toFixed(1)} MB`,
  );
  say(
    `  write: Parquet ${pqWrite.toFixed(3)} s (${mrows(pqWrite)} M rows/s), Arrow IPC ${ipcWrite.toFixed(3)} s — Parquet/IPC time ratio ${(pqWrite / ipcWrite).toFixed(1)}×`,
  );
  say(
    `  read:  Parquet ${pqRead.toFixed(3)} s (${mrows(pqRead)} M rows/s), Arrow IPC ${ipcRead.toFixed(3)} s — Parquet/IPC time ratio ${(pqRead / ipcRead).toFixed(1)}×`,
  );
  Object.assign(figures, {
    parquet_write_s: pqWrite,
    parquet_read_s: pqRead,
    ipc_write_s: ipcWrite,
    ipc_read_s: ipcRead,
    parquet_mb: parquetBytes.byteLength / 1e6,
    ipc_mb: ipcBytes.byteLength / 1e6,
  });

  // ---- 4. heavy nodes: pooled worker threads vs a fresh thread per node ----------------------
  // Small real ML nodes (a model's initial weights: TensorFlow.js, wasm, a Parquet write), one at a
  // time, so the figure is each node's full cost including its thread's start when it has one.
  const heavyNodes = 12;
  const inits = definePipeline({
    name: 'bench-heavy',
    description: 'small heavy nodes',
    defaultSeeds: [1],
    scales: ['default'],
    build: (p) => {
      const seeds = Array.from({ length: heavyNodes }, (_, i) => i + 1);
      p.sweep('init', compositionInit, { seed: seeds }, (pt) => ({
        params: { seed: pt.seed, layers: 2, width: 64, heads: 4 },
        inputs: {},
      }));
    },
  });
  const heavyRun = async (reuseWorkers: boolean) => {
    const s = await ArtifactStore.open(path.join(root, `heavy-${reuseWorkers}`));
    const [done, seconds] = await time(() =>
      lastValueFrom(runPipeline(resolvePipeline(inits), s, { jobs: 1, reuseWorkers })),
    );
    if (done.type !== 'run-done' || done.summary.computed.length !== heavyNodes)
      throw new Error('heavy-node run did not compute every node');
    return seconds / heavyNodes;
  };
  const freshPerNode = await heavyRun(false);
  const pooledPerNode = await heavyRun(true);
  say(`${heavyNodes} small heavy nodes (model init) one at a time, per node:`);
  say(
    `  fresh worker thread each ${freshPerNode.toFixed(3)} s, pooled threads ${pooledPerNode.toFixed(3)} s — saves ${(freshPerNode - pooledPerNode).toFixed(3)} s a node (${(freshPerNode / pooledPerNode).toFixed(1)}× faster)`,
  );
  Object.assign(figures, {
    heavy_node_fresh_worker_s: freshPerNode,
    heavy_node_pooled_worker_s: pooledPerNode,
  });

  if (json) process.stdout.write(`${JSON.stringify(figures)}\n`);
} finally {
  await fs.rm(root, { recursive: true, force: true });
}
