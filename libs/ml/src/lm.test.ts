import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { copyModel } from './checkpoint.ts';
import { type TokenData, takeRows } from './data.ts';
import {
  evaluateLanguageModel,
  languageModelLoss,
  scoreSequences,
  sequenceLogProbs,
  trainDpo,
  trainSft,
} from './lm.ts';
import { Optimizer } from './optim.ts';
import { Random } from './random.ts';
import { generate } from './sample.ts';
import { maxAbsDiff, onCpu, useWasm } from './test-utils.ts';
import { Transformer, withRoomBeforeRows } from './transformer.ts';

beforeAll(useWasm);

const SEP = 10;
const PROMPT = 5;
const LENGTH = 9;

/** Rows `a b c d | d c b a`: the completion (last four tokens) is the prompt's digits reversed. */
function reversalData(rows: number, seed: number): TokenData {
  const rng = new Random(seed);
  const tokens = new Int32Array(rows * LENGTH);
  const lossMask = new Uint8Array(rows * LENGTH);
  for (let r = 0; r < rows; r++) {
    const digits = [0, 1, 2, 3].map(() => rng.int(10));
    tokens.set([...digits, SEP, ...[...digits].reverse()], r * LENGTH);
    lossMask.fill(1, r * LENGTH + PROMPT, (r + 1) * LENGTH);
  }
  return { tokens, rows, seqLen: LENGTH, lossMask };
}

function prompts(data: TokenData): { tokens: Int32Array; rows: number; length: number } {
  const tokens = new Int32Array(data.rows * PROMPT);
  for (let r = 0; r < data.rows; r++)
    tokens.set(data.tokens.subarray(r * LENGTH, r * LENGTH + PROMPT), r * PROMPT);
  return { tokens, rows: data.rows, length: PROMPT };
}

const smallConfig = {
  vocabSize: 11,
  contextLength: 8,
  layers: 2,
  width: 64,
  heads: 4,
  mlpRatio: 4,
  bias: false,
};

describe('supervised fine-tuning', () => {
  it('learns to reverse four digits (≥ 99% exact match, greedy) within seconds', async () => {
    const model = new Transformer(smallConfig, 1);
    const optimizer = new Optimizer({ kind: 'adamw', learningRate: 3e-3, warmupSteps: 20, weightDecay: 0 });
    const tensorsBefore = tf.memory().numTensors;
    const progress: number[] = [];
    const started = performance.now();
    const summary = await trainSft(model, reversalData(4000, 1), {
      optimizer,
      batchSize: 64,
      steps: 150,
      seed: 1,
      progressEvery: 50,
      onProgress: (p) => {
        progress.push(p.step);
        expect(p.tokensPerSecond).toBeGreaterThan(0);
      },
    });
    const seconds = (performance.now() - started) / 1000;
    expect(summary.steps).toBe(150);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    expect(progress).toEqual([50, 100, 150]);
    expect(seconds).toBeLessThan(30);

    const test = reversalData(512, 2);
    const out = generate(model, prompts(test), { maxNewTokens: 4 });
    let exact = 0;
    for (let r = 0; r < test.rows; r++) {
      let ok = true;
      for (let t = 0; t < 4; t++) ok &&= out[r * 4 + t] === test.tokens[r * LENGTH + PROMPT + t];
      if (ok) exact++;
    }
    expect(exact / test.rows).toBeGreaterThanOrEqual(0.99);
    expect(evaluateLanguageModel(model, test).sequenceAccuracy).toBeGreaterThanOrEqual(0.99);
    model.dispose();
  });

  it('masking puts no gradient on prompt tokens', () => {
    const model = new Transformer(smallConfig, 3);
    const data = reversalData(4, 5);
    const rows = data.rows;
    const time = LENGTH - 1;
    // A probe multiplies the logits row by row; its gradient is the loss's sensitivity to each position.
    const probe = tf.variable(tf.ones([time * rows, 1]));
    const logitsOf = model.logitsTimeMajor.bind(model);
    model.logitsTimeMajor = (tokens, batch, t) => tf.mul(logitsOf(tokens, batch, t), probe) as tf.Tensor2D;
    const sensitivity = (lossOn: 'completion' | 'all') =>
      tf.tidy(() =>
        tf.variableGrads(() => languageModelLoss(model, data, lossOn), [probe]).grads[probe.name].dataSync(),
      );
    const completion = sensitivity('completion');
    const all = sensitivity('all');
    for (let t = 0; t < time; t++) {
      for (let b = 0; b < rows; b++) {
        // Position t predicts token t + 1, which is a completion token from t + 1 = PROMPT on.
        const predictsCompletion = t + 1 >= PROMPT;
        const g = completion[t * rows + b];
        if (predictsCompletion) expect(g).not.toBe(0);
        else expect(g).toBe(0);
        expect(all[t * rows + b]).not.toBe(0);
      }
    }
    probe.dispose();
    model.dispose();
  });

  it('the loss and sequence log-probs agree with logits from forward()', () => {
    const model = new Transformer(smallConfig, 4);
    const data = reversalData(3, 6);
    tf.tidy(() => {
      const inputs = new Int32Array(data.rows * (LENGTH - 1));
      for (let r = 0; r < data.rows; r++)
        inputs.set(data.tokens.subarray(r * LENGTH, r * LENGTH + LENGTH - 1), r * (LENGTH - 1));
      const logProbs = tf
        .logSoftmax(model.forward(tf.tensor2d(inputs, [data.rows, LENGTH - 1], 'int32')))
        .arraySync() as number[][][];
      const expected = new Float32Array(data.rows);
      for (let r = 0; r < data.rows; r++) {
        for (let t = PROMPT - 1; t < LENGTH - 1; t++)
          expected[r] += logProbs[r][t][data.tokens[r * LENGTH + t + 1]];
      }
      expect(maxAbsDiff(sequenceLogProbs(model, data).dataSync(), expected)).toBeLessThan(1e-4);
      expect(maxAbsDiff(scoreSequences(model, data, { batchSize: 2 }), expected)).toBeLessThan(1e-4);
      const meanLoss = -expected.reduce((a, b) => a + b, 0) / (data.rows * 4);
      expect(languageModelLoss(model, data).dataSync()[0]).toBeCloseTo(meanLoss, 4);
    });
    model.dispose();
  });
});

describe('generation', () => {
  it('cached greedy decoding equals recomputing the whole sequence each step', () => {
    const model = new Transformer({ ...smallConfig, bias: true }, 7);
    const data = reversalData(6, 8);
    const p = prompts(data);
    const fast = generate(model, p, { maxNewTokens: 4, batchSize: 4 });
    const slow = new Int32Array(p.rows * 4);
    for (let r = 0; r < p.rows; r++) {
      const seq = Array.from(p.tokens.subarray(r * PROMPT, (r + 1) * PROMPT));
      for (let t = 0; t < 4; t++) {
        const next = tf.tidy(() => {
          const logits = model.logitsTimeMajor(Int32Array.from(seq), 1, seq.length);
          return tf.argMax(tf.slice(logits, [seq.length - 1, 0], [1, -1]), -1).dataSync()[0];
        });
        seq.push(next);
        slow[r * 4 + t] = next;
      }
    }
    expect(Array.from(fast)).toEqual(Array.from(slow));
    model.dispose();
  });

  it("reads a row at the config's rowStart and a few-shot episode from 0, cached or not", () => {
    // Room for 12 tokens of examples before a row of 9 (a prompt of 5 and 4 completion tokens).
    const model = new Transformer({ ...smallConfig, contextLength: 21, rowStart: 12 }, 7);
    const data = reversalData(3, 8);
    const rows = prompts(data);
    // Greedy continuation recomputed whole each step, from position `start`.
    const slow = (seqs: number[][], start: number) =>
      seqs.flatMap((prompt) => {
        const seq = [...prompt];
        for (let t = 0; t < 4; t++)
          seq.push(
            tf.tidy(() => {
              const logits = model.logitsTimeMajor(Int32Array.from(seq), 1, seq.length, start);
              return tf.argMax(tf.slice(logits, [seq.length - 1, 0], [1, -1]), -1).dataSync()[0];
            }),
          );
        return seq.slice(prompt.length);
      });
    const rowPrompts = Array.from({ length: 3 }, (_, r) =>
      Array.from(rows.tokens.subarray(r * PROMPT, (r + 1) * PROMPT)),
    );
    expect(Array.from(generate(model, rows, { maxNewTokens: 4 }))).toEqual(slow(rowPrompts, 12));
    // Positions count: the same row read from position 0 gives other logits.
    const row = data.tokens.subarray(0, LENGTH);
    const atRowStart = tf.tidy(() => model.logitsTimeMajor(row, 1, LENGTH).dataSync());
    const atZero = tf.tidy(() => model.logitsTimeMajor(row, 1, LENGTH, 0).dataSync());
    expect(maxAbsDiff(atRowStart, atZero)).toBeGreaterThan(1e-4);
    // An episode: 12 tokens of examples, then the row's prompt, read from position 0.
    const episodes = rowPrompts.map((prompt, r) => [
      ...Array.from({ length: 12 }, (_, i) => (i + r) % 10),
      ...prompt,
    ]);
    const episodePrompts = { tokens: Int32Array.from(episodes.flat()), rows: 3, length: 17, start: 0 };
    expect(Array.from(generate(model, episodePrompts, { maxNewTokens: 4 }))).toEqual(slow(episodes, 0));
    // A row does not fit where an episode starts past 0.
    expect(() => generate(model, { ...episodePrompts, start: 1 }, { maxNewTokens: 5 })).toThrow(
      /position 1 do not fit/,
    );
    model.dispose();
  });

  it('gives a trained model room before its rows without changing what a row computes', () => {
    const model = new Transformer({ ...smallConfig, contextLength: 9 }, 5);
    const wider = withRoomBeforeRows(model, 12, 6);
    expect(wider.config).toMatchObject({ contextLength: 21, rowStart: 12 });
    const rows = reversalData(3, 8).tokens.subarray(0, 3 * LENGTH);
    const before = tf.tidy(() => model.logitsTimeMajor(rows, 3, LENGTH).dataSync());
    expect(
      maxAbsDiff(
        tf.tidy(() => wider.logitsTimeMajor(rows, 3, LENGTH).dataSync()),
        before,
      ),
    ).toBe(0);
    // The new positions are the wider model's own, not a copy of the old ones.
    const wpe = wider.params.get('wpe').dataSync();
    const width = smallConfig.width;
    expect(maxAbsDiff(wpe.slice(0, 9 * width), model.params.get('wpe').dataSync())).toBeGreaterThan(1e-3);
    expect(() => withRoomBeforeRows(wider, 4, 6)).toThrow(/already has room/);
    model.dispose();
    wider.dispose();
  });

  it('skips padding marked as leadingPads: a padded row then costs what it costs alone', () => {
    const wider = withRoomBeforeRows(new Transformer({ ...smallConfig, contextLength: 9 }, 5), 12, 6);
    const lone = reversalData(4, 8);
    const pad = 0;
    // The same rows after 12 positions of room: 12, 5, 0 and 12 of them padding.
    const pads = Int32Array.from([12, 5, 0, 12]);
    const seqLen = 12 + LENGTH;
    const tokens = new Int32Array(4 * seqLen).fill(pad);
    const lossMask = new Uint8Array(4 * seqLen);
    for (let r = 0; r < 4; r++) {
      for (let t = pads[r]; t < 12; t++) tokens[r * seqLen + t] = 1 + ((t * 7 + r) % 9);
      tokens.set(lone.tokens.subarray(r * LENGTH, (r + 1) * LENGTH), r * seqLen + 12);
      lossMask.set(lone.lossMask!.subarray(r * LENGTH, (r + 1) * LENGTH), r * seqLen + 12);
    }
    const padded: TokenData = { tokens, rows: 4, seqLen, lossMask, start: 0 };
    const loss = (data: TokenData) => tf.tidy(() => languageModelLoss(wider, data).dataSync()[0]);
    // Rows 0 and 3 are all padding before the row: marked, they cost exactly what the lone rows do.
    const loneRows = takeRows(lone, [0, 3]);
    const paddedRows = takeRows(padded, [0, 3]);
    expect(loss({ ...paddedRows, leadingPads: Int32Array.from([12, 12]) })).toBe(loss(loneRows));
    // Unmarked, the row also reads the padding, and costs something else.
    expect(Math.abs(loss(paddedRows) - loss(loneRows))).toBeGreaterThan(1e-4);
    // A batch skips only the padding its rows share: row 1 keeps its 7 example tokens.
    const firstTwo = takeRows(padded, [0, 1]);
    const shared = loss({ ...firstTwo, leadingPads: Int32Array.from([12, 5]) });
    const fromFive = loss({
      tokens: firstTwo.tokens.filter((_, i) => i % seqLen >= 5),
      rows: 2,
      seqLen: seqLen - 5,
      lossMask: Float32Array.from(firstTwo.lossMask!).filter((_, i) => i % seqLen >= 5),
      start: 5,
    });
    expect(shared).toBe(fromFive);
    wider.dispose();
  });

  it('sampling is seeded and independent of the batch size', () => {
    const model = new Transformer(smallConfig, 9);
    const p = prompts(reversalData(10, 10));
    const a = generate(model, p, { maxNewTokens: 4, temperature: 1, seed: 1, batchSize: 10 });
    const b = generate(model, p, { maxNewTokens: 4, temperature: 1, seed: 1, batchSize: 3 });
    const c = generate(model, p, { maxNewTokens: 4, temperature: 1, seed: 2 });
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
    const before = tf.memory().numTensors;
    generate(model, p, { maxNewTokens: 4, stopToken: SEP });
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});

describe('DPO', () => {
  it('raises the chosen-minus-rejected log-prob margin over the frozen reference', async () => {
    const reference = new Transformer(smallConfig, 11);
    const policy = copyModel(reference);
    const chosen = reversalData(64, 12);
    // Rejected: the same prompts with the completion in prompt order (not reversed).
    const rejected: TokenData = { ...chosen, tokens: chosen.tokens.slice() };
    for (let r = 0; r < chosen.rows; r++) {
      rejected.tokens.set(chosen.tokens.subarray(r * LENGTH, r * LENGTH + 4), r * LENGTH + PROMPT);
    }
    const margin = (model: Transformer) => {
      const c = scoreSequences(model, chosen);
      const r = scoreSequences(model, rejected);
      return c.reduce((a, v, i) => a + v - r[i], 0) / c.length;
    };
    const before = margin(policy);
    await trainDpo(
      policy,
      reference,
      { chosen, rejected },
      {
        optimizer: new Optimizer({ kind: 'adam', learningRate: 1e-3 }),
        beta: 0.1,
        batchSize: 32,
        steps: 20,
        seed: 1,
      },
    );
    expect(margin(policy)).toBeGreaterThan(before + 1);
    expect(margin(reference)).toBeCloseTo(before, 5);
    policy.dispose();
    reference.dispose();
  });
});

describe('backends agree', () => {
  it('the language-model loss and its gradients match between wasm and cpu', async () => {
    const data = reversalData(5, 13);
    const run = () => {
      const model = new Transformer({ ...smallConfig, bias: true }, 21);
      const params = model.params.list();
      const result = tf.tidy(() => {
        const { value, grads } = tf.variableGrads(
          () => languageModelLoss(model, data),
          params.map((p) => p.variable),
        );
        return {
          loss: value.dataSync()[0],
          grads: params.map((p) => Array.from(grads[p.variable.name].dataSync())),
        };
      });
      model.dispose();
      return result;
    };
    const wasm = run();
    const cpu = await onCpu(run);
    expect(Math.abs(wasm.loss - cpu.loss)).toBeLessThan(1e-4);
    wasm.grads.forEach((g, i) => {
      expect(maxAbsDiff(g, cpu.grads[i])).toBeLessThan(1e-4);
    });
  });
});
