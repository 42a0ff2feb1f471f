import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/backend.ts';
import { linear, layerNorm, causalSelfAttention, embedding, tokenLogProbs, matMul } from '../src/ops.ts';
const which = (process.argv[2] ?? 'wasm') as 'wasm' | 'cpu';
console.log(await initBackend(which));
function rnd(shape: number[], seed: number) { return tf.randomNormal(shape, 0, 1, 'float32', seed); }
function maxDiff(a: tf.Tensor, b: tf.Tensor) { return tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]; }
function check(name: string, custom: (...x: tf.Tensor[]) => tf.Tensor, ref: (...x: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[]) {
  const out = custom(...inputs); const r = ref(...inputs);
  const w = rnd(out.shape, 99);
  const g1 = tf.grads((...x: tf.Tensor[]) => tf.sum(tf.mul(custom(...x), w)))(inputs);
  const g2 = tf.grads((...x: tf.Tensor[]) => tf.sum(tf.mul(ref(...x), w)))(inputs);
  console.log(name, 'value', maxDiff(out, r).toExponential(2), 'grads', g1.map((g, i) => maxDiff(g, g2[i]).toExponential(2)).join(' '));
}
check('matMul', (a, b) => matMul(a as tf.Tensor2D, b as tf.Tensor2D), (a, b) => tf.matMul(a, b), [rnd([7, 5], 1), rnd([5, 3], 2)]);
check('linear', (a, b) => linear(a as tf.Tensor2D, b as tf.Tensor2D), (a, b) => tf.matMul(a, b), [rnd([7, 5], 1), rnd([5, 3], 2)]);
check('linear wide in', (a, b) => linear(a as tf.Tensor2D, b as tf.Tensor2D), (a, b) => tf.matMul(a, b), [rnd([7, 9], 1), rnd([9, 3], 2)]);
check('linear bias relu', (a, b, c) => linear(a as tf.Tensor2D, b as tf.Tensor2D, c as tf.Tensor1D, 'relu'), (a, b, c) => tf.relu(tf.add(tf.matMul(a, b), c)), [rnd([7, 5], 1), rnd([5, 3], 2), rnd([3], 3)]);
check('layerNorm', (a, g, s) => layerNorm(a as tf.Tensor2D, g as tf.Tensor1D, s as tf.Tensor1D), (a, g, s) => { const m = tf.moments(a, -1, true); return tf.add(tf.mul(tf.div(tf.sub(a, m.mean), tf.sqrt(tf.add(m.variance, 1e-5))), g), s); }, [rnd([6, 8], 1), rnd([8], 2), rnd([8], 3)]);
check('layerNorm noshift', (a, g) => layerNorm(a as tf.Tensor2D, g as tf.Tensor1D), (a, g) => { const m = tf.moments(a, -1, true); return tf.mul(tf.div(tf.sub(a, m.mean), tf.sqrt(tf.add(m.variance, 1e-5))), g); }, [rnd([6, 8], 1), rnd([8], 2)]);
const ids = new Int32Array([1, 4, 2, 5, 0, 3, 1, 4]);
check('embedding', (t) => embedding(t as tf.Tensor2D, ids, 2), (t) => tf.sum(tf.reshape(tf.gather(t, tf.tensor1d(ids, 'int32')), [4, 2, 3]), 1), [rnd([6, 3], 1)]);
const T = 5, B = 3, H = 2, D = 4;
function refAttention(qkv: tf.Tensor) {
  const x = tf.reshape(qkv, [T, B, 3, H, D]);
  const [q, k, v] = [0, 1, 2].map((i) => tf.reshape(tf.transpose(tf.slice(x, [0, 0, i, 0, 0], [T, B, 1, H, D]), [1, 3, 0, 2, 4]), [B, H, T, D]));
  const mask = tf.linalg.bandPart(tf.ones([T, T]), -1, 0);
  let s = tf.div(tf.matMul(q, k, false, true), Math.sqrt(D));
  s = tf.add(tf.mul(s, mask), tf.mul(tf.sub(1, mask), -1e9));
  const o = tf.matMul(tf.softmax(s), v); // [B,H,T,D]
  return tf.reshape(tf.transpose(o, [2, 0, 1, 3]), [T * B, H * D]);
}
check('attention', (x) => causalSelfAttention(x as tf.Tensor2D, T, H), refAttention, [rnd([T * B, 3 * H * D], 5)]);
const tg = tf.tensor1d([1, 0, 3, 2, 2, 1, 0], 'int32');
check('tokenLogProbs', (l) => tokenLogProbs(l as tf.Tensor2D, tg), (l) => tf.sum(tf.mul(tf.logSoftmax(l), tf.oneHot(tg, 4)), -1), [rnd([7, 4], 1)]);
