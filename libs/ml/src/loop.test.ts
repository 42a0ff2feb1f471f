import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { type TrainProgress, trainLoop } from './loop.ts';
import { crossEntropy } from './losses.ts';
import { Mlp } from './mlp.ts';
import { Optimizer } from './optim.ts';
import { floats, useWasm } from './test-utils.ts';

beforeAll(useWasm);

/** A tiny classification problem the MLP fits quickly: the class is the sign of the first input. */
function setup() {
  const model = new Mlp({ sizes: [4, 16, 2] }, 1);
  const x = floats(64 * 4, 3);
  const y = Int32Array.from({ length: 64 }, (_, i) => (x[i * 4] > 0 ? 1 : 0));
  const params = model.params.list();
  const terms = () => [{ loss: () => crossEntropy(model.forward(tf.tensor2d(x, [64, 4])), y), params }];
  return { model, terms, optimizer: new Optimizer({ kind: 'adam', learningRate: 0.05 }) };
}

describe('trainLoop', () => {
  it('stops early once the windowed mean loss is under the threshold', async () => {
    const { model, terms, optimizer } = setup();
    const losses: number[] = [];
    const summary = await trainLoop({
      model,
      optimizer,
      terms,
      steps: 500,
      stopWhen: { window: 5, below: 0.2 },
      progressEvery: 1,
      onProgress: (p) => losses.push(p.loss),
    });
    expect(summary.stoppedBy).toBe('threshold');
    expect(summary.steps).toBeLessThan(500);
    expect(losses.slice(-5).reduce((a, b) => a + b) / 5).toBeLessThan(0.2);
    // The summary's loss is the mean over the last 100 steps.
    const last = losses.slice(-100);
    expect(summary.finalLoss).toBeCloseTo(last.reduce((a, b) => a + b) / last.length, 6);
    model.dispose();
  });

  it("keeps each term's final mean loss, what a per-term threshold compares", async () => {
    const { model, terms, optimizer } = setup();
    // A second term whose loss is always 2 (its gradient is zero).
    const first = model.params.list()[0];
    const constant = () => tf.add(2, tf.mul(0, tf.sum(first.variable))) as tf.Scalar;
    const twoTerms = () => [...terms(), { loss: constant, params: [first] }];
    const summary = await trainLoop({ model, optimizer, terms: twoTerms, steps: 20 });
    expect(summary.finalTermLosses).toHaveLength(2);
    expect(summary.finalTermLosses[1]).toBe(2);
    expect(summary.finalLoss).toBeCloseTo(summary.finalTermLosses[0] + 2, 6);
    model.dispose();
  });

  it('reports progress every N steps and after the last, and can be aborted', async () => {
    const { model, terms, optimizer } = setup();
    const seen: TrainProgress[] = [];
    await trainLoop({
      model,
      optimizer,
      terms,
      steps: 7,
      progressEvery: 3,
      tokensPerStep: 64,
      onProgress: (p) => seen.push(p),
    });
    expect(seen.map((p) => p.step)).toEqual([3, 6, 7]);
    expect(seen[0].tokensPerSecond).toBeGreaterThan(0);
    expect(seen[0].losses).toHaveLength(1);

    const controller = new AbortController();
    const summary = await trainLoop({
      model,
      optimizer,
      terms,
      steps: 100,
      progressEvery: 1,
      onProgress: (p) => {
        if (p.step === 4) controller.abort();
      },
      signal: controller.signal,
    });
    expect(summary).toMatchObject({ stoppedBy: 'aborted', steps: 4 });
    model.dispose();
  });
});
