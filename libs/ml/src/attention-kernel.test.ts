import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without types
import { compileAttention, moduleText } from '../../../scripts/build-kernels.mjs';
import { ATTENTION_WASM } from './attention-wasm.ts';
import { initBackend } from './backend.ts';
import { causalSelfAttention, useAttentionKernel } from './ops.ts';
import { Random } from './random.ts';

function randomQkv(rows: number, cols: number, seed: number): tf.Tensor2D {
  const rng = new Random(seed);
  return tf.tensor2d(
    Float32Array.from({ length: rows * cols }, () => 2 * rng.normal()),
    [rows, cols],
  );
}

/** Value and gradient of Σ attention(qkv) · weights, by the kernel or by stock tfjs kernels. */
function attentionAndGradient(qkv: tf.Tensor2D, time: number, heads: number, kernel: boolean) {
  useAttentionKernel(kernel);
  try {
    return tf.tidy(() => {
      const rng = new Random(7);
      const weights = tf.tensor2d(
        Float32Array.from({ length: qkv.shape[0] * (qkv.shape[1] / 3) }, () => rng.normal()),
        [qkv.shape[0], qkv.shape[1] / 3],
      );
      const f = (x: tf.Tensor) => tf.sum(tf.mul(causalSelfAttention(x as tf.Tensor2D, time, heads), weights));
      const out = causalSelfAttention(qkv, time, heads).dataSync().slice() as Float32Array;
      const grad = tf.grad(f)(qkv).dataSync().slice() as Float32Array;
      return { out, grad };
    });
  } finally {
    useAttentionKernel(true);
  }
}

function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

describe('attention kernel (WebAssembly)', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('is the module its AssemblyScript source compiles to', async () => {
    const text = moduleText(await compileAttention());
    expect(text).toContain(ATTENTION_WASM);
  }, 60_000);

  // shapes: context not a multiple of 4, one row, head sizes 4, 8 and 16, as the models use
  for (const [time, batch, heads, headDim] of [
    [61, 3, 4, 16],
    [7, 2, 2, 4],
    [1, 5, 4, 8],
    [13, 1, 1, 12],
  ]) {
    it(`matches stock attention and its gradient (t ${time}, b ${batch}, h ${heads}, d ${headDim})`, () => {
      const qkv = randomQkv(time * batch, 3 * heads * headDim, time + headDim);
      const ours = attentionAndGradient(qkv, time, heads, true);
      const stock = attentionAndGradient(qkv, time, heads, false);
      expect(maxAbsDifference(ours.out, stock.out)).toBeLessThan(2e-5);
      expect(maxAbsDifference(ours.grad, stock.grad)).toBeLessThan(2e-5);
      // and the values are not trivially zero
      expect(Math.max(...ours.grad.map(Math.abs))).toBeGreaterThan(1e-2);
      qkv.dispose();
    });
  }

  it('runs on the cpu backend too', async () => {
    await initBackend('cpu');
    try {
      const qkv = randomQkv(2 * 9, 3 * 8, 3);
      const ours = attentionAndGradient(qkv, 9, 2, true);
      const stock = attentionAndGradient(qkv, 9, 2, false);
      expect(maxAbsDifference(ours.out, stock.out)).toBeLessThan(2e-5);
      expect(maxAbsDifference(ours.grad, stock.grad)).toBeLessThan(2e-5);
    } finally {
      await initBackend('wasm');
    }
  });
});
