// The function-composition pipeline at smoke scale, end to end, and what a change of N's list reruns.
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ArtifactStore } from '@lockpick/artifacts';
import { planPipeline, type RunEvent, resolvePipeline, runPipeline } from '@lockpick/engine';
import { lastValueFrom, toArray } from 'rxjs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import functionComposition, { functionCompositionPipeline } from './function-composition.ts';

let root: string;
let store: ArtifactStore;
beforeAll(async () => {
  root = await fs.mkdtemp(path.join(tmpdir(), 'lockpick-fc-pipeline-'));
  store = await ArtifactStore.open(root);
});
afterAll(() => fs.rm(root, { recursive: true, force: true }));

const options = { scale: 'smoke', seeds: [7] };

it('runs the whole pipeline at smoke scale and tabulates every lock kind and N', {
  timeout: 180_000,
}, async () => {
  const resolved = resolvePipeline(functionComposition, options);
  const events: RunEvent[] = await lastValueFrom(
    runPipeline(resolved, store, { workers: false, jobs: 2 }).pipe(toArray()),
  );
  const failed = events.filter((e) => e.type === 'node-failed');
  expect(failed).toEqual([]);
  const done = events.filter((e) => e.type === 'node-done');
  expect(done).toHaveLength(resolved.nodes.length);
  const report = done.find((e) => e.type === 'node-done' && e.node === 'report');
  if (report?.type !== 'node-done') throw new Error('no report');
  const table = await store.readTable(report.outputs.table);
  expect(table.getChild('row')?.toArray()).toEqual([
    'locked, with password',
    'locked, no password',
    'N=2',
    'N=16',
  ]);
  expect(table.schema.names).toEqual(
    expect.arrayContaining(['scratch', 'scratch_ci95', 'scratch_paper', 'sft-128', 'sft-128_paper', 'seeds']),
  );
  expect(table.getChild('scratch_paper')?.get(3)).toBe(0.56);
});

it('reruns only elicitation, evaluation and the report when only the list of N changes', async () => {
  const changed = resolvePipeline(functionCompositionPipeline({ demos: [2, 4, 16] }), options);
  const plan = await planPipeline(changed, store);
  const toRun = plan.filter((e) => e.status === 'run');
  expect(toRun.map((e) => e.node).sort()).toEqual(
    [
      'report',
      'score-scratch-7-n4',
      'score-sft-128-7-n4',
      'unlock-scratch[seed=7,demos=4]',
      'unlock-sft-128[seed=7,demos=4]',
    ].sort(),
  );
  expect(new Set(toRun.map((e) => e.stage))).toEqual(
    new Set(['elicitation.composition-demos', 'evaluation.composition-model', 'report.composition-unlock']),
  );
});
