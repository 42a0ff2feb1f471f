import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
await tf.setBackend('wasm');
function bench(name: string, f: () => tf.Tensor, reps = 30) {
  for (let i = 0; i < 3; i++) { const r = f(); r.dataSync(); r.dispose(); }
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) { const r = f(); r.dispose(); }
  const dt = (performance.now() - t0) / reps;
  console.log(`${name.padEnd(44)} ${dt.toFixed(3)} ms`);
}
for (const [N, C] of [[2048, 128], [2048, 512], [2048, 384], [2048, 64], [16384, 128], [256, 128]]) {
  const x = tf.randomNormal([N, C]);
  bench(`direct [${N},${C}]`, () => tf.transpose(x));
  for (const nb of [8, 16, 32, 64]) {
    bench(`two-pass nb=${nb}`, () => tf.tidy(() => tf.reshape(tf.transpose(tf.transpose(tf.reshape(x, [N / nb, nb, C]), [0, 2, 1]), [1, 0, 2]), [C, N])));
  }
  const ref = tf.transpose(x); const alt = tf.reshape(tf.transpose(tf.transpose(tf.reshape(x, [N / 32, 32, C]), [0, 2, 1]), [1, 0, 2]), [C, N]);
  console.log('equal', tf.max(tf.abs(tf.sub(ref, alt))).dataSync()[0]);
}
