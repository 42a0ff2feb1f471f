import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
await tf.setBackend('wasm');
function bench(name: string, f: () => tf.Tensor, reps = 20) {
  for (let i = 0; i < 3; i++) { const r = f(); r.dataSync(); r.dispose(); }
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) { const r = f(); r.dispose(); }
  const dt = (performance.now() - t0) / reps;
  console.log(`${name.padEnd(50)} ${dt.toFixed(3)} ms`);
}
const t2 = (x: tf.Tensor2D) => { const [N, C] = x.shape; return N % 32 === 0 ? tf.reshape(tf.transpose(tf.transpose(tf.reshape(x, [N / 32, 32, C]), [0, 2, 1]), [1, 0, 2]), [C, N]) : tf.transpose(x); };
for (const [N, M, P] of [[2048, 128, 512], [2048, 512, 128], [2048, 128, 384], [2048, 128, 128], [8192, 128, 512]]) {
  // product aT [M,N] · b [N,P], b fresh
  const aT = tf.randomNormal([M, N]) as tf.Tensor2D; const b = tf.randomNormal([N, P]) as tf.Tensor2D;
  const fl = 2 * N * M * P;
  bench(`[${M},${N}]x[${N},${P}] whole  (ideal ${(fl / 30e6).toFixed(1)})`, () => tf.tidy(() => tf.matMul(aT, tf.add(b, 0))));
  for (const chunk of [256, 512, 1024]) {
    bench(`  chunks of ${chunk}`, () => tf.tidy(() => {
      const bb = tf.add(b, 0);
      const parts = [];
      for (let k = 0; k < N; k += chunk) parts.push(tf.matMul(tf.slice(aT, [0, k], [M, chunk]), tf.slice(bb, [k, 0], [chunk, P])));
      return tf.addN(parts);
    }));
  }
}
