/**
 * A plain multi-layer perceptron: Linear → ReLU → … → Linear, PyTorch-style init.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { linear } from './ops.ts';
import { ParameterSet, uniformValues } from './params.ts';
import { Random } from './random.ts';

export interface MlpConfig {
  /** Layer widths from input to output, e.g. [64, 512, 512, 256]. */
  sizes: number[];
}

export class Mlp {
  readonly kind = 'mlp';
  readonly config: MlpConfig;
  readonly params = new ParameterSet();

  constructor(config: MlpConfig, seed: number) {
    if (config.sizes.length < 2) throw new Error('an MLP needs at least an input and an output size');
    this.config = { sizes: [...config.sizes] };
    const rng = Random.derive(seed, 'mlp/init');
    const { sizes } = this.config;
    for (let i = 0; i + 1 < sizes.length; i++) {
      const bound = 1 / Math.sqrt(sizes[i]);
      this.params.add(
        `layer.${i}.w`,
        `layer.${i}`,
        [sizes[i], sizes[i + 1]],
        uniformValues(rng, sizes[i] * sizes[i + 1], bound),
      );
      this.params.add(`layer.${i}.b`, `layer.${i}`, [sizes[i + 1]], uniformValues(rng, sizes[i + 1], bound));
    }
  }

  /** Outputs [n, last size] for inputs [n, first size]. */
  forward(x: tf.Tensor2D): tf.Tensor2D {
    const layers = this.config.sizes.length - 1;
    let h = x;
    for (let i = 0; i < layers; i++) {
      const w = this.params.get(`layer.${i}.w`) as unknown as tf.Tensor2D;
      const b = this.params.get(`layer.${i}.b`) as unknown as tf.Tensor1D;
      h = linear(h, w, b, i + 1 < layers ? 'relu' : 'none');
    }
    return h;
  }

  dispose(): void {
    this.params.dispose();
  }
}
