import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ArtifactStore, readNumbers, readStrings } from '@lockpick/artifacts';
import { runStageOnce } from '@lockpick/engine';
import { languageTask, problemSplits } from '@lockpick/tasks';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { languageFormat } from './language-format.ts';
import { languageSubset } from './language-subset.ts';
import { problemTable } from './language-tables.ts';

let root: string;
let store: ArtifactStore;
beforeEach(async () => {
  root = await fs.mkdtemp(path.join(tmpdir(), 'lockpick-subset-'));
  store = await ArtifactStore.open(root);
});
afterEach(() => fs.rm(root, { recursive: true, force: true }));

it('keeps exactly the rows of the asked domains or difficulties, in order, with every column', async () => {
  const task = languageTask('math');
  const full = problemTable(task, problemSplits(task, 3, 300).elicit);
  const problems = await store.writeTable(full);
  const subset = async (by: 'domain' | 'difficulty', values: string[]) => {
    const { outputs } = await runStageOnce(languageSubset, store, {
      params: { by, values },
      inputs: { table: problems },
    });
    return store.readTable(outputs.table);
  };
  const domains = readStrings(full, 'domain');
  const prompts = readStrings(full, 'prompt');

  const algebra = await subset('domain', ['algebra']);
  expect(algebra.schema.names).toEqual(full.schema.names);
  expect(readStrings(algebra, 'domain').every((d) => d === 'algebra')).toBe(true);
  expect(readStrings(algebra, 'prompt')).toEqual(prompts.filter((_, i) => domains[i] === 'algebra'));
  expect(algebra.numRows).toBeGreaterThan(10);

  const two = await subset('domain', ['algebra', 'modular']);
  expect(two.numRows).toBe(domains.filter((d) => d !== 'arithmetic').length);

  const hard = await subset('difficulty', ['3']);
  const levels = readNumbers(full, 'difficulty');
  expect(hard.numRows).toBe(levels.filter((l) => l === 3).length);
  expect(readNumbers(hard, 'difficulty').every((l) => l === 3)).toBe(true);
});

it('fails with the values the table has when no row matches', async () => {
  const task = languageTask('math');
  const problems = await store.writeTable(problemTable(task, problemSplits(task, 3, 100).elicit));
  await expect(
    runStageOnce(languageSubset, store, {
      params: { by: 'domain', values: ['geometry'] },
      inputs: { table: problems },
    }),
  ).rejects.toThrow(/no row has domain geometry \(the table has algebra, arithmetic, modular\)/);
});

it('rewrites only the prompts into a format, and back', async () => {
  const task = languageTask('math');
  const full = problemTable(task, problemSplits(task, 3, 100).elicit);
  const format = async (table: Awaited<ReturnType<ArtifactStore['writeTable']>>, f: 'plain' | 'reversed') => {
    const { outputs } = await runStageOnce(languageFormat, store, {
      params: { format: f },
      inputs: { table },
    });
    return outputs.table;
  };
  const reversedRef = await format(await store.writeTable(full), 'reversed');
  const reversed = await store.readTable(reversedRef);
  expect(reversed.schema.names).toEqual(full.schema.names);
  expect(readStrings(reversed, 'reference')).toEqual(readStrings(full, 'reference'));
  expect(readStrings(reversed, 'prompt')).toEqual(
    readStrings(full, 'prompt').map((p) => p.split(' ').reverse().join(' ')),
  );
  const back = await store.readTable(await format(reversedRef, 'reversed'));
  expect(readStrings(back, 'prompt')).toEqual(readStrings(full, 'prompt'));
});
