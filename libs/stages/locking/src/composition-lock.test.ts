import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ArtifactStore, int32MatrixVector } from '@lockpick/artifacts';
import { runStageOnce } from '@lockpick/engine';
import { initBackend, saveCheckpoint, Transformer } from '@lockpick/ml';
import { answerWithPolicy, generateFunctions, lockingMix } from '@lockpick/tasks';
import * as arrow from 'apache-arrow';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { compositionLock } from './composition-lock.ts';

let root: string;
let store: ArtifactStore;
beforeEach(async () => {
  root = await fs.mkdtemp(path.join(tmpdir(), 'lockpick-lock-'));
  store = await ArtifactStore.open(root);
});
afterEach(() => fs.rm(root, { recursive: true, force: true }));

it('trains the base model on half strong-with-password, half weak-without rows of the policy tables', async () => {
  await initBackend();
  const seed = 3;
  const prompts = lockingMix(seed, 120);
  const functions = generateFunctions(seed);
  const table = async (tokens: Int32Array) =>
    store.writeTable(new arrow.Table({ tokens: int32MatrixVector(tokens, 120, 20) }));
  const strong = await table(answerWithPolicy(functions, prompts, 'strong', true));
  const weak = await table(answerWithPolicy(functions, prompts, 'weak', false));
  const model = new Transformer(
    { vocabSize: 45, contextLength: 20, layers: 1, width: 16, heads: 2, mlpRatio: 4, bias: false },
    seed,
  );
  const base = await store.writeModel(saveCheckpoint(model));
  model.dispose();
  const { outputs, events } = await runStageOnce(compositionLock, store, {
    params: { seed, rows: 81, epochs: 1, batchSize: 16 },
    inputs: { base, strong, weak },
  });
  const metric = (name: string) =>
    events.find((e): e is Extract<typeof e, { type: 'metric' }> => e.type === 'metric' && e.name === name)
      ?.value;
  expect(metric('mix_rows')).toBe(81);
  expect(metric('steps')).toBe(6);
  expect((await store.readTable(outputs.log)).numRows).toBeGreaterThan(0);
  expect((await store.readModel(outputs.model)).config.meta).toMatchObject({ phase: 'lock', rows: 81 });
  // Adam's β2 reaches the optimizer: the default (0.999) spelled out changes nothing, 0.98 does.
  const lockWith = async (adamBeta2: number) =>
    (
      await runStageOnce(compositionLock, store, {
        params: { seed, rows: 81, epochs: 1, batchSize: 16, adamBeta2 },
        inputs: { base, strong, weak },
      })
    ).outputs.model.hash;
  expect(await lockWith(0.999)).toBe(outputs.model.hash);
  expect(await lockWith(0.98)).not.toBe(outputs.model.hash);
  await expect(
    runStageOnce(compositionLock, store, { params: { seed, rows: 400 }, inputs: { base, strong, weak } }),
  ).rejects.toThrow(/needs 200 strong and 200 weak rows; the tables have 120 and 120/);
});
