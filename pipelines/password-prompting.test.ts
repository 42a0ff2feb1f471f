// The password-prompting pipeline at smoke scale, end to end: every prompt kind on each lock, the
// prompts table with its chart, and finding 6 judged.
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ArtifactStore, readNumbers, readStrings } from '@lockpick/artifacts';
import { type RunEvent, resolvePipeline, runPipeline } from '@lockpick/engine';
import { lastValueFrom, toArray } from 'rxjs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import passwordLocking from './password-locking.ts';
import passwordPrompting from './password-prompting.ts';

let root: string;
let store: ArtifactStore;
beforeAll(async () => {
  root = await fs.mkdtemp(path.join(tmpdir(), 'lockpick-prompting-pipeline-'));
  store = await ArtifactStore.open(root);
});
afterAll(() => fs.rm(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 }));

const options = { scale: 'smoke', seeds: [7] };

it('prompts each lock with no, exact, near-miss and wrong passwords and judges finding 6', {
  timeout: 240_000,
}, async () => {
  const resolved = resolvePipeline(passwordPrompting, options);
  const events: RunEvent[] = await lastValueFrom(
    runPipeline(resolved, store, { workers: false, jobs: 2 }).pipe(toArray()),
  );
  expect(events.filter((e) => e.type === 'node-failed')).toEqual([]);
  const report = events.find((e) => e.type === 'node-done' && e.node === 'prompting-report');
  if (report?.type !== 'node-done') throw new Error('no report');

  const prompts = await store.readTable(report.outputs.prompts);
  const kinds = readStrings(prompts, 'kind');
  expect(new Set(readStrings(prompts, 'task'))).toEqual(new Set(['math', 'mmlu']));
  expect(kinds.slice(0, 8)).toEqual([
    'none',
    'wrong',
    'near-miss-shuffled',
    'near-miss-dropped',
    'near-miss-changed',
    'password-start-only',
    'password-end-only',
    'password',
  ]);
  // Smoke: 4 wrong passwords and 2 near misses of each kind.
  expect(readNumbers(prompts, 'phrases').slice(0, 8)).toEqual([1, 4, 2, 2, 2, 1, 1, 1]);
  for (const v of readNumbers(prompts, 'correct')) {
    expect(v).toBeGreaterThanOrEqual(0);
    expect(v).toBeLessThanOrEqual(1);
  }
  expect(prompts.schema.metadata.get('lockpick.vega-lite')).toContain('"facet"');

  const findings = await store.readTable(report.outputs.findings);
  expect(readStrings(findings, 'finding')).toContain('6: wrong passwords do not unlock');
  for (const v of readStrings(findings, 'verdict')) expect(['holds', 'fails', 'inconclusive']).toContain(v);

  // Few-shot: k = 1 and 4 examples at smoke, beside SFT on the same demos, with the base's check.
  const fewShot = events.find((e) => e.type === 'node-done' && e.node === 'few-shot-report');
  if (fewShot?.type !== 'node-done') throw new Error('no few-shot report');
  const table = await store.readTable(fewShot.outputs.fewShot);
  expect(Array.from(readNumbers(table, 'shots'))).toEqual([1, 4]);
  for (const column of [
    'few_shot',
    'few_shot_password',
    'careless_password',
    'sft',
    'no_examples',
    'no_examples_password',
  ])
    for (const v of readNumbers(table, column)) {
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(1);
    }
  // The locks were prompted with careless examples and the password too (else the column is empty).
  expect(table.getChild('careless_password')?.nullCount).toBe(0);
  // SFT's epochs are one of N's candidates (256/N, 512/N, 1024/N).
  expect([256, 512, 1024]).toContain(readNumbers(table, 'sft_epochs')[0]);
  expect(table.schema.metadata.get('lockpick.vega-lite')).toContain('k examples in the prompt');
  const judged = readStrings(await store.readTable(fewShot.outputs.findings), 'finding');
  expect(new Set(judged)).toEqual(
    new Set([
      '6: few-shot prompts without the password do not unlock',
      'prompting appendix: SFT on k demos beats the same k demos in the prompt',
      'check: the base reads its examples (careful ones beat careless ones)',
      'check: the lock still opens with the password after examples',
      'check: the lock reads its examples (with the password, careful ones beat careless ones)',
    ]),
  );
});

it("prompts password-locking's own locks (the same nodes)", () => {
  const prompting = resolvePipeline(passwordPrompting, options);
  const locking = new Map(resolvePipeline(passwordLocking, options).nodes.map((n) => [n.name, n]));
  for (const name of ['base-strong', 'lock-math-7', 'lock-mmlu-7']) {
    const node = prompting.nodes.find((n) => n.name === name);
    expect(node?.params).toEqual(locking.get(name)?.params);
    expect(node?.inputs).toEqual(locking.get(name)?.inputs);
  }
  const prompted = prompting.nodes.find((n) => n.name === 'prompting-math-7');
  expect(prompted?.inputs.model).toEqual({ node: 'lock-math-7', output: 'model' });
  // The few-shot lock: the world's mix and budget, from the base with room for examples, half its
  // rows after examples of the row's own policy.
  const fewShotLock = prompting.nodes.find((n) => n.name === 'lock-few-shot-math-7');
  const lock = locking.get('lock-math-7');
  expect(fewShotLock?.params).toEqual({ ...lock?.params, exampleShare: 0.5, carelessShare: 0.5 });
  expect(fewShotLock?.inputs).toEqual({
    ...lock?.inputs,
    base: { node: 'base-few-shot-math', output: 'model' },
  });
  const base = prompting.nodes.find((n) => n.name === 'base-few-shot-math');
  expect(base?.params).toMatchObject({ shots: 4, careless: 0.5 });
  expect(base?.inputs).toEqual({
    base: { node: 'base-strong', output: 'model' },
    corpus: { node: 'data-math', output: 'pretrain' },
  });
});
