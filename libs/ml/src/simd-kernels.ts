/**
 * The kernels of assembly/kernels.ts (WebAssembly SIMD: embedding and causal self-attention), on
 * plain arrays: ops.ts registers them as differentiable kernels of the wasm and cpu backends. The module has its own
 * memory; a call copies its inputs in and its outputs out (a memcpy each, small next to the work).
 */
import { KERNELS_WASM } from './kernels-wasm.ts';

/** The WebAssembly API as far as it is used here (tsconfig's libs carry no WebAssembly types). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: unknown };
}
const { WebAssembly: wasm } = globalThis as unknown as { WebAssembly: WasmApi };

interface KernelExports {
  memory: WasmMemory;
  layerNormForward(
    x: number,
    gain: number,
    shift: number,
    y: number,
    n: number,
    c: number,
    epsilon: number,
  ): void;
  layerNormBackward(
    x: number,
    gain: number,
    dy: number,
    dx: number,
    dGain: number,
    dShift: number,
    n: number,
    c: number,
    epsilon: number,
  ): void;
  embeddingForward(
    table: number,
    indices: number,
    out: number,
    n: number,
    perRow: number,
    width: number,
  ): void;
  embeddingBackward(
    dy: number,
    indices: number,
    dTable: number,
    n: number,
    perRow: number,
    width: number,
    rows: number,
  ): void;
  scratchFloats(time: number, headDim: number): number;
  attentionForward(
    qkv: number,
    out: number,
    scratch: number,
    time: number,
    batch: number,
    heads: number,
    headDim: number,
  ): void;
  attentionBackward(
    qkv: number,
    dOut: number,
    dQkv: number,
    scratch: number,
    time: number,
    batch: number,
    heads: number,
    headDim: number,
  ): void;
}

let module: KernelExports | undefined;

function kernels(): KernelExports {
  module ??= new wasm.Instance(new wasm.Module(Buffer.from(KERNELS_WASM, 'base64'))).exports as KernelExports;
  return module;
}

/** Lays out float regions one after another from byte 0 (the module has no data of its own). */
function regions(sizes: number[]): { memory: WasmMemory; offsets: number[] } {
  const { memory } = kernels();
  const offsets: number[] = [];
  let end = 0;
  for (const size of sizes) {
    offsets.push(end);
    end += Math.ceil(size / 4) * 16; // 16-byte aligned, for the SIMD loads
  }
  const missing = end - memory.buffer.byteLength;
  if (missing > 0) memory.grow(Math.ceil(missing / 65536));
  return { memory, offsets };
}

/** The kernels need whole SIMD lanes along a head's dimensions. */
export function attentionKernelFits(width: number, heads: number): boolean {
  return width % heads === 0 && (width / heads) % 4 === 0;
}

/**
 * qkv [time·batch, 3·width] (time-major rows; columns q|k|v, head, dim) → the attended values
 * [time·batch, width], handed to `take` as a view of this module's memory, valid during the call.
 */
export function attentionForward(
  qkv: Float32Array,
  time: number,
  batch: number,
  heads: number,
  take: (out: Float32Array) => void,
): void {
  const width = qkv.length / (time * batch * 3);
  const headDim = width / heads;
  const outSize = time * batch * width;
  const { memory, offsets } = regions([qkv.length, outSize, kernels().scratchFloats(time, headDim)]);
  new Float32Array(memory.buffer, offsets[0], qkv.length).set(qkv);
  kernels().attentionForward(offsets[0], offsets[1], offsets[2], time, batch, heads, headDim);
  take(new Float32Array(memory.buffer, offsets[1], outSize));
}

/** The gradient with respect to qkv, from the forward's input and the gradient of its output. */
export function attentionBackward(
  qkv: Float32Array,
  dOut: Float32Array,
  time: number,
  batch: number,
  heads: number,
  take: (dQkv: Float32Array) => void,
): void {
  const width = qkv.length / (time * batch * 3);
  const headDim = width / heads;
  const scratch = kernels().scratchFloats(time, headDim);
  const { memory, offsets } = regions([qkv.length, dOut.length, qkv.length, scratch]);
  new Float32Array(memory.buffer, offsets[0], qkv.length).set(qkv);
  new Float32Array(memory.buffer, offsets[1], dOut.length).set(dOut);
  kernels().attentionBackward(offsets[0], offsets[1], offsets[2], offsets[3], time, batch, heads, headDim);
  take(new Float32Array(memory.buffer, offsets[2], qkv.length));
}

/** The embedding kernels need whole SIMD lanes along a row. */
export function embeddingKernelFits(width: number): boolean {
  return width % 4 === 0;
}

/** Rows of `table` [rows, width] summed by `indices` ([n, perRow], checked by the caller). */
export function embeddingForward(
  table: Float32Array,
  width: number,
  indices: Int32Array,
  perRow: number,
  take: (out: Float32Array) => void,
): void {
  const n = indices.length / perRow;
  const { memory, offsets } = regions([table.length, indices.length, n * width]);
  new Float32Array(memory.buffer, offsets[0], table.length).set(table);
  new Int32Array(memory.buffer, offsets[1], indices.length).set(indices);
  kernels().embeddingForward(offsets[0], offsets[1], offsets[2], n, perRow, width);
  take(new Float32Array(memory.buffer, offsets[2], n * width));
}

/** The gradient of the table [rows, width] from the gradient of the summed rows dy [n, width]. */
export function embeddingBackward(
  dy: Float32Array,
  width: number,
  indices: Int32Array,
  perRow: number,
  rows: number,
  take: (dTable: Float32Array) => void,
): void {
  const n = indices.length / perRow;
  const { memory, offsets } = regions([dy.length, indices.length, rows * width]);
  new Float32Array(memory.buffer, offsets[0], dy.length).set(dy);
  new Int32Array(memory.buffer, offsets[1], indices.length).set(indices);
  kernels().embeddingBackward(offsets[0], offsets[1], offsets[2], n, perRow, width, rows);
  take(new Float32Array(memory.buffer, offsets[2], rows * width));
}

/**
 * LayerNorm over rows of x [n, c] (c a multiple of 4, as `embeddingKernelFits`): y handed to `take`.
 * Without a shift, pass undefined.
 */
export function layerNormForward(
  x: Float32Array,
  gain: Float32Array,
  shift: Float32Array | undefined,
  epsilon: number,
  take: (y: Float32Array) => void,
): void {
  const c = gain.length;
  const n = x.length / c;
  const { memory, offsets } = regions([x.length, c, c, x.length]);
  new Float32Array(memory.buffer, offsets[0], x.length).set(x);
  new Float32Array(memory.buffer, offsets[1], c).set(gain);
  if (shift) new Float32Array(memory.buffer, offsets[2], c).set(shift);
  kernels().layerNormForward(offsets[0], offsets[1], shift ? offsets[2] : 0, offsets[3], n, c, epsilon);
  take(new Float32Array(memory.buffer, offsets[3], x.length));
}

/** LayerNorm's gradients: dx [n, c], dGain [c] and dShift [c], handed to `take` as views. */
export function layerNormBackward(
  x: Float32Array,
  gain: Float32Array,
  dy: Float32Array,
  epsilon: number,
  take: (dx: Float32Array, dGain: Float32Array, dShift: Float32Array) => void,
): void {
  const c = gain.length;
  const n = x.length / c;
  const { memory, offsets } = regions([x.length, c, dy.length, x.length, c, c]);
  new Float32Array(memory.buffer, offsets[0], x.length).set(x);
  new Float32Array(memory.buffer, offsets[1], c).set(gain);
  new Float32Array(memory.buffer, offsets[2], dy.length).set(dy);
  kernels().layerNormBackward(
    offsets[0],
    offsets[1],
    offsets[2],
    offsets[3],
    offsets[4],
    offsets[5],
    n,
    c,
    epsilon,
  );
  take(
    new Float32Array(memory.buffer, offsets[3], x.length),
    new Float32Array(memory.buffer, offsets[4], c),
    new Float32Array(memory.buffer, offsets[5], c),
  );
}
