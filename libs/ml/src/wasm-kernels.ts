/**
 * Replacements for three tfjs-backend-wasm (4.22) kernels that copy far more than they need to.
 * Each keeps the original for the cases it does not handle, and is installed once, when
 * `initBackend` starts the wasm backend.
 *
 * - Identity copies its input. customGrad's `save` clones (Identity) every tensor it keeps for the
 *   backward pass, so every saved activation was copied each step. Sharing the buffer, as wasm's
 *   own Reshape and the cpu backend's Identity do, is safe: tfjs never writes into an existing
 *   tensor's buffer.
 * - Slice reads the whole input out of wasm memory into a JS copy (readSync) before copying the
 *   slice, even when the slice is one contiguous block. A contiguous slice is now one memcpy.
 * - SplitV slices through the same path; contiguous splits (along the first non-unit axis) now use
 *   the fast slice.
 */
import * as tf from '@tensorflow/tfjs-core';

interface WasmBackendLike {
  incRef(dataId: tf.DataId): void;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

export function isWasmBackendLike(backend: unknown): backend is WasmBackendLike {
  const b = backend as Partial<WasmBackendLike>;
  return (
    typeof b.incRef === 'function' &&
    typeof b.makeOutput === 'function' &&
    typeof b.typedArrayFromHeap === 'function'
  );
}

const originals = new Map<string, tf.KernelFunc>();

function replaceKernel(kernelName: string, make: (original: tf.KernelFunc) => tf.KernelFunc): void {
  const original = tf.getKernel(kernelName, 'wasm');
  if (!original) return;
  originals.set(kernelName, original.kernelFunc);
  tf.unregisterKernel(kernelName, 'wasm');
  tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: make(original.kernelFunc) });
}

/** A contiguous slice as one copy inside wasm memory, or null when the fast path does not apply. */
function contiguousSlice(
  backend: unknown,
  x: tf.TensorInfo,
  begin: number | number[],
  size?: number | number[],
): tf.TensorInfo | null {
  if (x.dtype === 'string' || !isWasmBackendLike(backend)) return null;
  const [begin_, size_] = tf.slice_util.parseSliceParams(x, begin, size);
  if (!tf.slice_util.isSliceContinous(x.shape, begin_, size_)) return null;
  const offset = tf.slice_util.computeFlatOffset(begin_, tf.util.computeStrides(x.shape));
  const out = backend.makeOutput(size_, x.dtype);
  const count = tf.util.sizeFromShape(size_);
  backend.typedArrayFromHeap(out).set(backend.typedArrayFromHeap(x).subarray(offset, offset + count));
  return out;
}

let installed = false;

/**
 * Install (true, what initBackend does for wasm) or remove (false) the kernel replacements above,
 * e.g. to measure stock tfjs on the same backend.
 */
export function wasmKernelFixes(enabled: boolean): void {
  if (!enabled) {
    for (const [kernelName, kernelFunc] of originals) {
      tf.unregisterKernel(kernelName, 'wasm');
      tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc });
    }
    originals.clear();
    installed = false;
    return;
  }
  if (installed) return;
  installed = true;
  replaceKernel('Identity', (original) => (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    if (x.dtype === 'string' || !isWasmBackendLike(args.backend)) return original(args);
    args.backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  });
  replaceKernel('Slice', (original) => (args) => {
    const { begin, size } = args.attrs as unknown as { begin: number | number[]; size: number | number[] };
    return contiguousSlice(args.backend, args.inputs.x as tf.TensorInfo, begin, size) ?? original(args);
  });
  replaceKernel('SplitV', (original) => (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    const { numOrSizeSplits, axis } = args.attrs as unknown as {
      numOrSizeSplits: number | number[];
      axis: number;
    };
    const at = tf.util.parseAxisParam(axis, x.shape)[0];
    // Contiguous only if every axis before the split axis has size 1.
    if (x.shape.slice(0, at).some((d) => d !== 1)) return original(args);
    const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, numOrSizeSplits, at);
    const begin = x.shape.map(() => 0);
    const outs: tf.TensorInfo[] = [];
    for (const s of sizes) {
      const size = x.shape.slice();
      size[at] = s;
      const part = contiguousSlice(args.backend, x, begin.slice(), size);
      if (!part) return original(args);
      outs.push(part);
      begin[at] += s;
    }
    return outs;
  });
}
