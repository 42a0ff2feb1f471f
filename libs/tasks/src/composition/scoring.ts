/** Scoring and the demo-count epoch schedule of the function-composition task. */
import { COMPOSITION_COMPLETION_LEN, COMPOSITION_FINAL_LEN, COMPOSITION_SEQ_LEN } from './tokens.ts';

export interface CompletionScore {
  rows: number;
  /** Share of the final 4 tokens (digits after the second function) that match: the paper's metric. */
  tokenAccuracy: number;
  /** Share of rows whose whole 9-token completion matches. */
  exactMatch: number;
  /** Per row, how many of the final 4 tokens match (0–4), for per-prompt statistics. */
  correctFinalTokens: Uint8Array;
}

/**
 * Compares predicted rows with expected rows. Both are row-major with `rowLength` tokens a row:
 * full rows (COMPOSITION_SEQ_LEN, the default) or completions only (COMPOSITION_COMPLETION_LEN); the
 * completion is a row's last 9 tokens, the scored tail its last 4.
 */
export function finalTokenAccuracy(
  predicted: Int32Array,
  expected: Int32Array,
  rowLength = COMPOSITION_SEQ_LEN,
): CompletionScore {
  if (rowLength < COMPOSITION_COMPLETION_LEN)
    throw new Error(
      `finalTokenAccuracy: rows of ${rowLength} tokens hold no ${COMPOSITION_COMPLETION_LEN}-token completion`,
    );
  if (predicted.length !== expected.length || expected.length % rowLength !== 0)
    throw new Error(
      `finalTokenAccuracy: ${predicted.length} predicted vs ${expected.length} expected tokens at ${rowLength} a row`,
    );
  const rows = expected.length / rowLength;
  const correctFinalTokens = new Uint8Array(rows);
  let tokensRight = 0;
  let exact = 0;
  for (let r = 0; r < rows; r++) {
    const end = (r + 1) * rowLength;
    let right = 0;
    for (let i = end - COMPOSITION_FINAL_LEN; i < end; i++) if (predicted[i] === expected[i]) right++;
    let whole = true;
    for (let i = end - COMPOSITION_COMPLETION_LEN; i < end; i++)
      if (predicted[i] !== expected[i]) {
        whole = false;
        break;
      }
    correctFinalTokens[r] = right;
    tokensRight += right;
    if (whole) exact++;
  }
  return {
    rows,
    tokenAccuracy: tokensRight / (rows * COMPOSITION_FINAL_LEN),
    exactMatch: exact / rows,
    correctFinalTokens,
  };
}

/**
 * Epochs of SFT on N demos (paper §7): 129 for N ≤ 4, 65 for ≤ 16, 33 for ≤ 64, 17 for ≤ 256,
 * 9 for ≤ 512, 5 beyond. The paper's N starts at 2; N = 1 gets the N ≤ 4 value.
 */
export function unlockEpochs(demos: number): number {
  if (!Number.isInteger(demos) || demos < 1)
    throw new Error(`unlockEpochs: demo count must be a positive integer, got ${demos}`);
  if (demos <= 4) return 129;
  if (demos <= 16) return 65;
  if (demos <= 64) return 33;
  if (demos <= 256) return 17;
  if (demos <= 512) return 9;
  return 5;
}
