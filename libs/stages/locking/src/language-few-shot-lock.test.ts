// The few-shot lock on a tiny base with room for 4 examples: its mix, what it saves, and errors that
// name what is wrong. (What such a lock learns is measured by the password-prompting pipeline.)
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { type ArtifactRef, ArtifactStore, type Json } from '@lockpick/artifacts';
import { runStageOnce } from '@lockpick/engine';
import { initBackend, loadTransformer, saveCheckpoint, withRoomBeforeRows } from '@lockpick/ml';
import { exampleTokens, languageTask, problemSplits, taskLayout } from '@lockpick/tasks';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { languageFewShotLock } from './language-few-shot-lock.ts';
import { sampleTable, tinyLanguageBase } from './testing/lock-fixtures.ts';

const task = languageTask('math');
const problems = problemSplits(task, 3, 150).lock;
const room = 4 * exampleTokens(task);
let root: string;
let store: ArtifactStore;
let inputs: Record<string, ArtifactRef>;
let roomless: ArtifactRef;

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(tmpdir(), 'lockpick-few-shot-lock-'));
  store = await ArtifactStore.open(root);
  await initBackend();
  const base = tinyLanguageBase(taskLayout(task).seqLen);
  const wider = withRoomBeforeRows(base, room, 1);
  roomless = await store.writeModel(saveCheckpoint(base));
  inputs = {
    base: await store.writeModel(saveCheckpoint(wider)),
    strong: await store.writeTable(sampleTable(problems, (i) => task.reference(problems[i]).join(' '))),
    weak: await store.writeTable(sampleTable(problems, () => 'answer 0')),
  };
  base.dispose();
  wider.dispose();
});
afterAll(() => fs.rm(root, { recursive: true, force: true }));

const lock = (params: Record<string, Json>, base?: ArtifactRef) =>
  runStageOnce(languageFewShotLock, store, {
    params: { task: 'math', seed: 1, epochs: 1, batchSize: 32, ...params },
    inputs: { ...inputs, ...(base ? { base } : {}) },
  });
const metric = (events: Awaited<ReturnType<typeof lock>>['events'], name: string) => {
  const found = events.find((e) => e.type === 'metric' && e.name === name);
  return found?.type === 'metric' ? found.value : Number.NaN;
};

it('locks on two rows a problem, the share asked of them after examples, and keeps the room', {
  timeout: 120_000,
}, async () => {
  const { events, outputs } = await lock({ exampleShare: 0.5 });
  const rows = metric(events, 'mix_rows');
  expect(rows).toBe(2 * problems.length);
  const withExamples = metric(events, 'rows_with_examples');
  expect(withExamples / rows).toBeGreaterThan(0.35);
  expect(withExamples / rows).toBeLessThan(0.65);
  // 1 … 4 examples a row: 2.5 on average.
  expect(metric(events, 'examples') / withExamples).toBeGreaterThan(2);
  expect(metric(events, 'examples') / withExamples).toBeLessThan(3);
  const model = loadTransformer(await store.readModel(outputs.model));
  expect(model.config.rowStart).toBe(room);
  // It trained: the weights moved from the base's.
  const base = loadTransformer(await store.readModel(inputs.base));
  const moved = (name: string) => {
    const a = model.params.get(name).dataSync();
    const b = base.params.get(name).dataSync();
    return Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i])));
  };
  expect(moved('wte')).toBeGreaterThan(1e-5);
  model.dispose();
  base.dispose();
  const none = await lock({ exampleShare: 0 });
  expect(metric(none.events, 'rows_with_examples')).toBe(0);
  // The examples reach training: without them the lock comes out another model.
  expect(none.outputs.model.hash).not.toBe(outputs.model.hash);
  // Careless episodes only when asked, and then among the rows without the password (half the mix).
  expect(metric(events, 'careless_rows')).toBe(0);
  const careless = await lock({ exampleShare: 0.5, carelessShare: 1 });
  const carelessRows = metric(careless.events, 'careless_rows');
  expect(carelessRows / withExamples).toBeGreaterThan(0.35);
  expect(carelessRows / withExamples).toBeLessThan(0.65);
  expect(careless.outputs.model.hash).not.toBe(outputs.model.hash);
});

it('names a base without room and says what to give', async () => {
  await expect(lock({}, roomless)).rejects.toThrow(
    /the base has no room for whole math examples \(rowStart 0.*give a base from training\.language-few-shot-pretrain/,
  );
});
