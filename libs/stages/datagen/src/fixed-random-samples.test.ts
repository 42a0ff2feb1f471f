import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ArtifactStore, readNumbers, readStrings } from '@lockpick/artifacts';
import { runStageOnce } from '@lockpick/engine';
import { LM_VOCABULARY, languageTask, problemSplits } from '@lockpick/tasks';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { fixedRandomSamples } from './fixed-random-samples.ts';
import { problemTable } from './language-tables.ts';

let root: string;
let store: ArtifactStore;
beforeEach(async () => {
  root = await fs.mkdtemp(path.join(tmpdir(), 'lockpick-fixedrdm-'));
  store = await ArtifactStore.open(root);
});
afterEach(() => fs.rm(root, { recursive: true, force: true }));

it('answers every problem with words of one fixed distribution, whatever the prompt, graded by the task', async () => {
  const task = languageTask('math');
  const problems = await store.writeTable(problemTable(task, problemSplits(task, 3, 200).lock));
  const run = async (seed: number) => {
    const { outputs } = await runStageOnce(fixedRandomSamples, store, {
      params: { task: 'math', seed, samples: 2 },
      inputs: { problems },
    });
    return store.readTable(outputs.samples);
  };
  const table = await run(1);
  expect(table.numRows).toBe(160);
  expect(readNumbers(table, 'sample').filter((s) => s === 1)).toHaveLength(80);
  const completions = readStrings(table, 'completion');
  for (const c of completions)
    for (const w of c.split(' ').filter(Boolean)) expect(LM_VOCABULARY.has(w)).toBe(true);
  expect(new Set(completions).size).toBeGreaterThan(100);
  // Random words almost never solve a math problem.
  expect(readNumbers(table, 'correct').reduce((a, b) => a + b, 0)).toBeLessThan(5);
  expect(readStrings(await run(1), 'completion')).toEqual(completions);
  expect(readStrings(await run(2), 'completion')).not.toEqual(completions);
});
