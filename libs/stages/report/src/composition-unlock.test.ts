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

/** Three seeds of one lock kind: locked with / without password, then one value per N. */
async function lockRows(lock: string, curve: Record<number, number>, withPw = 0.99, without = 0.2) {
  const refs = [];
  for (const [seed, jitter] of [
    [1, -0.005],
    [2, 0],
    [3, 0.005],
  ] as const) {
    refs.push(await scores(seed, lock, 0, true, withPw + jitter));
    refs.push(await scores(seed, lock, 0, false, without + jitter));
    for (const [n, value] of Object.entries(curve))
      refs.push(await scores(seed, lock, Number(n), false, value + jitter));
  }
  return refs;
}

const locks = [
  { lock: 'scratch', title: 'from scratch', publishedWithoutPassword: 0.18 },
  { lock: 'sft-40000', title: 'via SFT', publishedWithoutPassword: 0.18 },
];

it('judges the paper’s findings from the numbers, and the verdicts follow the data', async () => {
  const judge = async (scratchCurve: Record<number, number>, sftCurve: Record<number, number>) => {
    const { outputs } = await runStageOnce(compositionUnlockTable, store, {
      params: { locks },
      inputs: {
        scores: [...(await lockRows('scratch', scratchCurve)), ...(await lockRows('sft-40000', sftCurve))],
      },
    });
    const t = await store.readTable(outputs.findings);
    const col = (name: string) =>
      Array.from({ length: t.numRows }, (_, i) => String(t.getChild(name)?.get(i)));
    return {
      finding: col('finding'),
      subject: col('subject'),
      verdict: col('verdict'),
      measured: col('measured'),
    };
  };
  // Both unlock by N = 256; from scratch reaches 0.9 at N ≈ 128, via SFT at N ≈ 16: 8× more demos.
  const good = await judge(
    { 2: 0.3, 16: 0.5, 128: 0.9, 256: 0.99 },
    { 2: 0.5, 16: 0.9, 128: 0.97, 256: 0.99 },
  );
  expect(good.finding).toEqual([
    'the lock holds: strong with the password, π_weak-like without it',
    'unlocking with enough demos recovers the capability',
    'the lock holds: strong with the password, π_weak-like without it',
    'unlocking with enough demos recovers the capability',
    'locked from scratch needs more demos to unlock than locked via SFT',
  ]);
  expect(good.verdict).toEqual(['holds', 'holds', 'holds', 'holds', 'holds']);
  expect(good.measured[4]).toMatch(/^demos to reach 0.9: 128 from scratch, 16 via SFT \(8×/);
  // The same locks, but unlocking stalls from scratch and both curves reach 0.9 together.
  const bad = await judge({ 2: 0.3, 16: 0.9, 128: 0.5, 256: 0.5 }, { 2: 0.3, 16: 0.9, 128: 0.97, 256: 0.99 });
  expect(bad.verdict).toEqual(['holds', 'fails', 'holds', 'holds', 'inconclusive']);
});

it('calls unlocking inconclusive when the lock itself did not hold: nothing was hidden', async () => {
  const { outputs } = await runStageOnce(compositionUnlockTable, store, {
    params: { locks: [locks[0]] },
    // With the password it scores like without: the lock never learned the strong behaviour.
    inputs: { scores: await lockRows('scratch', { 2: 0.25, 16: 0.3 }, 0.3, 0.2) },
  });
  const t = await store.readTable(outputs.findings);
  expect(Array.from({ length: t.numRows }, (_, i) => t.getChild('verdict')?.get(i))).toEqual([
    'fails',
    'inconclusive',
  ]);
});

it('declares a Vega-Lite chart reading its own rows: log2 N, one folded series per lock', async () => {
  const { outputs } = await runStageOnce(compositionUnlockTable, store, {
    params: { locks },
    inputs: {
      scores: [...(await lockRows('scratch', { 2: 0.3 })), ...(await lockRows('sft-40000', { 2: 0.5 }))],
    },
  });
  const table = await store.readTable(outputs.table);
  const spec = JSON.parse(table.schema.metadata.get('lockpick.vega-lite') ?? '{}');
  expect(spec.data).toEqual({ name: 'table' });
  expect(spec.transform).toContainEqual({ fold: ['scratch', 'sft-40000'], as: ['series_column', 'mean'] });
  expect(spec.layer.map((l: { name: string }) => l.name)).toEqual([
    'band',
    'ours',
    'ours_points',
    'paper',
    'reference_0',
  ]);
  expect(spec.layer[1].encoding.x.scale).toMatchObject({ type: 'log', base: 2 });
  expect(spec.title.subtitle).toContain('hollow diamonds: published');
});
