/**
 * Choosing the TensorFlow.js backend.
 *
 * `auto` prefers native TensorFlow (tfjs-node-gpu when a GPU is visible, then tfjs-node), then the
 * wasm backend, then the pure-JS cpu backend. The native packages are optional: they are imported
 * by a computed module name, so nothing here needs them to build, test or run.
 */
import { existsSync, readdirSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { wasmKernelFixes } from './wasm-kernels.ts';

export type BackendChoice = 'auto' | 'tensorflow' | 'wasm' | 'cpu';

export interface BackendInfo {
  /** The active tfjs backend name: 'tensorflow', 'wasm' or 'cpu'. */
  backend: string;
  /** Why it was chosen (and what was tried before it), for logs and run manifests. */
  reason: string;
}

const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'tensorflow', 'wasm', 'cpu'];

/** True for the strings `initBackend` accepts. */
export function isBackendChoice(value: string): value is BackendChoice {
  return (BACKEND_CHOICES as readonly string[]).includes(value);
}

/** A GPU is visible to the NVIDIA driver (the only kind tfjs-node-gpu can use). */
function nvidiaGpuVisible(): boolean {
  try {
    return existsSync('/proc/driver/nvidia/gpus') && readdirSync('/proc/driver/nvidia/gpus').length > 0;
  } catch {
    return false;
  }
}

/**
 * Import an optional package by a name TypeScript cannot see, so its types are never required.
 * Returns null on success, else why it failed.
 */
async function importOptional(name: string): Promise<string | null> {
  try {
    await import(/* @vite-ignore */ name);
    return null;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') return 'not installed';
    return `failed to load (${(error as Error).message.split('\n')[0]})`;
  }
}

async function activate(name: string): Promise<boolean> {
  try {
    return (await tf.setBackend(name)) && tf.getBackend() === name;
  } catch {
    return false;
  }
}

async function tryTensorflow(tried: string[]): Promise<BackendInfo | null> {
  const candidates = [
    { pkg: '@tensorflow/tfjs-node-gpu', needsGpu: true },
    { pkg: '@tensorflow/tfjs-node', needsGpu: false },
  ];
  for (const { pkg, needsGpu } of candidates) {
    if (needsGpu && !nvidiaGpuVisible()) {
      tried.push(`${pkg}: no NVIDIA GPU visible`);
      continue;
    }
    const failure = await importOptional(pkg);
    if (failure) {
      tried.push(`${pkg}: ${failure}`);
      continue;
    }
    if (await activate('tensorflow')) {
      return { backend: 'tensorflow', reason: `native TensorFlow through ${pkg}` };
    }
    tried.push(`${pkg}: loaded but the 'tensorflow' backend did not start`);
  }
  return null;
}

async function tryWasm(tried: string[]): Promise<BackendInfo | null> {
  try {
    await import('@tensorflow/tfjs-backend-wasm');
  } catch (error) {
    tried.push(`wasm: ${(error as Error).message}`);
    return null;
  }
  if (await activate('wasm')) {
    wasmKernelFixes(true);
    const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    return { backend: 'wasm', reason: `WebAssembly backend (XNNPACK${simd ? ', SIMD' : ''}, one thread)` };
  }
  tried.push('wasm: the backend did not start');
  return null;
}

async function tryCpu(): Promise<BackendInfo> {
  await import('@tensorflow/tfjs-backend-cpu');
  if (!(await activate('cpu'))) throw new Error('initBackend: even the cpu backend failed to start');
  // The cpu backend greets its first tensor with advice to install tfjs-node; the reason says it.
  (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
  return { backend: 'cpu', reason: 'pure-JavaScript cpu backend (slowest)' };
}

function explain(info: BackendInfo, tried: string[]): BackendInfo {
  return tried.length === 0 ? info : { ...info, reason: `${info.reason}; tried first: ${tried.join('; ')}` };
}

/**
 * Pick and start a backend. `choice` defaults to the LOCKPICK_BACKEND environment variable, then
 * 'auto'. An explicit 'tensorflow' fails if no native package is installed; 'auto' falls through.
 */
export async function initBackend(choice?: BackendChoice): Promise<BackendInfo> {
  const fromEnv = process.env.LOCKPICK_BACKEND;
  if (choice === undefined && fromEnv !== undefined && fromEnv !== '' && !isBackendChoice(fromEnv)) {
    throw new Error(`LOCKPICK_BACKEND=${fromEnv} is not one of ${BACKEND_CHOICES.join(', ')}`);
  }
  const wanted: BackendChoice = choice ?? (fromEnv ? (fromEnv as BackendChoice) : 'auto');
  const tried: string[] = [];
  switch (wanted) {
    case 'tensorflow': {
      const info = await tryTensorflow(tried);
      if (!info) throw new Error(`initBackend('tensorflow') failed: ${tried.join('; ')}`);
      return info;
    }
    case 'wasm': {
      const info = await tryWasm(tried);
      if (!info) throw new Error(`initBackend('wasm') failed: ${tried.join('; ')}`);
      return info;
    }
    case 'cpu':
      return tryCpu();
    case 'auto': {
      const info = (await tryTensorflow(tried)) ?? (await tryWasm(tried));
      return info ? explain(info, tried) : explain(await tryCpu(), tried);
    }
  }
}
