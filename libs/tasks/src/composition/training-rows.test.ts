import { describe, expect, it } from 'vitest';
import { demoPool } from './data.ts';
import { COMPOSITION_PROMPT_LEN, COMPOSITION_SEQ_LEN } from './tokens.ts';
import { compositionPrompts, compositionTrainingRows, joinCompletions } from './training-rows.ts';

describe('composition training rows', () => {
  const table = demoPool(4, 5);

  it('masks exactly the 9 completion tokens of each row, or nothing with lossOn all', () => {
    const rows = compositionTrainingRows(table.tokens, table.rows);
    expect(rows.seqLen).toBe(COMPOSITION_SEQ_LEN);
    for (let r = 0; r < table.rows; r++)
      expect(Array.from(rows.lossMask!.subarray(r * 20, (r + 1) * 20))).toEqual([
        ...new Array(11).fill(0),
        ...new Array(9).fill(1),
      ]);
    expect(compositionTrainingRows(table.tokens, table.rows, 'all').lossMask).toBeUndefined();
    expect(() => compositionTrainingRows(table.tokens, table.rows + 1)).toThrow(/tokens for 6 rows/);
  });

  it('cuts prompts and joins completions back into the same rows', () => {
    const prompts = compositionPrompts(table.tokens, table.rows);
    expect(prompts.length).toBe(COMPOSITION_PROMPT_LEN);
    expect(Array.from(prompts.tokens.subarray(0, 11))).toEqual(Array.from(table.tokens.subarray(0, 11)));
    const completions = new Int32Array(table.rows * 9);
    for (let r = 0; r < table.rows; r++)
      completions.set(table.tokens.subarray(r * 20 + 11, (r + 1) * 20), r * 9);
    expect(joinCompletions(prompts.tokens, completions, table.rows)).toEqual(table.tokens);
  });
});
