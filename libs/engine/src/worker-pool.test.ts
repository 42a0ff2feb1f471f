import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { type ArtifactRef, ArtifactStore } from '@lockpick/artifacts';
import { lastValueFrom, toArray } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runStageOnce } from './execute-stage.ts';
import { resolvePipeline } from './pipeline.ts';
import { runPipeline } from './run.ts';
import type { StageEvent } from './stage.ts';
import { fixturePipeline } from './testing/fixture-pipeline.ts';
import { numbers, sum } from './testing/fixture-stages.ts';
import { StageWorkerPool } from './worker-pool.ts';

let root: string;
let store: ArtifactStore;
let pool: StageWorkerPool;
let table: ArtifactRef;
beforeEach(async () => {
  root = await fs.mkdtemp(path.join(tmpdir(), 'lockpick-pool-'));
  store = await ArtifactStore.open(path.join(root, 'store'));
  pool = new StageWorkerPool(1);
  table = (await runStageOnce(numbers, store, { params: { n: 5 } })).outputs.table;
});
afterEach(async () => {
  pool.close();
  await fs.rm(root, { recursive: true, force: true });
});

/** Runs `sum` in the pool; the thread it ran on and its output's sum. */
async function sumInPool(params: { fail?: boolean; delayMs?: number } = {}) {
  const events = await lastValueFrom(
    pool.run(sum, store, { node: 'sum', params, inputs: { table } }).pipe(toArray()),
  );
  const metric = (name: string) =>
    events.find((e): e is Extract<StageEvent, { type: 'metric' }> => e.type === 'metric' && e.name === name)
      ?.value;
  return { thread: metric('thread'), sum: metric('sum') };
}

describe('stage worker pool', () => {
  it('runs one stage after another in the same worker thread', async () => {
    const first = await sumInPool();
    const second = await sumInPool();
    expect(first.sum).toBe(10);
    expect(second.sum).toBe(10);
    expect(first.thread).toBeGreaterThan(0);
    expect(second.thread).toBe(first.thread);
    expect(pool.started).toBe(1);
  });

  it('replaces a worker whose stage failed', async () => {
    const before = await sumInPool();
    await expect(sumInPool({ fail: true })).rejects.toThrow(/deliberate failure/);
    const after = await sumInPool();
    expect(after.sum).toBe(10);
    expect(after.thread).not.toBe(before.thread);
    expect(pool.started).toBe(2);
  });

  it('terminates a cancelled worker and starts a fresh one for the next stage', async () => {
    const before = await sumInPool();
    // Cancel once the stage is surely running in the worker (it reported its thread).
    let subscription: { unsubscribe(): void } | undefined;
    const running = new Promise<number>((resolve) => {
      subscription = pool
        .run(sum, store, { node: 'slow', params: { delayMs: 5000 }, inputs: { table } })
        .subscribe((e) => {
          if (e.type === 'metric' && e.name === 'thread') resolve(e.value);
        });
    });
    expect(await running).toBe(before.thread);
    subscription?.unsubscribe();
    const after = await sumInPool();
    expect(after.thread).not.toBe(before.thread);
    expect(pool.started).toBe(2);
  });

  it('refuses work once closed', async () => {
    pool.close();
    await expect(sumInPool()).rejects.toThrow(/closed/);
  });

  it('serves a pipeline run: with one job, every heavy node runs on one thread', async () => {
    const events = await lastValueFrom(
      runPipeline(resolvePipeline(fixturePipeline, { seeds: [1, 2, 3] }), store, { jobs: 1 }).pipe(toArray()),
    );
    const threads = events.flatMap((e) =>
      e.type === 'node-event' && e.event.type === 'metric' && e.event.name === 'thread'
        ? [e.event.value]
        : [],
    );
    expect(threads).toHaveLength(3);
    expect(new Set(threads).size).toBe(1);
    const last = events.at(-1);
    expect(last?.type === 'run-done' && last.summary.failed).toEqual([]);
  });
});
