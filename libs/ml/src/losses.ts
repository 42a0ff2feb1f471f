/**
 * Loss building blocks. All take and return tensors, so they compose inside a `LossTerm`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { tokenLogProbs } from './ops.ts';

function asTargets(targets: Int32Array | tf.Tensor1D): tf.Tensor1D {
  return targets instanceof Int32Array ? tf.tensor1d(targets, 'int32') : targets;
}

/**
 * Mean cross-entropy of logits [n, classes] against integer targets [n]. With `weights` [n], a
 * weighted mean (Σ w·ce / Σ w; zero when every weight is zero).
 */
export function crossEntropy(
  logits: tf.Tensor2D,
  targets: Int32Array | tf.Tensor1D,
  weights?: Float32Array | tf.Tensor1D,
): tf.Scalar {
  const logProbs = tokenLogProbs(logits, asTargets(targets));
  if (!weights) return tf.neg(tf.mean(logProbs)) as tf.Scalar;
  const w = weights instanceof Float32Array ? tf.tensor1d(weights) : weights;
  return tf.div(tf.neg(tf.sum(tf.mul(logProbs, w))), tf.maximum(tf.sum(w), 1e-12)) as tf.Scalar;
}

/**
 * Mean binary cross-entropy of logits [n] against 0/1 labels [n], computed stably as
 * softplus(x) − x·y.
 */
export function binaryCrossEntropyWithLogits(
  logits: tf.Tensor1D,
  labels: Float32Array | tf.Tensor1D,
): tf.Scalar {
  const y = labels instanceof Float32Array ? tf.tensor1d(labels) : labels;
  return tf.mean(tf.sub(tf.softplus(logits), tf.mul(logits, y))) as tf.Scalar;
}

/**
 * The DPO loss, −mean log σ(β·((πc − πr) − (refc − refr))), from per-sequence log-probs of the
 * chosen and rejected completions under the policy (tensors, differentiable) and under the frozen
 * reference (plain numbers).
 */
export function dpoLoss(
  policyChosen: tf.Tensor1D,
  policyRejected: tf.Tensor1D,
  referenceChosen: Float32Array,
  referenceRejected: Float32Array,
  beta: number,
): tf.Scalar {
  const refMargin = new Float32Array(referenceChosen.length);
  for (let i = 0; i < refMargin.length; i++) refMargin[i] = referenceChosen[i] - referenceRejected[i];
  const margin = tf.sub(tf.sub(policyChosen, policyRejected), tf.tensor1d(refMargin));
  // log σ(z) = −softplus(−z), spelled out: tf.logSigmoid's gradient reads a tensor it did not save,
  // which is gone by backprop time when z is an intermediate.
  const z = tf.mul(margin, beta);
  return tf.mean(tf.softplus(tf.neg(z))) as tf.Scalar;
}
