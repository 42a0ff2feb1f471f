import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
await tf.setBackend('wasm');
await tf.ready();
function bench(name: string, flops: number, f: () => tf.Tensor, reps = 10) {
  for (let i = 0; i < 3; i++) { const r = f(); r.dataSync(); r.dispose(); }
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) { const r = f(); r.dataSync(); r.dispose(); }
  const dt = (performance.now() - t0) / reps;
  console.log(`${name.padEnd(44)} ${dt.toFixed(3)} ms  ${flops ? (flops / dt / 1e6).toFixed(2) + ' GFLOP/s' : ''}`);
}
for (const [M, K, N] of [[1024,1024,1024],[2048,128,128],[2048,128,512],[2048,512,128],[256,64,512],[256,512,512],[256,512,256],[512,256,256],[128,2048,512],[512,2048,128],[2048,64,128], [2048,128,64], [1, 2048, 128]]) {
  const a = tf.randomNormal([M, K]); const b = tf.randomNormal([K, N]);
  bench(`${M}x${K}x${N}`, 2*M*K*N, () => tf.matMul(a, b));
  bench(`${M}x${K}x${N} fresh b`, 2*M*K*N, () => tf.tidy(() => tf.matMul(a, tf.mul(b, 1))));
}
