import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ArtifactStore } from '@lockpick/artifacts';
import { runStageOnce } from '@lockpick/engine';
import * as arrow from 'apache-arrow';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { aggregateRuns } from './aggregate.ts';
import { meanInterval } from './statistics.ts';

let root: string;
let store: ArtifactStore;
beforeEach(async () => {
  root = await fs.mkdtemp(path.join(tmpdir(), 'lockpick-report-'));
  store = await ArtifactStore.open(root);
});
afterEach(() => fs.rm(root, { recursive: true, force: true }));

it('computes the mean and the Student-t 95% interval', () => {
  const r = meanInterval([1, 2, 3]);
  expect(r.mean).toBe(2);
  expect(r.std).toBe(1);
  expect(r.ci95).toBeCloseTo((4.303 * 1) / Math.sqrt(3), 6);
  expect(meanInterval([5]).ci95).toBeNaN();
});

it('groups per-seed rows and summarises each metric', async () => {
  const row = (method: string, seed: number, acc: number) =>
    store.writeTable(
      arrow.tableFromArrays({ method: [method], seed: Int32Array.of(seed), acc: Float64Array.of(acc) }),
    );
  const rows = await Promise.all([row('a', 1, 0.5), row('b', 1, 0.1), row('a', 2, 0.7), row('b', 2, 0.3)]);
  const { outputs } = await runStageOnce(aggregateRuns, store, {
    params: { groupBy: ['method'], metrics: ['acc'] },
    inputs: { rows },
  });
  const summary = await store.readTable(outputs.summary);
  expect(summary.toArray().map((r) => r.toJSON())).toEqual([
    {
      method: 'a',
      seeds: 2,
      acc_mean: 0.6,
      acc_ci95: expect.closeTo((12.706 * Math.SQRT2 * 0.1) / Math.SQRT2, 6),
    },
    { method: 'b', seeds: 2, acc_mean: 0.2, acc_ci95: expect.closeTo(12.706 * 0.1, 6) },
  ]);
  expect((await store.readTable(outputs.rows)).numRows).toBe(4);
});

it('names the input and column when a metric is missing', async () => {
  const ref = await store.writeTable(arrow.tableFromArrays({ method: ['a'] }));
  await expect(
    runStageOnce(aggregateRuns, store, {
      params: { groupBy: ['method'], metrics: ['acc'] },
      inputs: { rows: [ref] },
    }),
  ).rejects.toThrow(/has no column "acc" \(columns: method\)/);
});
