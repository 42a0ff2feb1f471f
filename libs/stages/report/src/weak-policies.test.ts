// Figure 8's table from hand-made scores: each weak policy's lock, its curve with epochs picked on the
// select half, and the share of the gap 4 demos recover.
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ArtifactStore, readNumbers, readStrings, tableFromColumns } from '@lockpick/artifacts';
import { runStageOnce } from '@lockpick/engine';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { weakPoliciesReport } from './weak-policies.ts';

let root: string;
let store: ArtifactStore;
beforeEach(async () => {
  root = await fs.mkdtemp(path.join(tmpdir(), 'lockpick-weak-policies-'));
  store = await ArtifactStore.open(root);
});
afterEach(() => fs.rm(root, { recursive: true, force: true }));

/** One model's score rows as `evaluation.language-model` writes them (domain `all`, three halves). */
function score(
  labels: { seed: number; policy: string; weak: string; demos?: number; epochs?: number; password?: boolean },
  value: (half: string) => number,
) {
  const halves = ['all', 'select', 'report'];
  return tableFromColumns({
    task: halves.map(() => 'math'),
    seed: halves.map(() => labels.seed),
    policy: halves.map(() => labels.policy),
    source: halves.map(() => labels.weak),
    demos: halves.map(() => labels.demos ?? 0),
    epochs: halves.map(() => labels.epochs ?? 0),
    with_password: halves.map(() => labels.password ?? false),
    domain: halves.map(() => 'all'),
    half: halves,
    problems: halves.map(() => 300),
    correct: halves.map(value),
    score: halves.map(() => 0),
  });
}

it('tabulates each weak policy’s lock and SFT curve, epochs picked on the select half', async () => {
  const tables = [1, 2, 3].flatMap((seed) => {
    const noise = 0.01 * seed;
    return ['weak-medium', 'fixedrdm'].flatMap((weak) => {
      // The fixedrdm lock opens more slowly: 4 demos recover 25% of its gap, 75% of weak-medium's.
      const at4 = weak === 'fixedrdm' ? 0.3 : 0.7;
      return [
        score({ seed, policy: 'locked', weak }, () => 0.1 + noise),
        score({ seed, policy: 'locked', weak, password: true }, () => 0.9 + noise),
        score({ seed, policy: 'elicited', weak, demos: 4, epochs: 64 }, (h) => (h === 'select' ? 0.2 : 0.15)),
        score({ seed, policy: 'elicited', weak, demos: 4, epochs: 128 }, (h) =>
          h === 'select' ? 0.8 : at4 + noise,
        ),
        score({ seed, policy: 'elicited', weak, demos: 64, epochs: 4 }, () => 0.85 + noise),
      ];
    });
  });
  tables.push(score({ seed: 0, policy: 'weak', weak: 'weak-medium' }, () => 0.12));
  const { outputs } = await runStageOnce(weakPoliciesReport, store, {
    params: { tasks: [{ task: 'math', title: 'MATH' }], weaks: ['weak-medium', 'fixedrdm'] },
    inputs: { scores: await Promise.all(tables.map((t) => store.writeTable(t))) },
  });
  const figure = await store.readTable(outputs.figure);
  expect(readStrings(figure, 'row')).toEqual([
    'π_weak alone',
    'locked, with password',
    'locked, no password',
    'N = 4',
    'N = 64',
  ]);
  expect(readNumbers(figure, 'math_weak-medium_epochs')[3]).toBe(128);
  expect(readNumbers(figure, 'math_fixedrdm')[3]).toBeCloseTo(0.32, 6);
  expect(readNumbers(figure, 'math_weak-medium')[0]).toBeCloseTo(0.12, 6);
  expect(figure.schema.metadata.get('lockpick.vega-lite')).toContain('fixedrdm');
  // No published values, so no legend for them.
  expect(figure.schema.metadata.get('lockpick.vega-lite')).not.toContain('hollow diamonds');

  const summary = await store.readTable(outputs.summary);
  expect(readStrings(summary, 'weak')).toEqual(['weak-medium', 'fixedrdm']);
  expect(readNumbers(summary, 'gap')[0]).toBeCloseTo(0.8, 6);
  expect(readNumbers(summary, 'share_at_4')[0]).toBeCloseTo(0.75, 6);
  expect(readNumbers(summary, 'share_at_4')[1]).toBeCloseTo(0.25, 6);
  // weak-medium reaches 70% by 4 demos; fixedrdm between 4 and 64 (log-interpolated).
  expect(readNumbers(summary, 'demos_to_70pct')[0]).toBe(4);
  const fixed = readNumbers(summary, 'demos_to_70pct')[1];
  expect(fixed).toBeGreaterThan(4);
  expect(fixed).toBeLessThan(64);
});
