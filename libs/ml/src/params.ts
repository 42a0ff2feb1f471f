/**
 * Named, grouped model parameters. A model registers each weight under a stable name (e.g.
 * 'blocks.0.attn.qkv.w') and a group (e.g. 'target'), so trainers can select what to update,
 * optimizers can key their state by name, and checkpoints round-trip by name.
 */
import type { NamedTensor } from '@lockpick/artifacts';
import * as tf from '@tensorflow/tfjs-core';
import type { Random } from './random.ts';

export interface Parameter {
  readonly name: string;
  readonly group: string;
  readonly variable: tf.Variable;
}

/** Which parameters to train: by group (include and/or exclude). No selection = all. */
export interface ParamSelection {
  groups?: readonly string[];
  exceptGroups?: readonly string[];
}

export class ParameterSet {
  private readonly byName = new Map<string, Parameter>();

  /** Register a new float32 parameter with initial values. */
  add(name: string, group: string, shape: number[], values: Float32Array): tf.Variable {
    if (this.byName.has(name)) throw new Error(`parameter ${name} is registered twice`);
    const size = shape.reduce((a, b) => a * b, 1);
    if (values.length !== size)
      throw new Error(`parameter ${name}: ${values.length} values for shape [${shape}]`);
    // No tf name: tfjs keeps a process-wide registry of variable names, and two models may coexist.
    const variable = tf.variable(tf.tensor(values, shape, 'float32'), true);
    this.byName.set(name, { name, group, variable });
    return variable;
  }

  get(name: string): tf.Variable {
    const p = this.byName.get(name);
    if (!p) throw new Error(`no parameter named ${name}`);
    return p.variable;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** All parameters, in registration order. */
  list(): Parameter[] {
    return [...this.byName.values()];
  }

  /** The distinct group names, in registration order. */
  groups(): string[] {
    return [...new Set(this.list().map((p) => p.group))];
  }

  /** Parameters in the selected groups. Throws on a group name the model does not have. */
  select(selection: ParamSelection = {}): Parameter[] {
    const known = new Set(this.groups());
    for (const g of [...(selection.groups ?? []), ...(selection.exceptGroups ?? [])]) {
      if (!known.has(g)) throw new Error(`unknown parameter group '${g}' (have: ${[...known].join(', ')})`);
    }
    return this.list().filter(
      (p) =>
        (selection.groups === undefined || selection.groups.includes(p.group)) &&
        !(selection.exceptGroups ?? []).includes(p.group),
    );
  }

  /** Number of scalar weights. */
  count(selection?: ParamSelection): number {
    return this.select(selection).reduce((n, p) => n + p.variable.size, 0);
  }

  /** Copies of every weight as named tensors (name prefixed), for checkpoints. */
  toNamedTensors(prefix = ''): NamedTensor[] {
    return this.list().map((p) => ({
      name: prefix + p.name,
      shape: [...p.variable.shape],
      dtype: 'float32' as const,
      data: Float32Array.from(p.variable.dataSync() as Float32Array),
    }));
  }

  /** Overwrite every weight from named tensors; all must be present with matching shapes. */
  load(tensors: readonly NamedTensor[], prefix = ''): void {
    const found = new Map(tensors.map((t) => [t.name, t]));
    for (const p of this.list()) {
      const t = found.get(prefix + p.name);
      if (!t) throw new Error(`checkpoint lacks parameter ${prefix + p.name}`);
      if (t.shape.join(',') !== p.variable.shape.join(',')) {
        throw new Error(`parameter ${p.name}: checkpoint shape [${t.shape}] vs model [${p.variable.shape}]`);
      }
      tf.tidy(() => p.variable.assign(tf.tensor(Float32Array.from(t.data), t.shape, 'float32')));
    }
  }

  /** Copy every weight from another set with the same names and shapes (e.g. a frozen reference). */
  copyFrom(other: ParameterSet): void {
    for (const p of this.list()) p.variable.assign(other.get(p.name));
  }

  dispose(): void {
    for (const p of this.byName.values()) p.variable.dispose();
    this.byName.clear();
  }
}

/** Initial values: normal(0, std). */
export function normalValues(rng: Random, size: number, std: number): Float32Array {
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = rng.normal() * std;
  return out;
}

/** Initial values: uniform(−bound, bound) (PyTorch's default for Linear layers uses 1/√fan_in). */
export function uniformValues(rng: Random, size: number, bound: number): Float32Array {
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = (rng.next() * 2 - 1) * bound;
  return out;
}

/** Initial values: a constant. */
export function constantValues(size: number, value: number): Float32Array {
  return new Float32Array(size).fill(value);
}
