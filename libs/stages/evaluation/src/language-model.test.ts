import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ArtifactStore, readNumbers, readStrings, tableFromColumns } from '@lockpick/artifacts';
import { runStageOnce } from '@lockpick/engine';
import { createRng, formatPrompt, languageTask, problemsToColumns } from '@lockpick/tasks';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { fixtureModel } from './fixture-model.ts';
import { languageModelScore } from './language-model.ts';

let root: string;
let store: ArtifactStore;
beforeEach(async () => {
  root = await fs.mkdtemp(path.join(tmpdir(), 'lockpick-language-model-'));
  store = await ArtifactStore.open(root);
});
afterEach(() => fs.rm(root, { recursive: true, force: true }));

it('scores the prompts in the format it is given: a format lock opens only in its strong format', async () => {
  const task = languageTask('mmlu');
  const rng = createRng(7, 'language-model-format');
  const problems = Array.from({ length: 48 }, () => task.generate(rng));
  // A fixture format lock: right answers to the reversed prompt, a fixed wrong letter to the plain one.
  const wrongLetter = (q: (typeof problems)[number]) => [task.reference(q)[0] === 'A' ? 'B' : 'A'];
  const bundle = await fixtureModel(
    task,
    problems.flatMap((q) => [
      { prompt: formatPrompt(q.prompt, 'reversed'), completion: task.reference(q) },
      { prompt: q.prompt, completion: wrongLetter(q) },
    ]),
    { width: 32, steps: 250, batchSize: 32, seed: 3 },
  );
  const inputs = {
    model: await store.writeModel(bundle),
    problems: await store.writeTable(tableFromColumns({ ...problemsToColumns(task, problems) })),
  };
  const overall = async (format: 'plain' | 'reversed' | undefined) => {
    const { outputs } = await runStageOnce(languageModelScore, store, {
      params: { task: 'mmlu', seed: 1, policy: 'locked', ...(format ? { format } : {}) },
      inputs,
    });
    const t = await store.readTable(outputs.scores);
    const domain = readStrings(t, 'domain');
    const half = readStrings(t, 'half');
    const i = [...t.toArray().keys()].find((k) => domain[k] === 'all' && half[k] === 'all')!;
    return { correct: readNumbers(t, 'correct')[i], format: readStrings(t, 'format')[i] };
  };
  const reversed = await overall('reversed');
  const plain = await overall('plain');
  expect(reversed).toMatchObject({ format: 'reversed' });
  expect(reversed.correct).toBeGreaterThan(0.8);
  expect(plain).toMatchObject({ format: 'plain' });
  expect(plain.correct).toBeLessThan(0.3);
  // No format given is the plain one.
  expect(await overall(undefined)).toEqual(plain);
});
