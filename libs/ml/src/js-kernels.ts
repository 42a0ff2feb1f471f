/**
 * Layer normalisation and column sums as single kernels written in JavaScript, for the wasm and cpu
 * backends. Built from stock ops, one LayerNorm costs 9 kernels forward and about 16 backward, each
 * with the engine's fixed per-kernel cost; on the small activations of lockpick's models (e.g.
 * 256 × 128) that fixed cost dominates, and one pass of plain loops over the rows is 4–5× faster
 * (measured with `scripts/prof-ln.ts`-style timings, see README). The gradient is registered with
 * one lazy function per input, so a frozen gain or shift costs nothing in the backward pass (a
 * `tf.customGrad` computes every input's gradient).
 *
 * `ops.ts` uses these kernels when the active backend has them and falls back to stock ops
 * elsewhere (tfjs-node, webgl).
 */
import * as tf from '@tensorflow/tfjs-core';

export const LAYER_NORM = 'LockpickLayerNorm';
const LAYER_NORM_INPUT_GRAD = 'LockpickLayerNormInputGrad';
const LAYER_NORM_GAIN_GRAD = 'LockpickLayerNormGainGrad';
export const COLUMN_SUMS = 'LockpickColumnSums';

/** Float32 storage of a backend: allocate an output, then read inputs (in that order: see below). */
interface Storage {
  output(shape: number[]): tf.TensorInfo;
  values(t: tf.TensorInfo): Float32Array;
}

interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
}

interface CpuBackendLike {
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: Float32Array): tf.TensorInfo;
  data: { get(id: tf.DataId): { values?: unknown } };
}

function storageOf(backendName: 'wasm' | 'cpu', backend: unknown): Storage {
  if (backendName === 'wasm') {
    const b = backend as WasmBackendLike;
    // makeOutput can grow wasm memory, which detaches earlier views of the heap: callers allocate
    // their output first and take views afterwards.
    return { output: (shape) => b.makeOutput(shape, 'float32'), values: (t) => b.typedArrayFromHeap(t) };
  }
  const b = backend as CpuBackendLike;
  return {
    output: (shape) => b.makeTensorInfo(shape, 'float32', new Float32Array(tf.util.sizeFromShape(shape))),
    values: (t) => b.data.get(t.dataId).values as Float32Array,
  };
}

function checkFloat(kernel: string, ...tensors: tf.TensorInfo[]): void {
  for (const t of tensors)
    if (t.dtype !== 'float32') throw new Error(`${kernel}: expects float32 tensors, got ${t.dtype}`);
}

/** Per row of x [rows, cols]: the mean and 1/√(variance + ε), in float64. */
function rowMoments(x: Float32Array, rows: number, cols: number, epsilon: number) {
  const mean = new Float64Array(rows);
  const rstd = new Float64Array(rows);
  for (let r = 0, o = 0; r < rows; r++, o += cols) {
    let sum = 0;
    for (let j = 0; j < cols; j++) sum += x[o + j];
    const m = sum / cols;
    let sq = 0;
    for (let j = 0; j < cols; j++) {
      const d = x[o + j] - m;
      sq += d * d;
    }
    mean[r] = m;
    rstd[r] = 1 / Math.sqrt(sq / cols + epsilon);
  }
  return { mean, rstd };
}

function register(backendName: 'wasm' | 'cpu'): void {
  const kernels: tf.KernelConfig[] = [
    {
      // y = (x − mean) · rstd · gain (+ shift), rows of x [rows, cols]
      kernelName: LAYER_NORM,
      backendName,
      kernelFunc: ({ inputs, backend, attrs }) => {
        const { x, gain, shift } = inputs as { x: tf.TensorInfo; gain: tf.TensorInfo; shift?: tf.TensorInfo };
        checkFloat(LAYER_NORM, x, gain, ...(shift ? [shift] : []));
        const epsilon = (attrs as unknown as { epsilon: number }).epsilon;
        const [rows, cols] = x.shape;
        const s = storageOf(backendName, backend);
        const out = s.output([rows, cols]);
        const y = s.values(out);
        const xv = s.values(x);
        const g = s.values(gain);
        const b = shift ? s.values(shift) : null;
        const { mean, rstd } = rowMoments(xv, rows, cols, epsilon);
        for (let r = 0, o = 0; r < rows; r++, o += cols) {
          const m = mean[r];
          const k = rstd[r];
          if (b) for (let j = 0; j < cols; j++) y[o + j] = (xv[o + j] - m) * k * g[j] + b[j];
          else for (let j = 0; j < cols; j++) y[o + j] = (xv[o + j] - m) * k * g[j];
        }
        return out;
      },
    },
    {
      // dx = rstd · (dx̂ − mean(dx̂) − x̂ · mean(dx̂ · x̂)), with dx̂ = dy · gain
      kernelName: LAYER_NORM_INPUT_GRAD,
      backendName,
      kernelFunc: ({ inputs, backend, attrs }) => {
        const { dy, x, gain } = inputs as { dy: tf.TensorInfo; x: tf.TensorInfo; gain: tf.TensorInfo };
        checkFloat(LAYER_NORM_INPUT_GRAD, dy, x, gain);
        const epsilon = (attrs as unknown as { epsilon: number }).epsilon;
        const [rows, cols] = x.shape;
        const s = storageOf(backendName, backend);
        const out = s.output([rows, cols]);
        const dx = s.values(out);
        const dyv = s.values(dy);
        const xv = s.values(x);
        const g = s.values(gain);
        const { mean, rstd } = rowMoments(xv, rows, cols, epsilon);
        for (let r = 0, o = 0; r < rows; r++, o += cols) {
          const m = mean[r];
          const k = rstd[r];
          let sumD = 0;
          let sumDX = 0;
          for (let j = 0; j < cols; j++) {
            const d = dyv[o + j] * g[j];
            sumD += d;
            sumDX += d * (xv[o + j] - m) * k;
          }
          const meanD = sumD / cols;
          const meanDX = sumDX / cols;
          for (let j = 0; j < cols; j++) {
            const xhat = (xv[o + j] - m) * k;
            dx[o + j] = k * (dyv[o + j] * g[j] - meanD - xhat * meanDX);
          }
        }
        return out;
      },
    },
    {
      // d gain = Σ over rows of dy · x̂
      kernelName: LAYER_NORM_GAIN_GRAD,
      backendName,
      kernelFunc: ({ inputs, backend, attrs }) => {
        const { dy, x } = inputs as { dy: tf.TensorInfo; x: tf.TensorInfo };
        checkFloat(LAYER_NORM_GAIN_GRAD, dy, x);
        const epsilon = (attrs as unknown as { epsilon: number }).epsilon;
        const [rows, cols] = x.shape;
        const s = storageOf(backendName, backend);
        const out = s.output([cols]);
        const dg = s.values(out);
        const dyv = s.values(dy);
        const xv = s.values(x);
        const { mean, rstd } = rowMoments(xv, rows, cols, epsilon);
        const acc = new Float64Array(cols);
        for (let r = 0, o = 0; r < rows; r++, o += cols) {
          const m = mean[r];
          const k = rstd[r];
          for (let j = 0; j < cols; j++) acc[j] += dyv[o + j] * (xv[o + j] - m) * k;
        }
        dg.set(acc);
        return out;
      },
    },
    {
      // Σ over rows of x [rows, cols]
      kernelName: COLUMN_SUMS,
      backendName,
      kernelFunc: ({ inputs, backend }) => {
        const { x } = inputs as { x: tf.TensorInfo };
        checkFloat(COLUMN_SUMS, x);
        const [rows, cols] = x.shape;
        const s = storageOf(backendName, backend);
        const out = s.output([cols]);
        const sums = s.values(out);
        const xv = s.values(x);
        const acc = new Float64Array(cols);
        for (let r = 0, o = 0; r < rows; r++, o += cols) for (let j = 0; j < cols; j++) acc[j] += xv[o + j];
        sums.set(acc);
        return out;
      },
    },
  ];
  for (const k of kernels) if (!tf.getKernel(k.kernelName, backendName)) tf.registerKernel(k);
}

function run(kernel: string, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap = {}): tf.Tensor {
  return tf.engine().runKernel(kernel, inputs, attrs) as tf.Tensor;
}

/** Whether the active backend has the JavaScript kernels (else ops.ts uses stock ops). */
export function hasJsKernels(): boolean {
  return tf.getKernel(LAYER_NORM, tf.getBackend()) !== undefined;
}

/** LayerNorm over the last axis of x [rows, cols] as one kernel (see hasJsKernels). */
export function layerNormKernel(
  x: tf.Tensor2D,
  gain: tf.Tensor1D,
  shift: tf.Tensor1D | undefined,
  epsilon: number,
): tf.Tensor2D {
  const inputs: tf.NamedTensorMap = shift ? { x, gain, shift } : { x, gain };
  return run(LAYER_NORM, inputs, { epsilon }) as tf.Tensor2D;
}

/** Column sums of x [rows, cols] as one kernel (see hasJsKernels). */
export function columnSumsKernel(x: tf.Tensor2D): tf.Tensor1D {
  return run(COLUMN_SUMS, { x }) as tf.Tensor1D;
}

register('wasm');
register('cpu');

tf.registerGradient({
  kernelName: LAYER_NORM,
  inputsToSave: ['x', 'gain'],
  gradFunc: (dy, saved, attrs) => {
    const [x, gain] = saved;
    const epsilon = (attrs as unknown as { epsilon: number }).epsilon;
    const grad = dy as tf.Tensor;
    return {
      x: () => run(LAYER_NORM_INPUT_GRAD, { dy: grad, x, gain }, { epsilon }),
      gain: () => run(LAYER_NORM_GAIN_GRAD, { dy: grad, x }, { epsilon }),
      shift: () => run(COLUMN_SUMS, { x: grad }),
    };
  },
});
