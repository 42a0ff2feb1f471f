/**
 * Batched generation from a Transformer: greedy (temperature 0) or sampled, with a key/value cache
 * so each new token costs one position's compute. Seeded: each row draws from its own stream,
 * derived from (seed, row index), so results do not depend on the batch size.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Random } from './random.ts';
import type { KVCache, Transformer } from './transformer.ts';

/** Prompts: one per row, all of the same length. */
export interface Prompts {
  /** Row-major [rows × length]. */
  tokens: Int32Array;
  rows: number;
  length: number;
  /** Position of the prompts' first token (absent: the model's rowStart; a few-shot episode: 0). */
  start?: number;
}

export interface GenerateOptions {
  maxNewTokens: number;
  /** 0 (default) = greedy argmax; otherwise softmax(logits / temperature) sampling. */
  temperature?: number;
  seed?: number;
  /** Rows decoded together (default 512, the fastest measured on wasm). */
  batchSize?: number;
  /** Once a row emits this token, the rest of its output is this token too. */
  stopToken?: number;
}

/** Generated tokens [rows × maxNewTokens] (row-major), not including the prompts. */
export function generate(model: Transformer, prompts: Prompts, options: GenerateOptions): Int32Array {
  const { rows, length } = prompts;
  const { maxNewTokens, stopToken } = options;
  const temperature = options.temperature ?? 0;
  const batchSize = options.batchSize ?? 512;
  if (prompts.tokens.length !== rows * length)
    throw new Error(`generate: ${prompts.tokens.length} tokens for ${rows}×${length}`);
  if (length < 1) throw new Error('generate: prompts need at least one token');
  const first = prompts.start ?? model.config.rowStart ?? 0;
  if (first + length + maxNewTokens - 1 > model.config.contextLength) {
    throw new Error(
      `generate: ${length} + ${maxNewTokens} tokens from position ${first} do not fit the context ${model.config.contextLength}`,
    );
  }
  const vocab = model.config.vocabSize;
  const out = new Int32Array(rows * maxNewTokens);
  for (let start = 0; start < rows; start += batchSize) {
    const batch = Math.min(batchSize, rows - start);
    const rngs =
      temperature > 0
        ? Array.from({ length: batch }, (_, b) => Random.derive(options.seed ?? 0, `sample/row${start + b}`))
        : [];
    const stopped = new Uint8Array(batch);
    const next = new Int32Array(batch);
    const pick = (logits: Float32Array, t: number) => {
      for (let b = 0; b < batch; b++) {
        const row = logits.subarray(b * vocab, (b + 1) * vocab);
        let token = stopped[b]
          ? (stopToken as number)
          : temperature > 0
            ? sampleRow(row, temperature, rngs[b])
            : argmax(row);
        if (stopToken !== undefined && token === stopToken) stopped[b] = 1;
        if (stopped[b]) token = stopToken as number;
        next[b] = token;
        out[(start + b) * maxNewTokens + t] = token;
      }
    };
    // Each step's tensors are freed by tidy, except the cache it hands to the next step.
    let logits: Float32Array = new Float32Array(0);
    let cache: KVCache = tf.tidy(() => {
      const prefill = model.prefill(
        prompts.tokens.subarray(start * length, (start + batch) * length),
        batch,
        length,
        first,
      );
      logits = prefill.logits.dataSync() as Float32Array;
      return prefill.cache as unknown as tf.TensorContainer;
    }) as unknown as KVCache;
    try {
      pick(logits, 0);
      for (let t = 1; t < maxNewTokens; t++) {
        if (stopToken !== undefined && stopped.every((s) => s === 1)) {
          for (let b = 0; b < batch; b++)
            out.fill(stopToken, (start + b) * maxNewTokens + t, (start + b + 1) * maxNewTokens);
          break;
        }
        const previous = cache;
        cache = tf.tidy(() => {
          const step = model.decodeStep(previous, next);
          logits = step.logits.dataSync() as Float32Array;
          return step.cache as unknown as tf.TensorContainer;
        }) as unknown as KVCache;
        disposeCache(previous);
        pick(logits, t);
      }
    } finally {
      disposeCache(cache);
    }
  }
  return out;
}

function disposeCache(cache: KVCache): void {
  for (const t of [...cache.keys, ...cache.values]) t.dispose();
}

function argmax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

function sampleRow(row: Float32Array, temperature: number, rng: Random): number {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < row.length; i++) if (row[i] > max) max = row[i];
  const weights = new Float64Array(row.length);
  let total = 0;
  for (let i = 0; i < row.length; i++) {
    weights[i] = Math.exp((row[i] - max) / temperature);
    total += weights[i];
  }
  let u = rng.next() * total;
  for (let i = 0; i < row.length; i++) {
    u -= weights[i];
    if (u < 0) return i;
  }
  return row.length - 1;
}
