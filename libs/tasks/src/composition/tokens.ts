/**
 * Vocabulary and row layout of the function-composition task, and its text form.
 *
 * Token ids (45 in all):
 *   0 `_` (pad)   1 `|` (separator)   2 `pwd0` (password)   3–12 digits `0`–`9`   13–44 `fn0`–`fn31`
 *
 * A row is 20 tokens:
 *   pos  0–1   password block: one `pwd0` per locked function applied (with password), then `_`
 *              padding to 2; `_ _` without password
 *   pos  2     `|`
 *   pos  3–4   fnA fnB (two distinct functions, applied in that order)
 *   pos  5     `|`
 *   pos  6–9   the 4 input digits
 *   pos 10     `|`                              ← prompt = positions 0–10 (11 tokens)
 *   pos 11–14  digits after fnA                  ← completion = positions 11–19 (9 tokens)
 *   pos 15     `|`
 *   pos 16–19  digits after fnB (the composition) ← the final 4 tokens, which the metric scores
 *
 * e.g. `pwd0 _ | fn3 fn25 | 1 6 1 8 | 0 9 0 7 | 0 0 7 9`. The paper's sequence length of 24 is the
 * model's context; our rows need 20, and trailing padding would only add free-to-predict tokens.
 */

export const PAD_TOKEN = 0;
export const SEPARATOR_TOKEN = 1;
export const PASSWORD_TOKEN = 2;
/** Digit d is token DIGIT_TOKEN_BASE + d. */
export const DIGIT_TOKEN_BASE = 3;
/** fnk is token FUNCTION_TOKEN_BASE + k. */
export const FUNCTION_TOKEN_BASE = 13;
export const COMPOSITION_VOCAB_SIZE = 45;

/** Token names by id. */
export const COMPOSITION_VOCAB: readonly string[] = [
  '_',
  '|',
  'pwd0',
  ...Array.from({ length: 10 }, (_, d) => String(d)),
  ...Array.from({ length: 32 }, (_, k) => `fn${k}`),
];

export const COMPOSITION_SEQ_LEN = 20;
export const COMPOSITION_PROMPT_LEN = 11;
export const COMPOSITION_COMPLETION_LEN = 9;
/** The scored tail: digits after the second function. */
export const COMPOSITION_FINAL_LEN = 4;

/** Where each part of a row starts. */
export const COMPOSITION_LAYOUT = {
  passwordBlock: 0,
  passwordBlockLength: 2,
  fnA: 3,
  fnB: 4,
  input: 6,
  afterFirst: 11,
  afterSecond: 16,
} as const;

const ID_OF_NAME = new Map(COMPOSITION_VOCAB.map((name, id) => [name, id]));

export function digitToken(digit: number): number {
  if (!Number.isInteger(digit) || digit < 0 || digit > 9)
    throw new Error(`composition: ${digit} is not a digit`);
  return DIGIT_TOKEN_BASE + digit;
}

export function functionToken(k: number): number {
  if (!Number.isInteger(k) || k < 0 || k >= 32) throw new Error(`composition: no function fn${k}`);
  return FUNCTION_TOKEN_BASE + k;
}

/** The digit a token stands for, or −1 when it is not a digit token. */
export function tokenDigit(token: number): number {
  return token >= DIGIT_TOKEN_BASE && token < DIGIT_TOKEN_BASE + 10 ? token - DIGIT_TOKEN_BASE : -1;
}

/** Token ids as space-separated names, as in the paper: `_ _ | fn3 fn5 | 1 6 1 8 | …`. */
export function detokenizeComposition(tokens: ArrayLike<number>): string {
  return Array.from(tokens, (id) => {
    const name = COMPOSITION_VOCAB[id];
    if (name === undefined) throw new Error(`detokenizeComposition: unknown token id ${id}`);
    return name;
  }).join(' ');
}

/** The inverse of detokenizeComposition: whitespace-separated token names to ids. */
export function tokenizeComposition(text: string): Int32Array {
  const names = text
    .trim()
    .split(/\s+/)
    .filter((s) => s.length > 0);
  return Int32Array.from(names, (name) => {
    const id = ID_OF_NAME.get(name);
    if (id === undefined) throw new Error(`tokenizeComposition: unknown token '${name}'`);
    return id;
  });
}
