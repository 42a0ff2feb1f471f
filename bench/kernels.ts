/**
 * What ml's own WebAssembly SIMD kernels (libs/ml/src/simd-kernels.ts: embedding, LayerNorm,
 * causal self-attention) save, in the shapes lockpick's password-locking world trains and decodes.
 * Figures, not a pass/fail test:
 *
 *   npm run bench:kernels [-- --json] [--rounds N]
 *
 * Each figure is measured with the kernels on and off (off = the same ops from stock tfjs kernels,
 * as before they existed) in alternating rounds of the same process, so a neighbour's burst hits
 * both sides alike; the median round of each side is reported, and their ratio.
 *
 * (a) one training step (Adam) of the default strong model, 3 layers × 64, 4 heads, rows of 61
 *     tokens, 200 words, at the batch sizes the pipeline uses: 1–4 (SFT on few demos), 32 (SFT on
 *     many), 64 (the base, π_strong and the locks);
 * (b) the same for `weak-large` (2 × 48), whose heads are 12 wide;
 * (c) greedy decoding of 300 prompts of 41 tokens, 20 new tokens each (a validation half).
 */
import {
  generate,
  initBackend,
  languageModelLoss,
  Optimizer,
  Random,
  Transformer,
  trainStep,
  useSimdKernels,
} from '@lockpick/ml';

const args = process.argv.slice(2);
const json = args.includes('--json');
const rounds = Number(args[args.indexOf('--rounds') + 1]) || 5;
const say = (line: string) => {
  if (!json) console.log(line);
};

await initBackend('wasm');
const seqLen = 61;
const vocab = 200;
const rng = new Random(1);

function rows(batch: number) {
  const tokens = Int32Array.from({ length: batch * seqLen }, () => rng.int(vocab));
  // loss on the last 20 positions, as on a completion
  const lossMask = Uint8Array.from({ length: batch * seqLen }, (_, i) => (i % seqLen > 40 ? 1 : 0));
  return { tokens, rows: batch, seqLen, lossMask };
}

/** Median seconds of `measure()` with the kernels on and off, alternating rounds. */
function compare(measure: () => number): { on: number; off: number } {
  const seconds: Record<'on' | 'off', number[]> = { on: [], off: [] };
  for (let round = 0; round < rounds; round++) {
    for (const on of [true, false]) {
      useSimdKernels(on);
      seconds[on ? 'on' : 'off'].push(measure());
    }
  }
  useSimdKernels(true);
  const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  return { on: median(seconds.on), off: median(seconds.off) };
}

function trainingStep(layers: number, width: number, batch: number): number {
  const data = rows(batch);
  const model = new Transformer(
    { vocabSize: vocab, contextLength: seqLen, layers, width, heads: 4, mlpRatio: 4, bias: true },
    1,
  );
  const optimizer = new Optimizer({ kind: 'adam', learningRate: 1e-3 });
  const params = model.params.list();
  const step = () => trainStep(optimizer, { loss: () => languageModelLoss(model, data), params });
  for (let i = 0; i < 3; i++) step();
  const steps = batch <= 4 ? 40 : 6;
  const started = performance.now();
  for (let i = 0; i < steps; i++) step();
  model.dispose();
  return (performance.now() - started) / 1000 / steps;
}

const figures: Record<string, { on: number; off: number; ratio: number }> = {};
function report(name: string, unit: string, scale: number, result: { on: number; off: number }) {
  const ratio = result.off / result.on;
  figures[name] = { ...result, ratio };
  say(
    `${name.padEnd(44)} kernels ${(result.on * scale).toFixed(1).padStart(7)} ${unit}   stock ${(result.off * scale).toFixed(1).padStart(7)} ${unit}   ×${ratio.toFixed(2)}`,
  );
}

say(`wasm backend, ${rounds} alternating rounds, medians`);
for (const batch of [1, 4, 32, 64])
  report(
    `(a) strong 3×64, training step, batch ${batch}`,
    'ms',
    1000,
    compare(() => trainingStep(3, 64, batch)),
  );
report(
  '(b) weak-large 2×48, training step, batch 64',
  'ms',
  1000,
  compare(() => trainingStep(2, 48, 64)),
);

const decodeModel = new Transformer(
  { vocabSize: vocab, contextLength: seqLen, layers: 3, width: 64, heads: 4, mlpRatio: 4, bias: true },
  2,
);
const prompts = {
  tokens: Int32Array.from({ length: 300 * 41 }, () => rng.int(vocab)),
  rows: 300,
  length: 41,
};
report(
  '(c) greedy decoding, 300 prompts × 20 tokens',
  'ms',
  1000,
  compare(() => {
    const started = performance.now();
    generate(decodeModel, prompts, { maxNewTokens: 20, batchSize: 300 });
    return (performance.now() - started) / 1000;
  }),
);
if (json) console.log(JSON.stringify({ backend: 'wasm', rounds, figures }));
