import { describe, expect, it } from 'vitest';
import { createRng } from '../rng.ts';
import { type CritiqueData, critiqueData, critiqueTask, parseCritique } from './critique.ts';
import { applyOperator, isSmallFact, MATH_DOMAINS, mathTask, type Operator } from './math.ts';
import { distinctProblems } from './splits.ts';
import type { LanguageProblem } from './task.ts';
import { CORE_WORDS, Vocabulary } from './vocabulary.ts';

const problems = (seed: number, count: number) => {
  const rng = createRng(seed, 'critique-test');
  return Array.from({ length: count }, () => critiqueTask.generate(rng));
};
const sample = problems(1, 2000);
const words = (text: string) => (text === '' ? [] : text.split(' '));

type Step = [number, Operator, number, number];

/** The prompt read back: the problem, the shown steps `a op b = c ;`, the shown answer. */
function readPrompt(prompt: readonly string[]): { problem: string[]; steps: Step[]; answer: number } {
  const mark = prompt.indexOf(':');
  const solution = prompt.slice(mark + 1);
  const steps: Step[] = [];
  let at = 0;
  while (solution[at] !== 'answer') {
    const [a, op, b, equals, c, semicolon] = solution.slice(at, at + 6);
    expect([equals, semicolon]).toEqual(['=', ';']);
    steps.push([Number(a), op as Operator, Number(b), Number(c)]);
    at += 6;
  }
  expect(solution.length).toBe(at + 2);
  return { problem: prompt.slice(0, mark), steps, answer: Number(solution[at + 1]) };
}

describe('critiqueTask.generate', () => {
  it('is seeded', () => {
    expect(problems(7, 100)).toEqual(problems(7, 100));
    expect(problems(8, 100)).not.toEqual(problems(7, 100));
  });

  it("mixes every domain and difficulty (math's domains; difficulty = steps)", () => {
    expect(critiqueTask.domains).toEqual(mathTask.domains);
    const cells = new Set(sample.map((p) => `${p.domain} ${p.difficulty}`));
    expect(cells.size).toBe(MATH_DOMAINS.length * critiqueTask.difficulties);
    for (const p of sample) expect(readPrompt(p.prompt).steps.length).toBe(p.difficulty);
    // Every step of 2- and 3-step solutions is sometimes the wrong one.
    const wrongSteps = new Set(sample.map((p) => `${p.difficulty} ${critiqueData(p).wrongStep}`));
    expect(wrongSteps.size).toBe(1 + 2 + 3);
  });

  it('keeps prompts and references within the word limits and the vocabulary', () => {
    const vocab = new Vocabulary([...CORE_WORDS, ...critiqueTask.words]);
    for (const p of sample) {
      const reference = critiqueTask.reference(p);
      expect(p.prompt.length).toBeLessThanOrEqual(critiqueTask.maxPromptWords);
      expect(reference.length).toBeLessThanOrEqual(critiqueTask.maxCompletionWords);
      expect(() => vocab.encode([...p.prompt, ...reference])).not.toThrow();
    }
    expect(critiqueTask.maxPromptWords).toBeLessThanOrEqual(40);
  });

  it('shows exactly one wrong step, carried forward, and knows its fix', () => {
    for (const p of sample) {
      const data: CritiqueData = critiqueData(p);
      const { problem, steps, answer } = readPrompt(p.prompt);
      const wrong = data.wrongStep - 1;
      // The problem is a math problem whose right solution the data holds.
      expect(problem.length).toBeLessThanOrEqual(mathTask.maxPromptWords);
      expect(data.answer).toBe(data.steps[data.steps.length - 1][3]);
      expect(steps).toEqual(data.flawed);
      steps.forEach(([a, op, b, c], i) => {
        if (i === wrong) {
          expect(applyOperator(op, a, b)).not.toBe(c);
          expect(applyOperator(op, a, b)).toBe(data.fix);
          expect(data.steps[i][3]).toBe(data.fix);
        } else expect(isSmallFact(op, a, b, c)).toBe(true);
        // Before the flaw the steps are the right ones; after it, operands differ only where they
        // carry a result that the flaw changed.
        if (i <= wrong) expect([a, op, b]).toEqual(data.steps[i].slice(0, 3));
        [a, b].forEach((shown, side) => {
          const right = data.steps[i][side * 2] as number;
          if (shown === right) return;
          const carried = data.steps.some(
            (s, k) => k < i && s[3] === right && steps[k][3] === shown && steps[k][3] !== s[3],
          );
          expect(carried).toBe(true);
        });
      });
      expect(answer).toBe(steps[steps.length - 1][3]);
      expect(answer).not.toBe(data.answer);
    }
  });

  it('makes at least 20,000 distinct problems', () => {
    expect(distinctProblems(critiqueTask, 1, 'distinct-test', 20000)).toHaveLength(20000);
  });
});

describe('critiqueTask.check', () => {
  const data: CritiqueData = {
    wrongStep: 2,
    fix: 14,
    steps: [
      [3, '*', 4, 12],
      [2, '+', 12, 14],
    ],
    answer: 14,
    flawed: [
      [3, '*', 4, 12],
      [2, '+', 12, 15],
    ],
  };
  const handMade: LanguageProblem = {
    domain: 'arithmetic',
    difficulty: 2,
    prompt: words('2 + 3 * 4 : 3 * 4 = 12 ; 2 + 12 = 15 ; answer 15'),
    data,
  };
  const check = (text: string | string[]) =>
    critiqueTask.check(handMade, typeof text === 'string' ? words(text) : text);

  it('passes the reference of every problem', () => {
    for (const p of sample)
      expect(critiqueTask.check(p, critiqueTask.reference(p))).toEqual({ correct: true, score: 1 });
    for (const p of sample.slice(0, 50)) {
      const copy = { ...p, data: JSON.parse(JSON.stringify(p.data)) };
      expect(critiqueTask.check(copy, critiqueTask.reference(copy))).toEqual({ correct: true, score: 1 });
    }
  });

  it('gives half credit for the step or the fix alone', () => {
    expect(critiqueTask.reference(handMade)).toEqual(words('wrong 2 fix 14'));
    expect(check('wrong 2 fix 14')).toEqual({ correct: true, score: 1 });
    expect(check('wrong 2 fix 15')).toEqual({ correct: false, score: 0.5 });
    expect(check('wrong 1 fix 14')).toEqual({ correct: false, score: 0.5 });
    expect(check('wrong 0 fix 14')).toEqual({ correct: false, score: 0.5 });
    expect(check('wrong 1 fix 12')).toEqual({ correct: false, score: 0 });
    expect(check('wrong 3 fix 0')).toEqual({ correct: false, score: 0 });
  });

  it('scores malformed critiques 0 without throwing', () => {
    const zero = { correct: false, score: 0 };
    for (const text of [
      '',
      'wrong',
      'wrong 2',
      'wrong 2 fix',
      'fix 14 wrong 2',
      'wrong 2 fix 14 ;',
      'wrong 2 fix 14 wrong 2 fix 14',
      'wrong two fix 14',
      'wrong 2 fix 140',
      'wrong 200 fix 14',
      'wrong - 2 fix 14',
      'wrong 02 fix 14',
      'answer 14',
      'banana <unk:7> ? ?',
    ])
      expect(check(text)).toEqual(zero);
    expect(check(['wrong', '2', 'fix', ' 14'])).toEqual(zero);
    expect(check(Array.from({ length: 100_000 }, (_, i) => ['wrong', '2', 'fix', '14'][i % 4]))).toEqual(
      zero,
    );
  });

  it('parses a critique', () => {
    expect(parseCritique(words('wrong 3 fix 0'))).toEqual({ step: 3, fix: 0 });
    expect(parseCritique(words('wrong 3 fix'))).toBeUndefined();
  });
});
