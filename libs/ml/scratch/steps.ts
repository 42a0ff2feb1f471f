// Measures ms per training step (wall and CPU) for the bench transformer and MLP.
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, Transformer, Mlp, Optimizer, trainStep, languageModelLoss, crossEntropy } from '../src/index.ts';
await initBackend('wasm');
function time(name: string, flops: number, f: () => void, n: number) {
  for (let i = 0; i < 3; i++) f();
  const c0 = process.cpuUsage(); const t0 = performance.now();
  for (let i = 0; i < n; i++) f();
  const wall = (performance.now() - t0) / n; const cpu = (process.cpuUsage(c0).user + process.cpuUsage(c0).system) / 1000 / n;
  console.log(`${name.padEnd(12)} wall ${wall.toFixed(1)} ms (${(flops / wall / 1e6).toFixed(1)} GF)  cpu ${cpu.toFixed(1)} ms (${(flops / cpu / 1e6).toFixed(1)} GF)`);
}
const which = process.argv[2] ?? 'both';
if (which !== 'mlp') {
  const B = 64, T = 32, V = 64, C = 128, L = 2;
  const model = new Transformer({ vocabSize: V, contextLength: T, layers: L, width: C, heads: 4, mlpRatio: 4, bias: false }, 1);
  const opt = new Optimizer({ kind: 'adam', learningRate: 1e-3 });
  const tokens = new Int32Array(B * (T + 1)).map((_, i) => (i * 7919) % V);
  const data = { tokens, rows: B, seqLen: T + 1 };
  const params = model.params.list();
  const flops = 3 * B * T * (2 * (L * 12 * C * C + C * V) + L * 4 * T * C);
  time('transformer', flops, () => trainStep(opt, { loss: () => languageModelLoss(model, data, 'all'), params }), 10);
}
if (which !== 'tf') {
  const sizes = [64, 512, 512, 256], B = 256;
  const model = new Mlp({ sizes }, 1);
  const opt = new Optimizer({ kind: 'adam', learningRate: 1e-3 });
  const x = new Float32Array(B * 64).map((_, i) => Math.sin(i)); const y = new Int32Array(B).map((_, i) => i % 256);
  const params = model.params.list();
  time('mlp', 3 * 2 * B * (64 * 512 + 512 * 512 + 512 * 256), () => trainStep(opt, { loss: () => crossEntropy(model.forward(tf.tensor2d(x, [B, 64])), y), params }), 30);
}
