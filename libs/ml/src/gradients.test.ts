import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import './gradients.ts';
import { floats, useWasm } from './test-utils.ts';

beforeAll(useWasm);

/** Compare tf.grad of a scalar function with central finite differences at every coordinate. */
function checkGradient(f: (x: tf.Tensor) => tf.Tensor, shape: number[], seed = 1): void {
  const size = shape.reduce((a, b) => a * b, 1);
  // Keep inputs away from kinks (max, abs, relu) so differences are smooth.
  const x = floats(size, seed).map((v, i) => v + (i % 2 === 0 ? 0.05 : -0.05) + i * 1e-3);
  const scalar = (t: tf.Tensor) =>
    tf.sum(tf.mul(f(t), tf.tensor(floats(f(t).size, 77), f(t).shape))) as tf.Scalar;
  const analytic = tf.tidy(() => tf.grad(scalar)(tf.tensor(x, shape)).dataSync() as Float32Array);
  const eps = 1e-2;
  for (let i = 0; i < size; i++) {
    const at = (delta: number) =>
      tf.tidy(() => {
        const shifted = x.slice();
        shifted[i] += delta;
        return scalar(tf.tensor(shifted, shape)).dataSync()[0];
      });
    const numeric = (at(eps) - at(-eps)) / (2 * eps);
    expect(Math.abs(numeric - analytic[i]), `coordinate ${i}`).toBeLessThan(
      2e-2 * Math.max(1, Math.abs(numeric)),
    );
  }
}

const other = (shape: number[]) =>
  tf.tensor(
    floats(
      shape.reduce((a, b) => a * b, 1),
      5,
    ).map((v) => v + 2),
    shape,
  );

describe('registered gradients agree with finite differences (on wasm)', () => {
  const cases: [string, (x: tf.Tensor) => tf.Tensor, number[]][] = [
    ['add with broadcasting', (x) => tf.add(x, other([1, 3])), [2, 3]],
    ['broadcast operand of add', (x) => tf.add(other([2, 3]), x), [3]],
    ['sub', (x) => tf.sub(other([2, 3]), x), [2, 1]],
    ['mul with broadcasting', (x) => tf.mul(x, other([2, 3])), [2, 1]],
    ['div (both sides)', (x) => tf.div(tf.add(x, 3), tf.add(tf.mul(x, x), 2)), [2, 3]],
    [
      'neg, square, sqrt, exp, log',
      (x) => tf.log(tf.add(tf.exp(tf.neg(x)), tf.sqrt(tf.add(tf.square(x), 1)))),
      [5],
    ],
    ['sigmoid, softplus, tanh', (x) => tf.add(tf.sigmoid(x), tf.mul(tf.softplus(x), tf.tanh(x))), [5]],
    [
      'relu, abs, maximum, minimum',
      (x) => tf.add(tf.relu(x), tf.add(tf.abs(x), tf.maximum(x, tf.minimum(x, 0.1)))),
      [6],
    ],
    ['rsqrt', (x) => tf.rsqrt(tf.add(tf.square(x), 1)), [4]],
    ['sum and mean over axes', (x) => tf.add(tf.sum(x, 0), tf.mean(x, 1, true)), [3, 4]],
    ['max over an axis', (x) => tf.max(x, -1), [3, 4]],
    ['logSumExp and logSoftmax', (x) => tf.add(tf.logSoftmax(x), tf.logSumExp(x, -1, true)), [2, 5]],
    ['softmax', (x) => tf.softmax(x), [2, 5]],
    ['reshape and transpose', (x) => tf.transpose(tf.reshape(x, [3, 2, 2]), [2, 0, 1]), [6, 2]],
    ['concat and slice', (x) => tf.slice(tf.concat([x, tf.square(x)], 1), [0, 1], [2, 4]), [2, 3]],
    ['split', (x) => tf.mul(...(tf.split(x, 2, 1) as [tf.Tensor, tf.Tensor])), [2, 4]],
    // (copy before reversing: tfjs's tape holds the very array unstack returns)
    ['stack and unstack', (x) => tf.stack([...tf.unstack(x)].reverse()), [3, 2]],
    [
      '2-D matMul, all transpose flags',
      (x) => {
        const y = other([3, 3]);
        return tf.addN([
          tf.matMul(x, y),
          tf.matMul(x, y, true, false),
          tf.matMul(x, y, false, true),
          tf.matMul(x, y, true, true),
        ]);
      },
      [3, 3],
    ],
    ['batched matMul', (x) => tf.matMul(x, other([2, 3, 2])), [2, 2, 3]],
    ['gather rows (one-hot gradient)', (x) => tf.gather(x, tf.tensor1d([2, 0, 2], 'int32')), [3, 2]],
    [
      'clipByValue and where',
      (x) => tf.where(tf.greater(x, 0), tf.clipByValue(x, -0.5, 0.5), tf.square(x)),
      [6],
    ],
  ];
  for (const [name, f, shape] of cases) it(name, () => checkGradient(f, shape));
});
