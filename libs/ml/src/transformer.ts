/**
 * A causal decoder-only transformer language model, in the shape of nanoGPT: token and learned
 * position embeddings, pre-LayerNorm blocks (attention, then MLP, each added to the residual
 * stream), a final LayerNorm and a linear head.
 *
 * Differences from nanoGPT, each for speed on the wasm backend: the MLP uses ReLU (fused into the
 * matMul) instead of GELU; linear layers have no bias by default (nanoGPT's `bias=False`); there is
 * no dropout (these toy tasks don't need it, and it keeps training deterministic). Internally rows
 * are time-major ((time, batch) order), which makes attention's batched products cheap (see ops.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { attendToCache, causalSelfAttention, embedding, layerNorm, linear, splitQkv } from './ops.ts';
import { normalValues, ParameterSet } from './params.ts';
import { Random } from './random.ts';

export interface TransformerConfig {
  vocabSize: number;
  /** Longest sequence the model reads (number of learned positions). */
  contextLength: number;
  layers: number;
  width: number;
  heads: number;
  /** MLP hidden width = mlpRatio × width. */
  mlpRatio: number;
  /** Biases in linear layers and LayerNorms. */
  bias: boolean;
  /**
   * Position of a problem row's first token (0 when absent). A model whose context also holds
   * few-shot examples before the row sets contextLength − row length, so a row alone sits where it
   * sits at the end of a few-shot episode; an episode itself is read from position 0 (`start`).
   */
  rowStart?: number;
}

export const defaultTransformerConfig: Omit<TransformerConfig, 'vocabSize' | 'contextLength'> = {
  layers: 2,
  width: 128,
  heads: 4,
  mlpRatio: 4,
  bias: false,
};

/** Keys and values of the positions decoded so far, per layer: [time, batch·heads, headDim]. */
export interface KVCache {
  keys: tf.Tensor3D[];
  values: tf.Tensor3D[];
  batch: number;
  length: number;
  /** Position of the first cached token. */
  start: number;
}

export class Transformer {
  readonly kind = 'transformer';
  readonly config: TransformerConfig;
  readonly params = new ParameterSet();

  constructor(config: TransformerConfig, seed: number) {
    const { vocabSize, contextLength, layers, width, heads, mlpRatio, bias } = config;
    if (width % heads !== 0) throw new Error(`width ${width} is not divisible by heads ${heads}`);
    this.config = { ...config };
    const rng = Random.derive(seed, 'transformer/init');
    const p = this.params;
    const std = 0.02;
    // GPT-2's scaled init: projections into the residual stream get std / √(2·layers).
    const residualStd = std / Math.sqrt(2 * layers);
    const hidden = mlpRatio * width;
    const ones = (n: number) => new Float32Array(n).fill(1);
    const zeros = (n: number) => new Float32Array(n);

    p.add('wte', 'embedding', [vocabSize, width], normalValues(rng, vocabSize * width, std));
    p.add('wpe', 'embedding', [contextLength, width], normalValues(rng, contextLength * width, std));
    for (let l = 0; l < layers; l++) {
      const g = `block.${l}`;
      p.add(`h.${l}.ln1.g`, g, [width], ones(width));
      if (bias) p.add(`h.${l}.ln1.b`, g, [width], zeros(width));
      p.add(`h.${l}.attn.qkv.w`, g, [width, 3 * width], normalValues(rng, width * 3 * width, std));
      if (bias) p.add(`h.${l}.attn.qkv.b`, g, [3 * width], zeros(3 * width));
      p.add(`h.${l}.attn.proj.w`, g, [width, width], normalValues(rng, width * width, residualStd));
      if (bias) p.add(`h.${l}.attn.proj.b`, g, [width], zeros(width));
      p.add(`h.${l}.ln2.g`, g, [width], ones(width));
      if (bias) p.add(`h.${l}.ln2.b`, g, [width], zeros(width));
      p.add(`h.${l}.mlp.fc.w`, g, [width, hidden], normalValues(rng, width * hidden, std));
      if (bias) p.add(`h.${l}.mlp.fc.b`, g, [hidden], zeros(hidden));
      p.add(`h.${l}.mlp.proj.w`, g, [hidden, width], normalValues(rng, hidden * width, residualStd));
      if (bias) p.add(`h.${l}.mlp.proj.b`, g, [width], zeros(width));
    }
    p.add('ln_f.g', 'head', [width], ones(width));
    if (bias) p.add('ln_f.b', 'head', [width], zeros(width));
    p.add('lm_head.w', 'head', [width, vocabSize], normalValues(rng, width * vocabSize, std));
  }

  private get rowStart(): number {
    return this.config.rowStart ?? 0;
  }

  private w(name: string): tf.Tensor2D {
    return this.params.get(name) as unknown as tf.Tensor2D;
  }

  private v(name: string): tf.Tensor1D | undefined {
    return this.params.has(name) ? (this.params.get(name) as unknown as tf.Tensor1D) : undefined;
  }

  /** Token plus position embeddings for time-major rows, positions start … start + time − 1. */
  private embed(tokens: Int32Array, batch: number, time: number, start: number): tf.Tensor2D {
    const { vocabSize, contextLength } = this.config;
    if (start + time > contextLength) {
      throw new Error(`position ${start + time - 1} is past the context length ${contextLength}`);
    }
    // Row (t, b) picks token tokens[b, t] and position start + t: rows of one [wte; wpe] table.
    const indices = new Int32Array(time * batch * 2);
    for (let t = 0; t < time; t++) {
      for (let b = 0; b < batch; b++) {
        const row = t * batch + b;
        indices[2 * row] = tokens[b * time + t];
        indices[2 * row + 1] = vocabSize + start + t;
      }
    }
    return embedding(tf.concat([this.w('wte'), this.w('wpe')]) as tf.Tensor2D, indices, 2);
  }

  private qkv(x: tf.Tensor2D, l: number): tf.Tensor2D {
    const normed = layerNorm(x, this.v(`h.${l}.ln1.g`)!, this.v(`h.${l}.ln1.b`));
    return linear(normed, this.w(`h.${l}.attn.qkv.w`), this.v(`h.${l}.attn.qkv.b`));
  }

  private attentionOut(attended: tf.Tensor2D, l: number): tf.Tensor2D {
    return linear(attended, this.w(`h.${l}.attn.proj.w`), this.v(`h.${l}.attn.proj.b`));
  }

  private mlp(x: tf.Tensor2D, l: number): tf.Tensor2D {
    const normed = layerNorm(x, this.v(`h.${l}.ln2.g`)!, this.v(`h.${l}.ln2.b`));
    const hidden = linear(normed, this.w(`h.${l}.mlp.fc.w`), this.v(`h.${l}.mlp.fc.b`), 'relu');
    return linear(hidden, this.w(`h.${l}.mlp.proj.w`), this.v(`h.${l}.mlp.proj.b`));
  }

  private head(x: tf.Tensor2D): tf.Tensor2D {
    return linear(layerNorm(x, this.v('ln_f.g')!, this.v('ln_f.b')), this.w('lm_head.w'));
  }

  /**
   * Next-token logits, time-major: tokens is [batch × time] (row-major, batch-major like the data),
   * the result is [time·batch, vocab] with row t·batch + b holding position t of sequence b. The
   * rows' first token is at position `start` (default: the config's rowStart).
   */
  logitsTimeMajor(tokens: Int32Array, batch: number, time: number, start = this.rowStart): tf.Tensor2D {
    let x = this.embed(tokens, batch, time, start);
    for (let l = 0; l < this.config.layers; l++) {
      x = tf.add(x, this.attentionOut(causalSelfAttention(this.qkv(x, l), time, this.config.heads), l));
      x = tf.add(x, this.mlp(x, l));
    }
    return this.head(x);
  }

  /**
   * Start incremental decoding: run prompts [batch × time] and return the logits of their last
   * position [batch, vocab] with the keys and values of every position. Inference only. The prompts'
   * first token is at position `start` (default: the config's rowStart).
   */
  prefill(
    tokens: Int32Array,
    batch: number,
    time: number,
    start = this.rowStart,
  ): { logits: tf.Tensor2D; cache: KVCache } {
    const { layers, heads, width } = this.config;
    const keys: tf.Tensor3D[] = [];
    const values: tf.Tensor3D[] = [];
    let x = this.embed(tokens, batch, time, start);
    for (let l = 0; l < layers; l++) {
      const qkv = this.qkv(x, l);
      const [, k, v] = splitQkv(qkv, time, heads);
      keys.push(k);
      values.push(v);
      x = tf.add(x, this.attentionOut(causalSelfAttention(qkv, time, heads), l));
      x = tf.add(x, this.mlp(x, l));
    }
    const last = tf.slice(x, [(time - 1) * batch, 0], [batch, width]);
    return { logits: this.head(last), cache: { keys, values, batch, length: time, start } };
  }

  /**
   * Feed one token per sequence (at position cache.start + cache.length) and return its next-token logits
   * [batch, vocab] and the cache grown by one position. The old cache's tensors are not freed.
   */
  decodeStep(cache: KVCache, tokens: Int32Array): { logits: tf.Tensor2D; cache: KVCache } {
    const { layers, heads, width } = this.config;
    const { batch, length, start } = cache;
    const keys: tf.Tensor3D[] = [];
    const values: tf.Tensor3D[] = [];
    let x = this.embed(tokens, batch, 1, start + length);
    for (let l = 0; l < layers; l++) {
      const [q, k, v] = splitQkv(this.qkv(x, l), 1, heads);
      keys.push(tf.concat([cache.keys[l], k]));
      values.push(tf.concat([cache.values[l], v]));
      const q2d = tf.reshape(q, [batch * heads, width / heads]) as tf.Tensor2D;
      const attended = tf.reshape(attendToCache(q2d, keys[l], values[l]), [batch, width]) as tf.Tensor2D;
      x = tf.add(x, this.attentionOut(attended, l));
      x = tf.add(x, this.mlp(x, l));
    }
    return { logits: this.head(x), cache: { keys, values, batch, length: length + 1, start } };
  }

  /** Next-token logits [batch, time, vocab] for token ids [batch, time]. */
  forward(ids: tf.Tensor2D): tf.Tensor3D {
    const [batch, time] = ids.shape;
    const tokens = Int32Array.from(ids.dataSync());
    return tf.tidy(() => {
      const logits = tf.reshape(this.logitsTimeMajor(tokens, batch, time), [
        time,
        batch,
        this.config.vocabSize,
      ]);
      return tf.transpose(logits, [1, 0, 2]) as tf.Tensor3D;
    });
  }

  dispose(): void {
    this.params.dispose();
  }
}

/**
 * The same model with `room` new positions before its rows, for few-shot examples: a row now sits at
 * position `room` (config.rowStart) and reads there the position embeddings it read from 0, so it
 * computes exactly what it did; the new positions start as a fresh model's do (seeded normal, std
 * 0.02) and are learnt by training on episodes. The paper's bases read examples before they are
 * locked; this lets a base trained on lone rows learn to, without losing what it knows.
 */
export function withRoomBeforeRows(model: Transformer, room: number, seed: number): Transformer {
  if (!Number.isInteger(room) || room < 1) throw new Error(`room must be a positive integer, got ${room}`);
  if ((model.config.rowStart ?? 0) !== 0)
    throw new Error(`the model already has room before its rows (rowStart ${model.config.rowStart})`);
  const { contextLength, width } = model.config;
  const wider = new Transformer(
    { ...model.config, contextLength: room + contextLength, rowStart: room },
    seed,
  );
  const fresh = wider.params.get('wpe').dataSync() as Float32Array;
  const tensors = model.params.toNamedTensors().map((t) => {
    if (t.name !== 'wpe') return t;
    const data = new Float32Array((room + contextLength) * width);
    data.set(fresh.subarray(0, room * width));
    data.set(t.data, room * width);
    return { ...t, shape: [room + contextLength, width], data };
  });
  wider.params.load(tensors);
  return wider;
}
