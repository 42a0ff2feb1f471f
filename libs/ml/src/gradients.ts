/**
 * Gradients for the stock kernels that ml's code differentiates through.
 *
 * @tensorflow/tfjs-core on its own registers no gradients (the umbrella @tensorflow/tfjs package
 * does, and so does tfjs-layers' bundle). Each gradient below is registered only where none is, so
 * a process that also loads the stock set keeps it. The matMul and gather gradients are the
 * wasm-friendly forms: explicit transposes with plain 2-D matMuls, and a one-hot matMul in place of
 * UnsortedSegmentSum (which wasm lacks).
 */
import * as tf from '@tensorflow/tfjs-core';

type GradFunc = Parameters<typeof tf.registerGradient>[0]['gradFunc'];
type Attrs = Parameters<GradFunc>[2];
type GradMap = ReturnType<GradFunc>;

interface GradientSpec {
  kernelName: string;
  inputsToSave?: string[];
  outputsToSave?: boolean[];
  saveAllInputs?: boolean;
  gradFunc: (dy: tf.Tensor, saved: tf.Tensor[], attrs: Attrs) => GradMap;
}

function attr<T>(attrs: Attrs, name: string): T {
  return (attrs as unknown as Record<string, T>)[name];
}

function axesOf(axis: number | number[] | null | undefined, rank: number): number[] {
  if (axis === null || axis === undefined) return [...Array(rank).keys()];
  return (Array.isArray(axis) ? axis : [axis]).map((a) => (a < 0 ? a + rank : a));
}

/** Sum a gradient over the axes that broadcasting added, back to `shape`. */
function unbroadcast(dy: tf.Tensor, shape: number[]): tf.Tensor {
  const outShape = dy.shape;
  const lead = outShape.length - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < outShape.length; i++) {
    const inDim = i < lead ? 1 : shape[i - lead];
    if (i < lead || (inDim === 1 && outShape[i] !== 1)) axes.push(i);
  }
  const reduced = axes.length > 0 ? tf.sum(dy, axes) : dy;
  return tf.reshape(reduced, shape);
}

/** dy of a reduction, reshaped with the reduced axes kept (size 1) so it broadcasts over x. */
function expandReduced(dy: tf.Tensor, xShape: number[], axes: number[]): tf.Tensor {
  const shape = xShape.slice();
  for (const a of axes) shape[a] = 1;
  return tf.reshape(dy, shape);
}

const float = (t: tf.Tensor) => tf.cast(t, 'float32');

function zeroGradient(kernelName: string, inputs: string[]): GradientSpec {
  return {
    kernelName,
    inputsToSave: inputs,
    gradFunc: (_dy, saved) =>
      Object.fromEntries(inputs.map((name, i) => [name, () => tf.zerosLike(float(saved[i]))])),
  };
}

const specs: GradientSpec[] = [
  {
    kernelName: tf.Add,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) => ({ a: () => unbroadcast(dy, a.shape), b: () => unbroadcast(dy, b.shape) }),
  },
  {
    kernelName: tf.AddN,
    saveAllInputs: true,
    gradFunc: (dy, saved) => Object.fromEntries(saved.map((_, i) => [i, () => tf.clone(dy)])),
  },
  {
    kernelName: tf.Sub,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) => ({
      a: () => unbroadcast(dy, a.shape),
      b: () => tf.neg(unbroadcast(dy, b.shape)),
    }),
  },
  {
    kernelName: tf.Multiply,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) => ({
      a: () => unbroadcast(tf.mul(dy, float(b)), a.shape),
      b: () => unbroadcast(tf.mul(dy, float(a)), b.shape),
    }),
  },
  {
    kernelName: tf.RealDiv,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) => ({
      a: () => unbroadcast(tf.div(dy, float(b)), a.shape),
      b: () => unbroadcast(tf.neg(tf.div(tf.mul(dy, float(a)), tf.square(float(b)))), b.shape),
    }),
  },
  {
    kernelName: tf.Maximum,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) => ({
      a: () => unbroadcast(tf.mul(dy, float(tf.greaterEqual(a, b))), a.shape),
      b: () => unbroadcast(tf.mul(dy, float(tf.less(a, b))), b.shape),
    }),
  },
  {
    kernelName: tf.Minimum,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) => ({
      a: () => unbroadcast(tf.mul(dy, float(tf.lessEqual(a, b))), a.shape),
      b: () => unbroadcast(tf.mul(dy, float(tf.greater(a, b))), b.shape),
    }),
  },
  {
    kernelName: tf.SquaredDifference,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) => {
      const twoDiff = tf.mul(tf.scalar(2), tf.sub(a, b));
      return {
        a: () => unbroadcast(tf.mul(dy, twoDiff), a.shape),
        b: () => unbroadcast(tf.neg(tf.mul(dy, twoDiff)), b.shape),
      };
    },
  },
  { kernelName: tf.Neg, gradFunc: (dy) => ({ x: () => tf.neg(dy) }) },
  { kernelName: tf.Identity, gradFunc: (dy) => ({ x: () => tf.clone(dy) }) },
  { kernelName: tf.Cast, gradFunc: (dy) => ({ x: () => tf.clone(dy) }) },
  {
    kernelName: tf.Abs,
    inputsToSave: ['x'],
    gradFunc: (dy, [x]) => ({ x: () => tf.mul(dy, tf.sign(float(x))) }),
  },
  {
    kernelName: tf.Square,
    inputsToSave: ['x'],
    gradFunc: (dy, [x]) => ({ x: () => tf.mul(dy, tf.mul(float(x), 2)) }),
  },
  {
    kernelName: tf.Sqrt,
    inputsToSave: ['x'],
    gradFunc: (dy, [x]) => ({ x: () => tf.div(dy, tf.mul(tf.sqrt(float(x)), 2)) }),
  },
  {
    kernelName: tf.Rsqrt,
    inputsToSave: ['x'],
    gradFunc: (dy, [x]) => ({ x: () => tf.mul(dy, tf.div(tf.rsqrt(x), tf.mul(x, -2))) }),
  },
  { kernelName: tf.Exp, outputsToSave: [true], gradFunc: (dy, [y]) => ({ x: () => tf.mul(dy, y) }) },
  { kernelName: tf.Log, inputsToSave: ['x'], gradFunc: (dy, [x]) => ({ x: () => tf.div(dy, float(x)) }) },
  {
    kernelName: tf.Log1p,
    inputsToSave: ['x'],
    gradFunc: (dy, [x]) => ({ x: () => tf.div(dy, tf.add(x, 1)) }),
  },
  {
    kernelName: tf.Sigmoid,
    outputsToSave: [true],
    gradFunc: (dy, [y]) => ({ x: () => tf.mul(dy, tf.mul(y, tf.sub(1, y))) }),
  },
  {
    kernelName: tf.Softplus,
    inputsToSave: ['x'],
    gradFunc: (dy, [x]) => ({ x: () => tf.mul(dy, tf.sigmoid(x)) }),
  },
  {
    kernelName: tf.Tanh,
    outputsToSave: [true],
    gradFunc: (dy, [y]) => ({ x: () => tf.mul(tf.sub(1, tf.square(y)), dy) }),
  },
  {
    kernelName: tf.Relu,
    inputsToSave: ['x'],
    gradFunc: (dy, [x]) => ({ x: () => tf.mul(dy, tf.step(float(x))) }),
  },
  {
    kernelName: tf.Softmax,
    outputsToSave: [true],
    gradFunc: (dy, [y], attrs) => {
      const dyTimesY = tf.mul(dy, y);
      return {
        logits: () => tf.sub(dyTimesY, tf.mul(tf.sum(dyTimesY, [attr<number>(attrs, 'dim')], true), y)),
      };
    },
  },
  {
    kernelName: tf.ClipByValue,
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => ({
      x: () => {
        const inside = tf.logicalAnd(
          tf.greaterEqual(x, attr<number>(attrs, 'clipValueMin')),
          tf.lessEqual(x, attr<number>(attrs, 'clipValueMax')),
        );
        return tf.mul(dy, float(inside));
      },
    }),
  },
  {
    kernelName: tf.Select,
    inputsToSave: ['condition'],
    gradFunc: (dy, [condition]) => ({
      condition: () => tf.zerosLike(float(condition)),
      t: () => tf.mul(dy, float(condition)),
      e: () => tf.mul(dy, float(tf.logicalNot(condition))),
    }),
  },
  {
    kernelName: tf.Sum,
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => {
      const axes = axesOf(attr<number | number[]>(attrs, 'axis'), x.rank);
      return { x: () => tf.mul(expandReduced(dy, x.shape, axes), tf.onesLike(float(x))) };
    },
  },
  {
    kernelName: tf.Mean,
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => {
      const axes = axesOf(attr<number | number[]>(attrs, 'axis'), x.rank);
      const count = axes.reduce((n, a) => n * x.shape[a], 1);
      return { x: () => tf.mul(expandReduced(tf.div(dy, count), x.shape, axes), tf.onesLike(float(x))) };
    },
  },
  {
    kernelName: tf.Max,
    inputsToSave: ['x'],
    outputsToSave: [true],
    gradFunc: (dy, [x, y], attrs) => {
      const axes = axesOf(attr<number | number[]>(attrs, 'reductionIndices'), x.rank);
      const isMax = float(tf.equal(expandReduced(y, x.shape, axes), x));
      return { x: () => tf.mul(expandReduced(dy, x.shape, axes), isMax) };
    },
  },
  {
    kernelName: tf.Reshape,
    inputsToSave: ['x'],
    gradFunc: (dy, [x]) => ({ x: () => tf.reshape(dy, x.shape) }),
  },
  {
    kernelName: tf.Transpose,
    gradFunc: (dy, _saved, attrs) => {
      const perm = attr<number[]>(attrs, 'perm');
      const undo = perm.map((_, i) => perm.indexOf(i));
      return { x: () => tf.transpose(dy, undo) };
    },
  },
  {
    kernelName: tf.Concat,
    saveAllInputs: true,
    gradFunc: (dy, saved, attrs) => {
      const [axis] = axesOf(attr<number>(attrs, 'axis'), saved[0].rank);
      const parts = tf.split(
        dy,
        saved.map((t) => t.shape[axis]),
        axis,
      );
      return Object.fromEntries(parts.map((part, i) => [i, () => part]));
    },
  },
  {
    kernelName: tf.SplitV,
    gradFunc: (dy, _saved, attrs) => ({
      x: () => tf.concat(dy as unknown as tf.Tensor[], attr<number>(attrs, 'axis')),
    }),
  },
  {
    kernelName: tf.Slice,
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => {
      const begin = attr<number[]>(attrs, 'begin');
      const paddings = x.shape.map((dim, i) => [begin[i], dim - begin[i] - dy.shape[i]] as [number, number]);
      return { x: () => tf.pad(dy, paddings) };
    },
  },
  {
    kernelName: tf.Pack,
    saveAllInputs: true,
    gradFunc: (dy, _saved, attrs) => {
      const parts = tf.unstack(dy, attr<number>(attrs, 'axis'));
      return Object.fromEntries(parts.map((part, i) => [i, () => part]));
    },
  },
  {
    kernelName: tf.Unpack,
    gradFunc: (dy, _saved, attrs) => ({
      value: () => tf.stack(dy as unknown as tf.Tensor[], attr<number>(attrs, 'axis')),
    }),
  },
  {
    kernelName: tf.BatchMatMul,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b], attrs) => {
      const transposeA = attr<boolean>(attrs, 'transposeA');
      const transposeB = attr<boolean>(attrs, 'transposeB');
      if (a.rank === 2 && b.rank === 2 && dy.rank === 2) {
        // Plain 2-D matMuls on explicit transposes: the fast wasm kernel, unlike the stock gradient.
        const t = (m: tf.Tensor) => tf.transpose(m);
        const mm = (p: tf.Tensor, q: tf.Tensor) => tf.matMul(p as tf.Tensor2D, q as tf.Tensor2D);
        if (!transposeA && !transposeB) return { a: () => mm(dy, t(b)), b: () => mm(t(a), dy) };
        if (!transposeA && transposeB) return { a: () => mm(dy, b), b: () => mm(t(dy), a) };
        if (transposeA && !transposeB) return { a: () => mm(b, t(dy)), b: () => mm(a, dy) };
        return { a: () => mm(t(b), t(dy)), b: () => mm(t(dy), t(a)) };
      }
      if (!transposeA && !transposeB) {
        return { a: () => tf.matMul(dy, b, false, true), b: () => tf.matMul(a, dy, true, false) };
      }
      if (!transposeA && transposeB) {
        return { a: () => tf.matMul(dy, b, false, false), b: () => tf.matMul(dy, a, true, false) };
      }
      if (transposeA && !transposeB) {
        return { a: () => tf.matMul(b, dy, false, true), b: () => tf.matMul(a, dy, false, false) };
      }
      return { a: () => tf.matMul(b, dy, true, true), b: () => tf.matMul(dy, a, true, true) };
    },
  },
  {
    kernelName: tf.GatherV2,
    inputsToSave: ['x', 'indices'],
    gradFunc: (dy, [x, indices], attrs) => {
      const [axis] = axesOf(attr<number>(attrs, 'axis'), x.rank);
      if (axis !== 0 || attr<number>(attrs, 'batchDims') !== 0) {
        throw new Error('ml: the gather gradient is implemented for axis 0 and batchDims 0 only');
      }
      // Scatter-add of dy's rows as one matMul: onehot(indices)ᵀ · dy.
      const rows = x.shape[0];
      const flatIds = tf.reshape(indices, [-1]) as tf.Tensor1D;
      const dy2d = tf.reshape(dy, [flatIds.shape[0], -1]) as tf.Tensor2D;
      const hotT = tf.transpose(float(tf.oneHot(tf.cast(flatIds, 'int32') as tf.Tensor1D, rows)));
      return {
        x: () => tf.reshape(tf.matMul(hotT as tf.Tensor2D, dy2d), x.shape),
        indices: () => tf.zerosLike(indices),
      };
    },
  },
  // Piecewise-constant and boolean kernels: zero gradient (stock tfjs does the same).
  ...[tf.Step, tf.Floor, tf.Ceil, tf.Round, tf.Sign, tf.ZerosLike, tf.OnesLike, tf.LogicalNot, tf.IsNan].map(
    (kernelName) => zeroGradient(kernelName, ['x']),
  ),
  ...[tf.ArgMax, tf.ArgMin].map((kernelName) => zeroGradient(kernelName, ['x'])),
  zeroGradient(tf.OneHot, ['indices']),
  ...[
    tf.Greater,
    tf.GreaterEqual,
    tf.Less,
    tf.LessEqual,
    tf.Equal,
    tf.NotEqual,
    tf.LogicalAnd,
    tf.LogicalOr,
  ].map((kernelName) => zeroGradient(kernelName, ['a', 'b'])),
];

let registered = false;

/** Register the gradients above wherever the kernel has none yet. Idempotent. */
export function registerGradients(): void {
  if (registered) return;
  registered = true;
  for (const spec of specs) {
    if (!tf.getGradient(spec.kernelName))
      tf.registerGradient(spec as Parameters<typeof tf.registerGradient>[0]);
  }
}

registerGradients();
