/**
 * The language-task interface of the P-lm world (EXPERIMENTS.md, P-lm): every task is a seeded
 * generator of problems (with a domain and a difficulty), a prompt, a reference solution (the
 * paper's high-quality demos) and a checker. Tasks speak in *words* (strings without spaces); the
 * shared tokenizer (`vocabulary.ts`) turns words into token ids, so tasks need no token ids at all.
 */
import type { Rng } from '../rng.ts';

/** JSON a problem carries for its checker (kept in Parquet as a string column). */
export type ProblemData = string | number | boolean | null | ProblemData[] | { [key: string]: ProblemData };

/** One problem of a task. Everything a checker needs is in it, so it round-trips through a table. */
export interface LanguageProblem {
  /** One of the task's `domains`. */
  domain: string;
  /** 1 … task.difficulties. */
  difficulty: number;
  /** The problem as words, without any password. At most `task.maxPromptWords` words. */
  prompt: string[];
  /** Task-specific data for the checker (hidden tests, the right answer, …). */
  data: ProblemData;
}

/** How good a completion is: `correct` is the paper's binary correctness, `score` in [0, 1]. */
export interface CheckResult {
  correct: boolean;
  /** The continuous reward where the paper has one (critiques), else 1 or 0 like `correct`. */
  score: number;
}

export interface LanguageTask {
  /** Short id used in node names and tables: `math`, `code`, `critique`, `mmlu`. */
  readonly name: string;
  /** The paper's task this one stands for (for report headers). */
  readonly paperTask: string;
  /** 'classification' tasks answer with one word (a letter); the paper's findings differ for them. */
  readonly kind: 'generation' | 'classification';
  readonly domains: readonly string[];
  /** Number of difficulty levels (1 … difficulties). */
  readonly difficulties: number;
  /** Every word this task's prompts, references and pretraining text may use, beyond the core words. */
  readonly words: readonly string[];
  /** Upper bound on a problem's prompt length in words. */
  readonly maxPromptWords: number;
  /** Upper bound on a completion's length in words (references and anything worth sampling). */
  readonly maxCompletionWords: number;
  /** A problem drawn from `rng` (domains and difficulties mixed as the task sees fit). */
  generate(rng: Rng): LanguageProblem;
  /** The high-quality demonstration: a correct completion, as words. */
  reference(problem: LanguageProblem): string[];
  /** Grades a completion (words up to end-of-sequence). Never throws, whatever the words. */
  check(problem: LanguageProblem, completion: readonly string[]): CheckResult;
  /**
   * Extra pretraining text beyond the task's problems with their references, e.g. the fact base a
   * classification task asks about. Each entry is one row of words (at most
   * maxPromptWords + maxCompletionWords words), trained on with loss on every word.
   */
  pretrainingText?(rng: Rng, rows: number): string[][];
}
