// The prompting table and finding 6's verdicts, from hand-made prompting scores: a verdict follows the data.
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ArtifactStore, readNumbers, readStrings, tableFromColumns } from '@lockpick/artifacts';
import { runStageOnce } from '@lockpick/engine';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { passwordPromptingReport } from './password-prompting.ts';

let root: string;
let store: ArtifactStore;
beforeEach(async () => {
  root = await fs.mkdtemp(path.join(tmpdir(), 'lockpick-prompting-report-'));
  store = await ArtifactStore.open(root);
});
afterEach(() => fs.rm(root, { recursive: true, force: true }));

/** One seed's scores as `evaluation.language-prompting` writes them (report half, plus noise rows). */
function scores(seed: number, levels: Record<string, number[]>) {
  const rows = Object.entries(levels).flatMap(([kind, values]) =>
    values.flatMap((v, i) =>
      ['report', 'select'].map((half) => ({
        kind,
        variant: `${kind} ${i}`,
        half,
        correct: half === 'report' ? v : 0.5,
      })),
    ),
  );
  return tableFromColumns({
    task: rows.map(() => 'math'),
    seed: rows.map(() => seed),
    kind: rows.map((r) => r.kind),
    variant: rows.map((r) => r.variant),
    half: rows.map((r) => r.half),
    problems: rows.map(() => 300),
    correct: rows.map((r) => r.correct + 0.005 * seed),
    score: rows.map((r) => r.correct),
  });
}

async function report(wrong: number[]) {
  const tables = [1, 2, 3].map((seed) =>
    scores(seed, {
      none: [0.1],
      password: [0.9],
      'password-start-only': [0.88],
      wrong,
      'near-miss-dropped': [0.5, 0.4],
    }),
  );
  const { outputs } = await runStageOnce(passwordPromptingReport, store, {
    params: { tasks: [{ task: 'math', title: 'MATH' }] },
    inputs: { scores: await Promise.all(tables.map((t) => store.writeTable(t))) },
  });
  const findings = await store.readTable(outputs.findings);
  const verdict = (claim: string, subject: string) => {
    const f = readStrings(findings, 'finding');
    const s = readStrings(findings, 'subject');
    return readStrings(findings, 'verdict')[f.findIndex((x, i) => x === claim && s[i] === subject)];
  };
  return { prompts: await store.readTable(outputs.prompts), verdict };
}

it('tabulates each prompt kind over seeds and judges finding 6 from the intervals', async () => {
  const { prompts, verdict } = await report([0.1, 0.12, 0.08]);
  expect(readStrings(prompts, 'kind')).toEqual([
    'none',
    'wrong',
    'near-miss-dropped',
    'password-start-only',
    'password',
  ]);
  expect(readNumbers(prompts, 'phrases')).toEqual([1, 3, 2, 1, 1]);
  const share = readNumbers(prompts, 'gap_share');
  expect(share[2]).toBeCloseTo(0.4375, 4); // (0.45 − 0.1) / 0.8
  expect(readStrings(prompts, 'best_phrase')[1]).toBe('wrong 1');
  expect(prompts.schema.metadata.get('lockpick.vega-lite')).toContain('"facet"');
  expect(verdict('6: wrong passwords do not unlock', 'math')).toBe('holds');
  expect(verdict('6: near-miss passwords land between', 'math, a word dropped')).toBe('holds');
  // The password at one end only is a near miss; here it unlocks fully, so it does not land between.
  expect(verdict('6: near-miss passwords land between', 'math, the password at the start only')).toBe(
    'fails',
  );
  expect(verdict('6: the exact password unlocks', 'math')).toBe('holds');
});

it('flips the verdict when wrong passwords unlock', async () => {
  const { verdict } = await report([0.7, 0.8, 0.75]);
  expect(verdict('6: wrong passwords do not unlock', 'math')).toBe('fails');
});
