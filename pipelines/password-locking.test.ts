// The password-locking pipeline at smoke scale, end to end, and what a change of N or of one demo
// source reruns.
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ArtifactStore, readStrings } from '@lockpick/artifacts';
import { planPipeline, type RunEvent, resolvePipeline, runPipeline } from '@lockpick/engine';
import { lastValueFrom, toArray } from 'rxjs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import passwordLocking, { passwordLockingPipeline } from './password-locking.ts';

let root: string;
let store: ArtifactStore;
beforeAll(async () => {
  root = await fs.mkdtemp(path.join(tmpdir(), 'lockpick-pl-pipeline-'));
  store = await ArtifactStore.open(root);
});
// Retries: a store write can still be settling when the suite ends (ENOTEMPTY seen once on a loaded machine).
afterAll(() => fs.rm(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 }));

const options = { scale: 'smoke', seeds: [7] };

it('runs the whole pipeline at smoke scale: Figure 3 rows and findings per task and source', {
  timeout: 240_000,
}, async () => {
  const resolved = resolvePipeline(passwordLocking, options);
  const events: RunEvent[] = await lastValueFrom(
    runPipeline(resolved, store, { workers: false, jobs: 2 }).pipe(toArray()),
  );
  expect(events.filter((e) => e.type === 'node-failed')).toEqual([]);
  const done = events.filter((e) => e.type === 'node-done');
  expect(done).toHaveLength(resolved.nodes.length);
  const report = done.find((e) => e.type === 'node-done' && e.node === 'report');
  if (report?.type !== 'node-done') throw new Error('no report');
  const figure = await store.readTable(report.outputs.figure);
  expect(readStrings(figure, 'row')).toEqual([
    'locked, with password',
    'locked, no password',
    'strong base, no password',
    'strong base, with password',
    'π_weak',
    'π_intermediate',
    'π_strong',
    'N=1',
    'N=4',
  ]);
  expect(figure.schema.names).toEqual(
    expect.arrayContaining(['math', 'math_ci95', 'math_paper', 'math_epochs', 'mmlu', 'mmlu_paper']),
  );
  // The paper's MATH value at 4 demos sits beside ours; epochs are one of App. G.3's candidates.
  const at4 = readStrings(figure, 'row').indexOf('N=4');
  expect(figure.getChild('math_paper')?.get(at4)).toBe(0.44);
  expect([64, 128, 256]).toContain(figure.getChild('math_epochs')?.get(at4));
  // The strong base is scored with and without the password.
  expect(figure.getChild('math')?.get(3)).toBeGreaterThanOrEqual(0);
  // A Vega-Lite chart of the figure, on a log2 N axis (drawn by `results` and `report`).
  expect(figure.schema.metadata.get('lockpick.vega-lite')).toContain('"type":"log","base":2');
  const findings = await store.readTable(report.outputs.findings);
  expect(readStrings(findings, 'source')).toEqual(['reference', 'weak', 'reference', 'weak']);
  expect(readStrings(findings, 'task')).toEqual(['math', 'math', 'mmlu', 'mmlu']);
});

it('reruns only the affected elicitation and evaluation nodes (and the report) when N or a source changes', async () => {
  const moreDemos = resolvePipeline(passwordLockingPipeline({ demos: [1, 2, 4] }), options);
  const toRun = (await planPipeline(moreDemos, store)).filter((e) => e.status === 'run');
  // N = 2 is new for the generation task (math); the classification task keeps its own list.
  expect(toRun.map((e) => e.node).sort()).toEqual(
    [
      'elicit-math-reference-7-n2',
      'report',
      'score-elicited-math-reference-7-n2-e128',
      'score-elicited-math-reference-7-n2-e256',
      'score-elicited-math-reference-7-n2-e512',
    ].sort(),
  );
  const newSource = resolvePipeline(
    passwordLockingPipeline({
      sources: [
        { source: 'reference', demos: 'all' },
        { source: 'weak', demos: [4] },
        { source: 'strong', demos: [4] },
      ],
    }),
    options,
  );
  const planned = (await planPipeline(newSource, store)).filter((e) => e.status === 'run');
  expect(new Set(planned.map((e) => e.stage))).toEqual(
    new Set([
      'datagen.language-samples',
      'elicitation.language-demos-epochs',
      'evaluation.language-model',
      'report.password-locking',
    ]),
  );
  // π_strong's samples on the demo pool (one node per task) are the only new data.
  expect(
    planned
      .filter((e) => e.stage === 'datagen.language-samples')
      .map((e) => e.node)
      .sort(),
  ).toEqual(['samples-strong-on-elicit-math', 'samples-strong-on-elicit-mmlu']);
});

it("builds each task's π_weak from its own weak base at the default scale (code from weak-small)", () => {
  const { nodes } = resolvePipeline(passwordLocking, { scale: 'default', seeds: [1] });
  const byName = new Map(nodes.map((n) => [n.name, n]));
  expect(byName.get('weak-code')?.inputs.base?.node).toBe('base-weak-small');
  expect(byName.get('weak-math')?.inputs.base?.node).toBe('base-weak-medium');
  // The lock imitates that π_weak's samples, and the report's π_weak is the same model.
  const lockWeak = byName.get('lock-code-1')?.inputs.weak?.node;
  expect(byName.get(lockWeak ?? '')?.inputs.model?.node).toBe('weak-code');
  expect(byName.has('score-weak-code')).toBe(true);
  expect(byName.get('score-weak-code')?.inputs.model?.node).toBe('weak-code');
});
