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
for (const [N, Cin, Cout] of [[2048, 128, 512], [2048, 512, 128], [2048, 128, 384], [2048, 128, 128], [256, 128, 128], [256, 18, 128]]) {
  const x = tf.randomNormal([N, Cin]) as tf.Tensor2D; const dz = tf.randomNormal([N, Cout]) as tf.Tensor2D;
  const xT = t2(x), dzT = t2(dz);
  const fl = 2 * N * Cin * Cout;
  bench(`[${N},${Cin},${Cout}] xT·dz (pack dz) incl transpose`, () => tf.tidy(() => tf.matMul(t2(x), tf.add(dz, 0))));
  bench(`  dzT·x (pack x) incl transposes`, () => tf.tidy(() => tf.transpose(tf.matMul(t2(dz), tf.add(x, 0)))));
  bench(`  matmul only, pack dz (fresh)`, () => tf.tidy(() => tf.matMul(xT, tf.add(dz, 0))));
  bench(`  matmul only, pack x (fresh)`, () => tf.tidy(() => tf.matMul(dzT, tf.add(x, 0))));
  bench(`  add only dz`, () => tf.add(dz, 0));
  bench(`  add only x`, () => tf.add(x, 0));
  console.log('  ideal @30GF', (fl / 30e6).toFixed(2));
}
