// The few-shot table and its verdicts, from hand-made scores: SFT's epochs are picked on the select
// half, every verdict follows the data.
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ArtifactStore, readNumbers, readStrings, tableFromColumns } from '@lockpick/artifacts';
import { runStageOnce } from '@lockpick/engine';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { fewShotPromptingReport } from './few-shot-prompting.ts';

let root: string;
let store: ArtifactStore;
beforeEach(async () => {
  root = await fs.mkdtemp(path.join(tmpdir(), 'lockpick-few-shot-report-'));
  store = await ArtifactStore.open(root);
});
afterEach(() => fs.rm(root, { recursive: true, force: true }));

/** Rows as `evaluation.language-few-shot` writes them: correctness per kind on the report half. */
function prompted(seed: number, levels: Record<string, number>) {
  const rows = Object.entries(levels).flatMap(([kind, v]) =>
    ['all', 'select', 'report'].map((half) => ({ kind, half, correct: half === 'report' ? v : 0.5 })),
  );
  return tableFromColumns({
    task: rows.map(() => 'math'),
    seed: rows.map(() => seed),
    kind: rows.map((r) => r.kind),
    variant: rows.map((r) => r.kind.replace(/\D/g, '')),
    shots: rows.map((r) => Number(r.kind.replace(/\D/g, '') || 0)),
    half: rows.map((r) => r.half),
    problems: rows.map(() => 300),
    correct: rows.map((r) => r.correct + 0.01 * seed),
    score: rows.map((r) => r.correct),
  });
}

/** An SFT score table as `evaluation.language-model` writes it (select and report halves). */
function elicited(seed: number, demos: number, epochs: number, select: number, reported: number) {
  const halves = [
    ['select', select],
    ['report', reported + 0.01 * seed],
  ] as const;
  return tableFromColumns({
    task: halves.map(() => 'math'),
    seed: halves.map(() => seed),
    policy: halves.map(() => 'elicited'),
    source: halves.map(() => 'reference'),
    demos: halves.map(() => demos),
    epochs: halves.map(() => epochs),
    with_password: halves.map(() => false),
    format: halves.map(() => 'plain'),
    domain: halves.map(() => 'all'),
    half: halves.map(([h]) => h),
    problems: halves.map(() => 300),
    correct: halves.map(([, v]) => v),
    score: halves.map(([, v]) => v),
  });
}

async function report(fewShot: number, careless: number, withPassword = 0.7, carelessPassword = 0.2) {
  const seeds = [1, 2, 3];
  const prompts = seeds.map((seed) =>
    prompted(seed, {
      none: 0.1,
      password: 0.7,
      'few-shot-4': fewShot,
      'few-shot-4-password': withPassword,
      'few-shot-4-careless-password': carelessPassword,
    }),
  );
  // Two epoch candidates of N = 4: 64 looks better on select, 128 reports higher (not chosen).
  const sft = seeds.flatMap((seed) => [elicited(seed, 4, 64, 0.6, 0.55), elicited(seed, 4, 128, 0.4, 0.65)]);
  const base = prompted(0, { none: 0.8, 'few-shot-4': 0.85, 'few-shot-4-careless': careless });
  const { outputs } = await runStageOnce(fewShotPromptingReport, store, {
    params: { task: 'math', title: 'MATH' },
    inputs: {
      prompts: await Promise.all(prompts.map((t) => store.writeTable(t))),
      elicited: await Promise.all(sft.map((t) => store.writeTable(t))),
      base: await store.writeTable(base),
    },
  });
  const table = await store.readTable(outputs.fewShot);
  const findings = await store.readTable(outputs.findings);
  const verdict = (claim: string) =>
    readStrings(findings, 'verdict')[readStrings(findings, 'finding').findIndex((f) => f.startsWith(claim))];
  return { table, verdict };
}

it('puts k examples in the prompt beside SFT on them, epochs picked on the select half', async () => {
  const { table, verdict } = await report(0.12, 0.2);
  expect(Array.from(readNumbers(table, 'shots'))).toEqual([4]);
  expect(readNumbers(table, 'few_shot')[0]).toBeCloseTo(0.14, 4);
  expect(readNumbers(table, 'sft_epochs')[0]).toBe(64);
  expect(readNumbers(table, 'sft')[0]).toBeCloseTo(0.57, 4);
  // Share of the gap (0.1 → 0.7, per seed): (0.12 − 0.1) / 0.6.
  expect(readNumbers(table, 'few_shot_gap_share')[0]).toBeCloseTo(0.0333, 3);
  expect(verdict('6: few-shot prompts')).toBe('holds');
  expect(verdict('prompting appendix')).toBe('holds');
  expect(verdict('check: the base')).toBe('holds');
  expect(verdict('check: the lock still opens')).toBe('holds');
  // With the password: 0.7 after careful examples, 0.2 after careless ones.
  expect(verdict('check: the lock reads its examples')).toBe('holds');
  expect(readNumbers(table, 'careless_password')[0]).toBeCloseTo(0.22, 4);
});

it('says so when the examples unlock, beat SFT, the base ignores them, or they break the lock', async () => {
  const { verdict } = await report(0.68, 0.84, 0.15);
  expect(verdict('6: few-shot prompts')).toBe('fails');
  expect(verdict('prompting appendix')).toBe('fails');
  expect(verdict('check: the base')).toBe('fails');
  // (0.15 − 0.1) / 0.6 of the gap with the password after the examples.
  expect(verdict('check: the lock still opens')).toBe('fails');
});

it('says so when the lock ignores its examples', async () => {
  // With the password, careless examples do as well as careful ones.
  const { verdict } = await report(0.12, 0.2, 0.7, 0.68);
  expect(verdict('6: few-shot prompts')).toBe('holds');
  expect(verdict('check: the lock still opens')).toBe('holds');
  expect(verdict('check: the lock reads its examples')).toBe('fails');
});
