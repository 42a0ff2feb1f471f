// Figure 5's table and finding 5's verdicts, from hand-made score tables: a verdict follows the data.
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ArtifactStore, readNumbers, readStrings, tableFromColumns } from '@lockpick/artifacts';
import { runStageOnce } from '@lockpick/engine';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { rlElicitationReport } from './rl-elicitation.ts';

let root: string;
let store: ArtifactStore;
beforeEach(async () => {
  root = await fs.mkdtemp(path.join(tmpdir(), 'lockpick-rl-report-'));
  store = await ArtifactStore.open(root);
});
afterEach(() => fs.rm(root, { recursive: true, force: true }));

const seeds = [1, 2, 3];

/** Score rows as `evaluation.language-model` writes them (domain `all`, report half). */
function scores(
  rows: { seed: number; policy: string; weak: string; withPassword?: boolean; correct: number }[],
) {
  return tableFromColumns({
    task: rows.map(() => 'math'),
    seed: rows.map((r) => r.seed),
    policy: rows.map((r) => r.policy),
    source: rows.map((r) => r.weak),
    demos: rows.map(() => 0),
    epochs: rows.map(() => 0),
    with_password: rows.map((r) => r.withPassword ?? false),
    domain: rows.map(() => 'all'),
    half: rows.map(() => 'report'),
    problems: rows.map(() => 300),
    correct: rows.map((r) => r.correct),
    score: rows.map((r) => r.correct),
  });
}

async function report(eiOnDecent: number, filtering = 0.11) {
  const rows = seeds.flatMap((seed) =>
    ['weak-large', 'weak-small', 'fixedrdm'].flatMap((weak) => [
      { seed, policy: 'locked', weak, withPassword: true, correct: 0.9 },
      { seed, policy: 'locked', weak, correct: 0.1 },
      // Expert iteration recovers eiOnDecent of the gap from the decent π_weak's lock, nothing elsewhere.
      {
        seed,
        policy: 'expert-iteration',
        weak,
        correct: weak === 'weak-large' ? 0.1 + 0.8 * eiOnDecent + 0.01 * seed : 0.1,
      },
      { seed, policy: 'filtering', weak, correct: filtering + 0.001 * seed },
    ]),
  );
  const curve = tableFromColumns({
    task: ['math', 'math'],
    seed: [1, 1],
    method: ['expert-iteration', 'expert-iteration'],
    weak: ['weak-large', 'weak-large'],
    sft_epochs: [0, 0],
    round: [0, 5],
    samples: [0, 3200],
    reward: [Number.NaN, 0.5],
    correct: [0.1, 0.7],
    model_hash: ['a', 'b'],
    reference_hash: ['', ''],
  });
  const { outputs } = await runStageOnce(rlElicitationReport, store, {
    params: {
      tasks: [{ task: 'math', title: 'MATH' }],
      weaks: ['weak-large', 'weak-small', 'fixedrdm'],
      methods: ['expert-iteration', 'filtering'],
    },
    inputs: { scores: [await store.writeTable(scores(rows))], curves: [await store.writeTable(curve)] },
  });
  const findings = await store.readTable(outputs.findings);
  const verdict = (claim: string) =>
    readStrings(findings, 'verdict')[readStrings(findings, 'finding').indexOf(claim)];
  return { outputs, verdict };
}

it('tabulates Figure 5 per weak policy and judges finding 5 from the intervals', async () => {
  const { outputs, verdict } = await report(0.8);
  const figure = await store.readTable(outputs.figure);
  expect(readStrings(figure, 'weak')).toEqual(['weak-large', 'weak-small', 'fixedrdm']);
  expect(readNumbers(figure, 'locked_with')).toEqual([0.9, 0.9, 0.9]);
  expect(readNumbers(figure, 'expert-iteration_gap_share')[0]).toBeCloseTo(0.825, 3);
  expect(verdict('5: expert-iteration recovers most of the gap when π_weak is decent')).toBe('holds');
  expect(verdict('5: expert-iteration recovers little when π_weak is very poor')).toBe('holds');
  expect(verdict('5: expert-iteration recovers nothing from fixedrdm')).toBe('holds');
  expect(verdict('5: filtering stays near the locked level')).toBe('holds');
  const curves = await store.readTable(outputs.curves);
  expect(readNumbers(curves, 'samples')).toEqual([0, 3200]);
});

it('flips the verdict when expert iteration recovers little from the decent π_weak', async () => {
  const { verdict } = await report(0.2);
  expect(verdict('5: expert-iteration recovers most of the gap when π_weak is decent')).toBe('fails');
});

it('judges filtering near the lock on both sides: far below it is not near', async () => {
  expect((await report(0.8, 0.02)).verdict('5: filtering stays near the locked level')).toBe('fails');
  expect((await report(0.8, 0.2)).verdict('5: filtering stays near the locked level')).toBe('fails');
  expect((await report(0.8, 0.07)).verdict('5: filtering stays near the locked level')).toBe('holds');
});
