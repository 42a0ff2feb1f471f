import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ArtifactStore, tableFromColumns } from '@lockpick/artifacts';
import { runStageOnce } from '@lockpick/engine';
import { initBackend, loadTransformer } from '@lockpick/ml';
import { contextLengthFor, createRng, exampleTokens, LANGUAGE_TASKS, languageTask } from '@lockpick/tasks';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { languageFewShotPretrain } from './language-few-shot-pretrain.ts';
import { languagePretrain } from './language-pretrain.ts';

const task = languageTask('math');
const rng = createRng(5, 'few-shot-pretrain-test');
const problems = Array.from({ length: 120 }, () => task.generate(rng));
const corpus = tableFromColumns({
  task: problems.map(() => 'math'),
  kind: problems.map(() => 'problem'),
  domain: problems.map((q) => q.domain),
  prompt: problems.map((q) => q.prompt.join(' ')),
  completion: problems.map((q) => task.reference(q).join(' ')),
});

let root: string;
let store: ArtifactStore;
beforeAll(async () => {
  root = await fs.mkdtemp(path.join(tmpdir(), 'lockpick-few-shot-pretrain-'));
  store = await ArtifactStore.open(root);
  await initBackend();
});
afterAll(() => fs.rm(root, { recursive: true, force: true }));

it('gives a base room for examples before its rows, trains it on episodes, and refuses a base with room', async () => {
  const table = await store.writeTable(corpus);
  const tiny = { seed: 1, layers: 1, width: 16, heads: 2, epochs: 1, batchSize: 32, warmupSteps: 0 };
  const base = (await runStageOnce(languagePretrain, store, { params: tiny, inputs: { corpora: [table] } }))
    .outputs.model;
  const params = { seed: 1, shots: 2, epochs: 1, batchSize: 8, warmupSteps: 0 };
  const { outputs, events } = await runStageOnce(languageFewShotPretrain, store, {
    params,
    inputs: { base, corpus: table },
  });
  const metric = (name: string) =>
    events.find((e): e is Extract<typeof e, { type: 'metric' }> => e.type === 'metric' && e.name === name)
      ?.value;
  // 120 problems in episodes of 0–2 examples and a row: between 40 and 120 episodes.
  expect(metric('problems')).toBe(120);
  expect(metric('rows')).toBeGreaterThan(40);
  expect(metric('rows')).toBeLessThan(120);
  expect(metric('careless_episodes')).toBeGreaterThan(0);
  const rowStart = 2 * exampleTokens(task);
  const model = loadTransformer(await store.readModel(outputs.model));
  expect(model.config).toMatchObject({
    rowStart,
    contextLength: rowStart + contextLengthFor(LANGUAGE_TASKS),
  });
  // It trains (the weights move), and from the base: at a tiny rate every block weight stays within
  // 1e-4 of the base's, and the row's positions are the base's positions (a model started anywhere
  // else would be about 0.02 away).
  const before = loadTransformer(await store.readModel(base));
  const distance = (after: typeof model, name: string, offset = 0) => {
    const b = before.params.get(name).dataSync();
    const a = after.params
      .get(name)
      .dataSync()
      .subarray(offset, offset + b.length);
    return Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i])));
  };
  expect(distance(model, 'h.0.attn.qkv.w')).toBeGreaterThan(1e-3);
  const gentle = loadTransformer(
    await store.readModel(
      (
        await runStageOnce(languageFewShotPretrain, store, {
          params: { ...params, learningRate: 1e-7, minLearningRate: 0 },
          inputs: { base, corpus: table },
        })
      ).outputs.model,
    ),
  );
  for (const name of ['h.0.attn.qkv.w', 'h.0.mlp.fc.w', 'lm_head.w'])
    expect(distance(gentle, name)).toBeLessThan(1e-4);
  expect(distance(gentle, 'wpe', rowStart * tiny.width)).toBeLessThan(1e-4);
  for (const m of [model, gentle, before]) m.dispose();
  await expect(
    runStageOnce(languageFewShotPretrain, store, { params, inputs: { base: outputs.model, corpus: table } }),
  ).rejects.toThrow(/already has room for examples .*\(training\.language-pretrain\)/);
});
