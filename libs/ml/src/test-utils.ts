/** Helpers shared by ml's tests (not part of the public API). */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from './backend.ts';

/** Start the wasm backend (the one ml is tuned for). */
export async function useWasm(): Promise<void> {
  await initBackend('wasm');
}

/** Run `f` with the cpu backend active, then switch back to the previous backend. */
export async function onCpu<T>(f: () => T): Promise<T> {
  const previous = tf.getBackend();
  await initBackend('cpu');
  try {
    return f();
  } finally {
    await tf.setBackend(previous);
  }
}

/** Largest absolute difference between two equally long arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Deterministic pseudo-random floats in [-1, 1) (no Math.random in tests either). */
export function floats(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

/** The bytes of every parameter, concatenated: for bit-identity checks. */
export function weightBytes(tensors: { data: Float32Array | Int32Array }[]): Uint8Array {
  const parts = tensors.map((t) => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Byte equality of two arrays (vitest's toEqual walks typed arrays element by element: slow). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}
