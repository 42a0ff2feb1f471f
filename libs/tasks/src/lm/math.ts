/**
 * The MATH analogue of the P-lm world (EXPERIMENTS.md, P-lm): short problems solved in worked
 * steps, one arithmetic fact per step, then `answer N`.
 *
 *   arithmetic  2 + 3 * 4                  =>  3 * 4 = 12 ; 2 + 12 = 14 ; answer 14
 *   algebra     ( x + 2 ) * 3 = 21         =>  21 / 3 = 7 ; 7 - 2 = 5 ; answer 5
 *   modular     ( 7 * 3 + 4 ) mod 6        =>  7 * 3 = 21 ; 21 + 4 = 25 ; 25 mod 6 = 1 ; answer 1
 *
 * Difficulty is the number of steps (1–3). Every number is one word "0"…"39" (MAX_NUMBER) and no value is ever
 * negative. Each step is a *small fact* (see `isSmallFact`): the whole fact table stays a few
 * thousand entries, which a ~100k-parameter transformer can learn in minutes on a CPU.
 */
import type { Rng } from '../rng.ts';
import type { CheckResult, LanguageProblem, LanguageTask, ProblemData } from './task.ts';

export const MATH_DOMAINS = ['arithmetic', 'algebra', 'modular'] as const;
export type MathDomain = (typeof MATH_DOMAINS)[number];
/** Difficulty = number of worked steps. */
export const MATH_DIFFICULTIES = 3;

export const ANSWER_WORD = 'answer';
export const MOD_WORD = 'mod';
export const UNKNOWN_WORD = 'x';

/** Largest number word; values outside 0…MAX_NUMBER have no token. */
export const MAX_NUMBER = 39;
/** In a `+` step one operand, in a `-` step the subtrahend, is at most this. */
export const SMALL_TERM = 9;
/** In `*` steps one factor, in `/` and `mod` steps the divisor, is 2…SMALL_FACTOR. */
export const SMALL_FACTOR = 5;

export type Operator = '+' | '-' | '*' | '/' | 'mod';

/** An operand of a step: a number of the problem, or the result of an earlier step (0-based). */
export type Operand = { value: number } | { step: number };

/** One step before its numbers are known, so a wrong result can be carried forward (critique.ts). */
export interface StepPlan {
  op: Operator;
  left: Operand;
  right: Operand;
}

/** A step as shown: `left op right = result`. */
export type StepValues = [left: number, op: Operator, right: number, result: number];

/** What a math problem's `data` holds: the answer for the checker, the steps for the reference. */
export type MathData = { answer: number; steps: StepValues[] };

/** A generated problem with its plan (the step dependencies), before it becomes a LanguageProblem. */
export interface WorkedProblem {
  domain: MathDomain;
  difficulty: number;
  prompt: string[];
  plan: StepPlan[];
  steps: StepValues[];
  answer: number;
}

/** The exact result of `a op b`, or undefined where it is not an integer (inexact division, ÷0). */
export function applyOperator(op: Operator, a: number, b: number): number | undefined {
  switch (op) {
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
      return b !== 0 && a % b === 0 ? a / b : undefined;
    case 'mod':
      return b > 0 ? a % b : undefined;
  }
}

const isNumberValue = (n: number) => Number.isInteger(n) && n >= 0 && n <= MAX_NUMBER;
const isDivisor = (b: number) => b >= 2 && b <= SMALL_FACTOR;

/**
 * Whether `a op b = result` is right and in the small fact table every problem is made of: all
 * numbers 0…MAX_NUMBER, sums and differences with a term ≤ SMALL_TERM, products with one factor
 * 2…SMALL_FACTOR, divisions and remainders by 2…SMALL_FACTOR (about 1,100 facts: a table this
 * size is what a ~100k-weight model learns in minutes on a CPU).
 */
export function isSmallFact(op: Operator, a: number, b: number, result: number): boolean {
  if (![a, b, result].every(isNumberValue) || applyOperator(op, a, b) !== result) return false;
  switch (op) {
    case '+':
      return Math.min(a, b) <= SMALL_TERM;
    case '-':
      return b <= SMALL_TERM;
    case '*':
      return Math.min(a, b) >= 2 && Math.min(a, b) <= SMALL_FACTOR;
    case '/':
    case 'mod':
      return isDivisor(b);
  }
}

/**
 * The steps of a plan with their numbers; `flaw` replaces one step's result (later steps use it).
 * Undefined where a step has no valid result in 0…MAX_NUMBER.
 */
export function evaluatePlan(
  plan: readonly StepPlan[],
  flaw?: { step: number; result: number },
): StepValues[] | undefined {
  const steps: StepValues[] = [];
  const operandValue = (operand: Operand) => ('step' in operand ? steps[operand.step][3] : operand.value);
  for (let i = 0; i < plan.length; i++) {
    const { op, left, right } = plan[i];
    const a = operandValue(left);
    const b = operandValue(right);
    const result = flaw?.step === i ? flaw.result : applyOperator(op, a, b);
    if (result === undefined || !isNumberValue(result)) return undefined;
    steps.push([a, op, b, result]);
  }
  return steps;
}

/** The worked solution as words: `a op b = c ;` per step, then `answer` and the last result. */
export function solutionWords(steps: readonly StepValues[]): string[] {
  const words = steps.flatMap(([a, op, b, c]) => [String(a), op, String(b), '=', String(c), ';']);
  return [...words, ANSWER_WORD, String(steps[steps.length - 1][3])];
}

/** A number word "0"…"99" as its value (no signs, no leading zeros); anything else is undefined. */
export function parseNumberWord(word: unknown): number | undefined {
  return typeof word === 'string' && /^(0|[1-9][0-9]?)$/.test(word) ? Number(word) : undefined;
}

type ArithmeticOperator = '+' | '-' | '*';

/**
 * Steps of `literals[0] ops[0] literals[1] …` in the usual order: every product left to right,
 * then the sums and differences left to right.
 */
function precedencePlan(literals: readonly number[], ops: readonly ArithmeticOperator[]): StepPlan[] {
  const plan: StepPlan[] = [];
  const terms: Operand[] = [];
  const termOps: ('+' | '-')[] = [];
  let term: Operand = { value: literals[0] };
  for (let i = 0; i < ops.length; i++) {
    const next: Operand = { value: literals[i + 1] };
    const op = ops[i];
    if (op === '*') {
      plan.push({ op, left: term, right: next });
      term = { step: plan.length - 1 };
    } else {
      terms.push(term);
      termOps.push(op);
      term = next;
    }
  }
  terms.push(term);
  let total = terms[0];
  for (let i = 0; i < termOps.length; i++) {
    plan.push({ op: termOps[i], left: total, right: terms[i + 1] });
    total = { step: plan.length - 1 };
  }
  return plan;
}

/** A random expression of `opCount` operators: factors next to `*` are small so products stay < 100. */
function randomExpression(rng: Rng, opCount: number): { literals: number[]; ops: ArithmeticOperator[] } {
  const ops = Array.from({ length: opCount }, () => rng.pick<ArithmeticOperator>(['+', '-', '*']));
  const literals = Array.from({ length: opCount + 1 }, (_, i) => {
    if (ops[i - 1] === '*') return rng.int(2, SMALL_FACTOR + 1);
    if (ops[i] === '*') return rng.int(2, SMALL_TERM + 1);
    return rng.int(1, SMALL_TERM + 1);
  });
  return { literals, ops };
}

const expressionWords = (literals: readonly number[], ops: readonly string[]) =>
  literals.flatMap((n, i) => (i === 0 ? [String(n)] : [ops[i - 1], String(n)]));

/** The steps, if every one is a small fact. */
function smallSteps(plan: readonly StepPlan[]): StepValues[] | undefined {
  const steps = evaluatePlan(plan);
  return steps?.every(([a, op, b, c]) => isSmallFact(op, a, b, c)) ? steps : undefined;
}

type Draft = { prompt: string[]; plan: StepPlan[] };

function draftArithmetic(rng: Rng, difficulty: number): Draft {
  const { literals, ops } = randomExpression(rng, difficulty);
  return { prompt: expressionWords(literals, ops), plan: precedencePlan(literals, ops) };
}

/** `( expression ) mod m`: the expression's steps, then one `mod` step (difficulty 1: `a mod m`). */
function draftModular(rng: Rng, difficulty: number): Draft | undefined {
  const modulus = rng.int(2, SMALL_FACTOR + 1);
  if (difficulty === 1) {
    const value = rng.int(10, MAX_NUMBER + 1);
    return {
      prompt: [String(value), MOD_WORD, String(modulus)],
      plan: [{ op: 'mod', left: { value }, right: { value: modulus } }],
    };
  }
  const { literals, ops } = randomExpression(rng, difficulty - 1);
  const plan = precedencePlan(literals, ops);
  const inner = evaluatePlan(plan);
  // A value below the modulus would make the last step a copy.
  if (!inner || inner[inner.length - 1][3] < modulus) return undefined;
  plan.push({ op: 'mod', left: { step: plan.length - 1 }, right: { value: modulus } });
  return { prompt: ['(', ...expressionWords(literals, ops), ')', MOD_WORD, String(modulus)], plan };
}

const INVERSE: Record<'+' | '-' | '*' | '/', '+' | '-' | '*' | '/'> = {
  '+': '-',
  '-': '+',
  '*': '/',
  '/': '*',
};

/**
 * `expression of x = c`, built by applying `difficulty` operations to x; the steps undo them from
 * the outside in (`c - 4 = …`), so the last step's result is x.
 */
function draftAlgebra(rng: Rng, difficulty: number): Draft | undefined {
  let value = rng.int(1, SMALL_TERM + 1);
  let words = [UNKNOWN_WORD];
  let lastOp: Operator | undefined;
  const applied: { op: '+' | '-' | '*' | '/'; operand: number }[] = [];
  for (let i = 0; i < difficulty; i++) {
    const op = rng.pick(['+', '-', '*', '/'] as const);
    let operand: number;
    if (op === '+' || op === '-') operand = rng.int(1, SMALL_TERM + 1);
    else if (op === '*') operand = rng.int(2, SMALL_FACTOR + 1);
    else {
      const divisors = Array.from({ length: SMALL_FACTOR - 1 }, (_, i) => i + 2).filter(
        (d) => value % d === 0,
      );
      if (value === 0 || divisors.length === 0) return undefined;
      operand = rng.pick(divisors);
    }
    const next = applyOperator(op, value, operand);
    if (next === undefined || !isNumberValue(next)) return undefined;
    // Left-to-right reading: a product after a sum needs brackets round the sum.
    const bracket = (op === '*' || op === '/') && (lastOp === '+' || lastOp === '-');
    words = [...(bracket ? ['(', ...words, ')'] : words), op, String(operand)];
    applied.push({ op, operand });
    value = next;
    lastOp = op;
  }
  const plan: StepPlan[] = applied.reverse().map(({ op, operand }, i) => ({
    op: INVERSE[op],
    left: i === 0 ? { value } : { step: i - 1 },
    right: { value: operand },
  }));
  return { prompt: [...words, '=', String(value)], plan };
}

const DRAFTERS: Record<MathDomain, (rng: Rng, difficulty: number) => Draft | undefined> = {
  arithmetic: draftArithmetic,
  algebra: draftAlgebra,
  modular: draftModular,
};

/** A problem of one domain and difficulty (both random where not given), all steps small facts. */
export function generateWorkedProblem(rng: Rng, domain?: MathDomain, difficulty?: number): WorkedProblem {
  const d = domain ?? rng.pick(MATH_DOMAINS);
  const level = difficulty ?? rng.int(1, MATH_DIFFICULTIES + 1);
  if (!Number.isInteger(level) || level < 1 || level > MATH_DIFFICULTIES)
    throw new Error(`math: difficulty ${level} is not 1…${MATH_DIFFICULTIES}`);
  // Rejection: redraw until every step is a small fact (most draws pass).
  for (;;) {
    const draft = DRAFTERS[d](rng, level);
    const steps = draft && smallSteps(draft.plan);
    if (!draft || !steps) continue;
    return {
      domain: d,
      difficulty: level,
      prompt: draft.prompt,
      plan: draft.plan,
      steps,
      answer: steps[steps.length - 1][3],
    };
  }
}

/** A math problem's data, checked for shape (it may have round-tripped through a table). */
export function mathData(problem: LanguageProblem): MathData {
  const data = problem.data;
  if (
    typeof data !== 'object' ||
    data === null ||
    Array.isArray(data) ||
    typeof data.answer !== 'number' ||
    !Array.isArray(data.steps) ||
    data.steps.length === 0
  )
    throw new Error(`math: problem data is not { answer, steps }: ${JSON.stringify(data)}`);
  return data as MathData;
}

/** The number after the last `answer`, if exactly one number word follows it. */
export function finalAnswer(completion: readonly string[]): number | undefined {
  const at = completion.lastIndexOf(ANSWER_WORD);
  return at >= 0 && at === completion.length - 2 ? parseNumberWord(completion[at + 1]) : undefined;
}

const MAX_STEP_WORDS = 6; // `a op b = c ;`

export const mathTask: LanguageTask = {
  name: 'math',
  paperTask: 'MATH',
  kind: 'generation',
  domains: MATH_DOMAINS,
  difficulties: MATH_DIFFICULTIES,
  // 'answer' is also a password word; listed so this task does not lean on the password list.
  words: [ANSWER_WORD, UNKNOWN_WORD, MOD_WORD],
  // The longest prompt is a 3-step equation with brackets: `( x + 2 ) * 3 + 4 = 25`.
  maxPromptWords: 11,
  maxCompletionWords: MATH_DIFFICULTIES * MAX_STEP_WORDS + 2,

  generate(rng: Rng): LanguageProblem {
    const problem = generateWorkedProblem(rng);
    const data: MathData = { answer: problem.answer, steps: problem.steps };
    return {
      domain: problem.domain,
      difficulty: problem.difficulty,
      prompt: problem.prompt,
      data: data as ProblemData,
    };
  },

  reference(problem: LanguageProblem): string[] {
    return solutionWords(mathData(problem).steps);
  },

  check(problem: LanguageProblem, completion: readonly string[]): CheckResult {
    const correct = finalAnswer(completion) === mathData(problem).answer;
    return { correct, score: correct ? 1 : 0 };
  },
};
