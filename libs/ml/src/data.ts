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
  /**
   * Optional, per row: how many of its first tokens are padding no position needs (a few-shot
   * episode's unused room; needs `start`). Training then batches rows of like counts together and
   * each batch skips the padding its rows share (`skipSharedPadding`), so an episode without
   * examples is read exactly as a lone row is, and no row reads hundreds of pads it never sees at
   * prompting time.
   */
  leadingPads?: Int32Array;
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
  if (data.leadingPads) {
    if (data.start === undefined) throw new Error(`${what}: leadingPads needs a start`);
    if (data.leadingPads.length !== rows)
      throw new Error(`${what}: leadingPads has ${data.leadingPads.length} entries for ${rows} rows`);
    if (data.leadingPads.some((n) => n < 0 || n > seqLen - 2))
      throw new Error(`${what}: leadingPads must leave at least 2 tokens of a ${seqLen}-token row`);
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
  if (data.leadingPads) taken.leadingPads = Int32Array.from(rowIds, (r) => data.leadingPads![r]);
  return taken;
}

/**
 * The rows without the leading padding they all share: tokens from column `skip` = the fewest
 * leading pads, read from position start + skip. What every position computes is unchanged except
 * that it no longer attends to the skipped pads. Data without leadingPads is returned as is.
 */
export function skipSharedPadding(data: TokenData): TokenData {
  const pads = data.leadingPads;
  if (!pads || data.rows === 0) return data;
  const skip = pads.reduce((a, b) => Math.min(a, b), Number.POSITIVE_INFINITY);
  if (skip === 0) return data;
  const { rows, seqLen } = data;
  const length = seqLen - skip;
  const tokens = new Int32Array(rows * length);
  const mask = data.lossMask ? new Float32Array(rows * length) : undefined;
  for (let r = 0; r < rows; r++) {
    tokens.set(data.tokens.subarray(r * seqLen + skip, (r + 1) * seqLen), r * length);
    mask?.set(data.lossMask!.subarray(r * seqLen + skip, (r + 1) * seqLen), r * length);
  }
  return {
    tokens,
    rows,
    seqLen: length,
    ...(mask ? { lossMask: mask } : {}),
    start: data.start! + skip,
    leadingPads: pads.map((n) => n - skip),
  };
}

/**
 * Row indices of mini-batch number `step` when `rows` rows are visited in batches of `batchSize`,
 * reshuffled every epoch. The order depends only on (seed, epoch), so resuming at any step
 * reproduces the same batches. The last batch of an epoch may be smaller.
 */
export function batchRows(
  rows: number,
  batchSize: number,
  seed: number,
  step: number,
  leadingPads?: Int32Array,
): Int32Array {
  const perEpoch = Math.ceil(rows / batchSize);
  const epoch = Math.floor(step / perEpoch);
  const random = Random.derive(seed, `batches/epoch${epoch}`);
  const order = random.permutation(rows);
  if (!leadingPads) {
    const start = (step % perEpoch) * batchSize;
    return order.subarray(start, Math.min(rows, start + batchSize));
  }
  // Rows of like padding in one batch (ties in this epoch's random order), the batches in a random
  // order: a batch skips only the padding all its rows share (skipSharedPadding).
  const byPads = Array.from(order).sort((a, b) => leadingPads[a] - leadingPads[b]);
  const batch = random.permutation(perEpoch)[step % perEpoch];
  return Int32Array.from(byPads.slice(batch * batchSize, Math.min(rows, (batch + 1) * batchSize)));
}

/** Number of mini-batches in one epoch. */
export function batchesPerEpoch(rows: number, batchSize: number): number {
  return Math.ceil(rows / batchSize);
}
