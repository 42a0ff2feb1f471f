import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without types
import { compileKernels, moduleText } from '../../../scripts/build-kernels.mjs';
import { initBackend } from './backend.ts';
import { KERNELS_WASM } from './kernels-wasm.ts';
import { causalSelfAttention, embedding, layerNorm, useSimdKernels } from './ops.ts';
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
  useSimdKernels(kernel);
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
    useSimdKernels(true);
  }
}

function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

/** Value and table gradient of Σ embedding(table, ids) · weights, by the kernel or stock kernels. */
function embeddingAndGradient(table: tf.Tensor2D, ids: Int32Array, perRow: number, kernel: boolean) {
  useSimdKernels(kernel);
  try {
    return tf.tidy(() => {
      const rng = new Random(11);
      const n = ids.length / perRow;
      const weights = tf.tensor2d(
        Float32Array.from({ length: n * table.shape[1] }, () => rng.normal()),
        [n, table.shape[1]],
      );
      const f = (t: tf.Tensor) => tf.sum(tf.mul(embedding(t as tf.Tensor2D, ids, perRow), weights));
      const out = embedding(table, ids, perRow).dataSync().slice() as Float32Array;
      const grad = tf.grad(f)(table).dataSync().slice() as Float32Array;
      return { out, grad };
    });
  } finally {
    useSimdKernels(true);
  }
}

describe('embedding kernel (WebAssembly)', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  for (const backend of ['wasm', 'cpu'] as const) {
    it(`matches the multi-hot product and its gradient, repeated ids included (${backend})`, async () => {
      await initBackend(backend);
      try {
        const rows = 23;
        const table = randomQkv(rows, 8, 5);
        const rng = new Random(3);
        // two ids per row (a token and a position past the vocabulary), many rows sharing ids
        const ids = Int32Array.from({ length: 2 * 40 }, (_, i) => (i % 2 ? 15 + rng.int(8) : rng.int(15)));
        const ours = embeddingAndGradient(table, ids, 2, true);
        const stock = embeddingAndGradient(table, ids, 2, false);
        expect(maxAbsDifference(ours.out, stock.out)).toBeLessThan(1e-5);
        expect(maxAbsDifference(ours.grad, stock.grad)).toBeLessThan(1e-5);
        expect(Math.max(...ours.grad.map(Math.abs))).toBeGreaterThan(1e-2);
        table.dispose();
      } finally {
        await initBackend('wasm');
      }
    });
  }

  it('refuses an id outside the table', () => {
    const table = randomQkv(4, 8, 1);
    expect(() => embedding(table, Int32Array.from([0, 4]), 1)).toThrow(/id 4 out of range \[0, 4\)/);
    table.dispose();
  });
});

/** Value and gradients (x, gain, shift) of Σ layerNorm(x) · weights, by the kernel or stock kernels. */
function layerNormAndGradients(
  x: tf.Tensor2D,
  gain: tf.Tensor1D,
  shift: tf.Tensor1D | undefined,
  kernel: boolean,
) {
  useSimdKernels(kernel);
  try {
    return tf.tidy(() => {
      const rng = new Random(13);
      const weights = tf.tensor2d(
        Float32Array.from({ length: x.size }, () => rng.normal()),
        x.shape,
      );
      const f = (...args: tf.Tensor[]) =>
        tf.sum(
          tf.mul(
            layerNorm(args[0] as tf.Tensor2D, args[1] as tf.Tensor1D, args[2] as tf.Tensor1D | undefined),
            weights,
          ),
        );
      const inputs = shift ? [x, gain, shift] : [x, gain];
      const out = layerNorm(x, gain, shift).dataSync().slice() as Float32Array;
      const grads = tf
        .grads(f)(inputs)
        .map((g) => g.dataSync().slice() as Float32Array);
      return { out, grads };
    });
  } finally {
    useSimdKernels(true);
  }
}

describe('layer norm kernel (WebAssembly)', () => {
  for (const backend of ['wasm', 'cpu'] as const)
    for (const withShift of [true, false])
      it(`matches the stock ops and their gradients (${backend}, ${withShift ? 'with' : 'no'} shift)`, async () => {
        await initBackend(backend);
        try {
          const x = randomQkv(9, 12, 21);
          const rng = new Random(4);
          const gain = tf.tensor1d(Float32Array.from({ length: 12 }, () => 1 + 0.3 * rng.normal()));
          const shift = withShift
            ? tf.tensor1d(Float32Array.from({ length: 12 }, () => rng.normal()))
            : undefined;
          const ours = layerNormAndGradients(x, gain, shift, true);
          const stock = layerNormAndGradients(x, gain, shift, false);
          expect(maxAbsDifference(ours.out, stock.out)).toBeLessThan(1e-5);
          expect(ours.grads).toHaveLength(withShift ? 3 : 2);
          for (let i = 0; i < ours.grads.length; i++) {
            expect(maxAbsDifference(ours.grads[i], stock.grads[i])).toBeLessThan(1e-4);
            expect(Math.max(...ours.grads[i].map(Math.abs))).toBeGreaterThan(1e-2);
          }
          tf.dispose([x, gain, ...(shift ? [shift] : [])]);
        } finally {
          await initBackend('wasm');
        }
      });
});

describe('attention kernel (WebAssembly)', () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('is the module its AssemblyScript source compiles to', async () => {
    const text = moduleText(await compileKernels());
    expect(text).toContain(KERNELS_WASM);
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
