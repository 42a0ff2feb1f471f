import { initBackend, Transformer, Optimizer, trainSft, generate, Random, evaluateLanguageModel } from '../src/index.ts';
await initBackend('wasm');
function reversal(rows: number, seed: number) {
  const rng = new Random(seed); const L = 9;
  const tokens = new Int32Array(rows * L); const mask = new Uint8Array(rows * L);
  for (let r = 0; r < rows; r++) {
    const d = [0, 1, 2, 3].map(() => rng.int(10));
    const row = [...d, 10, ...[...d].reverse()];
    tokens.set(row, r * L); for (let t = 5; t < 9; t++) mask[r * L + t] = 1;
  }
  return { tokens, rows, seqLen: L, lossMask: mask };
}
const train = reversal(4000, 1), test = reversal(512, 2);
const model = new Transformer({ vocabSize: 11, contextLength: 8, layers: Number(process.argv[3] ?? 2), width: 64, heads: 4, mlpRatio: 4, bias: false }, 1);
const opt = new Optimizer({ kind: 'adamw', learningRate: Number(process.argv[2] ?? 3e-3), warmupSteps: 20, weightDecay: 0 });
const t0 = performance.now();
const summary = await trainSft(model, train, { optimizer: opt, batchSize: 64, steps: Number(process.argv[4] ?? 300), seed: 1, progressEvery: 50, onProgress: (p) => console.log(p.step, p.meanLoss.toFixed(4), p.tokensPerSecond.toFixed(0), 'tok/s') });
console.log(summary, ((performance.now() - t0) / 1000).toFixed(1), 's');
console.log(evaluateLanguageModel(model, test));
const prompts = new Int32Array(test.rows * 5);
for (let r = 0; r < test.rows; r++) prompts.set(test.tokens.subarray(r * 9, r * 9 + 5), r * 5);
const t1 = performance.now();
const out = generate(model, { tokens: prompts, rows: test.rows, length: 5 }, { maxNewTokens: 4 });
let exact = 0;
for (let r = 0; r < test.rows; r++) { let ok = true; for (let t = 0; t < 4; t++) if (out[r * 4 + t] !== test.tokens[r * 9 + 5 + t]) ok = false; if (ok) exact++; }
console.log('exact match', exact / test.rows, 'gen ms', (performance.now() - t1).toFixed(0));
