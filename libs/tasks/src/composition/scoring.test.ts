import { describe, expect, it } from 'vitest';
import { finalTokenAccuracy, unlockEpochs } from './scoring.ts';
import { tokenizeComposition } from './tokens.ts';

const rows = (...texts: string[]) =>
  Int32Array.from(texts.flatMap((t) => Array.from(tokenizeComposition(t))));

describe('finalTokenAccuracy', () => {
  const expected = rows(
    '_ _ | fn0 fn20 | 1 6 1 8 | 8 1 6 1 | 1 8 3 8',
    '_ _ | fn1 fn0 | 1 6 1 8 | 2 7 2 9 | 9 2 7 2',
  );

  it('scores the final 4 tokens and the whole completion on full rows', () => {
    const predicted = rows(
      '_ _ | fn0 fn20 | 1 6 1 8 | 1 6 1 8 | 1 8 3 1', // 3 of 4 final, middle wrong
      '_ _ | fn1 fn0 | 1 6 1 8 | 2 7 2 9 | 9 2 7 2', // all right
    );
    const score = finalTokenAccuracy(predicted, expected);
    expect(score.rows).toBe(2);
    expect(score.tokenAccuracy).toBe(7 / 8);
    expect(score.exactMatch).toBe(1 / 2);
    expect(Array.from(score.correctFinalTokens)).toEqual([3, 4]);
  });

  it('scores completions only', () => {
    const expectedCompletions = rows('8 1 6 1 | 1 8 3 8');
    const score = finalTokenAccuracy(rows('8 1 6 1 | 0 0 0 0'), expectedCompletions, 9);
    expect(score.tokenAccuracy).toBe(0);
    expect(score.exactMatch).toBe(0);
    expect(finalTokenAccuracy(expectedCompletions, expectedCompletions, 9).exactMatch).toBe(1);
  });

  it('rejects mismatched shapes', () => {
    expect(() => finalTokenAccuracy(expected.subarray(0, 20), expected)).toThrow();
    expect(() => finalTokenAccuracy(expected, expected, 8)).toThrow();
    expect(() => finalTokenAccuracy(expected, expected, 30)).toThrow();
  });
});

describe('unlockEpochs', () => {
  it('follows the paper schedule', () => {
    const schedule = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048].map(unlockEpochs);
    expect(schedule).toEqual([129, 129, 129, 65, 65, 33, 33, 17, 17, 9, 5, 5]);
    expect(() => unlockEpochs(0)).toThrow();
  });
});
