/**
 * Training-speed benchmark of @lockpick/ml against plain @tensorflow/tfjs-layers, on one backend.
 *
 *   node --import tsx bench/ml.ts [-- --json] [--backend auto|tensorflow|wasm|cpu] [--quick]
 *
 * (a) MLP 64→512→512→256, batch 256, Adam, softmax cross-entropy.
 * (b) Transformer: 2 layers, width 128, 4 heads, context 32, vocab 64, batch 64, Adam.
 * Each is trained with ml's trainer and with the model a user would write in tfjs-layers
 * (model.trainOnBatch). Effective GFLOP/s = 3 × forward matmul FLOPs per second (attention's two
 * products included, embedding lookups not). Also: sampling throughput (batch 256, 32 new tokens),
 * and (c) the ceiling the matMul kernel itself puts on (a).
 */
// tfjs-layers first: its bundle registers the stock gradients, so the baseline trains as shipped.

import {
  crossEntropy,
  generate,
  initBackend,
  isBackendChoice,
  languageModelLoss,
  Mlp,
  Optimizer,
  Random,
  Transformer,
  trainStep,
  wasmKernelFixes,
} from '@lockpick/ml';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

const args = process.argv.slice(2);
const json = args.includes('--json');
const quick = args.includes('--quick');
const backendArg = args[args.indexOf('--backend') + 1];
const choice =
  args.includes('--backend') && backendArg && isBackendChoice(backendArg) ? backendArg : undefined;

const log = (line: string) => {
  if (!json) console.log(line);
};

/** Run `f` on stock tfjs kernels: ml's wasm kernel replacements must not speed up the baseline. */
async function stock<T>(f: () => Promise<T>): Promise<T> {
  wasmKernelFixes(false);
  try {
    return await f();
  } finally {
    if (backend.backend === 'wasm') wasmKernelFixes(true);
  }
}

/**
 * Seconds per call of `step`: the median over the measured calls, after warm-up calls. The median,
 * not the mean, because the machine is shared and a neighbour's burst should not count.
 */
async function timeSteps(step: () => unknown, warmup: number, measured: number): Promise<number> {
  for (let i = 0; i < warmup; i++) await step();
  const seconds: number[] = [];
  for (let i = 0; i < measured; i++) {
    const started = performance.now();
    await step();
    seconds.push((performance.now() - started) / 1000);
  }
  seconds.sort((a, b) => a - b);
  return seconds[Math.floor(measured / 2)];
}

interface Figures {
  stepsPerSecond: number;
  tokensPerSecond: number;
  effectiveGflops: number;
}

function figures(secondsPerStep: number, tokensPerStep: number, forwardFlops: number): Figures {
  return {
    stepsPerSecond: 1 / secondsPerStep,
    tokensPerSecond: tokensPerStep / secondsPerStep,
    effectiveGflops: (3 * forwardFlops) / secondsPerStep / 1e9,
  };
}

function randomFloats(n: number, rng: Random): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal());
}

function randomInts(n: number, below: number, rng: Random): Int32Array {
  return Int32Array.from({ length: n }, () => rng.int(below));
}

// ---------------------------------------------------------------------------------------------
// (a) MLP
// ---------------------------------------------------------------------------------------------
async function benchMlp() {
  const sizes = [64, 512, 512, 256];
  const batch = 256;
  const forwardFlops = 2 * batch * sizes.slice(1).reduce((sum, out, i) => sum + sizes[i] * out, 0);
  const rng = new Random(1);
  const inputs = randomFloats(batch * sizes[0], rng);
  const labels = randomInts(batch, sizes[3], rng);
  const [warmup, measured] = quick ? [2, 5] : [5, 30];

  const model = new Mlp({ sizes }, 1);
  const optimizer = new Optimizer({ kind: 'adam', learningRate: 1e-3 });
  const params = model.params.list();
  const ours = await timeSteps(
    () => {
      trainStep(optimizer, {
        loss: () => crossEntropy(model.forward(tf.tensor2d(inputs, [batch, sizes[0]])), labels),
        params,
      });
    },
    warmup,
    measured,
  );
  model.dispose();

  const baseline = tfl.sequential({
    layers: [
      tfl.layers.dense({ inputShape: [sizes[0]], units: sizes[1], activation: 'relu' }),
      tfl.layers.dense({ units: sizes[2], activation: 'relu' }),
      tfl.layers.dense({ units: sizes[3], activation: 'softmax' }),
    ],
  });
  baseline.compile({ optimizer: tf.train.adam(1e-3), loss: 'sparseCategoricalCrossentropy' });
  const x = tf.tensor2d(inputs, [batch, sizes[0]]);
  const y = tf.tensor2d(Float32Array.from(labels), [batch, 1]);
  const theirs = await stock(() =>
    timeSteps(() => baseline.trainOnBatch(x, y), warmup, Math.max(3, Math.round(measured / 4))),
  );
  baseline.dispose();
  return { ours: figures(ours, batch, forwardFlops), baseline: figures(theirs, batch, forwardFlops) };
}

// ---------------------------------------------------------------------------------------------
// (b) Transformer
// ---------------------------------------------------------------------------------------------
const TF = { layers: 2, width: 128, heads: 4, contextLength: 32, vocabSize: 64, batch: 64 };

function transformerForwardFlops(): number {
  const { layers, width: C, contextLength: T, vocabSize: V, batch } = TF;
  const perToken = 2 * (layers * 12 * C * C + C * V) + layers * 4 * T * C;
  return batch * T * perToken;
}

/** Causal multi-head self-attention as a tfjs-layers layer, written the obvious way. */
class CausalSelfAttention extends tfl.layers.Layer {
  static readonly className = 'CausalSelfAttention';
  constructor(private readonly heads: number) {
    super({});
  }
  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const [q] = inputShape as tfl.Shape[];
    return q;
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const [q, k, v] = inputs as tf.Tensor[];
      const [b, t, c] = q.shape as number[];
      const d = c / this.heads;
      const split = (x: tf.Tensor) => tf.transpose(tf.reshape(x, [b, t, this.heads, d]), [0, 2, 1, 3]);
      const scores = tf.div(tf.matMul(split(q), split(k), false, true), Math.sqrt(d));
      const mask = tf.linalg.bandPart(tf.ones([t, t]), -1, 0);
      const attention = tf.softmax(tf.add(scores, tf.mul(tf.sub(1, mask), -1e9)));
      const out = tf.matMul(attention, split(v));
      return tf.reshape(tf.transpose(out, [0, 2, 1, 3]), [b, t, c]);
    });
  }
}

/** Adds a learned [time, width] position embedding. */
class PositionEmbedding extends tfl.layers.Layer {
  static readonly className = 'PositionEmbedding';
  private table: tfl.LayerVariable | null = null;
  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const [, time, width] = inputShape as number[];
    this.table = this.addWeight(
      'positions',
      [time, width],
      'float32',
      tfl.initializers.randomNormal({ stddev: 0.02 }),
    );
    this.built = true;
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    return tf.add(x, this.table!.read());
  }
}

function baselineTransformer(): tfl.LayersModel {
  const { layers, width, heads, contextLength: T, vocabSize: V } = TF;
  // One-hot input: an Embedding layer's gather gradient needs UnsortedSegmentSum, missing on wasm.
  const input = tfl.input({ shape: [T, V] });
  let x = tfl.layers.dense({ units: width, useBias: false }).apply(input) as tfl.SymbolicTensor;
  x = new PositionEmbedding({}).apply(x) as tfl.SymbolicTensor;
  for (let l = 0; l < layers; l++) {
    const h = tfl.layers.layerNormalization().apply(x) as tfl.SymbolicTensor;
    const [q, k, v] = [0, 1, 2].map(
      () => tfl.layers.dense({ units: width, useBias: false }).apply(h) as tfl.SymbolicTensor,
    );
    const attended = new CausalSelfAttention(heads).apply([q, k, v]) as tfl.SymbolicTensor;
    const projected = tfl.layers
      .dense({ units: width, useBias: false })
      .apply(attended) as tfl.SymbolicTensor;
    x = tfl.layers.add().apply([x, projected]) as tfl.SymbolicTensor;
    const h2 = tfl.layers.layerNormalization().apply(x) as tfl.SymbolicTensor;
    const hidden = tfl.layers.dense({ units: 4 * width, activation: 'relu', useBias: false }).apply(h2);
    const out = tfl.layers.dense({ units: width, useBias: false }).apply(hidden) as tfl.SymbolicTensor;
    x = tfl.layers.add().apply([x, out]) as tfl.SymbolicTensor;
  }
  x = tfl.layers.layerNormalization().apply(x) as tfl.SymbolicTensor;
  const probs = tfl.layers
    .dense({ units: V, useBias: false, activation: 'softmax' })
    .apply(x) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: probs });
}

async function benchTransformer() {
  const { layers, width, heads, contextLength: T, vocabSize: V, batch } = TF;
  const rng = new Random(2);
  const tokens = randomInts(batch * (T + 1), V, rng);
  const [warmup, measured] = quick ? [2, 3] : [3, 10];
  const tokensPerStep = batch * T;
  const forwardFlops = transformerForwardFlops();

  const model = new Transformer(
    { vocabSize: V, contextLength: T, layers, width, heads, mlpRatio: 4, bias: false },
    1,
  );
  const optimizer = new Optimizer({ kind: 'adam', learningRate: 1e-3 });
  const params = model.params.list();
  const data = { tokens, rows: batch, seqLen: T + 1 };
  const ours = await timeSteps(
    () => void trainStep(optimizer, { loss: () => languageModelLoss(model, data, 'all'), params }),
    warmup,
    measured,
  );

  // Sampling: batch 256, a one-token prompt, 32 new tokens.
  const prompts = { tokens: randomInts(256, V, rng), rows: 256, length: 1 };
  generate(model, prompts, { maxNewTokens: 4 });
  const samplingStarted = performance.now();
  const samplingRounds = quick ? 1 : 3;
  for (let i = 0; i < samplingRounds; i++)
    generate(model, prompts, { maxNewTokens: 32, temperature: 1, seed: i });
  const samplingSeconds = (performance.now() - samplingStarted) / 1000 / samplingRounds;
  model.dispose();

  const baseline = baselineTransformer();
  baseline.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy' });
  const oneHot = (offset: number) =>
    tf.tidy(() => {
      const ids = new Int32Array(batch * T);
      for (let b = 0; b < batch; b++)
        for (let t = 0; t < T; t++) ids[b * T + t] = tokens[b * (T + 1) + t + offset];
      return tf.cast(tf.oneHot(tf.tensor2d(ids, [batch, T], 'int32'), V), 'float32');
    });
  const x = oneHot(0);
  const y = oneHot(1);
  const theirs = await stock(() =>
    timeSteps(() => baseline.trainOnBatch(x, y), quick ? 1 : 2, quick ? 2 : 4),
  );
  baseline.dispose();
  return {
    ours: figures(ours, tokensPerStep, forwardFlops),
    baseline: figures(theirs, tokensPerStep, forwardFlops),
    sampling: { sequencesPerSecond: 256 / samplingSeconds, newTokensPerSecond: (256 * 32) / samplingSeconds },
  };
}

// ---------------------------------------------------------------------------------------------
// (c) The matMul ceiling: the bare 2-D matMuls of one MLP training step, nothing else
// ---------------------------------------------------------------------------------------------
/**
 * The forward and gradient matMuls of one step of the MLP in (a) (the first layer's input needs no
 * gradient), each timed alone as a plain 2-D tf.matMul. In training every right-hand operand is new
 * each step (weights change, gradients are new), and XNNPACK must pack it before multiplying; with
 * an operand it has seen before, the packed copy is reused. So: "fresh" (a new right operand per
 * call; the upload of that operand is timed separately and subtracted) is what training can reach,
 * "packed" the kernel's peak. The MLP's effective GFLOP/s cannot exceed the fresh figure.
 */
async function benchMatMulCeiling() {
  const b = 256;
  const shapes: [number, number, number][] = [
    [b, 64, 512],
    [b, 512, 512],
    [b, 512, 256],
    [b, 256, 512],
    [b, 512, 512],
    [64, b, 512],
    [512, b, 512],
    [512, b, 256],
  ];
  const rng = new Random(3);
  const [warmup, measured] = quick ? [3, 10] : [10, 60];
  let flops = 0;
  let fresh = 0;
  let packed = 0;
  for (const [m, k, n] of shapes) {
    flops += 2 * m * k * n;
    const a = tf.tensor2d(randomFloats(m * k, rng), [m, k]);
    const values = randomFloats(k * n, rng);
    const w = tf.tensor2d(values, [k, n]);
    packed += await timeSteps(() => tf.matMul(a, w).dataSync(), warmup, measured);
    const upload = await timeSteps(() => tf.tensor2d(values, [k, n]).dispose(), warmup, measured);
    const withUpload = await timeSteps(
      () => {
        const fresh = tf.tensor2d(values, [k, n]);
        tf.matMul(a, fresh).dataSync();
        fresh.dispose();
      },
      warmup,
      measured,
    );
    fresh += Math.max(0, withUpload - upload);
    tf.dispose([a, w]);
  }
  return { freshGflops: flops / fresh / 1e9, packedGflops: flops / packed / 1e9, secondsPerStep: fresh };
}

const backend = await initBackend(choice);
log(`backend: ${backend.backend} (${backend.reason})`);
const mlp = await benchMlp();
const transformer = await benchTransformer();
const ceiling = await benchMatMulCeiling();
const result = {
  backend,
  matMulCeiling: ceiling,
  mlp: { ...mlp, speedup: mlp.ours.stepsPerSecond / mlp.baseline.stepsPerSecond },
  transformer: {
    ...transformer,
    speedup: transformer.ours.stepsPerSecond / transformer.baseline.stepsPerSecond,
  },
};

if (json) {
  console.log(JSON.stringify(result));
} else {
  const row = (name: string, f: Figures) =>
    `  ${name.padEnd(22)} ${f.stepsPerSecond.toFixed(2).padStart(8)} steps/s ${f.tokensPerSecond.toFixed(0).padStart(9)} tokens/s ${f.effectiveGflops.toFixed(1).padStart(6)} GFLOP/s`;
  log('(a) MLP 64→512→512→256, batch 256, Adam');
  log(row('@lockpick/ml', mlp.ours));
  log(row('tfjs-layers baseline', mlp.baseline));
  log(`  speed-up ×${result.mlp.speedup.toFixed(1)}`);
  log('(b) Transformer: 2 layers, width 128, 4 heads, context 32, vocab 64, batch 64, Adam');
  log(row('@lockpick/ml', transformer.ours));
  log(row('tfjs-layers baseline', transformer.baseline));
  log(`  speed-up ×${result.transformer.speedup.toFixed(1)}`);
  log(
    `  sampling (batch 256, 32 new tokens): ${transformer.sampling.sequencesPerSecond.toFixed(0)} sequences/s, ${transformer.sampling.newTokensPerSecond.toFixed(0)} tokens/s`,
  );
  log("(c) matMul ceiling: the bare 2-D matMuls of one step of (a)'s MLP, each alone");
  log(
    `  new right operand each call (as in training): ${ceiling.freshGflops.toFixed(1)} GFLOP/s (${(1000 * ceiling.secondsPerStep).toFixed(1)} ms a step)`,
  );
  log(`  right operand already packed (kernel peak):   ${ceiling.packedGflops.toFixed(1)} GFLOP/s`);
}
