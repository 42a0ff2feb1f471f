/**
 * Language-model training and scoring on TokenData: next-token loss (on completion tokens or the
 * whole sequence), supervised fine-tuning, per-sequence log-probs, DPO, and teacher-forced
 * evaluation in bounded chunks.
 */
import type { Json, ModelBundle } from '@lockpick/artifacts';
import * as tf from '@tensorflow/tfjs-core';
import {
  batchesPerEpoch,
  batchRows,
  checkTokenData,
  skipSharedPadding,
  type TokenData,
  takeRows,
} from './data.ts';
import { type TrainProgress, type TrainSummary, trainLoop } from './loop.ts';
import { crossEntropy, dpoLoss } from './losses.ts';
import { tokenLogProbs } from './ops.ts';
import type { Optimizer } from './optim.ts';
import type { ParamSelection } from './params.ts';
import type { Transformer } from './transformer.ts';

/** Which tokens' predictions count: completion tokens (per the lossMask) or every token. */
export type LossOn = 'completion' | 'all';

/**
 * A batch laid out for the model: inputs are tokens[:, :-1] (batch-major); targets and weights are
 * tokens[:, 1:] and the mask on them, time-major to match the model's logits.
 */
interface PreparedBatch {
  inputs: Int32Array;
  targets: Int32Array;
  weights: Float32Array;
  rows: number;
  time: number;
  start: number | undefined;
}

function prepare(rowsToRead: TokenData, lossOn: LossOn): PreparedBatch {
  const data = skipSharedPadding(rowsToRead);
  const { tokens, rows, seqLen, lossMask } = data;
  if (lossOn === 'completion' && !lossMask) throw new Error("lossOn 'completion' needs data.lossMask");
  const time = seqLen - 1;
  const inputs = new Int32Array(rows * time);
  const targets = new Int32Array(rows * time);
  const weights = new Float32Array(rows * time);
  for (let b = 0; b < rows; b++) {
    for (let t = 0; t < time; t++) {
      inputs[b * time + t] = tokens[b * seqLen + t];
      const to = t * rows + b;
      targets[to] = tokens[b * seqLen + t + 1];
      weights[to] = lossOn === 'all' || !lossMask ? 1 : lossMask[b * seqLen + t + 1] !== 0 ? 1 : 0;
    }
  }
  return { inputs, targets, weights, rows, time, start: data.start };
}

/** Mean next-token cross-entropy over the counted tokens of `data` (all rows in one batch). */
export function languageModelLoss(
  model: Transformer,
  data: TokenData,
  lossOn: LossOn = 'completion',
): tf.Scalar {
  const batch = prepare(data, lossOn);
  const logits = model.logitsTimeMajor(batch.inputs, batch.rows, batch.time, batch.start);
  return crossEntropy(logits, batch.targets, batch.weights);
}

/**
 * Per-sequence log-probability [rows]: the sum over counted tokens of log p(token | prefix).
 * Differentiable; for DPO and for scoring.
 */
export function sequenceLogProbs(
  model: Transformer,
  data: TokenData,
  lossOn: LossOn = 'completion',
): tf.Tensor1D {
  const batch = prepare(data, lossOn);
  const logits = model.logitsTimeMajor(batch.inputs, batch.rows, batch.time, batch.start);
  const perToken = tf.mul(
    tokenLogProbs(logits, tf.tensor1d(batch.targets, 'int32')),
    tf.tensor1d(batch.weights),
  );
  // [time·rows] → [rows, time] → sum over time (a last-axis sum)
  return tf.sum(tf.transpose(tf.reshape(perToken, [batch.time, batch.rows])), -1) as tf.Tensor1D;
}

/** `sequenceLogProbs` for many rows, in chunks, without gradients. */
export function scoreSequences(
  model: Transformer,
  data: TokenData,
  options: { lossOn?: LossOn; batchSize?: number } = {},
): Float32Array {
  checkTokenData(data);
  const batchSize = options.batchSize ?? 256;
  const out = new Float32Array(data.rows);
  for (let start = 0; start < data.rows; start += batchSize) {
    const rows = Array.from({ length: Math.min(batchSize, data.rows - start) }, (_, i) => start + i);
    tf.tidy(() => {
      out.set(
        sequenceLogProbs(model, takeRows(data, rows), options.lossOn).dataSync() as Float32Array,
        start,
      );
    });
  }
  return out;
}

export interface Evaluation {
  /** Mean next-token cross-entropy over counted tokens. */
  loss: number;
  /** Share of counted tokens whose argmax prediction is right (teacher forcing). */
  tokenAccuracy: number;
  /** Share of rows whose counted tokens are all predicted right (teacher forcing). */
  sequenceAccuracy: number;
}

/** Teacher-forced evaluation over all rows, in chunks so memory stays bounded. */
export function evaluateLanguageModel(
  model: Transformer,
  data: TokenData,
  options: { lossOn?: LossOn; batchSize?: number } = {},
): Evaluation {
  checkTokenData(data);
  const lossOn = options.lossOn ?? 'completion';
  const batchSize = options.batchSize ?? 256;
  let lossSum = 0;
  let counted = 0;
  let correct = 0;
  let rowsRight = 0;
  for (let start = 0; start < data.rows; start += batchSize) {
    const ids = Array.from({ length: Math.min(batchSize, data.rows - start) }, (_, i) => start + i);
    const batch = prepare(takeRows(data, ids), lossOn);
    tf.tidy(() => {
      const logits = model.logitsTimeMajor(batch.inputs, batch.rows, batch.time, batch.start);
      const logProbs = tokenLogProbs(logits, tf.tensor1d(batch.targets, 'int32')).dataSync();
      const predicted = tf.argMax(logits, -1).dataSync();
      const rowOk = new Uint8Array(batch.rows).fill(1);
      for (let i = 0; i < batch.targets.length; i++) {
        if (batch.weights[i] === 0) continue;
        counted++;
        lossSum -= logProbs[i];
        if (predicted[i] === batch.targets[i]) correct++;
        else rowOk[i % batch.rows] = 0;
      }
      for (const ok of rowOk) rowsRight += ok;
    });
  }
  return {
    loss: counted ? lossSum / counted : 0,
    tokenAccuracy: counted ? correct / counted : 0,
    sequenceAccuracy: data.rows ? rowsRight / data.rows : 0,
  };
}

/** What every trainer shares: budget, optimizer, progress, checkpoints, resume. */
export interface TrainerOptions {
  optimizer: Optimizer;
  batchSize: number;
  /** Number of passes over the data (or give `steps`). */
  epochs?: number;
  /** Number of optimizer steps (overrides `epochs`). */
  steps?: number;
  /** Seeds the batch order. */
  seed: number;
  /** Which parameter groups to update (default: all). */
  params?: ParamSelection;
  onProgress?: (progress: TrainProgress) => void;
  progressEvery?: number;
  checkpointEvery?: number;
  onCheckpoint?: (bundle: ModelBundle, step: number) => void | Promise<void>;
  resumeFrom?: ModelBundle;
  meta?: { [key: string]: Json };
  signal?: AbortSignal;
}

function stepBudget(rows: number, options: TrainerOptions): number {
  if (options.steps !== undefined) return options.steps;
  if (options.epochs === undefined) throw new Error('give epochs or steps');
  return options.epochs * batchesPerEpoch(rows, options.batchSize);
}

export interface SftOptions extends TrainerOptions {
  /** Default 'completion' when the data has a lossMask, else 'all'. */
  lossOn?: LossOn;
}

/** Padding a row skips on average (an estimate of what a batch skips, for throughput figures). */
function meanLeadingPads(data: TokenData): number {
  const pads = data.leadingPads;
  return pads && pads.length > 0 ? pads.reduce((a, b) => a + b, 0) / pads.length : 0;
}

/** Supervised fine-tuning (or training from scratch) on next-token prediction. */
export function trainSft(model: Transformer, data: TokenData, options: SftOptions): Promise<TrainSummary> {
  checkTokenData(data);
  const lossOn = options.lossOn ?? (data.lossMask ? 'completion' : 'all');
  const params = model.params.select(options.params);
  return trainLoop({
    ...options,
    model,
    steps: stepBudget(data.rows, options),
    tokensPerStep: Math.min(options.batchSize, data.rows) * (data.seqLen - 1 - meanLeadingPads(data)),
    terms: (step) => {
      const rows = batchRows(data.rows, options.batchSize, options.seed, step, data.leadingPads);
      const batch = takeRows(data, rows);
      return [{ loss: () => languageModelLoss(model, batch, lossOn), params }];
    },
  });
}

/** Preference pairs: row i of `chosen` is preferred over row i of `rejected` (same prompt). */
export interface PreferencePairs {
  chosen: TokenData;
  rejected: TokenData;
}

export interface DpoOptions extends TrainerOptions {
  beta: number;
  /** Which tokens are scored (default 'completion'). */
  lossOn?: LossOn;
}

/**
 * Direct preference optimisation of `policy` against a frozen `reference` (never updated; its
 * log-probs are computed once, up front).
 */
export async function trainDpo(
  policy: Transformer,
  reference: Transformer,
  pairs: PreferencePairs,
  options: DpoOptions,
): Promise<TrainSummary> {
  const { chosen, rejected } = pairs;
  checkTokenData(chosen, 'chosen');
  checkTokenData(rejected, 'rejected');
  if (chosen.rows !== rejected.rows || chosen.seqLen !== rejected.seqLen) {
    throw new Error('chosen and rejected must have the same rows and seqLen');
  }
  const lossOn = options.lossOn ?? 'completion';
  const refChosen = scoreSequences(reference, chosen, { lossOn, batchSize: options.batchSize });
  const refRejected = scoreSequences(reference, rejected, { lossOn, batchSize: options.batchSize });
  const params = policy.params.select(options.params);
  // Chosen rows then rejected rows, so a batch of pairs goes through the model as one batch.
  const stacked: TokenData = {
    tokens: concatInt32(chosen.tokens, rejected.tokens),
    rows: 2 * chosen.rows,
    seqLen: chosen.seqLen,
    lossMask:
      chosen.lossMask && rejected.lossMask ? concatMask(chosen.lossMask, rejected.lossMask) : undefined,
  };
  return trainLoop({
    ...options,
    model: policy,
    steps: stepBudget(chosen.rows, options),
    tokensPerStep: 2 * Math.min(options.batchSize, chosen.rows) * (chosen.seqLen - 1),
    terms: (step) => {
      const rows = batchRows(chosen.rows, options.batchSize, options.seed, step);
      const n = rows.length;
      const both = takeRows(stacked, [...rows, ...Array.from(rows, (r) => r + chosen.rows)]);
      const refC = Float32Array.from(rows, (r) => refChosen[r]);
      const refR = Float32Array.from(rows, (r) => refRejected[r]);
      return [
        {
          loss: () => {
            const logProbs = sequenceLogProbs(policy, both, lossOn);
            const policyChosen = tf.slice(logProbs, [0], [n]);
            const policyRejected = tf.slice(logProbs, [n], [n]);
            return dpoLoss(policyChosen, policyRejected, refC, refR, options.beta);
          },
          params,
        },
      ];
    },
  });
}

function concatInt32(a: Int32Array, b: Int32Array): Int32Array {
  const out = new Int32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function concatMask(a: Uint8Array | Float32Array, b: Uint8Array | Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
