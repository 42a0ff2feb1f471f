import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ArtifactStore } from '@lockpick/artifacts';
import { runStageOnce } from '@lockpick/engine';
import * as arrow from 'apache-arrow';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { compositionUnlockTable } from './composition-unlock.ts';

let root: string;
let store: ArtifactStore;
beforeEach(async () => {
  root = await fs.mkdtemp(path.join(tmpdir(), 'lockpick-fc-report-'));
  store = await ArtifactStore.open(root);
});
afterEach(() => fs.rm(root, { recursive: true, force: true }));

const scores = (seed: number, lock: string, demos: number, withPassword: boolean, accuracy: number) =>
  store.writeTable(
    new arrow.Table({
      seed: arrow.vectorFromArray([seed], new arrow.Int32()),
      lock: arrow.vectorFromArray([lock], new arrow.Utf8()),
      demos: arrow.vectorFromArray([demos], new arrow.Int32()),
      with_password: arrow.vectorFromArray([withPassword], new arrow.Bool()),
      prompts: arrow.vectorFromArray([4096], new arrow.Int32()),
      token_accuracy: arrow.vectorFromArray([accuracy], new arrow.Float64()),
      exact_match: arrow.vectorFromArray([accuracy / 2], new arrow.Float64()),
    }),
  );

it('tabulates locked and unlocked correctness per lock kind, with intervals and the paper’s values', async () => {
  const inputs = [];
  for (const [seed, offset] of [
    [1, -0.01],
    [2, 0],
    [3, 0.01],
  ] as const) {
    inputs.push(await scores(seed, 'scratch', 0, true, 0.99 + offset));
    inputs.push(await scores(seed, 'scratch', 0, false, 0.2 + offset));
    inputs.push(await scores(seed, 'scratch', 2, false, 0.3 + offset));
    inputs.push(await scores(seed, 'sft', 2, false, 0.5));
  }
  const { outputs } = await runStageOnce(compositionUnlockTable, store, {
    params: {
      locks: [
        {
          lock: 'scratch',
          title: 'from scratch',
          published: [{ demos: 2, value: 0.19 }],
          publishedWithPassword: 1,
        },
        { lock: 'sft', title: 'via SFT' },
      ],
    },
    inputs: { scores: inputs },
  });
  const table = await store.readTable(outputs.table);
  expect(table.getChild('row')?.toArray()).toEqual(['locked, with password', 'locked, no password', 'N=2']);
  const col = (name: string) => Array.from({ length: table.numRows }, (_, i) => table.getChild(name)?.get(i));
  expect(col('scratch')).toEqual([0.99, 0.2, 0.3]);
  // t(2) = 4.303, sd = 0.01: half-width 4.303 · 0.01 / √3
  expect(col('scratch_ci95')[0]).toBeCloseTo((4.303 * 0.01) / Math.sqrt(3), 4);
  expect(col('scratch_paper')).toEqual([1, null, 0.19]);
  expect(col('sft')).toEqual([null, null, 0.5]);
  expect(col('sft_ci95')).toEqual([null, null, 0]);
  expect(col('seeds')).toEqual([3, 3, 3]);
  const summary = await store.readTable(outputs.summary);
  expect(summary.numRows).toBe(4);
  expect(summary.getChild('exact_match_mean')?.get(0)).toBeCloseTo(0.495, 6);
  expect((await store.readTable(outputs.rows)).numRows).toBe(12);
});
