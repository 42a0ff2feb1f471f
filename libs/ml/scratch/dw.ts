import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
await tf.setBackend('wasm');
await tf.ready();
function bench(name: string, flops: number, f: () => tf.Tensor, reps = 20) {
  for (let i = 0; i < 3; i++) { const r = f(); r.dataSync(); r.dispose(); }
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) { const r = f(); r.dataSync(); r.dispose(); }
  const dt = (performance.now() - t0) / reps;
  console.log(`${name.padEnd(44)} ${dt.toFixed(3)} ms  ${flops ? (flops / dt / 1e6).toFixed(2) + ' GFLOP/s' : ''}`);
}
const BH = 256, T = 32, D = 32;
const q = tf.randomNormal([BH, T, D]); const k = tf.randomNormal([BH, T, D]);
const kT = tf.transpose(k, [0, 2, 1]);
// reference
const ref = tf.matMul(q, kT);
// depthwise: input [1, T, D, BH], filter [1, D, BH, T]
const qin = tf.reshape(tf.transpose(q, [1, 2, 0]), [1, T, D, BH]) as tf.Tensor4D;
const filt = tf.reshape(tf.transpose(k, [2, 0, 1]), [1, D, BH, T]) as tf.Tensor4D; // [1, d, b, j]
const out = tf.depthwiseConv2d(qin, filt, 1, 'valid'); // [1, T, 1, BH*T]
const outR = tf.transpose(tf.reshape(out, [T, BH, T]), [1, 0, 2]);
console.log('max diff', tf.max(tf.abs(tf.sub(outR, ref))).dataSync()[0]);
bench('batched matmul', 2 * BH * T * T * D, () => tf.matMul(q, kT));
bench('depthwise conv', 2 * BH * T * T * D, () => tf.depthwiseConv2d(qin, filt, 1, 'valid'));
// fresh filter each time (as in training)
bench('depthwise conv fresh filter', 2 * BH * T * T * D, () => tf.tidy(() => tf.depthwiseConv2d(qin, tf.add(filt, 0), 1, 'valid')));
bench('add only', 0, () => tf.add(filt, 0));
// conv2d with input channels: treat as standard conv? 
