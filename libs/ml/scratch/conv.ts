import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
await tf.setBackend('wasm');
function timeFresh(M: number, K: number, N: number, reps = 20) {
  const a = tf.randomNormal([1, 1, M, K]) as tf.Tensor4D;
  const bs = Array.from({ length: reps + 3 }, () => tf.randomNormal([1, 1, K, N]) as tf.Tensor4D);
  for (let i = 0; i < 3; i++) tf.conv2d(a, bs[i], 1, 'valid').dispose();
  let t0 = performance.now();
  for (let i = 0; i < reps; i++) tf.conv2d(a, bs[i + 3], 1, 'valid').dispose();
  const fresh = (performance.now() - t0) / reps;
  t0 = performance.now();
  for (let i = 0; i < reps; i++) tf.conv2d(a, bs[0], 1, 'valid').dispose();
  const cached = (performance.now() - t0) / reps;
  const fl = 2 * M * K * N;
  console.log(`conv ${M}x${K}x${N}`.padEnd(20), `fresh ${fresh.toFixed(2)}ms ${(fl / fresh / 1e6).toFixed(1)}GF`.padEnd(24), `cached ${cached.toFixed(2)}ms ${(fl / cached / 1e6).toFixed(1)}GF`);
}
for (const s of [[256,512,512],[256,512,256],[2048,128,384],[128,2048,512]]) timeFresh(s[0], s[1], s[2]);
// unary kernels
const x = tf.randomNormal([2048, 128]);
for (const [name, f] of [['exp', tf.exp], ['log', (t: tf.Tensor) => tf.log(tf.abs(t))], ['sqrt', (t: tf.Tensor) => tf.sqrt(tf.abs(t))], ['rsqrt', (t: tf.Tensor) => tf.rsqrt(tf.abs(t))], ['sigmoid', tf.sigmoid], ['tanh', tf.tanh], ['softmax', (t: tf.Tensor) => tf.softmax(t)], ['abs', tf.abs], ['relu', tf.relu], ['step', (t: tf.Tensor) => tf.step(t)], ['square', tf.square], ['neg', tf.neg]] as [string, (t: tf.Tensor) => tf.Tensor][]) {
  for (let i = 0; i < 3; i++) f(x).dispose();
  const t0 = performance.now();
  for (let i = 0; i < 20; i++) tf.tidy(() => { f(x); });
  console.log(name.padEnd(10), ((performance.now() - t0) / 20).toFixed(3), 'ms for 262k');
}
