/**
 * The causal self-attention kernels of assembly/attention.ts (WebAssembly SIMD), on plain arrays:
 * ops.ts wraps them into a differentiable op for the wasm and cpu backends. The module has its own
 * memory; a call copies its inputs in and its outputs out (a memcpy each, small next to the work).
 */
import { ATTENTION_WASM } from './attention-wasm.ts';

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

interface AttentionExports {
  memory: WasmMemory;
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

let module: AttentionExports | undefined;

function kernels(): AttentionExports {
  module ??= new wasm.Instance(new wasm.Module(Buffer.from(ATTENTION_WASM, 'base64')))
    .exports as AttentionExports;
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
