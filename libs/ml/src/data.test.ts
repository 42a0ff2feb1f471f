import { describe, expect, it } from 'vitest';
import { batchesPerEpoch, batchRows, checkTokenData, skipSharedPadding, type TokenData } from './data.ts';
import { Random } from './random.ts';

describe('batches of padded rows', () => {
  const rows = 103;
  const random = new Random(4);
  // Padding counts of few-shot episodes: 0 … 16 examples of ~30 tokens in a room of 480.
  const leadingPads = Int32Array.from({ length: rows }, () => 480 - 30 * random.int(17));

  it('visit every row once an epoch, rows of like padding together, batches in a seeded order', () => {
    const perEpoch = batchesPerEpoch(rows, 8);
    for (const epoch of [0, 1]) {
      const batches = Array.from({ length: perEpoch }, (_, b) =>
        Array.from(batchRows(rows, 8, 7, epoch * perEpoch + b, leadingPads)),
      );
      expect(batches.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: rows }, (_, i) => i));
      // Sorted by padding: a batch spans at most three neighbouring counts (~6 rows a count, 8 a
      // batch), where random batches span most of them.
      const spread = (batch: number[]) =>
        Math.max(...batch.map((r) => leadingPads[r])) - Math.min(...batch.map((r) => leadingPads[r]));
      expect(Math.max(...batches.map(spread))).toBeLessThanOrEqual(60);
      const plain = Array.from({ length: perEpoch }, (_, b) => Array.from(batchRows(rows, 8, 7, b)));
      expect(Math.max(...plain.map(spread))).toBeGreaterThan(200);
      // The batches do not come in padding order.
      const firstPads = batches.map((b) => Math.min(...b.map((r) => leadingPads[r])));
      expect(firstPads).not.toEqual([...firstPads].sort((a, b) => a - b));
    }
    // Resuming at a step gives the same batch; another seed or epoch another one.
    expect(batchRows(rows, 8, 7, 3, leadingPads)).toEqual(batchRows(rows, 8, 7, 3, leadingPads));
    expect(batchRows(rows, 8, 8, 3, leadingPads)).not.toEqual(batchRows(rows, 8, 7, 3, leadingPads));
  });

  it('skip the padding a batch shares and keep the rest, positions and all', () => {
    const data: TokenData = {
      tokens: Int32Array.from([0, 0, 0, 5, 6, 7, 0, 0, 4, 5, 6, 7]),
      rows: 2,
      seqLen: 6,
      lossMask: Uint8Array.from([0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1]),
      start: 10,
      leadingPads: Int32Array.from([3, 2]),
    };
    checkTokenData(data);
    const skipped = skipSharedPadding(data);
    expect(skipped).toMatchObject({ rows: 2, seqLen: 4, start: 12 });
    expect(Array.from(skipped.tokens)).toEqual([0, 5, 6, 7, 4, 5, 6, 7]);
    expect(Array.from(skipped.lossMask!)).toEqual([0, 0, 1, 1, 0, 0, 1, 1]);
    expect(Array.from(skipped.leadingPads!)).toEqual([1, 0]);
    // Nothing to skip: the data as it was.
    const { leadingPads: _, ...unmarked } = data;
    expect(skipSharedPadding(unmarked)).toBe(unmarked);
    expect(() =>
      checkTokenData({ ...unmarked, start: undefined, leadingPads: Int32Array.from([1, 1]) }),
    ).toThrow(/needs a start/);
  });
});
