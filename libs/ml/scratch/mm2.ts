import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
await tf.setBackend('wasm');
function timeFresh(M: number, K: number, N: number, reps = 20) {
  const a = tf.randomNormal([M, K]) as tf.Tensor2D;
  const bs = Array.from({ length: reps + 3 }, () => tf.randomNormal([K, N]) as tf.Tensor2D);
  const bFixed = bs[0];
  for (let i = 0; i < 3; i++) tf.matMul(a, bs[i]).dispose();
  let t0 = performance.now();
  for (let i = 0; i < reps; i++) tf.matMul(a, bs[i + 3]).dispose();
  const fresh = (performance.now() - t0) / reps;
  t0 = performance.now();
  for (let i = 0; i < reps; i++) tf.matMul(a, bFixed).dispose();
  const cached = (performance.now() - t0) / reps;
  const fl = 2 * M * K * N;
  console.log(`${M}x${K}x${N}`.padEnd(16), `fresh ${fresh.toFixed(2)}ms ${(fl / fresh / 1e6).toFixed(1)}GF`.padEnd(24), `cached ${cached.toFixed(2)}ms ${(fl / cached / 1e6).toFixed(1)}GF`, ` pack≈${((fresh - cached) / (K * N) * 1e6).toFixed(1)}ns/elem`);
  bs.forEach((b) => b.dispose()); a.dispose();
}
for (const s of [[256,64,512],[256,512,512],[256,512,256],[256,256,512],[512,256,256],[512,256,512],[256,512,64],[512,256,64],[2048,128,384],[2048,128,512],[2048,512,128],[128,2048,512],[512,2048,128],[2048,384,128]]) timeFresh(s[0], s[1], s[2]);
