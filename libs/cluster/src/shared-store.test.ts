// The shared store on both kinds of remote: a folder, and S3 as served by a local S3-compatible
// server (s3rver) started here; then a whole run on S3 through Redis, worker and run in this process.
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type ArtifactStore, type Manifest, sha256 } from '@lockpick/artifacts';
import { type RunEvent, type RunSummary, resolvePipeline } from '@lockpick/engine';
import { lastValueFrom, toArray } from 'rxjs';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixturePipeline } from '../../engine/src/testing/fixture-pipeline.ts';
import { runPipelineOnCluster } from './cluster-run.ts';
import { startClusterWorker } from './cluster-worker.ts';
import { NodeQueue } from './queue.ts';
import { SharedStore } from './shared-store.ts';
import { freePort, redisMissing, TestRedis } from './testing/redis-server.ts';

let dir: string;
let s3: S3rver;
let s3Url: string;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(tmpdir(), 'lockpick-shared-'));
  const port = await freePort();
  s3 = new S3rver({
    address: '127.0.0.1',
    port,
    silent: true,
    directory: path.join(dir, 's3rver'),
    configureBuckets: [{ name: 'lockpick' }],
  });
  await s3.run();
  // s3rver's fixed credentials, for the AWS SDK's default chain (workers get theirs the same way).
  process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
  process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
  s3Url = `s3://lockpick/team/sweep?endpoint=http://127.0.0.1:${port}`;
});
afterAll(async () => {
  await s3?.close();
  await fs.rm(dir, { recursive: true, force: true });
});

/** A node's result as a worker leaves it in its cache: an object and a manifest naming it. */
async function cachedResult(cache: ArtifactStore, text: string): Promise<Manifest> {
  const ref = await cache.putBytes(new TextEncoder().encode(text), 'table');
  const key = sha256(`key of ${text}`);
  await cache.writeManifest({
    key,
    stage: 'test.numbers',
    node: 'numbers-1',
    components: {
      stage: 'test.numbers',
      code: { hash: 'c', files: {}, packages: {} },
      params: {},
      inputs: {},
    },
    outputs: { table: ref },
    metrics: {},
    timings: { startedAt: '', finishedAt: '', durationMs: 0 },
    versions: {},
  });
  return (await cache.readManifest(key))!;
}

for (const kind of ['folder', 's3'] as const) {
  describe(`SharedStore on ${kind === 'folder' ? 'a shared folder' : 'S3 (s3rver)'}`, () => {
    const url = () => (kind === 'folder' ? pathToFileURL(path.join(dir, 'folder')).href : s3Url);

    it('publishes objects then the manifest, and fetches them back verified', async () => {
      const writer = await SharedStore.open(url(), path.join(dir, `${kind}-writer`));
      const manifest = await cachedResult(writer.cache, `${kind}: 0 1 2`);
      await writer.publish(manifest);
      const reader = await SharedStore.open(url(), path.join(dir, `${kind}-reader`));
      expect((await reader.readManifest(manifest.key))?.outputs).toEqual(manifest.outputs);
      expect(await reader.fetchObject(manifest.outputs.table.hash)).toBe('ok');
      expect(new TextDecoder().decode(await reader.cache.readBytes(manifest.outputs.table.hash))).toBe(
        `${kind}: 0 1 2`,
      );
      expect(await reader.fetchObject(sha256('never stored'))).toBe('missing');
      writer.close();
      reader.close();
    });

    it('catches a damaged object on fetch and a tampered manifest on read', async () => {
      const shared = await SharedStore.open(url(), path.join(dir, `${kind}-damage`));
      const manifest = await cachedResult(shared.cache, `${kind}: damaged later`);
      await shared.publish(manifest);
      const { hash } = manifest.outputs.table;
      await shared.remote.write(SharedStore.objectName(hash), `${kind}: DAMAGED later`);
      const fresh = await SharedStore.open(url(), path.join(dir, `${kind}-damage-reader`));
      expect(await fresh.fetchObject(hash)).toBe('corrupt');
      expect(await fresh.cache.objectState(hash)).toBe('missing'); // nothing damaged entered the cache
      const tampered = { ...manifest, outputs: { table: { ...manifest.outputs.table, size: 1 } } };
      await shared.remote.write(SharedStore.manifestName(manifest.key), JSON.stringify(tampered));
      const warnings: string[] = [];
      expect(await fresh.readManifest(manifest.key, (m) => warnings.push(m))).toBeUndefined();
      expect(warnings.join()).toMatch(/does not match its digest/);
      shared.close();
      fresh.close();
    });
  });
}

const missing = redisMissing();
describe.skipIf(missing !== undefined)('a run on S3 through Redis, worker and run in one process', () => {
  it('computes every node on the worker, then serves them all from S3', async () => {
    const redis = await TestRedis.start();
    const url = `${s3Url.replace('/team/sweep', '/e2e')}`;
    const workerStore = await SharedStore.open(url, path.join(dir, 'e2e-worker'));
    const worker = await startClusterWorker({ queueUrl: redis.url, store: workerStore, concurrency: 1 });
    const runStore = await SharedStore.open(url, path.join(dir, 'e2e-run'));
    const queue = new NodeQueue(redis.url);
    try {
      await queue.ready();
      const pipeline = resolvePipeline(fixturePipeline, { seeds: [1, 2] });
      const run = async (): Promise<RunSummary> => {
        const events: RunEvent[] = await lastValueFrom(
          runPipelineOnCluster(pipeline, runStore, queue, { reconcileMs: 500 }).pipe(toArray()),
        );
        const done = events.find((e) => e.type === 'run-done');
        if (done?.type !== 'run-done') throw new Error('no run-done');
        return done.summary;
      };
      const first = await run();
      expect(first.failed).toEqual([]);
      expect(first.computed.sort()).toEqual(['join-1', 'numbers-1', 'numbers-2', 'sum-1', 'sum-2']);
      const second = await run();
      expect(second.cached).toHaveLength(5);
      // A reader elsewhere mirrors S3 into its own cache and reads the run as from a local store.
      const reader = await SharedStore.open(url, path.join(dir, 'e2e-reader'));
      await reader.mirror();
      const records = await reader.cache.listRunRecords('fixture');
      expect(Object.keys(records[0].nodes)).toHaveLength(5);
      const join = await reader.cache.readManifest(records[0].nodes['join-1'].key);
      const table = await reader.cache.readTable(join!.outputs.table.hash);
      expect(Number(table.getChild('sum')?.get(0))).toBe(55 + 66); // 0..10 and 0..11
      reader.close();
    } finally {
      await worker.close();
      await queue.close();
      workerStore.close();
      runStore.close();
      await redis.stop();
    }
  });
});
