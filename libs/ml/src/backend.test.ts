import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { initBackend, isBackendChoice } from './backend.ts';
import { languageModelLoss } from './lm.ts';
import { Transformer } from './transformer.ts';
import { wasmKernelFixes } from './wasm-kernels.ts';

const savedEnv = process.env.LOCKPICK_BACKEND;
afterEach(() => {
  if (savedEnv === undefined) delete process.env.LOCKPICK_BACKEND;
  else process.env.LOCKPICK_BACKEND = savedEnv;
});

describe('initBackend', () => {
  it('starts the backend asked for', async () => {
    expect(await initBackend('cpu')).toMatchObject({ backend: 'cpu' });
    expect(tf.getBackend()).toBe('cpu');
    const wasm = await initBackend('wasm');
    expect(wasm.backend).toBe('wasm');
    expect(wasm.reason).toMatch(/WebAssembly/);
  });

  it("'auto' falls through the native packages (not installed here) to wasm and says why", async () => {
    const info = await initBackend('auto');
    expect(info.backend).toBe('wasm');
    expect(info.reason).toMatch(/@tensorflow\/tfjs-node: not installed/);
    expect(info.reason).toMatch(/@tensorflow\/tfjs-node-gpu: (not installed|no NVIDIA GPU visible)/);
  });

  it("an explicit 'tensorflow' fails when no native package is present", async () => {
    await expect(initBackend('tensorflow')).rejects.toThrow(/initBackend\('tensorflow'\) failed/);
  });

  it('honours LOCKPICK_BACKEND when no choice is given, and rejects bad values', async () => {
    process.env.LOCKPICK_BACKEND = 'cpu';
    expect((await initBackend()).backend).toBe('cpu');
    process.env.LOCKPICK_BACKEND = 'gpu-please';
    await expect(initBackend()).rejects.toThrow(/LOCKPICK_BACKEND=gpu-please/);
    expect(isBackendChoice('wasm')).toBe(true);
    expect(isBackendChoice('webgl')).toBe(false);
  });

  it('runs the wasm backend inside a worker thread whose entry registers tsx', async () => {
    // The engine runs compute-heavy stages in worker_threads whose entry registers tsx; do the same.
    const entry = `
      const { parentPort, workerData } = require('node:worker_threads');
      (async () => {
        const { register } = await import('tsx/esm/api');
        register();
        const ml = await import(workerData.indexUrl);
        const tf = await import('@tensorflow/tfjs-core');
        const info = await ml.initBackend('wasm');
        const product = tf.matMul(tf.ones([2, 3]), tf.ones([3, 2])).dataSync();
        parentPort.postMessage({ info, product: Array.from(product) });
      })().catch((error) => parentPort.postMessage({ error: String((error && error.stack) || error) }));
    `;
    const indexUrl = pathToFileURL(new URL('./index.ts', import.meta.url).pathname).href;
    const worker = new Worker(entry, { eval: true, workerData: { indexUrl } });
    const reply = await new Promise<{ info?: { backend: string }; product?: number[]; error?: string }>(
      (resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      },
    );
    await worker.terminate();
    expect(reply.error).toBeUndefined();
    expect(reply.info?.backend).toBe('wasm');
    expect(reply.product).toEqual([3, 3, 3, 3]);
  });

  it("ml's wasm kernel replacements change speed, not results", async () => {
    await initBackend('wasm');
    const tokens = Int32Array.from({ length: 4 * 9 }, (_, i) => (i * 7) % 11);
    const data = { tokens, rows: 4, seqLen: 9 };
    const gradientBytes = () => {
      const model = new Transformer(
        { vocabSize: 11, contextLength: 8, layers: 1, width: 16, heads: 2, mlpRatio: 2, bias: true },
        3,
      );
      const variables = model.params.list().map((p) => p.variable);
      const bytes = tf.tidy(() => {
        const { grads } = tf.variableGrads(() => languageModelLoss(model, data, 'all'), variables);
        return Buffer.concat(
          variables.map((v) => Buffer.from((grads[v.name].dataSync() as Float32Array).buffer)),
        );
      });
      model.dispose();
      return bytes;
    };
    const fixed = gradientBytes();
    wasmKernelFixes(false);
    const stock = gradientBytes();
    wasmKernelFixes(true);
    expect(fixed.equals(stock)).toBe(true);
  });
});
