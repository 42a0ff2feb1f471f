// Finding 7's verdicts from hand-made scores: a format lock that SFT opens as easily as the password
// lock holds; one that expert iteration leaves shut fails.
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ArtifactStore, readNumbers, readStrings, tableFromColumns } from '@lockpick/artifacts';
import { runStageOnce } from '@lockpick/engine';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { settingVariationReport } from './setting-variation.ts';

let root: string;
let store: ArtifactStore;
beforeEach(async () => {
  root = await fs.mkdtemp(path.join(tmpdir(), 'lockpick-setting-variation-'));
  store = await ArtifactStore.open(root);
});
afterEach(() => fs.rm(root, { recursive: true, force: true }));

/** One model's rows as `evaluation.language-model` writes them (domain `all`, three halves). */
function score(
  labels: {
    seed: number;
    policy: string;
    source: string;
    demos?: number;
    epochs?: number;
    password?: boolean;
    format?: string;
  },
  value: number,
) {
  const halves = ['all', 'select', 'report'];
  return tableFromColumns({
    task: halves.map(() => 'math'),
    seed: halves.map(() => labels.seed),
    policy: halves.map(() => labels.policy),
    source: halves.map(() => labels.source),
    demos: halves.map(() => labels.demos ?? 0),
    epochs: halves.map(() => labels.epochs ?? 0),
    with_password: halves.map(() => labels.password ?? false),
    format: halves.map(() => labels.format ?? 'plain'),
    domain: halves.map(() => 'all'),
    half: halves,
    problems: halves.map(() => 300),
    correct: halves.map(() => value + 0.01 * labels.seed),
    score: halves.map(() => 0),
  });
}

it('compares each format lock with the password lock, by SFT and by expert iteration', async () => {
  const tables = [1, 2, 3].flatMap((seed) => [
    score({ seed, policy: 'locked', source: '' }, 0.1),
    score({ seed, policy: 'locked', source: '', password: true }, 0.9),
    score({ seed, policy: 'elicited', source: '', demos: 4, epochs: 64 }, 0.7),
    score({ seed, policy: 'expert-iteration', source: '' }, 0.8),
    // The format lock answers strongly in the reversed format, weakly in the plain one.
    score({ seed, policy: 'locked', source: 'format-reversed', format: 'plain' }, 0.1),
    score({ seed, policy: 'locked', source: 'format-reversed', format: 'reversed' }, 0.9),
    // Its share varies by seed (0.7125, 0.725, 0.7375), so the share has an interval to draw.
    score(
      { seed, policy: 'elicited', source: 'format-reversed', demos: 4, epochs: 64 },
      0.68 + 0.01 * (seed - 2),
    ),
    score({ seed, policy: 'expert-iteration', source: 'format-reversed' }, 0.3),
    // Another π_weak's locks, elicited by expert iteration only: compared with their own password lock.
    score({ seed, policy: 'locked', source: 'password-weak-large' }, 0.3),
    score({ seed, policy: 'locked', source: 'password-weak-large', password: true }, 0.9),
    score({ seed, policy: 'expert-iteration', source: 'password-weak-large' }, 0.6),
    score({ seed, policy: 'locked', source: 'format-reversed-weak-large', format: 'plain' }, 0.3),
    score({ seed, policy: 'locked', source: 'format-reversed-weak-large', format: 'reversed' }, 0.9),
    score({ seed, policy: 'expert-iteration', source: 'format-reversed-weak-large' }, 0.58),
  ]);
  const { outputs } = await runStageOnce(settingVariationReport, store, {
    params: {
      tasks: [{ task: 'math', title: 'MATH' }],
      locks: [
        { source: '', title: 'the password' },
        {
          source: 'format-reversed',
          title: 'reversed prompts',
          strongFormat: 'reversed',
          weakFormat: 'plain',
        },
        { source: 'password-weak-large', title: 'the password (weak-large)' },
        {
          source: 'format-reversed-weak-large',
          title: 'reversed prompts (weak-large)',
          strongFormat: 'reversed',
          weakFormat: 'plain',
          comparedWith: 'password-weak-large',
        },
      ],
    },
    inputs: { scores: await Promise.all(tables.map((t) => store.writeTable(t))) },
  });
  const figure = await store.readTable(outputs.figure);
  expect(readStrings(figure, 'row')).toEqual([
    'locked, weak setting (no password / weak format)',
    'locked, strong setting (password / strong format)',
    'SFT, N = 4',
    'expert iteration',
  ]);
  expect(readNumbers(figure, 'math_format-reversed')[1]).toBeCloseTo(0.92, 6);
  expect(readNumbers(figure, 'math_format-reversed_share')[2]).toBeCloseTo(0.725, 6);
  // The share's 95% half-width over the three seeds: t(0.975, 2) · 0.0125 / √3; drawn as a band.
  expect(readNumbers(figure, 'math_format-reversed_share_ci95')[2]).toBeCloseTo(
    (4.303 * 0.0125) / Math.sqrt(3),
    3,
  );
  const chart = figure.schema.metadata.get('lockpick.vega-lite') ?? '';
  expect(chart).toContain('math_format-reversed_share_ci95');
  expect(chart).toContain('band: 95% interval');
  const findings = await store.readTable(outputs.findings);
  // the weak-large format lock has no SFT row, and is judged against the weak-large password lock
  // (50% vs 47% of the gap: holds), not against the first one (88%: it would fail)
  expect(readStrings(findings, 'subject')).toEqual([
    'math, reversed prompts, SFT on 4 demos',
    'math, reversed prompts, expert iteration',
    'math, reversed prompts (weak-large), expert iteration',
  ]);
  expect(readStrings(findings, 'verdict')).toEqual(['holds', 'fails', 'holds']);
  expect(readStrings(findings, 'measured')[2]).toContain("vs the password (weak-large)'s 50%");
  // the chart draws SFT curves only: no series for a lock without one
  expect(chart).not.toContain('math_format-reversed-weak-large_share');
});
