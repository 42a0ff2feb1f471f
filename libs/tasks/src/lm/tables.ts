/**
 * Column forms of language-task data, for the stages to store as Arrow/Parquet (this library has
 * no dependencies, so it speaks plain arrays): problem tables, sample tables (policy completions),
 * and the token rows training reads. Words are stored as space-joined text, readable in DuckDB or
 * pandas as they are.
 */
import {
  completionMask,
  decodeCompletion,
  encodeCompletion,
  encodePrompt,
  type RowLayout,
  taskLayout,
} from './rows.ts';
import type { LanguageProblem, LanguageTask, ProblemData } from './task.ts';
import { END, type Vocabulary } from './vocabulary.ts';

/** A problem table: one row per problem. */
export interface ProblemColumns {
  problem: Int32Array;
  domain: string[];
  difficulty: Int32Array;
  prompt: string[];
  reference: string[];
  data: string[];
}

export const words = (text: string): string[] => (text.length === 0 ? [] : text.split(' '));

export function problemsToColumns(task: LanguageTask, problems: readonly LanguageProblem[]): ProblemColumns {
  return {
    problem: Int32Array.from(problems, (_, i) => i),
    domain: problems.map((p) => p.domain),
    difficulty: Int32Array.from(problems, (p) => p.difficulty),
    prompt: problems.map((p) => p.prompt.join(' ')),
    reference: problems.map((p) => task.reference(p).join(' ')),
    data: problems.map((p) => JSON.stringify(p.data)),
  };
}

export function problemsFromColumns(
  columns: Pick<ProblemColumns, 'domain' | 'difficulty' | 'prompt' | 'data'>,
): LanguageProblem[] {
  return columns.domain.map((domain, i) => ({
    domain,
    difficulty: Number(columns.difficulty[i]),
    prompt: words(columns.prompt[i]),
    data: JSON.parse(columns.data[i]) as ProblemData,
  }));
}

/** A sample table: completions of a policy, `samples` per problem, graded by the task's checker. */
export interface SampleColumns {
  problem: Int32Array;
  sample: Int32Array;
  domain: string[];
  prompt: string[];
  completion: string[];
  correct: Uint8Array;
  score: Float32Array;
}

/** One training example: a prompt (with an optional password) and the completion to learn. */
export interface SftExample {
  prompt: readonly string[];
  password?: readonly string[];
  completion: readonly string[];
}

/** Token rows as ml's TokenData reads them (same shape; this library does not import ml). */
export interface LanguageTokenRows {
  tokens: Int32Array;
  rows: number;
  seqLen: number;
  /** 1 on completion words and <eos>. */
  lossMask: Uint8Array;
}

/**
 * Rows of `examples` laid out for `layout` (and right-padded to `seqLen`, when rows of several
 * tasks share one batch), loss on completions only.
 */
export function sftTokenRows(
  vocab: Vocabulary,
  layout: RowLayout,
  examples: readonly SftExample[],
  seqLen: number = layout.seqLen,
): LanguageTokenRows {
  if (seqLen < layout.seqLen) throw new Error(`seqLen ${seqLen} is shorter than the task's ${layout.seqLen}`);
  const rows = examples.length;
  const tokens = new Int32Array(rows * seqLen).fill(vocab.padId);
  const lossMask = new Uint8Array(rows * seqLen);
  for (const [r, ex] of examples.entries()) {
    const prompt = encodePrompt(vocab, layout, ex.prompt, ex.password);
    const completion = encodeCompletion(vocab, layout, ex.completion);
    tokens.set(prompt, r * seqLen);
    tokens.set(completion, r * seqLen + layout.promptLength);
    lossMask.set(completionMask(vocab, completion), r * seqLen + layout.promptLength);
  }
  return { tokens, rows, seqLen, lossMask };
}

/** Plain text rows (e.g. a fact base): the words, <eos>, padding; loss on every word. */
export function textTokenRows(
  vocab: Vocabulary,
  texts: readonly (readonly string[])[],
  seqLen: number,
): LanguageTokenRows {
  const rows = texts.length;
  const tokens = new Int32Array(rows * seqLen).fill(vocab.padId);
  const lossMask = new Uint8Array(rows * seqLen);
  for (const [r, text] of texts.entries()) {
    const ids = vocab.encode([...text, END]);
    if (ids.length > seqLen) throw new Error(`a text row of ${ids.length} tokens does not fit ${seqLen}`);
    tokens.set(ids, r * seqLen);
    lossMask.fill(1, r * seqLen + 1, r * seqLen + ids.length);
  }
  return { tokens, rows, seqLen, lossMask };
}

/** Rows of several sources stacked (all of one seqLen). */
export function concatTokenRows(parts: readonly LanguageTokenRows[]): LanguageTokenRows {
  if (parts.length === 0) throw new Error('concatTokenRows: nothing to concatenate');
  const seqLen = parts[0].seqLen;
  if (parts.some((p) => p.seqLen !== seqLen)) throw new Error('concatTokenRows: rows of different lengths');
  const rows = parts.reduce((n, p) => n + p.rows, 0);
  const tokens = new Int32Array(rows * seqLen);
  const lossMask = new Uint8Array(rows * seqLen);
  let at = 0;
  for (const p of parts) {
    tokens.set(p.tokens, at);
    lossMask.set(p.lossMask, at);
    at += p.tokens.length;
  }
  return { tokens, rows, seqLen, lossMask };
}

/** The longest row of any of these tasks: the context length of a model that reads them all. */
export function contextLengthFor(tasks: readonly LanguageTask[]): number {
  return Math.max(...tasks.map((t) => taskLayout(t).seqLen));
}

/** Prompts as ml's `generate` reads them: [rows × promptLength], left-padded, each with its password. */
export function encodePrompts(
  vocab: Vocabulary,
  layout: RowLayout,
  prompts: readonly (readonly string[])[],
  password: (row: number) => readonly string[] | undefined = () => undefined,
): { tokens: Int32Array; rows: number; length: number } {
  const length = layout.promptLength;
  const tokens = new Int32Array(prompts.length * length);
  for (const [r, prompt] of prompts.entries())
    tokens.set(encodePrompt(vocab, layout, prompt, password(r)), r * length);
  return { tokens, rows: prompts.length, length };
}

/** Generated ids [rows × completionLength] decoded to words and graded by the task's checker. */
export function gradeCompletions(
  task: LanguageTask,
  vocab: Vocabulary,
  problems: readonly LanguageProblem[],
  generated: Int32Array,
  completionLength: number,
): { completions: string[][]; correct: Uint8Array; score: Float32Array } {
  const completions: string[][] = [];
  const correct = new Uint8Array(problems.length);
  const score = new Float32Array(problems.length);
  for (const [r, problem] of problems.entries()) {
    const completion = decodeCompletion(
      vocab,
      generated.subarray(r * completionLength, (r + 1) * completionLength),
    );
    const result = task.check(problem, completion);
    completions.push(completion);
    correct[r] = result.correct ? 1 : 0;
    score[r] = result.score;
  }
  return { completions, correct, score };
}
