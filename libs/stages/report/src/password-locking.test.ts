import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ArtifactStore, readNumbers, readStrings, tableFromColumns } from '@lockpick/artifacts';
import { runStageOnce } from '@lockpick/engine';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { demosToReach, passwordLockingReport } from './password-locking.ts';

let root: string;
let store: ArtifactStore;
beforeEach(async () => {
  root = await fs.mkdtemp(path.join(tmpdir(), 'lockpick-pl-report-'));
  store = await ArtifactStore.open(root);
});
afterEach(() => fs.rm(root, { recursive: true, force: true }));

it('interpolates the demos needed on the log2 N axis', () => {
  const curve = [
    { demos: 1, value: 0.2 },
    { demos: 4, value: 0.6 },
    { demos: 16, value: 0.8 },
  ];
  expect(demosToReach(curve, 0.1)).toBe(1);
  expect(demosToReach(curve, 0.7)).toBeCloseTo(8, 6);
  expect(demosToReach(curve, 0.9)).toBeNull();
});

/** One evaluation table as `evaluation.language-model` writes it (domain `all`, both halves). */
function scores(row: {
  seed: number;
  policy: string;
  source?: string;
  demos?: number;
  epochs?: number;
  password?: boolean;
  select: number;
  report: number;
}) {
  return store.writeTable(
    tableFromColumns({
      task: ['math', 'math'],
      seed: [row.seed, row.seed],
      policy: [row.policy, row.policy],
      source: [row.source ?? '', row.source ?? ''],
      demos: [row.demos ?? 0, row.demos ?? 0],
      epochs: [row.epochs ?? 0, row.epochs ?? 0],
      with_password: [row.password ?? false, row.password ?? false],
      domain: ['all', 'all'],
      half: ['select', 'report'],
      problems: [50, 50],
      correct: [row.select, row.report],
      score: [row.select, row.report],
    }),
  );
}

it('picks epochs on the select half, reads the report half, and measures the gap recovered', async () => {
  const refs = [];
  for (const seed of [1, 2]) {
    refs.push(await scores({ seed, policy: 'locked', password: true, select: 0.8, report: 0.8 }));
    refs.push(await scores({ seed, policy: 'locked', select: 0.1, report: 0.1 }));
    // Epochs 64 look best on the select half; 256 would look best on the report half.
    refs.push(
      await scores({
        seed,
        policy: 'elicited',
        source: 'reference',
        demos: 4,
        epochs: 64,
        select: 0.7,
        report: 0.66,
      }),
    );
    refs.push(
      await scores({
        seed,
        policy: 'elicited',
        source: 'reference',
        demos: 4,
        epochs: 256,
        select: 0.5,
        report: 0.79,
      }),
    );
    refs.push(
      await scores({
        seed,
        policy: 'elicited',
        source: 'weak',
        demos: 4,
        epochs: 64,
        select: 0.12,
        report: 0.12,
      }),
    );
  }
  refs.push(await scores({ seed: 0, policy: 'weak', select: 0.1, report: 0.1 }));
  refs.push(await scores({ seed: 0, policy: 'base', select: 0.9, report: 0.88 }));
  refs.push(await scores({ seed: 0, policy: 'base', password: true, select: 0.8, report: 0.86 }));
  const { outputs } = await runStageOnce(passwordLockingReport, store, {
    params: {
      tasks: [
        {
          task: 'math',
          title: 'MATH',
          kind: 'generation',
          paper: { withPassword: 0.51, withoutPassword: 0.04, demos: [{ demos: 4, value: 0.44 }] },
        },
      ],
      sources: ['reference', 'weak'],
    },
    inputs: { scores: refs },
  });
  const figure = await store.readTable(outputs.figure);
  const rows = readStrings(figure, 'row');
  const at4 = rows.indexOf('N=4');
  expect(readNumbers(figure, 'math')[at4]).toBeCloseTo(0.66, 6);
  expect(readNumbers(figure, 'math_epochs')[at4]).toBe(64);
  expect(readNumbers(figure, 'math_paper')[at4]).toBe(0.44);
  expect(readNumbers(figure, 'math')[rows.indexOf('locked, with password')]).toBeCloseTo(0.8, 6);
  expect(readNumbers(figure, 'math')[rows.indexOf('π_weak')]).toBeCloseTo(0.1, 6);
  expect(readNumbers(figure, 'math')[rows.indexOf('strong base, no password')]).toBeCloseTo(0.88, 6);
  expect(readNumbers(figure, 'math')[rows.indexOf('strong base, with password')]).toBeCloseTo(0.86, 6);
  const findings = await store.readTable(outputs.findings);
  expect(readStrings(findings, 'source')).toEqual(['reference', 'weak']);
  // (0.66 − 0.1) / (0.8 − 0.1) = 0.8 of the gap: finding 1 holds; weak demos stay within 0.05.
  expect(readNumbers(findings, 'recovered_at_4')[0]).toBeCloseTo(0.8, 4);
  expect(readStrings(findings, 'verdict')).toEqual(['holds', 'holds']);
});
