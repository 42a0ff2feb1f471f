import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
await tf.setBackend(process.argv[2] ?? 'wasm');
await tf.ready();
console.log(tf.getBackend());
function bench(name: string, flops: number, f: () => tf.Tensor, reps = 20) {
  for (let i = 0; i < 3; i++) { const r = f(); r.dataSync(); r.dispose(); }
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) { const r = f(); r.dataSync(); r.dispose(); }
  const dt = (performance.now() - t0) / reps;
  console.log(`${name.padEnd(44)} ${dt.toFixed(3)} ms  ${flops ? (flops / dt / 1e6).toFixed(2) + ' GFLOP/s' : ''}`);
}
const M = 2048, K = 128, N = 384;
const a = tf.randomNormal([M, K]); const b = tf.randomNormal([K, N]);
const at = tf.randomNormal([K, M]); const bt = tf.randomNormal([N, K]);
const dy = tf.randomNormal([M, N]);
bench('plain 2048x128x384', 2*M*K*N, () => tf.matMul(a, b));
bench('transposeA', 2*M*K*N, () => tf.matMul(at, b, true, false), 3);
bench('transposeB', 2*M*K*N, () => tf.matMul(a, bt, false, true), 3);
bench('explicit transpose then plain (B)', 2*M*K*N, () => tf.tidy(() => tf.matMul(a, tf.transpose(bt))));
bench('transpose only [384,128]', 0, () => tf.transpose(bt));
bench('transpose [2048,128]', 0, () => tf.transpose(a));
bench('dW plain [128,2048]x[2048,384]', 2*M*K*N, () => tf.matMul(at, dy));
bench('dX plain [2048,384]x[384,128]', 2*M*K*N, () => tf.matMul(dy, bt));
const B = 256, T = 32, D = 32;
const q = tf.randomNormal([B, T, D]); const k = tf.randomNormal([B, D, T]); const kt = tf.randomNormal([B, T, D]);
bench('batched [256,32,32]x[256,32,32]', 2*B*T*T*D, () => tf.matMul(q, k));
bench('batched transB', 2*B*T*T*D, () => tf.matMul(q, kt, false, true));
const q2 = tf.reshape(q, [B*T, D]); const w32 = tf.randomNormal([D, T]);
bench('2d [8192,32]x[32,32] (same flops)', 2*B*T*T*D, () => tf.matMul(q2, w32));
bench('softmax [256,32,32]', 0, () => tf.softmax(q));
bench('mul scalar [256,32,32]', 0, () => tf.mul(q, tf.scalar(2)));
bench('mul same shape [256,32,32]', 0, () => tf.mul(q, kt));
const bias = tf.randomNormal([32]);
bench('add [8192,32] + [32]', 0, () => tf.add(q2, bias));
const x = tf.randomNormal([2048, 128]);
bench('layernorm fwd (moments)', 0, () => tf.tidy(() => { const m = tf.moments(x, -1, true); return tf.mul(tf.sub(x, m.mean), tf.rsqrt(tf.add(m.variance, 1e-5))); }));
bench('sum axis -1 [2048,128]', 0, () => tf.sum(x, -1));
bench('sum axis 0 [2048,128]', 0, () => tf.sum(x, 0));
const ids = tf.zeros([2048], 'int32') as tf.Tensor1D;
bench('onehot [2048] depth 64', 0, () => tf.oneHot(ids, 64));
bench('pow 2', 0, () => tf.pow(x, tf.scalar(2)));
bench('square', 0, () => tf.square(x));
const x4 = tf.randomNormal([64, 32, 4, 32]);
bench('transpose [64,32,4,32]->[64,4,32,32]', 0, () => tf.transpose(x4, [0, 2, 1, 3]));
bench('transpose [256,32,32] last two', 0, () => tf.transpose(q, [0, 2, 1]));
const s = tf.randomNormal([64, 4, 32, 32]);
bench('stack of 256 2-D matmuls 32x32x32', 2*B*T*T*D, () => tf.tidy(() => { const qs = tf.unstack(q); const ks = tf.unstack(k); return tf.stack(qs.map((qi, i) => tf.matMul(qi, ks[i]))); }), 5);
// elementwise broadcast attention
const qe = tf.reshape(q, [B, T, 1, D]); const ke = tf.reshape(kt, [B, 1, T, D]);
bench('broadcast-mul-sum scores', 2*B*T*T*D, () => tf.tidy(() => tf.sum(tf.mul(qe, ke), -1)), 5);
