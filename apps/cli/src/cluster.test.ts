// The cluster's faults, each with its own Redis server on a free loopback port, workers as separate
// `lockpick worker` processes with separate local caches, and a shared store in a temporary folder.
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  computations,
  damagedObjects,
  LockpickProcess,
  redisMissing,
  startWorker,
  TestRedis,
} from './testing/cluster-harness.ts';
import { inProcess } from './testing/in-process.ts';

const tiny = fileURLToPath(new URL('./testing/tiny-pipeline.ts', import.meta.url));
const missing = redisMissing();
if (missing) process.stderr.write(`cluster tests skipped: ${missing}\n`);

// Generous limits: each test starts three or four Node processes, which on a busy 2-core machine
// take tens of seconds to load; on a quiet one the whole file takes about a minute.
describe.skipIf(missing !== undefined)(
  'lockpick on a cluster (Redis + BullMQ, shared folder)',
  { timeout: 300_000 },
  () => {
    let dir: string;
    let redis: TestRedis;
    let shared: string;
    let storeUrl: string;
    let log: string;
    const processes: LockpickProcess[] = [];

    const worker = (name: string, extra: string[] = []) => {
      const p = startWorker(
        redis.url,
        storeUrl,
        path.join(dir, `cache-${name}`),
        { LOCKPICK_TEST_LOG: log },
        ['--stall-ms', '1000', ...extra],
      );
      processes.push(p);
      return p;
    };
    const run = (pipeline: string, ...args: string[]) => {
      const p = new LockpickProcess(
        [
          'run',
          pipeline,
          '--queue',
          redis.url,
          '--store',
          storeUrl,
          '--cache',
          path.join(dir, 'cache-run'),
          ...args,
        ],
        { LOCKPICK_TEST_LOG: log },
      );
      processes.push(p);
      return p;
    };
    const expectSound = () => expect(damagedObjects(shared)).toEqual([]);

    beforeEach(async () => {
      dir = await fs.mkdtemp(path.join(tmpdir(), 'lockpick-cluster-'));
      shared = path.join(dir, 'shared');
      storeUrl = pathToFileURL(shared).href;
      log = path.join(dir, 'computations.log');
      redis = await TestRedis.start();
    }, 60_000);
    afterEach(async () => {
      await Promise.all(processes.splice(0).map((p) => p.stop('SIGKILL')));
      await redis.stop();
      await fs.rm(dir, { recursive: true, force: true });
    }, 60_000);

    it('takes over the node of a worker killed mid-node, and never shows a partial object', async () => {
      const a = worker('a');
      const b = worker('b');
      const slow = ['--scale', 'smoke', '--seeds', '1', '--set', 'numbers-1.delayMs=2000'];
      const r = run(tiny, ...slow);
      const victim = await Promise.race([
        a.waitFor(/start numbers-1/).then(() => a),
        b.waitFor(/start numbers-1/).then(() => b),
      ]);
      // Killed once its computation has begun (logged), however slow the machine is today.
      for (let waited = 0; (computations(log)['numbers-1'] ?? 0) < 1 && waited < 60_000; waited += 50)
        await new Promise((resolve) => setTimeout(resolve, 50));
      await victim.stop('SIGKILL');
      expect(await r.exited, r.stderr + r.stdout).toBe(0);
      const survivor = victim === a ? b : a;
      expect(survivor.stdout).toMatch(/done numbers-1/);
      expect(computations(log)['numbers-1']).toBe(2);
      expectSound();
      const results = await inProcess('results', tiny, ...slow, '--store', storeUrl);
      expect(results.code, results.stderr).toBe(0);
      expect(results.stdout).toMatch(/^\s+3$/m); // 0 + 1 + 2: seed 1 at smoke scale sums n = 3 numbers
    });

    it('resumes and completes when Redis restarts mid-run (losing every job)', async () => {
      const w = worker('a');
      const r = run(
        tiny,
        '--scale',
        'smoke',
        '--set',
        'numbers-1.delayMs=1500',
        '--set',
        'numbers-2.delayMs=1500',
      );
      await w.waitFor(/start numbers-/);
      await redis.restart();
      expect(await r.exited, r.stderr + r.stdout).toBe(0);
      expect(r.stdout).toMatch(/5 computed|computed, 0 cached/);
      expectSound();
    });

    it('detects a corrupted shared object on fetch and recomputes it', async () => {
      // The first results come from a local run straight into the shared folder (a store like any other).
      process.env.LOCKPICK_TEST_LOG = log;
      const local = await inProcess('run', tiny, '--scale', 'smoke', '--store', storeUrl).finally(() => {
        delete process.env.LOCKPICK_TEST_LOG;
      });
      expect(local.code, local.stderr).toBe(0);
      // Damage numbers-1's table in place (same size), as a bad disk or a partial copy would.
      const manifests = await fs.readdir(path.join(shared, 'manifests'));
      let hash = '';
      for (const name of manifests) {
        const m = JSON.parse(await fs.readFile(path.join(shared, 'manifests', name), 'utf8'));
        if (m.node === 'numbers-1') hash = m.outputs.table.hash;
      }
      const file = path.join(shared, 'objects', 'sha256', hash.slice(0, 2), hash.slice(2));
      const bytes = await fs.readFile(file);
      bytes[bytes.length >> 1] ^= 0xff;
      await fs.writeFile(file, bytes);
      expect(damagedObjects(shared)).toEqual([hash]);

      // A fresh worker (empty cache) must fetch it for sum-1, whose key a parameter changed.
      worker('fresh');
      const r = run(tiny, '--scale', 'smoke', '--set', 'sum-1.delayMs=1', '--json');
      expect(await r.exited, r.stderr + r.stdout).toBe(0);
      expect(r.stdout).toMatch(/corrupt/);
      expect(computations(log)['numbers-1']).toBe(2);
      expectSound();
    });

    it('computes every node two overlapping runs share once', async () => {
      worker('a');
      worker('b');
      const slow = ['--scale', 'smoke', '--set', 'numbers-2.delayMs=1500'];
      const one = run(tiny, ...slow, '--seeds', '1,2');
      const two = run(tiny, ...slow, '--seeds', '2,3');
      expect(await one.exited, one.stderr).toBe(0);
      expect(await two.exited, two.stderr).toBe(0);
      expect(computations(log)).toEqual({
        'numbers-1': 1,
        'numbers-2': 1,
        'numbers-3': 1,
        'sum-1': 1,
        'sum-2': 1,
        'sum-3': 1,
      });
      expectSound();
    });

    it('has a worker on other code refuse the node, saying why', async () => {
      // A pipeline whose stage file the test edits between the run and the worker, as a worker
      // started from another commit would have it.
      const generated = path.resolve(
        fileURLToPath(new URL('../.cluster-test', import.meta.url)),
        path.basename(dir),
      );
      await fs.mkdir(generated, { recursive: true });
      try {
        const engine = path.relative(
          generated,
          fileURLToPath(new URL('../../../libs/engine/src/', import.meta.url)),
        );
        const stageSource = (factor: number) => `
import * as arrow from 'apache-arrow';
import { z } from 'zod';
import { defineStage, stageTask } from '${engine}/stage.ts';
export const scaled = defineStage({
  name: 'test.scaled',
  description: 'one number',
  module: import.meta.url,
  params: z.object({}),
  inputs: {},
  outputs: { table: 'table' },
  run: (ctx) =>
    stageTask(ctx.signal, async () => {
      await ctx.outputs.table('table', arrow.tableFromArrays({ value: Float64Array.of(${factor}) }));
    }),
});
`;
        await fs.writeFile(path.join(generated, 'stage.ts'), stageSource(1));
        await fs.writeFile(
          path.join(generated, 'pipeline.ts'),
          `import { definePipeline } from '${engine}/pipeline.ts';
import { scaled } from './stage.ts';
export default definePipeline({
  name: 'edited',
  description: 'one node',
  defaultSeeds: [1],
  scales: ['default'],
  build: (p) => {
    p.node('scaled', scaled, { inputs: {} });
  },
});
`,
        );
        const r = run(path.join(generated, 'pipeline.ts'));
        await r.waitFor(/edited: 1 nodes|scaled/);
        await new Promise((resolve) => setTimeout(resolve, 1000)); // queued by now
        await fs.writeFile(path.join(generated, 'stage.ts'), stageSource(2));
        const w = worker('other-commit');
        expect(await r.exited).toBe(1);
        expect(r.stdout + r.stderr).toMatch(/refuses node "scaled".*code: .*stage\.ts edited.*same commit/s);
        expect(w.stdout).toMatch(/refuses/);
      } finally {
        await fs.rm(generated, { recursive: true, force: true });
      }
    });
    it('keeps going past a failure, and Ctrl-C takes queued nodes back off the queue', async () => {
      const w = worker('a');
      const failing = await inProcess(
        'run',
        tiny,
        '--scale',
        'smoke',
        '--set',
        'sum-1.fail=true',
        '--keep-going',
        '--queue',
        redis.url,
        '--store',
        storeUrl,
        '--cache',
        path.join(dir, 'cache-run'),
      );
      expect(failing.code).toBe(1);
      expect(failing.stdout).toMatch(/deliberate failure in sum-1/);
      expect(failing.stdout).toMatch(/3 computed, 0 cached, 1 failed, 1 not run/); // report skipped
      await w.stop();
      // No worker now: the run's nodes wait on the queue until Ctrl-C withdraws them.
      const r = run(tiny, '--scale', 'smoke', '--seeds', '7');
      await r.waitFor(/tiny: \d+ nodes/);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      r.child.kill('SIGINT');
      expect(await r.exited).toBe(130);
      expect(r.stdout).toMatch(/cancelled/);
      const { NodeQueue } = await import('@lockpick/cluster');
      const queue = new NodeQueue(redis.url);
      expect(await queue.queue.getWaitingCount()).toBe(0);
      await queue.close();
    });
  },
);
