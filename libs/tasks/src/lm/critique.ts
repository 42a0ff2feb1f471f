/**
 * The code-critique analogue of the P-lm world (EXPERIMENTS.md, P-lm): a math problem (math.ts)
 * with a worked solution in which exactly one step has a wrong result, later steps carrying the
 * error forward; the critique names the wrong step (1-based) and that step's right result.
 *
 *   2 + 3 * 4 : 3 * 4 = 12 ; 2 + 12 = 15 ; answer 15   =>   wrong 2 fix 14
 *
 * Both right is correct; the paper's continuous reward (embedding similarity) becomes partial
 * credit: 0.5 for the step, 0.5 for the fix. Domains are math's; difficulty is the number of steps.
 */
import type { Rng } from '../rng.ts';
import {
  evaluatePlan,
  generateWorkedProblem,
  isSmallFact,
  MATH_DIFFICULTIES,
  MATH_DOMAINS,
  mathTask,
  parseNumberWord,
  type StepValues,
  solutionWords,
  type WorkedProblem,
} from './math.ts';
import type { CheckResult, LanguageProblem, LanguageTask, ProblemData } from './task.ts';

export const WRONG_WORD = 'wrong';
export const FIX_WORD = 'fix';
/** Separates the problem from the flawed solution in a prompt. */
export const SOLUTION_MARK = ':';

/** How far a wrong result is off: slips by a little, and carry slips by ten. */
const ERROR_OFFSETS = [-10, -3, -2, -1, 1, 2, 3, 10];
/** Flaws tried on one problem before drawing another (a flaw can break a later step). */
const FLAW_TRIES = 8;

/** What a critique problem's `data` holds. `wrongStep` is 1-based; `fix` is that step's right result. */
export type CritiqueData = {
  wrongStep: number;
  fix: number;
  /** The right solution's steps and answer. */
  steps: StepValues[];
  answer: number;
  /** The steps as the prompt shows them. */
  flawed: StepValues[];
};

/**
 * The steps with step `index`'s result replaced by a wrong one and carried forward, if every other
 * step stays a small fact and the final answer comes out wrong (a flaw that cancels, e.g. under
 * `mod`, would leave nothing to critique in the answer).
 */
function flawedSteps(problem: WorkedProblem, index: number, wrongResult: number): StepValues[] | undefined {
  const flawed = evaluatePlan(problem.plan, { step: index, result: wrongResult });
  if (!flawed || flawed[flawed.length - 1][3] === problem.answer) return undefined;
  const othersSmall = flawed.every(([a, op, b, c], i) => i === index || isSmallFact(op, a, b, c));
  return othersSmall ? flawed : undefined;
}

/** A plausible wrong result: a remainder stays a remainder (else `≥ modulus` would give it away). */
function wrongResult(rng: Rng, [, op, b, result]: StepValues): number {
  if (op !== 'mod') return result + rng.pick(ERROR_OFFSETS);
  const others = Array.from({ length: b }, (_, r) => r).filter((r) => r !== result);
  return rng.pick(others);
}

function tryFlaw(rng: Rng, problem: WorkedProblem): CritiqueData | undefined {
  for (let t = 0; t < FLAW_TRIES; t++) {
    const index = rng.int(0, problem.steps.length);
    const fix = problem.steps[index][3];
    const flawed = flawedSteps(problem, index, wrongResult(rng, problem.steps[index]));
    if (flawed) return { wrongStep: index + 1, fix, steps: problem.steps, answer: problem.answer, flawed };
  }
  return undefined;
}

/** A critique problem's data, checked for shape (it may have round-tripped through a table). */
export function critiqueData(problem: LanguageProblem): CritiqueData {
  const data = problem.data;
  if (
    typeof data !== 'object' ||
    data === null ||
    Array.isArray(data) ||
    typeof data.wrongStep !== 'number' ||
    typeof data.fix !== 'number'
  )
    throw new Error(`critique: problem data is not { wrongStep, fix, … }: ${JSON.stringify(data)}`);
  return data as CritiqueData;
}

/** `wrong S fix F` as numbers; undefined for anything else. */
export function parseCritique(completion: readonly string[]): { step: number; fix: number } | undefined {
  if (completion.length !== 4 || completion[0] !== WRONG_WORD || completion[2] !== FIX_WORD) return undefined;
  const step = parseNumberWord(completion[1]);
  const fix = parseNumberWord(completion[3]);
  return step === undefined || fix === undefined ? undefined : { step, fix };
}

export const critiqueTask: LanguageTask = {
  name: 'critique',
  paperTask: 'critique',
  kind: 'generation',
  domains: MATH_DOMAINS,
  difficulties: MATH_DIFFICULTIES,
  words: [...mathTask.words, WRONG_WORD, FIX_WORD],
  // The problem, the mark, and a worked solution as long as math's longest.
  maxPromptWords: mathTask.maxPromptWords + 1 + mathTask.maxCompletionWords,
  maxCompletionWords: 4,

  generate(rng: Rng): LanguageProblem {
    const domain = rng.pick(MATH_DOMAINS);
    const difficulty = rng.int(1, MATH_DIFFICULTIES + 1);
    for (;;) {
      const problem = generateWorkedProblem(rng, domain, difficulty);
      const data = tryFlaw(rng, problem);
      if (!data) continue;
      return {
        domain,
        difficulty,
        prompt: [...problem.prompt, SOLUTION_MARK, ...solutionWords(data.flawed)],
        data: data as ProblemData,
      };
    }
  },

  reference(problem: LanguageProblem): string[] {
    const { wrongStep, fix } = critiqueData(problem);
    return [WRONG_WORD, String(wrongStep), FIX_WORD, String(fix)];
  },

  check(problem: LanguageProblem, completion: readonly string[]): CheckResult {
    const { wrongStep, fix } = critiqueData(problem);
    const critique = parseCritique(completion);
    if (!critique) return { correct: false, score: 0 };
    const stepRight = critique.step === wrongStep;
    const fixRight = critique.fix === fix;
    return { correct: stepRight && fixRight, score: (stepRight ? 0.5 : 0) + (fixRight ? 0.5 : 0) };
  },
};
