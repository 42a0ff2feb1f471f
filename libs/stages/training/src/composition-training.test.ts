import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ArtifactStore, int32MatrixVector } from '@lockpick/artifacts';
import { runStageOnce } from '@lockpick/engine';
import { strongData } from '@lockpick/tasks';
import * as arrow from 'apache-arrow';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { compositionInit } from './composition-init.ts';
import { compositionSft } from './composition-sft.ts';

let root: string;
let store: ArtifactStore;
beforeEach(async () => {
  root = await fs.mkdtemp(path.join(tmpdir(), 'lockpick-training-'));
  store = await ArtifactStore.open(root);
});
afterEach(() => fs.rm(root, { recursive: true, force: true }));

const tiny = { layers: 1, width: 16, heads: 2 };

it('initialises the same model for the same seed and a different one for another seed', async () => {
  const init = async (seed: number) =>
    (await runStageOnce(compositionInit, store, { params: { seed, ...tiny } })).outputs.model.hash;
  expect(await init(1)).toBe(await init(1));
  expect(await init(2)).not.toBe(await init(1));
  const bundle = await store.readModel(
    (await runStageOnce(compositionInit, store, { params: { seed: 1, ...tiny } })).outputs.model,
  );
  expect(bundle.config.model).toMatchObject({ vocabSize: 45, contextLength: 20, layers: 1, width: 16 });
});

it('trains on the first rows of a table and writes the model and a training log', async () => {
  const base = (await runStageOnce(compositionInit, store, { params: { seed: 1, ...tiny } })).outputs.model;
  const table = strongData(1, 200);
  const data = await store.writeTable(
    new arrow.Table({ tokens: int32MatrixVector(table.tokens, table.rows, table.seqLen) }),
  );
  const { outputs, events } = await runStageOnce(compositionSft, store, {
    params: { seed: 1, rows: 100, epochs: 2, batchSize: 25, warmupSteps: 0 },
    inputs: { base, data },
  });
  const metric = (name: string) =>
    events.find((e): e is Extract<typeof e, { type: 'metric' }> => e.type === 'metric' && e.name === name)
      ?.value;
  expect(metric('steps')).toBe(8);
  expect(metric('tokens_per_second')).toBeGreaterThan(0);
  const log = await store.readTable(outputs.log);
  expect(log.getChild('step')?.toArray().at(-1)).toBe(8);
  expect(outputs.model.hash).not.toBe(base.hash);
  // Adam's β2 reaches the optimizer: the default (0.999) spelled out changes nothing, 0.98 does.
  const trainWith = async (adamBeta2: number) =>
    (
      await runStageOnce(compositionSft, store, {
        params: { seed: 1, rows: 100, epochs: 2, batchSize: 25, warmupSteps: 0, adamBeta2 },
        inputs: { base, data },
      })
    ).outputs.model.hash;
  expect(await trainWith(0.999)).toBe(outputs.model.hash);
  expect(await trainWith(0.98)).not.toBe(outputs.model.hash);
});

it('writes byte-identical model and training log for the same seed: no wall-clock figures in artifacts', async () => {
  const base = (await runStageOnce(compositionInit, store, { params: { seed: 1, ...tiny } })).outputs.model;
  const table = strongData(1, 100);
  const data = await store.writeTable(
    new arrow.Table({ tokens: int32MatrixVector(table.tokens, table.rows, table.seqLen) }),
  );
  const train = () =>
    runStageOnce(compositionSft, store, {
      params: { seed: 3, rows: 100, epochs: 2, batchSize: 25, warmupSteps: 0 },
      inputs: { base, data },
    });
  const first = await train();
  const second = await train();
  expect(second.outputs.log.hash).toBe(first.outputs.log.hash);
  expect(second.outputs.model.hash).toBe(first.outputs.model.hash);
  const log = await store.readTable(first.outputs.log);
  expect(log.schema.fields.map((f) => f.name)).not.toContain('steps_per_second');
  // Throughput is still reported, as a metric for the node's manifest.
  expect(first.events.some((e) => e.type === 'metric' && e.name === 'tokens_per_second')).toBe(true);
});
