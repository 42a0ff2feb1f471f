import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/backend.ts';
import { Transformer } from '../src/transformer.ts';
import { Optimizer } from '../src/optim.ts';
import { trainStep } from '../src/train.ts';
import { tokenLogProbs } from '../src/ops.ts';
await initBackend((process.argv[2] ?? 'wasm') as 'wasm');
const B = 64, T = 32, V = 64;
const model = new Transformer({ vocabSize: V, contextLength: T, layers: 2, width: 128, heads: 4, mlpRatio: 4, bias: false }, 1);
const opt = new Optimizer({ kind: 'adam', learningRate: 1e-3 });
const tokens = new Int32Array(B * (T + 1)).map((_, i) => (i * 7) % V);
const inp = new Int32Array(B * T), tgt = new Int32Array(B * T);
for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) { inp[b * T + t] = tokens[b * (T + 1) + t]; tgt[t * B + b] = tokens[b * (T + 1) + t + 1]; }
const params = model.params.list();
const loss = () => tf.neg(tf.mean(tokenLogProbs(model.logitsTimeMajor(inp, B, T), tf.tensor1d(tgt, 'int32')))) as tf.Scalar;
for (let i = 0; i < 3; i++) trainStep(opt, { loss, params });
const n = 10; let t0 = performance.now();
for (let i = 0; i < n; i++) trainStep(opt, { loss, params });
const dt = (performance.now() - t0) / n;
const Cw = 128, L = 2;
const fwd = 2 * B * T * (L * 12 * Cw * Cw + Cw * V + (V + T) * Cw) + L * 2 * 2 * B * 4 * T * T * 32;
console.log(`step ${dt.toFixed(1)} ms, effective ${(3 * fwd / dt / 1e6).toFixed(1)} GFLOP/s, numTensors ${tf.memory().numTensors}`);
// forward only
t0 = performance.now();
for (let i = 0; i < n; i++) tf.tidy(() => loss().dataSync());
console.log(`forward ${((performance.now() - t0) / n).toFixed(1)} ms`);
// optimizer only
const { lossGradients } = await import('../src/train.ts');
const g = lossGradients({ loss, params });
t0 = performance.now();
for (let i = 0; i < n; i++) opt.apply(g.grads);
console.log(`optimizer ${((performance.now() - t0) / n).toFixed(1)} ms`);
t0 = performance.now();
for (let i = 0; i < n; i++) lossGradients({ loss, params });
console.log(`grads ${((performance.now() - t0) / n).toFixed(1)} ms`);
const prof = await tf.profile(() => { lossGradients({ loss, params }); return []; });
const byKernel = new Map<string, [number, number]>();
for (const k of prof.kernels) { const e = byKernel.get(k.name) ?? [0, 0]; e[0] += k.kernelTimeMs as number; e[1]++; byKernel.set(k.name, e); }
const total = [...byKernel.values()].reduce((a, b) => a + b[0], 0);
console.log('kernel total', total.toFixed(1), 'ms over', prof.kernels.length, 'kernels');
for (const [k, [ms, c]] of [...byKernel].sort((a, b) => b[1][0] - a[1][0]).slice(0, 25)) console.log(k.padEnd(28), ms.toFixed(2).padStart(8), c);
for (const k of prof.kernels) if (['BatchMatMul', 'Transpose', 'DepthwiseConv2dNative', '_FusedMatMul'].includes(k.name)) console.log(k.name, JSON.stringify(k.inputShapes), (k.kernelTimeMs as number).toFixed(2));
