import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Optimizer, type OptimizerConfig } from './optim.ts';
import { useWasm } from './test-utils.ts';

beforeAll(useWasm);

/** Apply updates with fixed gradients to one parameter; return its values after each. */
function run(config: OptimizerConfig, start: number[], grads: number[][]): number[][] {
  const optimizer = new Optimizer(config);
  const variable = tf.variable(tf.tensor1d(start));
  const out = grads.map((g) => {
    optimizer.apply([{ name: 'w', variable, grad: Float32Array.from(g) }]);
    return Array.from(variable.dataSync());
  });
  variable.dispose();
  return out;
}

describe('optimizers', () => {
  it('Adam follows the textbook update with bias correction', () => {
    const [b1, b2, lr, eps] = [0.9, 0.999, 0.1, 1e-8];
    const grads = [
      [0.5, -1],
      [0.25, 2],
    ];
    const got = run({ kind: 'adam', learningRate: lr }, [1, -2], grads);
    const w = [1, -2];
    const m = [0, 0];
    const v = [0, 0];
    grads.forEach((g, t) => {
      for (let i = 0; i < 2; i++) {
        m[i] = b1 * m[i] + (1 - b1) * g[i];
        v[i] = b2 * v[i] + (1 - b2) * g[i] ** 2;
        w[i] -= (lr * (m[i] / (1 - b1 ** (t + 1)))) / (Math.sqrt(v[i] / (1 - b2 ** (t + 1))) + eps);
      }
      expect(got[t][0]).toBeCloseTo(w[0], 6);
      expect(got[t][1]).toBeCloseTo(w[1], 6);
    });
  });

  it('AdamW decays weights decoupled from the gradient', () => {
    const [adam] = run({ kind: 'adam', learningRate: 0.1 }, [2], [[0]]);
    const [adamw] = run({ kind: 'adamw', learningRate: 0.1, weightDecay: 0.5 }, [2], [[0]]);
    expect(adam[0]).toBeCloseTo(2, 6);
    expect(adamw[0]).toBeCloseTo(2 * (1 - 0.1 * 0.5), 6);
  });

  it('RMSProp matches PyTorch’s form: w −= lr·g / (√avg + ε)', () => {
    const [first] = run({ kind: 'rmsprop', learningRate: 0.01 }, [1], [[2]]);
    const avg = 0.01 * 4;
    expect(first[0]).toBeCloseTo(1 - (0.01 * 2) / (Math.sqrt(avg) + 1e-8), 6);
  });

  it('clips the global gradient norm across parameters', () => {
    const optimizer = new Optimizer({ kind: 'sgd', learningRate: 1, clipNorm: 1 });
    const a = tf.variable(tf.tensor1d([0, 0]));
    const b = tf.variable(tf.tensor1d([0]));
    const info = optimizer.apply([
      { name: 'a', variable: a, grad: Float32Array.from([3, 0]) },
      { name: 'b', variable: b, grad: Float32Array.from([4]) },
    ]);
    expect(info.gradNorm).toBeCloseTo(5, 6);
    expect(a.dataSync()[0]).toBeCloseTo(-0.6, 5);
    expect(b.dataSync()[0]).toBeCloseTo(-0.8, 5);
  });

  it('warms up linearly, then decays as configured', () => {
    const cosine = new Optimizer({
      kind: 'adam',
      learningRate: 1,
      warmupSteps: 4,
      decay: 'cosine',
      totalSteps: 14,
    });
    expect([0, 1, 2, 3].map((i) => cosine.learningRateAt(i))).toEqual([0.25, 0.5, 0.75, 1]);
    expect(cosine.learningRateAt(4)).toBeCloseTo(1, 9);
    expect(cosine.learningRateAt(9)).toBeCloseTo(0.5, 9);
    expect(cosine.learningRateAt(14)).toBeCloseTo(0, 9);
    const linear = new Optimizer({
      kind: 'sgd',
      learningRate: 1,
      decay: 'linear',
      totalSteps: 10,
      minLearningRate: 0.1,
    });
    expect(linear.learningRateAt(5)).toBeCloseTo(0.55, 9);
  });

  it('keeps a step count per parameter, so partial updates bias-correct correctly', () => {
    const optimizer = new Optimizer({ kind: 'adam', learningRate: 0.1 });
    const a = tf.variable(tf.tensor1d([0]));
    const b = tf.variable(tf.tensor1d([0]));
    optimizer.apply([{ name: 'a', variable: a, grad: Float32Array.from([1]) }]);
    optimizer.apply([
      { name: 'a', variable: a, grad: Float32Array.from([1]) },
      { name: 'b', variable: b, grad: Float32Array.from([1]) },
    ]);
    // b's first update is a full first Adam step (−lr·sign(g)), despite the optimizer's clock at 2.
    expect(b.dataSync()[0]).toBeCloseTo(-0.1, 6);
    expect(optimizer.stateJson().paramSteps).toEqual({ a: 2, b: 1 });
    expect(optimizer.iterations).toBe(2);
  });
});
