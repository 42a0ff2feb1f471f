// SFT on N demos: a pool smaller than N fails with what to do, or gives all its rows when asked to.
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ArtifactStore, tableFromColumns } from '@lockpick/artifacts';
import { runStageOnce } from '@lockpick/engine';
import { initBackend, saveCheckpoint, Transformer } from '@lockpick/ml';
import { createRng, LM_VOCABULARY, languageTask, taskLayout } from '@lockpick/tasks';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { demoEpochCandidates, languageDemoSft } from './language-demos.ts';

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

it('trains on all of a pool smaller than N only when asked to, and says how many', {
  timeout: 60_000,
}, async () => {
  const rng = createRng(1, 'language-demos-test');
  const problems = Array.from({ length: 10 }, () => task.generate(rng));
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
