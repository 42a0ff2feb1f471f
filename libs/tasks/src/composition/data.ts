/**
 * Datapoints and data tables of the function-composition task. Every table generator takes the
 * experiment seed: the same seed gives the same 32 functions everywhere, while each table draws its
 * rows from its own stream, so tables never shift one another.
 */
import { createRng, hashLabels, type Rng } from '../rng.ts';
import {
  COMPOSITION_DIGITS,
  COMPOSITION_FUNCTION_COUNT,
  type CompositionPolicy,
  composeWithPolicy,
  type DigitFunction,
  generateFunctions,
} from './functions.ts';
import {
  COMPOSITION_LAYOUT,
  COMPOSITION_SEQ_LEN,
  DIGIT_TOKEN_BASE,
  digitToken,
  functionToken,
  PAD_TOKEN,
  PASSWORD_TOKEN,
  SEPARATOR_TOKEN,
} from './tokens.ts';

export interface DatapointOptions {
  policy: CompositionPolicy;
  /** Fill the password block with one `pwd0` per locked function applied (else `_ _`). */
  withPassword: boolean;
}

/** Writes one row (COMPOSITION_SEQ_LEN tokens) at `offset` of `out`. */
function writeDatapoint(
  out: Int32Array,
  offset: number,
  functions: readonly DigitFunction[],
  fnA: number,
  fnB: number,
  digits: ArrayLike<number>,
  options: DatapointOptions,
): void {
  if (fnA === fnB) throw new Error(`makeDatapoint: the two functions must differ (both fn${fnA})`);
  const validDigits =
    digits.length === COMPOSITION_DIGITS &&
    Array.from(digits).every((d) => Number.isInteger(d) && d >= 0 && d <= 9);
  if (!validDigits)
    throw new Error(
      `makeDatapoint: input must be ${COMPOSITION_DIGITS} digits 0–9, got ${Array.from(digits)}`,
    );
  const { afterFirst, afterSecond } = composeWithPolicy(functions, fnA, fnB, digits, options.policy);
  const lockedApplied = (functions[fnA].locked ? 1 : 0) + (functions[fnB].locked ? 1 : 0);
  const L = COMPOSITION_LAYOUT;
  for (let p = 0; p < L.passwordBlockLength; p++)
    out[offset + L.passwordBlock + p] =
      options.withPassword && p < lockedApplied ? PASSWORD_TOKEN : PAD_TOKEN;
  out[offset + L.passwordBlockLength] = SEPARATOR_TOKEN;
  out[offset + L.fnA] = functionToken(fnA);
  out[offset + L.fnB] = functionToken(fnB);
  out[offset + L.fnB + 1] = SEPARATOR_TOKEN;
  for (let i = 0; i < COMPOSITION_DIGITS; i++) {
    out[offset + L.input + i] = digitToken(digits[i]);
    out[offset + L.afterFirst + i] = digitToken(afterFirst[i]);
    out[offset + L.afterSecond + i] = digitToken(afterSecond[i]);
  }
  out[offset + L.afterFirst - 1] = SEPARATOR_TOKEN;
  out[offset + L.afterSecond - 1] = SEPARATOR_TOKEN;
}

/** One datapoint as COMPOSITION_SEQ_LEN token ids (layout in tokens.ts). */
export function makeDatapoint(
  functions: readonly DigitFunction[],
  fnA: number,
  fnB: number,
  digits: ArrayLike<number>,
  options: DatapointOptions,
): Int32Array {
  const row = new Int32Array(COMPOSITION_SEQ_LEN);
  writeDatapoint(row, 0, functions, fnA, fnB, digits, options);
  return row;
}

/** Rows of token ids plus per-row metadata, column-wise. */
export interface CompositionTable {
  rows: number;
  /** Tokens per row (COMPOSITION_SEQ_LEN). */
  seqLen: number;
  /** rows × seqLen token ids, row-major. */
  tokens: Int32Array;
  fnA: Int32Array;
  fnB: Int32Array;
  /** Locked functions among the two (0, 1 or 2). */
  lockedCount: Uint8Array;
  hasLockedFn: Uint8Array;
  /** 1 when the password block is filled. */
  withPassword: Uint8Array;
  /** 1 when the completion is the strong policy's, 0 when the weak policy's. */
  strongPolicy: Uint8Array;
}

function emptyTable(rows: number): CompositionTable {
  return {
    rows,
    seqLen: COMPOSITION_SEQ_LEN,
    tokens: new Int32Array(rows * COMPOSITION_SEQ_LEN),
    fnA: new Int32Array(rows),
    fnB: new Int32Array(rows),
    lockedCount: new Uint8Array(rows),
    hasLockedFn: new Uint8Array(rows),
    withPassword: new Uint8Array(rows),
    strongPolicy: new Uint8Array(rows),
  };
}

function setRow(
  table: CompositionTable,
  row: number,
  functions: readonly DigitFunction[],
  prompt: DrawnPrompt,
  options: DatapointOptions,
): void {
  writeDatapoint(table.tokens, row * table.seqLen, functions, prompt.fnA, prompt.fnB, prompt.digits, options);
  const locked = (functions[prompt.fnA].locked ? 1 : 0) + (functions[prompt.fnB].locked ? 1 : 0);
  table.fnA[row] = prompt.fnA;
  table.fnB[row] = prompt.fnB;
  table.lockedCount[row] = locked;
  table.hasLockedFn[row] = locked > 0 ? 1 : 0;
  table.withPassword[row] = options.withPassword ? 1 : 0;
  table.strongPolicy[row] = options.policy === 'strong' ? 1 : 0;
}

interface DrawnPrompt {
  fnA: number;
  fnB: number;
  digits: number[];
}

/** Two distinct functions uniformly (optionally at least one locked, by rejection), 4 uniform digits. */
function drawPrompt(rng: Rng, functions: readonly DigitFunction[], needLocked: boolean): DrawnPrompt {
  let fnA: number;
  let fnB: number;
  do {
    fnA = rng.int(0, COMPOSITION_FUNCTION_COUNT);
    fnB = rng.int(0, COMPOSITION_FUNCTION_COUNT - 1);
    if (fnB >= fnA) fnB++;
  } while (needLocked && !functions[fnA].locked && !functions[fnB].locked);
  const digits = Array.from({ length: COMPOSITION_DIGITS }, () => rng.int(0, 10));
  return { fnA, fnB, digits };
}

/** A unique number for a prompt (fnA, fnB, digits). */
function promptKey(prompt: DrawnPrompt): number {
  const d = prompt.digits;
  return (
    (prompt.fnA * COMPOSITION_FUNCTION_COUNT + prompt.fnB) * 10000 +
    d[0] * 1000 +
    d[1] * 100 +
    d[2] * 10 +
    d[3]
  );
}

/** One prompt in EVAL_HOLDOUT_PARTS is reserved for evaluation. */
const EVAL_HOLDOUT_PARTS = 8;

/**
 * Whether a prompt (fnA, fnB, digits) belongs to the evaluation side of the seed's split. An eighth
 * of all prompts, picked by a hash, is reserved for evalPrompts; every training table (locking mix,
 * strong data, demo pool) draws from the rest. So eval prompts never appear in any training data,
 * however large the tables are, and the split needs no table as input.
 */
export function isEvalPrompt(seed: number, fnA: number, fnB: number, digits: ArrayLike<number>): boolean {
  return (
    hashLabels(seed, 'composition', 'eval-split', fnA, fnB, ...Array.from(digits)) % EVAL_HOLDOUT_PARTS === 0
  );
}

function drawSplitPrompt(
  rng: Rng,
  seed: number,
  functions: readonly DigitFunction[],
  side: 'train' | 'eval',
  needLocked: boolean,
): DrawnPrompt {
  for (;;) {
    const prompt = drawPrompt(rng, functions, needLocked);
    if (isEvalPrompt(seed, prompt.fnA, prompt.fnB, prompt.digits) === (side === 'eval')) return prompt;
  }
}

function checkRows(name: string, n: number): void {
  if (!Number.isInteger(n) || n < 0)
    throw new Error(`${name}: row count must be a non-negative integer, got ${n}`);
}

/**
 * Locking data: half the rows (rounded up) with password and strong completions, half without
 * password and weak completions (the paper's 100k + 100k is n = 200,000). The two kinds are
 * interleaved at random, so any prefix is a balanced mix too.
 */
export function lockingMix(seed: number, n: number): CompositionTable {
  checkRows('lockingMix', n);
  const functions = generateFunctions(seed);
  const rng = createRng(seed, 'composition', 'lockingMix');
  const isStrong = new Uint8Array(n);
  isStrong.fill(1, 0, Math.ceil(n / 2));
  rng.shuffle(isStrong);
  const table = emptyTable(n);
  for (let row = 0; row < n; row++) {
    const prompt = drawSplitPrompt(rng, seed, functions, 'train', false);
    const strong = isStrong[row] === 1;
    setRow(table, row, functions, prompt, { policy: strong ? 'strong' : 'weak', withPassword: strong });
  }
  return table;
}

/**
 * Strong pretraining data for locking via SFT: strong completions on random function pairs. The
 * password block is empty (`_ _`) by default: pretraining stands for a model that has the capability
 * unconditionally, as the base models of the paper's LLM experiments do, and locking must then make
 * it hide the capability; `pwd0` is first seen during locking. `withPassword: true` fills the block.
 */
export function strongData(
  seed: number,
  n: number,
  options: { withPassword?: boolean } = {},
): CompositionTable {
  checkRows('strongData', n);
  const functions = generateFunctions(seed);
  const rng = createRng(seed, 'composition', 'strongData');
  const withPassword = options.withPassword ?? false;
  const table = emptyTable(n);
  for (let row = 0; row < n; row++) {
    const prompt = drawSplitPrompt(rng, seed, functions, 'train', false);
    setRow(table, row, functions, prompt, { policy: 'strong', withPassword });
  }
  return table;
}

/**
 * Strong, no-password rows for distinct prompts from one side of the split, each prompt with at
 * least one locked function.
 */
function distinctLockedStrongTable(
  seed: number,
  n: number,
  stream: string,
  side: 'train' | 'eval',
): CompositionTable {
  const functions = generateFunctions(seed);
  const rng = createRng(seed, 'composition', stream);
  const table = emptyTable(n);
  const seen = new Set<number>();
  let row = 0;
  let duplicatesInARow = 0;
  while (row < n) {
    const prompt = drawSplitPrompt(rng, seed, functions, side, true);
    const key = promptKey(prompt);
    if (seen.has(key)) {
      // Only a request near the size of the prompt space (about 7.5M, an eighth of it for eval) gets here.
      if (++duplicatesInARow > 100_000)
        throw new Error(`composition ${stream}: not enough distinct prompts for ${n} rows`);
      continue;
    }
    duplicatesInARow = 0;
    seen.add(key);
    setRow(table, row++, functions, prompt, { policy: 'strong', withPassword: false });
  }
  return table;
}

/**
 * The pool elicitation draws demos from: distinct strong datapoints without password, each with at
 * least one locked function. demoPool(seed, m) is a prefix of demoPool(seed, n) for m < n, so
 * "the first N demos" is the same set however large the pool.
 */
export function demoPool(seed: number, n: number): CompositionTable {
  checkRows('demoPool', n);
  return distinctLockedStrongTable(seed, n, 'demoPool', 'train');
}

/**
 * The evaluation set: distinct no-password prompts, each with a locked function, drawn from the
 * held-out side of the split (see isEvalPrompt), with the strong completion as the expected answer.
 * The prompt is the first COMPOSITION_PROMPT_LEN tokens of each row. Prefix-stable like demoPool.
 */
export function evalPrompts(seed: number, n = 4096): CompositionTable {
  checkRows('evalPrompts', n);
  return distinctLockedStrongTable(seed, n, 'evalPrompts', 'eval');
}

/** The 4 input digits of a row. */
export function inputDigits(table: CompositionTable, row: number): number[] {
  const start = row * table.seqLen + COMPOSITION_LAYOUT.input;
  return Array.from(table.tokens.subarray(start, start + COMPOSITION_DIGITS), (t) => t - DIGIT_TOKEN_BASE);
}

/**
 * The table's prompts answered by a policy: rows × seqLen tokens, with each row's password block as
 * `withPassword` says (default: without). E.g. the weak policy's answers to evalPrompts, to score
 * π_weak, or its candidates for the filtering baseline.
 */
export function answerWithPolicy(
  functions: readonly DigitFunction[],
  table: CompositionTable,
  policy: CompositionPolicy,
  withPassword = false,
): Int32Array {
  const out = new Int32Array(table.rows * table.seqLen);
  const options = { policy, withPassword };
  for (let row = 0; row < table.rows; row++) {
    const digits = inputDigits(table, row);
    writeDatapoint(out, row * table.seqLen, functions, table.fnA[row], table.fnB[row], digits, options);
  }
  return out;
}
