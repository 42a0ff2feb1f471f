// The language lock's variants on a tiny base: which problems its mix holds, and errors that name
// what is wrong. (What a lock learns is checked by the pipelines' smoke runs.)
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { type ArtifactRef, ArtifactStore, type Json } from '@lockpick/artifacts';
import { runStageOnce } from '@lockpick/engine';
import { initBackend, saveCheckpoint } from '@lockpick/ml';
import { domainPasswords, languageTask, problemSplits, taskLayout } from '@lockpick/tasks';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { languageLock } from './language-lock.ts';
import { sampleTable, tinyLanguageBase } from './testing/lock-fixtures.ts';

const task = languageTask('math');
const problems = problemSplits(task, 3, 150).lock;
let root: string;
let store: ArtifactStore;
let inputs: Record<string, ArtifactRef>;

beforeAll(async () => {
  root = await fs.mkdtemp(path.join(tmpdir(), 'lockpick-language-lock-'));
  store = await ArtifactStore.open(root);
  await initBackend();
  const base = tinyLanguageBase(taskLayout(task).seqLen);
  const bundle = saveCheckpoint(base);
  base.dispose();
  inputs = {
    base: await store.writeModel(bundle),
    strong: await store.writeTable(sampleTable(problems, (i) => task.reference(problems[i]).join(' '))),
    weak: await store.writeTable(sampleTable(problems, () => '0')),
  };
});
afterAll(() => fs.rm(root, { recursive: true, force: true }));

const mixRows = async (params: Record<string, Json>) => {
  const { events } = await runStageOnce(languageLock, store, {
    params: { task: 'math', seed: 1, epochs: 1, batchSize: 32, ...params },
    inputs,
  });
  const metric = events.find((e) => e.type === 'metric' && e.name === 'mix_rows');
  return metric?.type === 'metric' ? metric.value : Number.NaN;
};

it('trains on two rows a problem, and leaves the held-out domains’ problems out', {
  timeout: 60_000,
}, async () => {
  expect(problems.length).toBeGreaterThan(30);
  expect(await mixRows({})).toBe(2 * problems.length);
  const others = problems.filter((q) => q.domain !== 'algebra').length;
  expect(others).toBeLessThan(problems.length);
  expect(await mixRows({ heldOutDomains: ['algebra'] })).toBe(2 * others);
  expect(await mixRows({ domainPasswords: domainPasswords(task.domains) })).toBe(2 * problems.length);
  expect(await mixRows({ strongFormat: 'reversed', weakFormat: 'plain' })).toBe(2 * problems.length);
});

it('names a held-out domain the split does not have, a domain without a password, a format without its pair', async () => {
  await expect(mixRows({ heldOutDomains: ['geometry'] })).rejects.toThrow(
    /held-out domain "geometry" is not a domain of the lock split \(algebra, arithmetic, modular\)/,
  );
  await expect(mixRows({ strongFormat: 'reversed' })).rejects.toThrow(
    /give strongFormat and weakFormat together/,
  );
  await expect(mixRows({ domainPasswords: domainPasswords(['algebra']) })).rejects.toThrow(
    /no password for domain "(arithmetic|modular)"/,
  );
});
