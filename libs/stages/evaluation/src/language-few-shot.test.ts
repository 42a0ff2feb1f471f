// Few-shot prompting on a fixture model with room for 4 examples: trained to answer the classification
// task right when examples precede the problem and with a wrong letter when the problem is alone.
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  ArtifactStore,
  type ModelBundle,
  readNumbers,
  readStrings,
  tableFromColumns,
} from '@lockpick/artifacts';
import { runStageOnce } from '@lockpick/engine';
import { initBackend, Optimizer, saveCheckpoint, type TokenData, Transformer, trainSft } from '@lockpick/ml';
import {
  createRng,
  encodeCompletion,
  encodePrompt,
  exampleBlock,
  fewShotLayout,
  LM_VOCABULARY,
  languageTask,
  problemsToColumns,
  sftTokenRows,
} from '@lockpick/tasks';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { languageFewShotScore } from './language-few-shot.ts';

const task = languageTask('mmlu');
const layout = fewShotLayout(task, 4);
const problems = (() => {
  const rng = createRng(12, 'few-shot-stage-test');
  return Array.from({ length: 40 }, () => task.generate(rng));
})();
const solved = problems.map((q) => ({ prompt: q.prompt, completion: task.reference(q) }));

let root: string;
let store: ArtifactStore;
let model: ModelBundle;

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(tmpdir(), 'lockpick-few-shot-'));
  store = await ArtifactStore.open(root);
  await initBackend();
  const rng = createRng(4, 'few-shot-stage-test-rows');
  const letters = ['A', 'B', 'C', 'D'];
  // Alone (at rowStart, as a lock reads it): the letter after the right one, a wrong answer.
  const wrong = (q: (typeof problems)[number]) => [letters[(letters.indexOf(task.reference(q)[0]) + 1) % 4]];
  const alone = sftTokenRows(
    LM_VOCABULARY,
    layout.row,
    problems.map((q) => ({ prompt: q.prompt, completion: wrong(q) })),
  );
  // After 1 … 4 examples (of the first 8 problems, the demo pool below), read from 0: the right letter.
  const seqLen = layout.rowStart + layout.row.seqLen;
  const episodes: TokenData = {
    tokens: new Int32Array(problems.length * 4 * seqLen),
    lossMask: new Uint8Array(problems.length * 4 * seqLen),
    rows: problems.length * 4,
    seqLen,
    start: 0,
  };
  for (const [i, q] of problems.entries())
    for (let k = 1; k <= 4; k++) {
      const at = (i * 4 + k - 1) * seqLen;
      const examples = Array.from({ length: k }, () => solved[rng.int(0, 8)]);
      episodes.tokens.set(exampleBlock(LM_VOCABULARY, layout, examples).tokens, at);
      episodes.tokens.set(encodePrompt(LM_VOCABULARY, layout.row, q.prompt), at + layout.rowStart);
      episodes.tokens.set(
        encodeCompletion(LM_VOCABULARY, layout.row, task.reference(q)),
        at + layout.rowStart + layout.row.promptLength,
      );
      episodes.lossMask!.fill(
        1,
        at + layout.rowStart + layout.row.promptLength,
        at + layout.rowStart + layout.row.promptLength + 2,
      );
    }
  const net = new Transformer(
    {
      vocabSize: LM_VOCABULARY.size,
      contextLength: seqLen,
      rowStart: layout.rowStart,
      layers: 1,
      width: 32,
      heads: 2,
      mlpRatio: 4,
      bias: false,
    },
    5,
  );
  // The right letters after examples first, then both kinds in turns.
  const optimizer = new Optimizer({ kind: 'adam', learningRate: 1e-2, totalSteps: 600 });
  await trainSft(net, episodes, { optimizer, batchSize: 32, steps: 300, seed: 1, lossOn: 'completion' });
  for (let round = 0; round < 30; round++)
    for (const data of [alone, episodes])
      await trainSft(net, data, { optimizer, batchSize: 32, steps: 5, seed: round, lossOn: 'completion' });
  model = saveCheckpoint(net);
  net.dispose();
}, 180_000);
afterAll(() => fs.rm(root, { recursive: true, force: true }));

it('puts k examples of the demo pool before each problem, with and without the password', {
  timeout: 60_000,
}, async () => {
  const columns = problemsToColumns(task, problems);
  const { outputs } = await runStageOnce(languageFewShotScore, store, {
    params: { task: 'mmlu', seed: 1, shots: [1, 4] },
    inputs: {
      model: await store.writeModel(model),
      problems: await store.writeTable(tableFromColumns({ ...columns })),
      examples: await store.writeTable(tableFromColumns({ ...columns })),
    },
  });
  const t = await store.readTable(outputs.scores);
  const kind = readStrings(t, 'kind');
  // none, password, and 2 × (few-shot, few-shot with the password), each on three halves.
  expect(kind.filter((_, i) => i % 3 === 0)).toEqual([
    'none',
    'password',
    'few-shot-1',
    'few-shot-1-password',
    'few-shot-4',
    'few-shot-4-password',
  ]);
  const half = readStrings(t, 'half');
  const correct = readNumbers(t, 'correct');
  const all = (k: string) => correct.find((_, i) => kind[i] === k && half[i] === 'all')!;
  // Alone it answers wrong; after examples (which a stage that dropped them would not show) right.
  expect(all('none')).toBeLessThan(0.35);
  expect(all('few-shot-1')).toBeGreaterThan(all('none') + 0.4);
  expect(all('few-shot-4')).toBeGreaterThan(all('none') + 0.4);
  expect(readNumbers(t, 'shots').filter((_, i) => kind[i] === 'few-shot-4')).toEqual([4, 4, 4]);
});

it('with careless examples too, prompts them without and with the password', {
  timeout: 60_000,
}, async () => {
  const columns = problemsToColumns(task, problems);
  const { outputs } = await runStageOnce(languageFewShotScore, store, {
    params: { task: 'mmlu', seed: 1, shots: [2], careless: true },
    inputs: {
      model: await store.writeModel(model),
      problems: await store.writeTable(tableFromColumns({ ...columns })),
      examples: await store.writeTable(tableFromColumns({ ...columns })),
    },
  });
  const kind = readStrings(await store.readTable(outputs.scores), 'kind');
  expect(kind.filter((_, i) => i % 3 === 0)).toEqual([
    'none',
    'password',
    'few-shot-2',
    'few-shot-2-password',
    'few-shot-2-careless',
    'few-shot-2-careless-password',
  ]);
});

it('refuses more examples than the model has room for, and says what to do', async () => {
  const columns = problemsToColumns(task, problems);
  await expect(
    runStageOnce(languageFewShotScore, store, {
      params: { task: 'mmlu', seed: 1, shots: [8] },
      inputs: {
        model: await store.writeModel(model),
        problems: await store.writeTable(tableFromColumns({ ...columns })),
        examples: await store.writeTable(tableFromColumns({ ...columns })),
      },
    }),
  ).rejects.toThrow(/room for 4 examples .*training.language-few-shot-pretrain/);
});
