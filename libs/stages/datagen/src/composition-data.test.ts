import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ArtifactStore } from '@lockpick/artifacts';
import { runStageOnce } from '@lockpick/engine';
import { lockingMix } from '@lockpick/tasks';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { compositionData } from './composition-data.ts';
import { compositionTableFromArrow, compositionTableToArrow } from './composition-tables.ts';

let root: string;
let store: ArtifactStore;
beforeEach(async () => {
  root = await fs.mkdtemp(path.join(tmpdir(), 'lockpick-datagen-'));
  store = await ArtifactStore.open(root);
});
afterEach(() => fs.rm(root, { recursive: true, force: true }));

it('round-trips a composition table through Arrow and Parquet unchanged', async () => {
  const table = lockingMix(3, 500);
  const back = compositionTableFromArrow(
    await store.readTable(await store.writeTable(compositionTableToArrow(table))),
  );
  expect(back).toEqual(table);
});

it('writes the five tables of a seed, with the requested sizes and readable text', async () => {
  const { outputs } = await runStageOnce(compositionData, store, {
    params: { seed: 1, lockingRows: 100, pretrainRows: 50, demoRows: 20, evalRows: 30 },
  });
  const functions = await store.readTable(outputs.functions);
  expect(functions.numRows).toBe(32);
  expect(functions.getChild('locked')?.toArray().filter(Boolean)).toHaveLength(16);
  const sizes = await Promise.all(
    ['mix', 'pretrain', 'demos', 'eval'].map(async (k) => (await store.readTable(outputs[k])).numRows),
  );
  expect(sizes).toEqual([100, 50, 20, 30]);
  const evalTable = await store.readTable(outputs.eval);
  expect(String(evalTable.getChild('text')?.get(0))).toMatch(
    /^_ _ \| fn\d+ fn\d+ \| (\d ){4}\| (\d ){4}\| \d \d \d \d$/,
  );
  expect(Array.from(evalTable.getChild('locked_count')!.toArray() as Uint8Array).every((c) => c > 0)).toBe(
    true,
  );
});
