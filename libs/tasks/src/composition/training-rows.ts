/**
 * Token rows of the function-composition task as the trainers and the sampler read them: the loss
 * mask of the completion, and the prompts cut from full rows. Plain typed arrays (the shape of ml's
 * TokenData and Prompts), so this library stays free of ml.
 */
import { COMPOSITION_COMPLETION_LEN, COMPOSITION_PROMPT_LEN, COMPOSITION_SEQ_LEN } from './tokens.ts';

/** Which tokens a trainer's next-token loss counts: the 9 completion tokens, or every token. */
export type CompositionLossOn = 'completion' | 'all';

export interface CompositionTokenRows {
  tokens: Int32Array;
  rows: number;
  seqLen: number;
  /** 1 on completion tokens (positions 11–19); absent when the loss counts every token. */
  lossMask?: Uint8Array;
}

function checkRows(tokens: Int32Array, rows: number, what: string): void {
  if (tokens.length !== rows * COMPOSITION_SEQ_LEN)
    throw new Error(`${what}: ${tokens.length} tokens for ${rows} rows of ${COMPOSITION_SEQ_LEN}`);
}

/** Training rows with the loss on the completion (as the paper's LLM experiments) or on all tokens. */
export function compositionTrainingRows(
  tokens: Int32Array,
  rows: number,
  lossOn: CompositionLossOn = 'completion',
): CompositionTokenRows {
  checkRows(tokens, rows, 'compositionTrainingRows');
  if (lossOn === 'all') return { tokens, rows, seqLen: COMPOSITION_SEQ_LEN };
  const lossMask = new Uint8Array(tokens.length);
  for (let r = 0; r < rows; r++)
    lossMask.fill(1, r * COMPOSITION_SEQ_LEN + COMPOSITION_PROMPT_LEN, (r + 1) * COMPOSITION_SEQ_LEN);
  return { tokens, rows, seqLen: COMPOSITION_SEQ_LEN, lossMask };
}

/** The first COMPOSITION_PROMPT_LEN tokens of each row: what a model is asked to complete. */
export function compositionPrompts(
  tokens: Int32Array,
  rows: number,
): { tokens: Int32Array; rows: number; length: number } {
  checkRows(tokens, rows, 'compositionPrompts');
  const out = new Int32Array(rows * COMPOSITION_PROMPT_LEN);
  for (let r = 0; r < rows; r++)
    out.set(
      tokens.subarray(r * COMPOSITION_SEQ_LEN, r * COMPOSITION_SEQ_LEN + COMPOSITION_PROMPT_LEN),
      r * COMPOSITION_PROMPT_LEN,
    );
  return { tokens: out, rows, length: COMPOSITION_PROMPT_LEN };
}

/** Full rows from prompts and generated completions (rows × 11 and rows × 9 tokens). */
export function joinCompletions(prompts: Int32Array, completions: Int32Array, rows: number): Int32Array {
  if (
    prompts.length !== rows * COMPOSITION_PROMPT_LEN ||
    completions.length !== rows * COMPOSITION_COMPLETION_LEN
  )
    throw new Error(
      `joinCompletions: ${prompts.length} prompt and ${completions.length} completion tokens for ${rows} rows`,
    );
  const out = new Int32Array(rows * COMPOSITION_SEQ_LEN);
  for (let r = 0; r < rows; r++) {
    out.set(
      prompts.subarray(r * COMPOSITION_PROMPT_LEN, (r + 1) * COMPOSITION_PROMPT_LEN),
      r * COMPOSITION_SEQ_LEN,
    );
    out.set(
      completions.subarray(r * COMPOSITION_COMPLETION_LEN, (r + 1) * COMPOSITION_COMPLETION_LEN),
      r * COMPOSITION_SEQ_LEN + COMPOSITION_PROMPT_LEN,
    );
  }
  return out;
}
