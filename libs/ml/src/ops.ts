/**
 * Differentiable building blocks, written for the speed of TensorFlow.js's wasm backend.
 *
 * On wasm, only a plain 2-D matMul reaches the fast XNNPACK kernel (≈ 30 GFLOP/s here, one thread);
 * matMul with transposeA/transposeB or a batch dimension falls back to a slow loop (≈ 0.6–2
 * GFLOP/s) — and the stock matMul gradient uses exactly those forms. Gather's gradient needs
 * UnsortedSegmentSum (not in wasm), and Gather itself is slow; reductions over a non-last axis
 * transpose first; Exp, Log and Tanh cost ≈ 5–20 ns an element while Softmax and Sigmoid cost ≈ 1.
 * So every piece here has a hand-written gradient built from explicit transposes, plain 2-D
 * matMuls and last-axis reductions, and model code composes these pieces instead of calling
 * tf.matMul / tf.gather directly. (Measurements: see libs/ml/README.md.)
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  attentionBackward,
  attentionForward,
  attentionKernelFits,
  embeddingBackward,
  embeddingForward,
  embeddingKernelFits,
  layerNormBackward,
  layerNormForward,
} from './simd-kernels.ts';
import './gradients.ts';
import { isWasmBackendLike } from './wasm-kernels.ts';

type GradSave = (tensors: tf.Tensor[]) => void;
type CustomGradFn = Parameters<typeof tf.customGrad>[0];

/** A typed wrapper over tf.customGrad: `f(inputs, save)` returns the value and its gradient. */
function customOp<I extends tf.Tensor[], O extends tf.Tensor>(
  f: (
    inputs: I,
    save: GradSave,
  ) => { value: tf.Tensor; gradFunc: (dy: O, saved: tf.Tensor[]) => tf.Tensor[] },
): (...inputs: I) => O {
  const op = tf.customGrad(((...args: Array<tf.Tensor | GradSave>) => {
    const save = args[args.length - 1] as GradSave;
    return f(args.slice(0, -1) as I, save);
  }) as unknown as CustomGradFn);
  return (...inputs: I) => op(...inputs) as O;
}

let simdKernelsOn = true;

/**
 * Switch ml's own WebAssembly kernels (simd-kernels.ts: embedding and attention) off or on again;
 * off, those ops are built from stock tfjs kernels. For benchmarks and the kernels' own tests.
 */
export function useSimdKernels(on: boolean): void {
  simdKernelsOn = on;
}

/** The kernels are registered for the wasm and cpu backends (tfjs-node has fast kernels of its own). */
function simdKernelsApply(): boolean {
  const backend = tf.getBackend();
  return simdKernelsOn && (backend === 'wasm' || backend === 'cpu');
}

interface KernelBackend {
  readSync(dataId: tf.DataId): unknown;
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo;
}

/** A tensor's values: a view of wasm memory, or the cpu backend's own array. */
function valuesOf<T extends Float32Array | Int32Array>(backend: unknown, t: tf.TensorInfo): T {
  if (isWasmBackendLike(backend)) return backend.typedArrayFromHeap(t) as T;
  return (backend as KernelBackend).readSync(t.dataId) as T;
}

/** A new float32 tensor holding a copy of `values`. */
function outputOf(backend: unknown, shape: number[], values: Float32Array): tf.TensorInfo {
  if (isWasmBackendLike(backend)) {
    const out = backend.makeOutput(shape, 'float32');
    backend.typedArrayFromHeap(out).set(values);
    return out;
  }
  return (backend as KernelBackend).makeTensorInfo(shape, 'float32', values.slice());
}

/** Registers a kernel for both backends the SIMD kernels serve. */
function registerSimdKernel(kernelName: string, kernelFunc: tf.KernelFunc): void {
  for (const backendName of ['wasm', 'cpu'])
    if (!tf.getKernel(kernelName, backendName)) tf.registerKernel({ kernelName, backendName, kernelFunc });
}

/**
 * Transpose of a 2-D tensor. wasm's Transpose reads with a long stride and misses cache on tall
 * matrices; transposing 32-row tiles first, then moving whole tiles, is 3–4× faster (measured).
 */
export function transpose2d(x: tf.Tensor2D): tf.Tensor2D {
  const [rows, cols] = x.shape;
  const tile = 32;
  if (rows % tile !== 0 || rows < 8 * tile || cols < 8) return tf.transpose(x);
  const tiles = tf.transpose(tf.reshape(x, [rows / tile, tile, cols]), [0, 2, 1]);
  return tf.reshape(tf.transpose(tiles, [1, 0, 2]), [cols, rows]) as tf.Tensor2D;
}

/** Column sums of a 2-D tensor, as last-axis sums of its transpose (wasm transposes anyway). */
function columnSums(x: tf.Tensor2D): tf.Tensor1D {
  return tf.sum(transpose2d(x), -1) as tf.Tensor1D;
}

/**
 * aᵀ·b for tall a [n, k] and b [n, m] (the weight-gradient product), with no transposed matMul.
 * The fast kernel repacks its right operand on every call, and packing costs more per element than
 * the tiled transpose; so the narrower of the two goes on the right (measured on wasm).
 */
function matMulTransposedA(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  if (a.shape[1] <= b.shape[1]) return tf.transpose(tf.matMul(transpose2d(b), a)) as tf.Tensor2D;
  return tf.matMul(transpose2d(a), b) as tf.Tensor2D;
}

const matMulOp = customOp<[tf.Tensor2D, tf.Tensor2D], tf.Tensor2D>(([a, b], save) => {
  save([a, b]);
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy, [sa, sb]) => [
      tf.matMul(dy, transpose2d(sb as tf.Tensor2D)),
      matMulTransposedA(sa as tf.Tensor2D, dy),
    ],
  };
});

/** a [m, k] · b [k, n]; its gradient uses only plain 2-D matMuls. */
export function matMul(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  return matMulOp(a, b);
}

export type Activation = 'none' | 'relu';

/**
 * The three gradients of activation(x·w + b), each a thunk, so a caller computes only those it
 * needs. ReLU's derivative is read off the output: y > 0 exactly where the input was > 0.
 */
function linearGradientThunks(
  dy: tf.Tensor2D,
  x: tf.Tensor2D,
  w: tf.Tensor2D,
  y: tf.Tensor2D | undefined,
  activation: Activation,
): { x: () => tf.Tensor; w: () => tf.Tensor; bias: () => tf.Tensor } {
  const dz: tf.Tensor2D = activation === 'relu' && y ? tf.mul(dy, tf.step(y)) : dy;
  const [n, inputs] = x.shape;
  return {
    // dx = dz·wᵀ repacks wᵀ [out, in]; dxᵀ = w·dzᵀ repacks dzᵀ [out, n] instead, less when n < in.
    x: () =>
      n < inputs ? transpose2d(tf.matMul(w, transpose2d(dz)) as tf.Tensor2D) : tf.matMul(dz, transpose2d(w)),
    w: () => matMulTransposedA(x, dz),
    bias: () => columnSums(dz),
  };
}

function linearGradients(
  dy: tf.Tensor2D,
  x: tf.Tensor2D,
  w: tf.Tensor2D,
  y: tf.Tensor2D | undefined,
  activation: Activation,
  withBias: boolean,
): tf.Tensor[] {
  const g = linearGradientThunks(dy, x, w, y, activation);
  return withBias ? [g.x(), g.w(), g.bias()] : [g.x(), g.w()];
}

const linearOps = {
  none: makeLinear('none'),
  relu: makeLinear('relu'),
};

/**
 * x·w (+ b) (then ReLU) as one _FusedMatMul kernel. tf.fused.matMul would do this, but it stops
 * fusing the activation whenever a gradient tape is recording, which is always while training.
 */
function fusedMatMul(
  x: tf.Tensor2D,
  w: tf.Tensor2D,
  b: tf.Tensor1D | undefined,
  activation: Activation,
): tf.Tensor2D {
  if (!b && activation === 'none') return tf.matMul(x, w);
  const [m, k] = x.shape;
  const n = w.shape[1];
  const inputs: tf.NamedTensorMap = { a: tf.reshape(x, [1, m, k]), b: tf.reshape(w, [1, k, n]) };
  if (b) inputs.bias = b;
  const attrs = {
    transposeA: false,
    transposeB: false,
    activation: activation === 'relu' ? 'relu' : 'linear',
  };
  const out = tf.engine().runKernel('_FusedMatMul', inputs, attrs) as tf.Tensor3D;
  return tf.reshape(out, [m, n]);
}

function makeLinear(activation: Activation) {
  const withBias = customOp<[tf.Tensor2D, tf.Tensor2D, tf.Tensor1D], tf.Tensor2D>(([x, w, b], save) => {
    const y = fusedMatMul(x, w, b, activation);
    save(activation === 'relu' ? [x, w, y] : [x, w]);
    return {
      value: y,
      gradFunc: (dy, [sx, sw, sy]) =>
        linearGradients(dy, sx as tf.Tensor2D, sw as tf.Tensor2D, sy as tf.Tensor2D, activation, true),
    };
  });
  const noBias = customOp<[tf.Tensor2D, tf.Tensor2D], tf.Tensor2D>(([x, w], save) => {
    const y = fusedMatMul(x, w, undefined, activation);
    save(activation === 'relu' ? [x, w, y] : [x, w]);
    return {
      value: y,
      gradFunc: (dy, [sx, sw, sy]) =>
        linearGradients(dy, sx as tf.Tensor2D, sw as tf.Tensor2D, sy as tf.Tensor2D, activation, false),
    };
  });
  return { withBias, noBias };
}

/**
 * The dense layer as a kernel of its own on wasm and cpu: the backend's _FusedMatMul on 3-D views
 * of the same buffers, with a gradient registered per input. A customGrad computes the gradient of
 * every input, so a frozen layer (training only the target blocks, say) still paid for its weight
 * gradient; the tape calls only the inputs that lead to trained parameters.
 */
const LINEAR = 'LockpickLinear';

function registerLinearKernel(backendName: 'wasm' | 'cpu'): void {
  if (tf.getKernel(LINEAR, backendName)) return;
  tf.registerKernel({
    kernelName: LINEAR,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, w, bias } = inputs as { x: tf.TensorInfo; w: tf.TensorInfo; bias?: tf.TensorInfo };
      const fused = tf.getKernel('_FusedMatMul', backendName);
      if (!fused) throw new Error(`${LINEAR}: the ${backendName} backend has no _FusedMatMul kernel`);
      const [m, k] = x.shape;
      const n = w.shape[1];
      const a = { dataId: x.dataId, shape: [1, m, k], dtype: x.dtype };
      const b = { dataId: w.dataId, shape: [1, k, n], dtype: w.dtype };
      const out = fused.kernelFunc({
        inputs: bias ? { a, b, bias } : { a, b },
        backend,
        attrs: {
          transposeA: false,
          transposeB: false,
          activation: (attrs as { activation: string }).activation,
        },
      }) as tf.TensorInfo;
      return { dataId: out.dataId, shape: [m, n], dtype: out.dtype };
    },
  });
}
registerLinearKernel('wasm');
registerLinearKernel('cpu');

tf.registerGradient({
  kernelName: LINEAR,
  inputsToSave: ['x', 'w'],
  outputsToSave: [true],
  gradFunc: (dy, saved, attrs) => {
    const [x, w, y] = saved as tf.Tensor2D[];
    const activation = (attrs as unknown as { activation: string }).activation === 'relu' ? 'relu' : 'none';
    return linearGradientThunks(dy as tf.Tensor2D, x, w, y, activation);
  },
});

/**
 * A dense layer: activation(x · w + b) for x [n, in], w [in, out], b [out] (optional).
 * Bias and ReLU are fused into the forward matMul.
 */
export function linear(
  x: tf.Tensor2D,
  w: tf.Tensor2D,
  b?: tf.Tensor1D,
  activation: Activation = 'none',
): tf.Tensor2D {
  if (tf.getKernel(LINEAR, tf.getBackend())) {
    const inputs: tf.NamedTensorMap = b ? { x, w, bias: b } : { x, w };
    return tf.engine().runKernel(LINEAR, inputs, {
      activation: activation === 'relu' ? 'relu' : 'linear',
    }) as tf.Tensor2D;
  }
  const ops = linearOps[activation];
  return b ? ops.withBias(x, w, b) : ops.noBias(x, w);
}

/**
 * Layer normalisation over the last axis of x [n, c], then scale (and shift when given).
 * One custom gradient instead of autodiff through moments: fewer, last-axis-only kernels. (The same
 * as JavaScript kernels was slower: plain JS loops cost more than the kernels' fixed overhead saves.)
 */
export function layerNorm(
  x: tf.Tensor2D,
  gain: tf.Tensor1D,
  shift?: tf.Tensor1D,
  epsilon = 1e-5,
): tf.Tensor2D {
  if (simdKernelsApply() && embeddingKernelFits(x.shape[1])) {
    const inputs: tf.NamedTensorMap = shift ? { x, gain, shift } : { x, gain };
    return tf.engine().runKernel(LAYER_NORM, inputs, { epsilon }) as tf.Tensor2D;
  }
  const normalize = (input: tf.Tensor2D) => {
    const centred = tf.sub(input, tf.mean(input, -1, true));
    const variance = tf.mean(tf.square(centred), -1, true);
    const rstd = tf.rsqrt(tf.add(variance, epsilon)) as tf.Tensor2D;
    return { xhat: tf.mul(centred, rstd) as tf.Tensor2D, rstd };
  };
  // dx = rstd · (dx̂ − mean(dx̂) − x̂ · mean(dx̂ · x̂)), with dx̂ = dy · gain
  const inputGradient = (dy: tf.Tensor2D, g: tf.Tensor1D, xhat: tf.Tensor2D, rstd: tf.Tensor2D) => {
    const dxhat = tf.mul(dy, g);
    const meanDxhat = tf.mean(dxhat, -1, true);
    const meanDxhatXhat = tf.mean(tf.mul(dxhat, xhat), -1, true);
    return tf.mul(rstd, tf.sub(tf.sub(dxhat, meanDxhat), tf.mul(xhat, meanDxhatXhat)));
  };
  if (shift) {
    const op = customOp<[tf.Tensor2D, tf.Tensor1D, tf.Tensor1D], tf.Tensor2D>(([input, g, s], save) => {
      const { xhat, rstd } = normalize(input);
      save([xhat, rstd, g]);
      return {
        value: tf.add(tf.mul(xhat, g), s) as tf.Tensor2D,
        gradFunc: (dy, [sxhat, srstd, sg]) => [
          inputGradient(dy, sg as tf.Tensor1D, sxhat as tf.Tensor2D, srstd as tf.Tensor2D),
          columnSums(tf.mul(dy, sxhat)),
          columnSums(dy),
        ],
      };
    });
    return op(x, gain, shift);
  }
  const op = customOp<[tf.Tensor2D, tf.Tensor1D], tf.Tensor2D>(([input, g], save) => {
    const { xhat, rstd } = normalize(input);
    save([xhat, rstd, g]);
    return {
      value: tf.mul(xhat, g) as tf.Tensor2D,
      gradFunc: (dy, [sxhat, srstd, sg]) => [
        inputGradient(dy, sg as tf.Tensor1D, sxhat as tf.Tensor2D, srstd as tf.Tensor2D),
        columnSums(tf.mul(dy, sxhat)),
      ],
    };
  });
  return op(x, gain);
}

/** `layerNorm` by the SIMD kernels: one pass a row forward, one backward for all three gradients. */
const LAYER_NORM = 'LockpickLayerNorm';
const LAYER_NORM_GRAD = 'LockpickLayerNormGrad';

registerSimdKernel(LAYER_NORM, ({ inputs, backend, attrs }) => {
  const { x, gain, shift } = inputs as { x: tf.TensorInfo; gain: tf.TensorInfo; shift?: tf.TensorInfo };
  const { epsilon } = attrs as unknown as { epsilon: number };
  let result: tf.TensorInfo | undefined;
  layerNormForward(
    valuesOf(backend, x),
    valuesOf(backend, gain),
    shift ? valuesOf<Float32Array>(backend, shift) : undefined,
    epsilon,
    (y) => {
      result = outputOf(backend, x.shape, y);
    },
  );
  return result!;
});
registerSimdKernel(LAYER_NORM_GRAD, ({ inputs, backend, attrs }) => {
  const { x, gain, dy } = inputs as { x: tf.TensorInfo; gain: tf.TensorInfo; dy: tf.TensorInfo };
  const { epsilon, part } = attrs as unknown as { epsilon: number; part: 'x' | 'gain' | 'shift' };
  let result: tf.TensorInfo | undefined;
  layerNormBackward(
    valuesOf(backend, x),
    valuesOf(backend, gain),
    valuesOf(backend, dy),
    epsilon,
    (dx, dGain, dShift) => {
      if (part === 'x') result = outputOf(backend, x.shape, dx);
      else result = outputOf(backend, gain.shape, part === 'gain' ? dGain : dShift);
    },
  );
  return result!;
});

tf.registerGradient({
  kernelName: LAYER_NORM,
  inputsToSave: ['x', 'gain'],
  gradFunc: (dy, saved, attrs) => {
    const [x, gain] = saved;
    // The tape runs each input's thunk in a scope of its own and frees what the others made, so
    // each asks for its own part (the pass over the rows is cheap next to the dispatch it saves).
    const part = (name: 'x' | 'gain' | 'shift') => () =>
      tf.engine().runKernel(
        LAYER_NORM_GRAD,
        { x, gain, dy: dy as tf.Tensor },
        {
          ...(attrs as unknown as tf.NamedAttrMap),
          part: name,
        },
      ) as tf.Tensor;
    return { x: part('x'), gain: part('gain'), shift: part('shift') };
  },
});

/**
 * Rows of `table` [r, c] summed by a multi-hot matrix: row i of the result is Σ_j table[indices[i, j]].
 * `indices` is [n, k] (k ids per row, e.g. a token id and a position id offset past the vocabulary).
 * The product is a plain matMul, and so is its gradient (no gather, no UnsortedSegmentSum).
 */
export function embedding(table: tf.Tensor2D, indices: Int32Array, idsPerRow = 1): tf.Tensor2D {
  const rows = table.shape[0];
  for (const id of indices)
    if (id < 0 || id >= rows) throw new RangeError(`embedding: id ${id} out of range [0, ${rows})`);
  if (simdKernelsApply() && embeddingKernelFits(table.shape[1]))
    return tf
      .engine()
      .runKernel(
        EMBEDDING,
        { table, indices: tf.tensor2d(indices, [indices.length / idsPerRow, idsPerRow], 'int32') },
        {},
      ) as tf.Tensor2D;
  return stockEmbedding(table, indices, idsPerRow);
}

/** `embedding` as a multi-hot matrix times the table (any backend, any width). */
function stockEmbedding(table: tf.Tensor2D, indices: Int32Array, idsPerRow: number): tf.Tensor2D {
  const rows = table.shape[0];
  const n = indices.length / idsPerRow;
  const hot = new Float32Array(n * rows);
  const hotT = new Float32Array(rows * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < idsPerRow; j++) {
      const id = indices[i * idsPerRow + j];
      hot[i * rows + id] += 1;
      hotT[id * n + i] += 1;
    }
  }
  const op = customOp<[tf.Tensor2D], tf.Tensor2D>(([t]) => {
    const hotMatrix = tf.tensor2d(hot, [n, rows]);
    return {
      value: tf.matMul(hotMatrix, t),
      gradFunc: (dy) => [tf.matMul(tf.tensor2d(hotT, [rows, n]), dy)],
    };
  });
  return op(table);
}

/** `embedding` by the SIMD kernels: rows summed by index, the gradient scattered back. */
const EMBEDDING = 'LockpickEmbedding';
const EMBEDDING_GRAD = 'LockpickEmbeddingGrad';

registerSimdKernel(EMBEDDING, ({ inputs, backend }) => {
  const { table, indices } = inputs as { table: tf.TensorInfo; indices: tf.TensorInfo };
  const [n, perRow] = indices.shape;
  const width = table.shape[1];
  let result: tf.TensorInfo | undefined;
  embeddingForward(valuesOf(backend, table), width, valuesOf(backend, indices), perRow, (out) => {
    result = outputOf(backend, [n, width], out);
  });
  return result!;
});
registerSimdKernel(EMBEDDING_GRAD, ({ inputs, backend, attrs }) => {
  const { dy, indices } = inputs as { dy: tf.TensorInfo; indices: tf.TensorInfo };
  const { rows } = attrs as unknown as { rows: number };
  const width = dy.shape[1];
  let result: tf.TensorInfo | undefined;
  embeddingBackward(
    valuesOf(backend, dy),
    width,
    valuesOf(backend, indices),
    indices.shape[1],
    rows,
    (dTable) => {
      result = outputOf(backend, [rows, width], dTable);
    },
  );
  return result!;
});

tf.registerGradient({
  kernelName: EMBEDDING,
  inputsToSave: ['table', 'indices'],
  gradFunc: (dy, saved) => {
    const [table, indices] = saved;
    return {
      table: () =>
        tf.engine().runKernel(
          EMBEDDING_GRAD,
          { dy: dy as tf.Tensor, indices },
          {
            rows: table.shape[0],
          },
        ) as tf.Tensor,
      indices: () => tf.zerosLike(indices),
    };
  },
});

/** Additive causal mask [t, 1, t]: 0 where key j ≤ query i, −1e9 above the diagonal. */
const causalMasks = new Map<number, Float32Array>();
function causalMask(t: number): tf.Tensor3D {
  let mask = causalMasks.get(t);
  if (!mask) {
    mask = new Float32Array(t * t);
    for (let i = 0; i < t; i++) for (let j = i + 1; j < t; j++) mask[i * t + j] = -1e9;
    causalMasks.set(t, mask);
  }
  return tf.tensor3d(mask, [t, 1, t]);
}

/**
 * Batched product over c: out[x, c, m] = Σ_s input[x, s, c] · filter[s, c, m].
 * That is a depthwise convolution whose kernel spans the whole s axis, which XNNPACK runs as a
 * grouped GEMM — ≈ 4× faster on wasm than a batched matMul (which has no fast kernel there).
 */
function batchedByDepthwise(input: tf.Tensor3D, filter: tf.Tensor3D): tf.Tensor3D {
  const [x, s, c] = input.shape;
  const m = filter.shape[2];
  const out = tf.depthwiseConv2d(
    tf.reshape(input, [1, x, s, c]) as tf.Tensor4D,
    tf.reshape(filter, [1, s, c, m]) as tf.Tensor4D,
    1,
    'valid',
  );
  return tf.reshape(out, [x, c, m]);
}

/**
 * q, k and v out of a fused projection qkv [t·b, 3·h·d] (columns q|k|v, then head, then dim), each
 * as [t, b·h, d]. A transpose puts q, k, v in three contiguous blocks, which slice cheaply; a
 * column split (tf.split on axis 1) copies element by element in JavaScript on wasm.
 */
export function splitQkv(
  qkv: tf.Tensor2D,
  time: number,
  heads: number,
): [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D] {
  const [rows, cols] = qkv.shape;
  const width = cols / 3;
  const blocks = tf.transpose(tf.reshape(qkv, [rows, 3, width]), [1, 0, 2]);
  const shape: [number, number, number] = [time, (rows / time) * heads, width / heads];
  const part = (i: number) => tf.reshape(tf.slice(blocks, [i, 0, 0], [1, rows, width]), shape) as tf.Tensor3D;
  return [part(0), part(1), part(2)];
}

/** The inverse of splitQkv, for gradients: three [t, b·h, d] tensors back to [t·b, 3·h·d]. */
function joinQkv(parts: tf.Tensor3D[], rows: number, width: number): tf.Tensor2D {
  const blocks = tf.stack(parts.map((t) => tf.reshape(t, [rows, width])));
  return tf.reshape(tf.transpose(blocks, [1, 0, 2]), [rows, 3 * width]) as tf.Tensor2D;
}

/**
 * Causal multi-head self-attention core in time-major layout.
 * qkv: [t·b, 3·h·d] — rows ordered (time, batch), columns (q|k|v, head, dim), the output of one
 * linear layer. Returns [t·b, h·d] in the same layout, ready for the output projection.
 *
 * In this layout each of q, k, v reads as [t, c, d] with c = (batch, head); every batched product
 * below is `batchedByDepthwise`, and the layout transposes it needs are explicit.
 */
export function causalSelfAttention(qkv: tf.Tensor2D, time: number, heads: number): tf.Tensor2D {
  if (simdKernelsApply() && attentionKernelFits(qkv.shape[1] / 3, heads))
    return kernelAttention(qkv, time, heads);
  return stockAttention(qkv, time, heads);
}

/**
 * causalSelfAttention by the WebAssembly kernels of assembly/kernels.ts, registered as kernels of
 * the wasm and cpu backends (one forward, one backward): the causal upper triangle is skipped and
 * nothing is transposed. Only the input is saved; the backward kernel recomputes the softmax.
 * On wasm the kernels read their inputs straight from the backend's memory: dataSync would copy
 * them into fresh arrays first, which cost as much as the attention itself (measured).
 */
const ATTENTION = 'LockpickAttention';
const ATTENTION_GRAD = 'LockpickAttentionGrad';

interface AttentionAttrs {
  time: number;
  heads: number;
}

registerSimdKernel(ATTENTION, ({ inputs, backend, attrs }) => {
  const { qkv } = inputs as { qkv: tf.TensorInfo };
  const { time, heads } = attrs as unknown as AttentionAttrs;
  const [rows, cols] = qkv.shape;
  let result: tf.TensorInfo | undefined;
  attentionForward(valuesOf(backend, qkv), time, rows / time, heads, (out) => {
    result = outputOf(backend, [rows, cols / 3], out);
  });
  return result!;
});
registerSimdKernel(ATTENTION_GRAD, ({ inputs, backend, attrs }) => {
  const { qkv, dy } = inputs as { qkv: tf.TensorInfo; dy: tf.TensorInfo };
  const { time, heads } = attrs as unknown as AttentionAttrs;
  const [rows, cols] = qkv.shape;
  let result: tf.TensorInfo | undefined;
  attentionBackward(valuesOf(backend, qkv), valuesOf(backend, dy), time, rows / time, heads, (dQkv) => {
    result = outputOf(backend, [rows, cols], dQkv);
  });
  return result!;
});

tf.registerGradient({
  kernelName: ATTENTION,
  inputsToSave: ['qkv'],
  gradFunc: (dy, saved, attrs) => {
    const [qkv] = saved;
    return {
      qkv: () =>
        tf
          .engine()
          .runKernel(
            ATTENTION_GRAD,
            { qkv, dy: dy as tf.Tensor },
            attrs as unknown as tf.NamedAttrMap,
          ) as tf.Tensor,
    };
  },
});

function kernelAttention(qkv: tf.Tensor2D, time: number, heads: number): tf.Tensor2D {
  const attrs: AttentionAttrs = { time, heads };
  return tf.engine().runKernel(ATTENTION, { qkv }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor2D;
}

/** causalSelfAttention from stock tfjs kernels (any backend, any head size). */
function stockAttention(qkv: tf.Tensor2D, time: number, heads: number): tf.Tensor2D {
  const rows = qkv.shape[0];
  const width = qkv.shape[1] / 3;
  const c = (rows / time) * heads;
  const headDim = width / heads;
  const scale = 1 / Math.sqrt(headDim);
  const op = customOp<[tf.Tensor2D], tf.Tensor2D>(([input], save) => {
    const [q, k, v] = splitQkv(input, time, heads);
    // scores[i, c, j] = Σ_d q[i, c, d] k[j, c, d]
    const scores = batchedByDepthwise(tf.transpose(q, [0, 2, 1]), tf.transpose(k, [2, 1, 0]));
    const att = tf.softmax(tf.add(tf.mul(scores, scale), causalMask(time))) as tf.Tensor3D;
    // out[i, c, d] = Σ_j att[i, c, j] v[j, c, d]
    const out = batchedByDepthwise(tf.transpose(att, [0, 2, 1]), v);
    save([q, k, v, att]);
    return {
      value: tf.reshape(out, [rows, width]) as tf.Tensor2D,
      gradFunc: (dy, saved) => {
        const [sq, sk, sv, sa] = saved as tf.Tensor3D[];
        const dOut = tf.reshape(dy, [time, c, headDim]) as tf.Tensor3D;
        // dAtt[i, c, j] = Σ_d dOut[i, c, d] v[j, c, d];  dV[j, c, d] = Σ_i att[i, c, j] dOut[i, c, d]
        const dAtt = batchedByDepthwise(tf.transpose(dOut, [0, 2, 1]), tf.transpose(sv, [2, 1, 0]));
        const dV = batchedByDepthwise(tf.transpose(sa, [2, 0, 1]), dOut);
        // softmax backward, then the 1/√d scale
        const dScores = tf.mul(
          tf.mul(sa, tf.sub(dAtt, tf.sum(tf.mul(dAtt, sa), -1, true))),
          scale,
        ) as tf.Tensor3D;
        // dQ[i, c, d] = Σ_j dScores[i, c, j] k[j, c, d];  dK[j, c, d] = Σ_i dScores[i, c, j] q[i, c, d]
        const dQ = batchedByDepthwise(tf.transpose(dScores, [0, 2, 1]), sk);
        const dK = batchedByDepthwise(tf.transpose(dScores, [2, 0, 1]), sq);
        return [joinQkv([dQ, dK, dV], rows, width)];
      },
    };
  });
  return op(qkv);
}

/**
 * One new query position attending over cached keys and values (inference only, no gradient):
 * q [c, d], keys and values [t, c, d] (the positions so far, the new one included) → [c, d].
 */
export function attendToCache(q: tf.Tensor2D, keys: tf.Tensor3D, values: tf.Tensor3D): tf.Tensor2D {
  const [t, c, d] = keys.shape;
  const scores = tf.sum(tf.mul(keys, tf.reshape(q, [1, c, d])), -1); // [t, c]
  const weights = tf.softmax(tf.mul(tf.transpose(scores), 1 / Math.sqrt(d))); // [c, t]
  const out = batchedByDepthwise(tf.reshape(tf.transpose(weights), [1, t, c]), values); // [1, c, d]
  return tf.reshape(out, [c, d]);
}

/**
 * log p(target) per row, for logits [n, v] and int32 targets [n]: the log-softmax picked at the
 * target. Its gradient is written out ((onehot − softmax)·dy), skipping autodiff through logSumExp.
 */
export function tokenLogProbs(logits: tf.Tensor2D, targets: tf.Tensor1D): tf.Tensor1D {
  return tokenLogProbsOp(logits, targets);
}

const tokenLogProbsOp = customOp<[tf.Tensor2D, tf.Tensor1D], tf.Tensor1D>(([logits, targets], save) => {
  const classes = logits.shape[1];
  // int32 one-hot, then cast: wasm's OneHot writes wrong values when asked for float32 directly.
  const hot = tf.cast(tf.oneHot(tf.cast(targets, 'int32') as tf.Tensor1D, classes), 'float32');
  // log p(t) = (x_t − max x) − log Σ exp(x − max x), and the softmax's largest entry is exactly
  // 1 / Σ exp(x − max x). So one Softmax kernel (fast on wasm) replaces Exp and Log over the whole
  // matrix (≈ 10 ns an element there); the Log runs on one value per row.
  const probs = tf.softmax(logits);
  const shifted = tf.sub(tf.sum(tf.mul(logits, hot), -1), tf.max(logits, -1));
  save([probs, hot]);
  return {
    value: tf.add(shifted, tf.log(tf.max(probs, -1))),
    gradFunc: (dy, [sp, shot]) => [
      tf.mul(tf.sub(shot, sp), tf.reshape(dy, [-1, 1])),
      tf.zeros(targets.shape, targets.dtype),
    ],
  };
});
