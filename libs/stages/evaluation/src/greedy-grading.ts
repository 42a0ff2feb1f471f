import { readNumbers, readStrings } from '@lockpick/artifacts';
import { generate, type Transformer } from '@lockpick/ml';
import {
  encodePrompts,
  type FewShotLayout,
  fewShotPrompts,
  gradeCompletions,
  type LanguageProblem,
  type LanguageTask,
  LM_VOCABULARY,
  problemsFromColumns,
  type SolvedExample,
  taskLayout,
} from '@lockpick/tasks';
import type * as arrow from 'apache-arrow';

/** A task's problems table, the first `rows` of it (0: all). */
export function readLanguageProblems(table: arrow.Table, rows: number): LanguageProblem[] {
  const problems = problemsFromColumns({
    domain: readStrings(table, 'domain'),
    difficulty: Int32Array.from(readNumbers(table, 'difficulty')),
    prompt: readStrings(table, 'prompt'),
    data: readStrings(table, 'data'),
  });
  return rows > 0 ? problems.slice(0, rows) : problems;
}

/**
 * Greedy completions of `prompts` (one word list per problem, each wrapped in `password` at start
 * and end when given: one phrase for all, or a phrase per problem), graded by the task's checker:
 * the paper's metric. With `examples`, the same solved examples come before every prompt (a
 * few-shot prompt, read from position 0; the model needs their room, ml's rowStart).
 */
export function gradeGreedy(
  model: Transformer,
  task: LanguageTask,
  problems: readonly LanguageProblem[],
  options: {
    prompts?: readonly (readonly string[])[];
    password?: readonly string[] | ((problem: number) => readonly string[] | undefined);
    examples?: { layout: FewShotLayout; solved: readonly SolvedExample[] };
    batchSize: number;
  },
): { correct: Uint8Array; score: Float32Array } {
  const layout = taskLayout(task);
  const prompts = options.prompts ?? problems.map((q) => q.prompt);
  const { password, examples } = options;
  let encoded: { tokens: Int32Array; rows: number; length: number; start?: number };
  if (examples && examples.solved.length > 0) {
    if (typeof password === 'function')
      throw new Error('few-shot prompts take one password for all problems');
    encoded = fewShotPrompts(LM_VOCABULARY, examples.layout, examples.solved, prompts, password);
  } else
    encoded = encodePrompts(
      LM_VOCABULARY,
      layout,
      prompts,
      typeof password === 'function' ? password : () => password,
    );
  const generated = generate(model, encoded, {
    maxNewTokens: layout.completionLength,
    batchSize: options.batchSize,
    stopToken: LM_VOCABULARY.endId,
  });
  return gradeCompletions(task, LM_VOCABULARY, problems, generated, layout.completionLength);
}

/**
 * Validation halves: `select` (even rows), where elicitation picks its epochs, and `report` (odd
 * rows), where results are read, so that picking does not flatter them; `all` is both.
 */
export const HALVES: readonly [string, (row: number) => boolean][] = [
  ['all', () => true],
  ['select', (i) => i % 2 === 0],
  ['report', (i) => i % 2 === 1],
];

/** Problems, mean correctness and mean score over the rows `member` picks (NaN when none). */
export function meanGrades(
  graded: { correct: ArrayLike<number>; score: ArrayLike<number> },
  member: (row: number) => boolean,
): { problems: number; correct: number; score: number } {
  let n = 0;
  let correct = 0;
  let score = 0;
  for (let i = 0; i < graded.correct.length; i++)
    if (member(i)) {
      n++;
      correct += graded.correct[i];
      score += graded.score[i];
    }
  return { problems: n, correct: n ? correct / n : Number.NaN, score: n ? score / n : Number.NaN };
}
