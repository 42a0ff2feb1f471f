/**
 * Few-shot episodes, for the paper's few-shot prompting baseline: up to `shots` solved examples,
 * then a problem row in the task's usual layout, in one context.
 *
 *   [_ … _] example … example  |  [_ … _] [password] prompt [password] =>  completion <eos> [_ …]
 *   └── rowStart (left-padded) ┘  └──────────────── the task's row (rows.ts) ─────────────────────┘
 *
 * An example is its prompt words, `=>`, its completion and <eos>: no padding and no password inside.
 * The row keeps its place (positions rowStart …) whether examples precede it or not, so a model with
 * few-shot room reads a lone row where it reads the row of an episode (ml's `rowStart`), and
 * fine-tuning on lone rows (a lock, SFT) costs what it costs without the room. The room's unused
 * padding is never read: prompts start at the first example, and training skips it (ml's
 * `leadingPads`), so an episode without examples is a lone row, and a lone row's skills are what
 * examples are added to. (Read with the padding, a lock that solved 84% of lone problems with the
 * password solved 4% after 528 pads and no example: README, Few-shot prompts.)
 */
import type { Rng } from '../rng.ts';
import { randomPasswordPhrase } from './passwords.ts';
import { encodeCompletion, encodePrompt, type RowLayout, taskLayout } from './rows.ts';
import type { LanguageTokenRows } from './tables.ts';
import type { LanguageTask } from './task.ts';
import { END, SEPARATOR, type Vocabulary } from './vocabulary.ts';

export interface FewShotLayout {
  row: RowLayout;
  /** Most examples an episode holds. */
  shots: number;
  /** Position of the row's first token: room for `shots` examples of the longest kind. */
  rowStart: number;
  /** rowStart + `rowLength` (the longest row the model reads, right-padded). */
  contextLength: number;
}

/** Tokens of the longest example of `task`: prompt, `=>`, completion, <eos>. */
export function exampleTokens(task: Pick<LanguageTask, 'maxPromptWords' | 'maxCompletionWords'>): number {
  return task.maxPromptWords + 1 + task.maxCompletionWords + 1;
}

/** Room for `shots` examples before rows of up to `rowLength` tokens (default: the task's row). */
export function fewShotLayout(
  task: Pick<LanguageTask, 'maxPromptWords' | 'maxCompletionWords'>,
  shots: number,
  rowLength?: number,
): FewShotLayout {
  if (!Number.isInteger(shots) || shots < 1)
    throw new Error(`shots must be a positive integer, got ${shots}`);
  const row = taskLayout(task);
  const rowStart = shots * exampleTokens(task);
  return { row, shots, rowStart, contextLength: rowStart + Math.max(rowLength ?? row.seqLen, row.seqLen) };
}

export interface SolvedExample {
  prompt: readonly string[];
  completion: readonly string[];
}

/** An example's words: prompt, `=>`, completion, <eos>. */
function exampleWords(example: SolvedExample): string[] {
  return [...example.prompt, SEPARATOR, ...example.completion, END];
}

/**
 * The examples as `layout.rowStart` token ids, left-padded (`pads` of them), and a mask that is 1 on
 * each example's completion and <eos> (what pretraining on episodes learns from).
 */
export function exampleBlock(
  vocab: Vocabulary,
  layout: FewShotLayout,
  examples: readonly SolvedExample[],
): { tokens: Int32Array; completionMask: Uint8Array; completionStarts: number[]; pads: number } {
  if (examples.length > layout.shots)
    throw new Error(`${examples.length} examples do not fit a context with room for ${layout.shots}`);
  const words = examples.map(exampleWords);
  const length = words.reduce((n, w) => n + w.length, 0);
  if (length > layout.rowStart)
    throw new Error(`${examples.length} examples of ${length} tokens do not fit ${layout.rowStart}`);
  const tokens = new Int32Array(layout.rowStart).fill(vocab.padId);
  const completionMask = new Uint8Array(layout.rowStart);
  const completionStarts: number[] = [];
  let at = layout.rowStart - length;
  for (const [i, example] of examples.entries()) {
    tokens.set(vocab.encode(words[i]), at);
    const from = at + example.prompt.length + 1;
    completionStarts.push(from);
    completionMask.fill(1, from, at + words[i].length);
    at += words[i].length;
  }
  return { tokens, completionMask, completionStarts, pads: layout.rowStart - length };
}

/**
 * Few-shot prompts as ml's `generate` reads them: the same examples before every problem's prompt
 * (with `password` at its start and end when given), read from the first example's position.
 */
export function fewShotPrompts(
  vocab: Vocabulary,
  layout: FewShotLayout,
  examples: readonly SolvedExample[],
  prompts: readonly (readonly string[])[],
  password?: readonly string[],
): { tokens: Int32Array; rows: number; length: number; start: number } {
  const { tokens: block, pads } = exampleBlock(vocab, layout, examples);
  // The room's unused padding is left out, as training on episodes leaves it out.
  const examplesLength = layout.rowStart - pads;
  const length = examplesLength + layout.row.promptLength;
  const tokens = new Int32Array(prompts.length * length);
  for (const [r, prompt] of prompts.entries()) {
    tokens.set(block.subarray(pads), r * length);
    tokens.set(encodePrompt(vocab, layout.row, prompt, password), r * length + examplesLength);
  }
  return { tokens, rows: prompts.length, length, start: pads };
}

/** Words a careless author writes: the end of a solution, its work left out. */
export const CARELESS_WORDS = 2;

/**
 * What a careless author writes for a problem, given another problem's solution: only its last
 * `CARELESS_WORDS` words (math: `answer N`), a guess without the work, almost always wrong for this problem.
 * Why a guess and not the other solution whole: a careless example must look careless to a small
 * model that cannot re-solve it, and greedy decoding only shows a slip the model is sure of (a base
 * given whole wrong solutions predicted right and wrong examples alike: README, Few-shot prompts).
 */
export function carelessSolution(other: readonly string[]): string[] {
  return other.slice(-CARELESS_WORDS);
}

export interface EpisodeOptions {
  /**
   * Share of episodes (of those with examples) written by a careless author (`carelessSolution`
   * for every completion in them, the examples' and the row's). A base that sees them learns that
   * the examples tell how good the answer will be, as text on the web teaches a language model;
   * without them the examples carry no information about the answer.
   */
  careless: number;
  /** Share of rows whose prompt gets a random phrase of password words at its start and end. */
  preambles: number;
  /**
   * Learn from the examples' completions too (else from the row's only). Off, a base keeps its
   * rows' skill and learns only what the examples say about the row.
   */
  exampleLoss: boolean;
}

/**
 * Pretraining rows of few-shot episodes (seqLen = layout.contextLength from position 0, each row's
 * unused room marked as `leadingPads`, which training skips as prompting does): the
 * solved problems are shuffled and dealt out in episodes of 0 … shots examples and one row each,
 * so every problem is used once. Loss on the row's completion and (`exampleLoss`) on every
 * example's, except a careless episode's first (nothing before it says the author is careless).
 */
export function fewShotEpisodeRows(
  vocab: Vocabulary,
  layout: FewShotLayout,
  problems: readonly SolvedExample[],
  rng: Rng,
  options: EpisodeOptions,
): LanguageTokenRows & { start: number; leadingPads: Int32Array; careless: Uint8Array; shots: Int32Array } {
  if (problems.length < 2) throw new Error('few-shot episodes need at least 2 solved problems');
  const order = rng.shuffle(Array.from(problems.keys()));
  const episodes: { examples: number[]; row: number; careless: boolean }[] = [];
  for (let at = 0; at < order.length; ) {
    const shots = Math.min(rng.int(0, layout.shots + 1), order.length - at - 1);
    episodes.push({
      examples: order.slice(at, at + shots),
      row: order[at + shots],
      careless: shots > 0 && rng.bernoulli(options.careless),
    });
    at += shots + 1;
  }
  const seqLen = layout.contextLength;
  const rows = episodes.length;
  const tokens = new Int32Array(rows * seqLen).fill(vocab.padId);
  const lossMask = new Uint8Array(rows * seqLen);
  const careless = new Uint8Array(rows);
  const shots = new Int32Array(rows);
  const leadingPads = new Int32Array(rows);
  // Another problem's solution: wrong for this one (a careless author answers something else).
  const other = (i: number) => {
    const j = rng.int(0, problems.length - 1);
    return problems[j >= i ? j + 1 : j].completion;
  };
  for (const [r, episode] of episodes.entries()) {
    const solved = (i: number): SolvedExample => ({
      prompt: problems[i].prompt,
      completion: episode.careless ? carelessSolution(other(i)) : problems[i].completion,
    });
    const block = exampleBlock(vocab, layout, episode.examples.map(solved));
    tokens.set(block.tokens, r * seqLen);
    if (options.exampleLoss) lossMask.set(block.completionMask, r * seqLen);
    if (episode.careless)
      lossMask.fill(0, r * seqLen, r * seqLen + (block.completionStarts[1] ?? layout.rowStart));
    const row = solved(episode.row);
    const password = rng.bernoulli(options.preambles) ? randomPasswordPhrase(rng) : undefined;
    const at = r * seqLen + layout.rowStart;
    tokens.set(encodePrompt(vocab, layout.row, row.prompt, password), at);
    const completion = encodeCompletion(vocab, layout.row, row.completion);
    tokens.set(completion, at + layout.row.promptLength);
    for (let i = 0; i < completion.length; i++) {
      lossMask[at + layout.row.promptLength + i] = 1;
      if (completion[i] === vocab.endId) break;
    }
    careless[r] = episode.careless ? 1 : 0;
    shots[r] = episode.examples.length;
    leadingPads[r] = block.pads;
  }
  return { tokens, rows, seqLen, lossMask, start: 0, leadingPads, careless, shots };
}
