/**
 * Token data as typed arrays, and seeded mini-batches over it. The stage layer turns Arrow columns
 * into a TokenData; everything in ml reads this shape.
 */
import { Random } from './random.ts';

/** A matrix of token ids, one sequence per row, all rows the same length. */
export interface TokenData {
  /** Row-major [rows × seqLen]. */
  tokens: Int32Array;
  rows: number;
  seqLen: number;
  /**
   * Optional per-token mask [rows × seqLen]: nonzero where a token belongs to the completion, i.e.
   * where predicting it counts in the loss (and in sequence log-probs). The first token of a row is
   * never predicted, so its mask entry is ignored.
   */
  lossMask?: Uint8Array | Float32Array;
  /**
   * Position of each row's first token, for a model with few-shot room (a whole episode: 0);
   * absent: the model's rowStart.
   */
  start?: number;
}

/** Check a TokenData's sizes, throwing a readable error. */
export function checkTokenData(data: TokenData, what = 'data'): void {
  const { tokens, rows, seqLen, lossMask } = data;
  if (!Number.isInteger(rows) || !Number.isInteger(seqLen) || rows < 0 || seqLen < 2) {
    throw new Error(`${what}: rows ${rows} and seqLen ${seqLen} must be integers, seqLen ≥ 2`);
  }
  if (tokens.length !== rows * seqLen)
    throw new Error(`${what}: ${tokens.length} tokens for ${rows}×${seqLen}`);
  if (lossMask && lossMask.length !== rows * seqLen) {
    throw new Error(`${what}: lossMask has ${lossMask.length} entries for ${rows}×${seqLen}`);
  }
}

/** Select rows (in the given order) into a new TokenData. */
export function takeRows(data: TokenData, rowIds: ArrayLike<number>): TokenData {
  const { seqLen } = data;
  const n = rowIds.length;
  const tokens = new Int32Array(n * seqLen);
  const mask = data.lossMask ? new Float32Array(n * seqLen) : undefined;
  for (let i = 0; i < n; i++) {
    const from = rowIds[i] * seqLen;
    tokens.set(data.tokens.subarray(from, from + seqLen), i * seqLen);
    if (mask && data.lossMask) mask.set(data.lossMask.subarray(from, from + seqLen), i * seqLen);
  }
  const taken: TokenData = mask ? { tokens, rows: n, seqLen, lossMask: mask } : { tokens, rows: n, seqLen };
  if (data.start !== undefined) taken.start = data.start;
  return taken;
}

/**
 * Row indices of mini-batch number `step` when `rows` rows are visited in batches of `batchSize`,
 * reshuffled every epoch. The order depends only on (seed, epoch), so resuming at any step
 * reproduces the same batches. The last batch of an epoch may be smaller.
 */
export function batchRows(rows: number, batchSize: number, seed: number, step: number): Int32Array {
  const perEpoch = Math.ceil(rows / batchSize);
  const epoch = Math.floor(step / perEpoch);
  const order = Random.derive(seed, `batches/epoch${epoch}`).permutation(rows);
  const start = (step % perEpoch) * batchSize;
  return order.subarray(start, Math.min(rows, start + batchSize));
}

/** Number of mini-batches in one epoch. */
export function batchesPerEpoch(rows: number, batchSize: number): number {
  return Math.ceil(rows / batchSize);
}
