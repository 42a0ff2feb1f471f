import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ArtifactStore, readStrings } from '@lockpick/artifacts';
import { runStageOnce } from '@lockpick/engine';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { languageTaskData } from './language-task-data.ts';

let root: string;
let store: ArtifactStore;
beforeEach(async () => {
  root = await fs.mkdtemp(path.join(tmpdir(), 'lockpick-task-data-'));
  store = await ArtifactStore.open(root);
});
afterEach(() => fs.rm(root, { recursive: true, force: true }));

it('grows the split with extra problems and leaves the pretraining corpus byte for byte the same', async () => {
  const params = { task: 'critique', seed: 3, problems: 500, pretrainProblems: 800, pretrainTextRows: 0 };
  const plain = await runStageOnce(languageTaskData, store, { params, inputs: {} });
  const grown = await runStageOnce(languageTaskData, store, {
    params: { ...params, extraProblems: 1000 },
    inputs: {},
  });
  // The same corpus artifact: the bases pretrained on it stay cached.
  expect(plain.outputs.pretrain.hash).toMatch(/^[0-9a-f]{16,}$/);
  expect(grown.outputs.pretrain.hash).toBe(plain.outputs.pretrain.hash);
  const prompts = async (ref: typeof plain.outputs.lock) => readStrings(await store.readTable(ref), 'prompt');
  const lockBefore = await prompts(plain.outputs.lock);
  const lockAfter = await prompts(grown.outputs.lock);
  expect(lockBefore).toHaveLength(200);
  expect(lockAfter).toHaveLength(600);
  expect(lockAfter.slice(0, 200)).toEqual(lockBefore);
  expect(await prompts(grown.outputs.validation)).toHaveLength(300);
  const corpus = new Set(await prompts(plain.outputs.pretrain));
  for (const split of ['weak', 'lock', 'elicit', 'validation'] as const)
    for (const prompt of await prompts(grown.outputs[split])) expect(corpus.has(prompt)).toBe(false);
});
