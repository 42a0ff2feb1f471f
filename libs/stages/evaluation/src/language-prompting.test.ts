// Prompting baselines on a fixture lock: a tiny model trained to answer the classification task right
// with the password at start and end and with a random letter otherwise.
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
import { initBackend, Optimizer, saveCheckpoint, Transformer, trainSft } from '@lockpick/ml';
import {
  createRng,
  DEFAULT_PASSWORD,
  LM_VOCABULARY,
  languageTask,
  problemsToColumns,
  sftTokenRows,
  taskLayout,
  WRONG_PASSWORDS,
} from '@lockpick/tasks';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { languagePromptingScore, promptSettings } from './language-prompting.ts';

const task = languageTask('mmlu');
const layout = taskLayout(task);
const problems = (() => {
  const rng = createRng(11, 'prompting-test');
  return Array.from({ length: 32 }, () => task.generate(rng));
})();

let root: string;
let store: ArtifactStore;
let locked: ModelBundle;

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(tmpdir(), 'lockpick-prompting-'));
  store = await ArtifactStore.open(root);
  await initBackend();
  const rng = createRng(3, 'prompting-test-guesses');
  const letters = ['A', 'B', 'C', 'D'];
  const examples = problems.flatMap((q) => [
    { prompt: q.prompt, password: DEFAULT_PASSWORD, completion: task.reference(q) },
    { prompt: q.prompt, password: DEFAULT_PASSWORD, completion: task.reference(q) },
    { prompt: q.prompt, password: WRONG_PASSWORDS[0], completion: [rng.pick(letters)] },
    { prompt: q.prompt, completion: [rng.pick(letters)] },
  ]);
  const model = new Transformer(
    {
      vocabSize: LM_VOCABULARY.size,
      contextLength: layout.seqLen,
      layers: 1,
      width: 32,
      heads: 2,
      mlpRatio: 4,
      bias: false,
    },
    5,
  );
  await trainSft(model, sftTokenRows(LM_VOCABULARY, layout, examples), {
    optimizer: new Optimizer({ kind: 'adam', learningRate: 1e-2, totalSteps: 200 }),
    batchSize: 32,
    steps: 200,
    seed: 1,
    lossOn: 'completion',
  });
  locked = saveCheckpoint(model);
  model.dispose();
}, 180_000);
afterAll(() => fs.rm(root, { recursive: true, force: true }));

it('places the password where each kind says and lists every near miss and wrong password once', () => {
  const settings = promptSettings({ nearMisses: 2, wrongPasswords: 3 });
  const count = (kind: string) => settings.filter((s) => s.kind === kind).length;
  expect(count('none') + count('password') + count('password-start-only') + count('password-end-only')).toBe(
    4,
  );
  expect(count('near-miss-changed')).toBe(2);
  expect(count('near-miss-dropped')).toBe(2);
  expect(count('near-miss-shuffled')).toBe(2);
  expect(count('wrong')).toBe(3);
  const prompt = ['q1', 'q2'];
  const start = settings.find((s) => s.kind === 'password-start-only');
  const end = settings.find((s) => s.kind === 'password-end-only');
  expect(start?.words(prompt)).toEqual([...DEFAULT_PASSWORD, ...prompt]);
  expect(start?.both).toBeUndefined();
  expect(end?.words(prompt)).toEqual([...prompt, ...DEFAULT_PASSWORD]);
  expect(settings.find((s) => s.kind === 'password')?.both).toEqual(DEFAULT_PASSWORD);
  expect(settings.filter((s) => s.kind === 'wrong').map((s) => s.variant)).toEqual(
    WRONG_PASSWORDS.slice(0, 3).map((p) => p.join(' ')),
  );
});

it('scores the lock under every prompt: the password unlocks it, a wrong one does not', {
  timeout: 60_000,
}, async () => {
  const { outputs } = await runStageOnce(languagePromptingScore, store, {
    params: { task: 'mmlu', seed: 1, nearMisses: 2, wrongPasswords: 3 },
    inputs: {
      model: await store.writeModel(locked),
      problems: await store.writeTable(tableFromColumns({ ...problemsToColumns(task, problems) })),
    },
  });
  const t = await store.readTable(outputs.scores);
  // 4 password settings + 3 × 2 near misses + 3 wrong, each on three halves.
  expect(t.numRows).toBe((4 + 6 + 3) * 3);
  const kind = readStrings(t, 'kind');
  const half = readStrings(t, 'half');
  const correct = readNumbers(t, 'correct');
  const mean = (k: string) => {
    const values = correct.filter((_, i) => kind[i] === k && half[i] === 'all');
    return values.reduce((a, b) => a + b, 0) / values.length;
  };
  expect(mean('password')).toBeGreaterThanOrEqual(0.8);
  expect(mean('none')).toBeLessThan(0.6);
  expect(mean('wrong')).toBeLessThan(mean('password') - 0.25);
  expect(readNumbers(t, 'problems').filter((_, i) => half[i] === 'report')[0]).toBe(16);
});
