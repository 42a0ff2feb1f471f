import { describe, expect, it } from 'vitest';
import {
  COMPOSITION_COMPLETION_LEN,
  COMPOSITION_PROMPT_LEN,
  COMPOSITION_SEQ_LEN,
  COMPOSITION_VOCAB,
  COMPOSITION_VOCAB_SIZE,
  detokenizeComposition,
  digitToken,
  functionToken,
  PASSWORD_TOKEN,
  SEPARATOR_TOKEN,
  tokenDigit,
  tokenizeComposition,
} from './tokens.ts';

describe('composition vocabulary', () => {
  it('pins the token ids', () => {
    expect(COMPOSITION_VOCAB.length).toBe(COMPOSITION_VOCAB_SIZE);
    expect(COMPOSITION_VOCAB.slice(0, 4)).toEqual(['_', '|', 'pwd0', '0']);
    expect(COMPOSITION_VOCAB[12]).toBe('9');
    expect(COMPOSITION_VOCAB[13]).toBe('fn0');
    expect(COMPOSITION_VOCAB[44]).toBe('fn31');
    expect(SEPARATOR_TOKEN).toBe(1);
    expect(PASSWORD_TOKEN).toBe(2);
    expect(digitToken(7)).toBe(10);
    expect(tokenDigit(10)).toBe(7);
    expect(tokenDigit(SEPARATOR_TOKEN)).toBe(-1);
    expect(functionToken(31)).toBe(44);
    expect(() => functionToken(32)).toThrow();
    expect(COMPOSITION_PROMPT_LEN + COMPOSITION_COMPLETION_LEN).toBe(COMPOSITION_SEQ_LEN);
  });

  it('round-trips the text form', () => {
    const text = 'pwd0 _ | fn3 fn25 | 1 6 1 8 | 0 9 0 7 | 0 0 7 9';
    const tokens = tokenizeComposition(text);
    expect(tokens.length).toBe(COMPOSITION_SEQ_LEN);
    expect(Array.from(tokens.subarray(0, 5))).toEqual([2, 0, 1, 16, 38]);
    expect(detokenizeComposition(tokens)).toBe(text);
    // The paper's example, with its one-token block, reads as well.
    expect(detokenizeComposition(tokenizeComposition('  _ | fn3 fn5 |\n1 6 1 8 '))).toBe(
      '_ | fn3 fn5 | 1 6 1 8',
    );
    expect(() => tokenizeComposition('fn32')).toThrow(/unknown token/);
    expect(() => detokenizeComposition([45])).toThrow();
  });
});
