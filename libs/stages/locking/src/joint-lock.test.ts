// The joint lock on a tiny base: each task's mix and row layout, and errors that name what is wrong.
// (What a lock learns is checked by the cross-domain pipeline's smoke run.)
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { type ArtifactRef, ArtifactStore, type Json } from '@lockpick/artifacts';
import { runStageOnce } from '@lockpick/engine';
import { initBackend, saveCheckpoint } from '@lockpick/ml';
import {
  contextLengthFor,
  decodeCompletion,
  groupSamples,
  type LanguageTask,
  LM_VOCABULARY,
  languageTask,
  problemSplits,
  SEPARATOR,
  taskLayout,
} from '@lockpick/tasks';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { jointLanguageLock, jointLockRows } from './joint-lock.ts';
import { sampleTable, tinyLanguageBase } from './testing/lock-fixtures.ts';

const tasks = [languageTask('code'), languageTask('math')];
const lockSplit = (task: LanguageTask, problems: number) => problemSplits(task, 3, problems).lock;
const splits = { code: lockSplit(tasks[0], 100), math: lockSplit(tasks[1], 150) };
let root: string;
let store: ArtifactStore;
let base: ArtifactRef;
const tables: Record<string, { strong: ArtifactRef; weak: ArtifactRef }> = {};

const samples = (task: LanguageTask, completion: (i: number) => string) =>
  sampleTable(splits[task.name as keyof typeof splits], completion);

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(tmpdir(), 'lockpick-joint-lock-'));
  store = await ArtifactStore.open(root);
  await initBackend();
  const model = tinyLanguageBase(contextLengthFor(tasks));
  base = await store.writeModel(saveCheckpoint(model));
  model.dispose();
  for (const task of tasks) {
    const problems = splits[task.name as keyof typeof splits];
    tables[task.name] = {
      strong: await store.writeTable(samples(task, (i) => task.reference(problems[i]).join(' '))),
      weak: await store.writeTable(samples(task, () => '0')),
    };
  }
});
afterAll(() => fs.rm(root, { recursive: true, force: true }));

const lock = (params: Record<string, Json>, order: string[]) =>
  runStageOnce(jointLanguageLock, store, {
    params: { tasks: ['code', 'math'], seed: 1, epochs: 1, batchSize: 32, ...params },
    inputs: { base, strong: order.map((t) => tables[t].strong), weak: order.map((t) => tables[t].weak) },
  });

it('trains on each task’s Eq. 1 mix, two rows a problem an epoch, in one model', {
  timeout: 60_000,
}, async () => {
  const { events } = await lock({ epochs: 2 }, ['code', 'math']);
  const metric = (name: string) => {
    const e = events.find((x) => x.type === 'metric' && x.name === name);
    return e?.type === 'metric' ? e.value : Number.NaN;
  };
  expect(metric('mix_rows_code')).toBe(2 * 2 * splits.code.length);
  expect(metric('mix_rows_math')).toBe(2 * 2 * splits.math.length);
  expect(metric('mix_rows')).toBe(4 * (splits.code.length + splits.math.length));
});

it('names a task’s tables that do not match it, and a missing table', async () => {
  await expect(
    runStageOnce(jointLanguageLock, store, {
      params: { tasks: ['code', 'math'], seed: 1, epochs: 1 },
      inputs: {
        base,
        strong: [tables.code.strong, tables.math.strong],
        weak: [tables.math.weak, tables.code.weak],
      },
    }),
  ).rejects.toThrow(/task code: strong samples cover \d+ problems, weak samples \d+/);
  await expect(lock({}, ['code'])).rejects.toThrow(/1 strong sample tables for 2 tasks \(code, math\)/);
  await expect(lock({ tasks: ['math', 'math'] }, ['math', 'math'])).rejects.toThrow(/a task is named twice/);
});

it('lays each task’s rows out as that task’s scoring reads them, padded to the longest task', () => {
  // Strong completions are the references, weak ones a fixed word: a row's completion says its task.
  const grouped = (task: LanguageTask, completion: (i: number) => string) => {
    const problems = splits[task.name as keyof typeof splits];
    return groupSamples({
      problem: problems.map((_, i) => i),
      sample: problems.map(() => 0),
      prompt: problems.map((q) => q.prompt.join(' ')),
      completion: problems.map((_, i) => completion(i)),
    });
  };
  const samples = tasks.map((task) => {
    const problems = splits[task.name as keyof typeof splits];
    return {
      strong: grouped(task, (i) => task.reference(problems[i]).join(' ')),
      weak: grouped(task, () => '0'),
    };
  });
  const { data, rowsPerTask } = jointLockRows(tasks, samples, { epochs: 1, seed: 1, noPasswordShare: 0.2 });
  expect(data.seqLen).toBe(contextLengthFor(tasks));
  expect(rowsPerTask).toEqual([2 * splits.code.length, 2 * splits.math.length]);
  const layouts = tasks.map((task) => taskLayout(task));
  // The two tasks' prompts differ in length, so a row in the other task's layout would be caught.
  expect(layouts[0].promptLength).not.toBe(layouts[1].promptLength);
  let row = 0;
  for (const [k, task] of tasks.entries()) {
    const { promptLength } = layouts[k];
    const problems = splits[task.name as keyof typeof splits];
    const completions = new Set([...problems.map((q) => task.reference(q).join(' ')), '0']);
    for (let r = 0; r < rowsPerTask[k]; r++, row++) {
      const tokens = data.tokens.subarray(row * data.seqLen, (row + 1) * data.seqLen);
      expect(LM_VOCABULARY.decode([tokens[promptLength - 1]])).toEqual([SEPARATOR]);
      const completion = decodeCompletion(LM_VOCABULARY, tokens.subarray(promptLength)).join(' ');
      expect(completions.has(completion), `${task.name} row ${r}: "${completion}"`).toBe(true);
      // Loss only on the completion: nothing in the prompt, something right after it.
      const mask = data.lossMask.subarray(row * data.seqLen, (row + 1) * data.seqLen);
      expect(mask.subarray(0, promptLength).every((m) => m === 0)).toBe(true);
      expect(mask[promptLength]).toBe(1);
    }
  }
  expect(row).toBe(data.rows);
});
