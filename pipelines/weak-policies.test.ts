// The weak-policies pipeline (Figure 8) at smoke scale, end to end, and its reuse of the nodes
// password-locking and rl-elicitation make.
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ArtifactStore, readNumbers, readStrings } from '@lockpick/artifacts';
import { type RunEvent, resolvePipeline, runPipeline } from '@lockpick/engine';
import { lastValueFrom, toArray } from 'rxjs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import passwordLocking from './password-locking.ts';
import rlElicitation from './rl-elicitation.ts';
import weakPolicies from './weak-policies.ts';

let root: string;
let store: ArtifactStore;
beforeAll(async () => {
  root = await fs.mkdtemp(path.join(tmpdir(), 'lockpick-weak-policies-pipeline-'));
  store = await ArtifactStore.open(root);
});
afterAll(() => fs.rm(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 }));

const options = { scale: 'smoke', seeds: [7] };

it('unlocks the lock of each weak policy by SFT and tabulates the curves', { timeout: 240_000 }, async () => {
  const events: RunEvent[] = await lastValueFrom(
    runPipeline(resolvePipeline(weakPolicies, options), store, { workers: false, jobs: 2 }).pipe(toArray()),
  );
  expect(events.filter((e) => e.type === 'node-failed')).toEqual([]);
  const report = events.find((e) => e.type === 'node-done' && e.node === 'weak-policies-report');
  if (report?.type !== 'node-done') throw new Error('no report');
  const figure = await store.readTable(report.outputs.figure);
  expect(readStrings(figure, 'row')).toEqual([
    'π_weak alone',
    'locked, with password',
    'locked, no password',
    'N = 4',
  ]);
  expect([64, 128, 256]).toContain(readNumbers(figure, 'math_fixedrdm_epochs')[3]);
  const summary = await store.readTable(report.outputs.summary);
  expect(readStrings(summary, 'weak')).toEqual(['weak-medium', 'fixedrdm']);
});

it("reuses password-locking's SFT nodes for its π_weak and rl-elicitation's locks and scores", () => {
  const weak = resolvePipeline(weakPolicies, options).nodes;
  const locking = new Map(resolvePipeline(passwordLocking, options).nodes.map((n) => [n.name, n]));
  const rl = new Map(resolvePipeline(rlElicitation, options).nodes.map((n) => [n.name, n]));
  const same = (name: string, other: Map<string, (typeof weak)[number]>) => {
    const node = weak.find((n) => n.name === name);
    expect(node, name).toBeDefined();
    expect(node?.params).toEqual(other.get(name)?.params);
    expect(node?.inputs).toEqual(other.get(name)?.inputs);
  };
  same('elicit-math-reference-7-n4', locking);
  same('lock-fixedrdm-math-7', rl);
  same('score-rl-locked-fixedrdm-math-7', rl);
  same('score-rl-weak-weak-medium-math', rl);
  expect(weak.find((n) => n.name === 'elicit-math-reference-fixedrdm-7-n4')?.inputs.model).toEqual({
    node: 'lock-fixedrdm-math-7',
    output: 'model',
  });
});
