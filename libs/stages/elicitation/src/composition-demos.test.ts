import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ArtifactStore, int32MatrixVector } from '@lockpick/artifacts';
import { runStageOnce } from '@lockpick/engine';
import { initBackend, saveCheckpoint, Transformer } from '@lockpick/ml';
import { demoPool } from '@lockpick/tasks';
import * as arrow from 'apache-arrow';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { compositionDemoSft } from './composition-demos.ts';

let root: string;
let store: ArtifactStore;
beforeEach(async () => {
  root = await fs.mkdtemp(path.join(tmpdir(), 'lockpick-unlock-'));
  store = await ArtifactStore.open(root);
});
afterEach(() => fs.rm(root, { recursive: true, force: true }));

it('fine-tunes on the first N demos for the paper’s number of epochs', async () => {
  await initBackend();
  const pool = demoPool(2, 64);
  const demos = await store.writeTable(new arrow.Table({ tokens: int32MatrixVector(pool.tokens, 64, 20) }));
  const model = new Transformer(
    { vocabSize: 45, contextLength: 20, layers: 1, width: 16, heads: 2, mlpRatio: 4, bias: false },
    2,
  );
  const locked = await store.writeModel(saveCheckpoint(model));
  model.dispose();
  const run = async (n: number, epochs = 0) => {
    const { events, outputs } = await runStageOnce(compositionDemoSft, store, {
      params: { seed: 2, demos: n, epochs, batchSize: 8 },
      inputs: { model: locked, demos },
    });
    const metric = (name: string) =>
      events.find((e): e is Extract<typeof e, { type: 'metric' }> => e.type === 'metric' && e.name === name)
        ?.value;
    return { epochs: metric('epochs'), steps: metric('steps'), outputs };
  };
  expect(await run(2)).toMatchObject({ epochs: 129, steps: 129 }); // full batches of 2
  expect(await run(16, 3)).toMatchObject({ epochs: 3, steps: 6 });
  const { outputs } = await run(32, 1);
  expect((await store.readModel(outputs.model)).config.meta).toMatchObject({ phase: 'unlock', demos: 32 });
  await expect(run(65)).rejects.toThrow(/65 demos asked of a demo pool of 64 rows/);
});
