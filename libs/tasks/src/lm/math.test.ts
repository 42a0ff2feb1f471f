import { describe, expect, it } from 'vitest';
import { createRng } from '../rng.ts';
import {
  evaluatePlan,
  finalAnswer,
  generateWorkedProblem,
  isSmallFact,
  MATH_DOMAINS,
  mathTask,
  type Operator,
} from './math.ts';
import { distinctProblems } from './splits.ts';
import type { LanguageProblem } from './task.ts';
import { CORE_WORDS, Vocabulary } from './vocabulary.ts';

const problems = (seed: number, count: number) => {
  const rng = createRng(seed, 'math-test');
  return Array.from({ length: count }, () => mathTask.generate(rng));
};
const sample = problems(1, 2000);
const words = (text: string) => (text === '' ? [] : text.split(' '));

/** Evaluates prompt words without math.ts: + - * / mod with the usual precedence, brackets, x. */
function evaluate(expression: readonly string[], x?: number): number {
  let at = 0;
  const atom = (): number => {
    const word = expression[at++];
    if (word === '(') {
      const value = sum();
      expect(expression[at++]).toBe(')');
      return value;
    }
    if (word === 'x') return x as number;
    expect(word).toMatch(/^\d+$/);
    return Number(word);
  };
  const product = (): number => {
    let value = atom();
    while (['*', '/', 'mod'].includes(expression[at])) {
      const op = expression[at++];
      const right = atom();
      value = op === '*' ? value * right : op === '/' ? value / right : value % right;
    }
    return value;
  };
  const sum = (): number => {
    let value = product();
    while (expression[at] === '+' || expression[at] === '-') {
      const op = expression[at++];
      const right = product();
      value = op === '+' ? value + right : value - right;
    }
    return value;
  };
  const value = sum();
  expect(at).toBe(expression.length);
  return value;
}

/** The reference's steps `a op b = c ;` as tuples, and the final answer. */
function parseSolution(solution: readonly string[]): {
  steps: [number, string, number, number][];
  answer: number;
} {
  const steps: [number, string, number, number][] = [];
  let at = 0;
  while (solution[at] !== 'answer') {
    const [a, op, b, equals, c, semicolon] = solution.slice(at, at + 6);
    expect([equals, semicolon]).toEqual(['=', ';']);
    steps.push([Number(a), op, Number(b), Number(c)]);
    at += 6;
  }
  expect(solution.length).toBe(at + 2);
  return { steps, answer: Number(solution[at + 1]) };
}

describe('mathTask.generate', () => {
  it('is seeded', () => {
    expect(problems(7, 100)).toEqual(problems(7, 100));
    expect(problems(8, 100)).not.toEqual(problems(7, 100));
  });

  it('mixes every domain and difficulty', () => {
    const cells = new Set(sample.map((p) => `${p.domain} ${p.difficulty}`));
    expect(cells.size).toBe(MATH_DOMAINS.length * mathTask.difficulties);
    expect(mathTask.domains.length).toBeGreaterThanOrEqual(3);
    expect(mathTask.difficulties).toBeGreaterThanOrEqual(3);
  });

  it('keeps prompts and references within the word limits and the vocabulary', () => {
    const vocab = new Vocabulary([...CORE_WORDS, ...mathTask.words]);
    for (const p of sample) {
      const reference = mathTask.reference(p);
      expect(p.prompt.length).toBeLessThanOrEqual(mathTask.maxPromptWords);
      expect(reference.length).toBeLessThanOrEqual(mathTask.maxCompletionWords);
      expect(() => vocab.encode([...p.prompt, ...reference])).not.toThrow();
    }
    // The limits are tight: the longest problems reach them.
    expect(Math.max(...sample.map((p) => p.prompt.length))).toBe(mathTask.maxPromptWords);
    expect(Math.max(...sample.map((p) => mathTask.reference(p).length))).toBe(mathTask.maxCompletionWords);
  });

  it('works out the right answer in small, right steps (checked against the prompt itself)', () => {
    for (const p of sample) {
      const { steps, answer } = parseSolution(mathTask.reference(p));
      expect(steps.length).toBe(p.difficulty);
      for (const [a, op, b, c] of steps) expect(isSmallFact(op as Operator, a, b, c)).toBe(true);
      expect(answer).toBe(steps[steps.length - 1][3]);
      if (p.domain === 'algebra') {
        const equals = p.prompt.indexOf('=');
        expect(evaluate(p.prompt.slice(0, equals), answer)).toBe(Number(p.prompt[equals + 1]));
      } else {
        expect(p.prompt).not.toContain('x');
        expect(evaluate(p.prompt)).toBe(answer);
      }
    }
  });

  it('generates a chosen domain and difficulty', () => {
    const rng = createRng(3, 'chosen');
    for (const domain of MATH_DOMAINS)
      for (let difficulty = 1; difficulty <= 3; difficulty++) {
        const p = generateWorkedProblem(rng, domain, difficulty);
        expect([p.domain, p.difficulty, p.steps.length]).toEqual([domain, difficulty, difficulty]);
        expect(evaluatePlan(p.plan)).toEqual(p.steps);
      }
    expect(() => generateWorkedProblem(rng, 'algebra', 4)).toThrow();
  });

  it('makes at least 20,000 distinct problems', () => {
    expect(distinctProblems(mathTask, 1, 'distinct-test', 20000)).toHaveLength(20000);
  });
});

describe('isSmallFact', () => {
  it('admits only right facts with a small operand and every number in 0…MAX_NUMBER', () => {
    expect(isSmallFact('+', 30, 9, 39)).toBe(true);
    expect(isSmallFact('+', 9, 30, 39)).toBe(true);
    expect(isSmallFact('+', 20, 15, 35)).toBe(false);
    expect(isSmallFact('+', 30, 9, 38)).toBe(false);
    expect(isSmallFact('+', 35, 9, 44)).toBe(false);
    expect(isSmallFact('-', 5, 9, -4)).toBe(false);
    expect(isSmallFact('-', 39, 20, 19)).toBe(false);
    expect(isSmallFact('*', 7, 5, 35)).toBe(true);
    expect(isSmallFact('*', 12, 4, 48)).toBe(false);
    expect(isSmallFact('*', 7, 6, 42)).toBe(false);
    expect(isSmallFact('/', 35, 5, 7)).toBe(true);
    expect(isSmallFact('/', 7, 2, 3)).toBe(false);
    expect(isSmallFact('/', 36, 6, 6)).toBe(false);
    expect(isSmallFact('mod', 17, 5, 2)).toBe(true);
    expect(isSmallFact('mod', 17, 1, 0)).toBe(false);
  });
});

describe('mathTask.check', () => {
  const handMade: LanguageProblem = {
    domain: 'arithmetic',
    difficulty: 2,
    prompt: words('2 + 3 * 4'),
    data: {
      answer: 14,
      steps: [
        [3, '*', 4, 12],
        [2, '+', 12, 14],
      ],
    },
  };
  const check = (text: string | string[]) =>
    mathTask.check(handMade, typeof text === 'string' ? words(text) : text);
  const right = { correct: true, score: 1 };
  const wrong = { correct: false, score: 0 };

  it('passes the reference of every problem', () => {
    for (const p of sample) expect(mathTask.check(p, mathTask.reference(p))).toEqual(right);
    // Data survives a round trip through a table's string column.
    for (const p of sample.slice(0, 50)) {
      const copy = { ...p, data: JSON.parse(JSON.stringify(p.data)) };
      expect(mathTask.check(copy, mathTask.reference(copy))).toEqual(right);
    }
  });

  it('grades only the final answer', () => {
    expect(mathTask.reference(handMade).join(' ')).toBe('3 * 4 = 12 ; 2 + 12 = 14 ; answer 14');
    expect(check('3 * 4 = 12 ; 2 + 12 = 14 ; answer 14')).toEqual(right);
    expect(check('answer 14')).toEqual(right);
    expect(check('2 + 3 = 5 ; 5 * 4 = 20 ; answer 14')).toEqual(right);
    expect(check('answer 20 answer 14')).toEqual(right);
    expect(check('2 + 3 = 5 ; 5 * 4 = 20 ; answer 20')).toEqual(wrong);
    expect(check('3 * 4 = 12 ; 2 + 12 = 14 ; answer 15')).toEqual(wrong);
    expect(check('answer 14 answer 20')).toEqual(wrong);
  });

  it('scores malformed answers 0 without throwing', () => {
    for (const text of [
      '',
      '14',
      '3 * 4 = 12 ; 2 + 12 = 14',
      'answer',
      'answer 14 answer',
      'answer 14 ;',
      'answer 14 14',
      'answer - 14',
      'answer 014',
      'answer 14.0',
      'answer 1e1',
      'answer 114',
      'answer 100',
      'banana <unk:7> ? ?',
    ])
      expect(check(text)).toEqual(wrong);
    expect(check(['answer', ' 14'])).toEqual(wrong);
    expect(check(['answer', ''])).toEqual(wrong);
    const huge = Array.from({ length: 100_000 }, (_, i) => (i % 3 === 0 ? 'answer' : String(i % 100)));
    expect(check(huge)).toEqual(wrong);
    expect(check([...huge, 'answer', '14'])).toEqual(right);
  });

  it('finds the final answer', () => {
    expect(finalAnswer(words('1 + 1 = 2 ; answer 2'))).toBe(2);
    expect(finalAnswer(words('answer 0'))).toBe(0);
    expect(finalAnswer(words('answer 99'))).toBe(99);
    expect(finalAnswer(words('answer 2 ;'))).toBeUndefined();
  });
});
