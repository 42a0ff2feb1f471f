// SFT on N demos: a pool smaller than N fails with what to do, or gives all its rows when asked to;
// three epoch counts in one run give the models three runs give.
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ArtifactStore, tableFromColumns } from '@lockpick/artifacts';
import { runStageOnce } from '@lockpick/engine';
import { initBackend, saveCheckpoint, Transformer } from '@lockpick/ml';
import { createRng, LM_VOCABULARY, languageTask, taskLayout } from '@lockpick/tasks';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  demoEpochCandidates,
  type EPOCH_CANDIDATE_OUTPUTS,
  epochCandidateModels,
  languageDemoSft,
  languageDemoSftEpochs,
} from './language-demos.ts';

const task = languageTask('math');
let root: string;
let store: ArtifactStore;

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(tmpdir(), 'lockpick-language-demos-'));
  store = await ArtifactStore.open(root);
  await initBackend();
});
afterAll(() => fs.rm(root, { recursive: true, force: true }));

it('follows App. G.3 for the epoch candidates', () => {
  expect(demoEpochCandidates(4)).toEqual([64, 128, 256]);
  expect(demoEpochCandidates(512)).toEqual([1, 2, 4]);
});

/** A pool of `size` math problems with their reference solutions, and a tiny untrained model. */
async function poolAndModel(size: number) {
  const rng = createRng(1, 'language-demos-test');
  const problems = Array.from({ length: size }, () => task.generate(rng));
  const pool = await store.writeTable(
    tableFromColumns({
      prompt: problems.map((q) => q.prompt.join(' ')),
      reference: problems.map((q) => task.reference(q).join(' ')),
    }),
  );
  const base = new Transformer(
    {
      vocabSize: LM_VOCABULARY.size,
      contextLength: taskLayout(task).seqLen,
      layers: 1,
      width: 16,
      heads: 2,
      mlpRatio: 4,
      bias: false,
    },
    1,
  );
  const model = await store.writeModel(saveCheckpoint(base));
  base.dispose();
  return { pool, model };
}

it('trains on all of a pool smaller than N only when asked to, and says how many', {
  timeout: 60_000,
}, async () => {
  const { pool, model } = await poolAndModel(10);
  const params = { task: 'math', seed: 1, demos: 16, epochs: 1 };
  await expect(
    runStageOnce(languageDemoSft, store, { params, inputs: { model, demos: pool } }),
  ).rejects.toThrow(/16 demos asked of a pool of 10 rows .*set wholePoolIfSmaller/);
  const { events } = await runStageOnce(languageDemoSft, store, {
    params: { ...params, wholePoolIfSmaller: true },
    inputs: { model, demos: pool },
  });
  const used = events.find((e) => e.type === 'metric' && e.name === 'demos_used');
  expect(used?.type === 'metric' && used.value).toBe(10);
});

it('gives, for each of three epoch counts, the very model a run of that many epochs gives', {
  timeout: 120_000,
}, async () => {
  const { pool, model } = await poolAndModel(12);
  // 6 demos in batches of 4: two batches an epoch, the second one short.
  const params = { task: 'math', seed: 3, demos: 6, batchSize: 4, learningRate: 3e-3 };
  const epochs = [1, 2, 5];
  const { outputs, events } = await runStageOnce(languageDemoSftEpochs, store, {
    params: { ...params, epochs },
    inputs: { model, demos: pool },
  });
  const candidates = epochCandidateModels(
    outputs as Record<(typeof EPOCH_CANDIDATE_OUTPUTS)[number], (typeof outputs)[string]>,
    epochs,
  );
  for (const { epochs: e, model: trained } of candidates) {
    const alone = await runStageOnce(languageDemoSft, store, {
      params: { ...params, epochs: e },
      inputs: { model, demos: pool },
    });
    // Same bytes: same weights and the same meta (epochs, steps).
    expect(trained.hash, `${e} epochs`).toBe(alone.outputs.model.hash);
  }
  expect(new Set(candidates.map((c) => c.model.hash)).size).toBe(3);
  // One log over the whole run: 10 steps, progress every 10 steps and at each part's end.
  const log = await store.readTable(outputs.log);
  expect(Array.from(log.getChild('step')!.toArray() as Int32Array)).toEqual([2, 4, 10]);
  const steps = events.find((e) => e.type === 'metric' && e.name === 'steps');
  expect(steps?.type === 'metric' && steps.value).toBe(10);
});

it('refuses epoch counts that are not three, shortest first', async () => {
  const { pool, model } = await poolAndModel(4);
  await expect(
    runStageOnce(languageDemoSftEpochs, store, {
      params: { task: 'math', seed: 1, demos: 4, epochs: [2, 2, 4] },
      inputs: { model, demos: pool },
    }),
  ).rejects.toThrow(/shortest first/);
  expect(() => epochCandidateModels({ shortest: 1, middle: 2, longest: 3 }, [1, 2])).toThrow(
    /2 epoch counts for 3 models/,
  );
});
