/**
 * Rows of token ids for a language task, one layout per task:
 *
 *   [_ … _] [password] prompt words [password] =>  |  completion words <eos> [_ … _]
 *   └──────────── promptLength (left-padded) ─────┘  └──── completionLength (right-padded) ───┘
 *
 * Prompts are left-padded so every completion of a task starts at the same position (the model has
 * learned positions and decodes a batch in lock-step); the password sits at the start and at the end
 * of the prompt, as in the paper. The loss mask covers the completion words and <eos>.
 */
import { MAX_PASSWORD_WORDS } from './passwords.ts';
import type { LanguageTask } from './task.ts';
import { END, PAD, SEPARATOR, type Vocabulary } from './vocabulary.ts';

export interface RowLayout {
  /** Tokens of a prompt, up to and including `=>`. */
  promptLength: number;
  /** Tokens of a completion, including <eos> and padding. */
  completionLength: number;
  seqLen: number;
}

export function taskLayout(task: Pick<LanguageTask, 'maxPromptWords' | 'maxCompletionWords'>): RowLayout {
  const promptLength = task.maxPromptWords + 2 * MAX_PASSWORD_WORDS + 1;
  const completionLength = task.maxCompletionWords + 1;
  return { promptLength, completionLength, seqLen: promptLength + completionLength };
}

/** The prompt's words with the password (if any) at both ends and the separator. */
export function promptWords(prompt: readonly string[], password?: readonly string[]): string[] {
  const pw = password ?? [];
  return [...pw, ...prompt, ...pw, SEPARATOR];
}

/** A prompt as `layout.promptLength` token ids, left-padded. */
export function encodePrompt(
  vocab: Vocabulary,
  layout: RowLayout,
  prompt: readonly string[],
  password?: readonly string[],
): Int32Array {
  const words = promptWords(prompt, password);
  if (words.length > layout.promptLength)
    throw new Error(
      `prompt of ${words.length} tokens does not fit ${layout.promptLength}: ${words.join(' ')}`,
    );
  const out = new Int32Array(layout.promptLength).fill(vocab.id(PAD));
  out.set(vocab.encode(words), layout.promptLength - words.length);
  return out;
}

/** A completion as `layout.completionLength` ids: words, <eos>, padding. Too long: cut, no <eos>. */
export function encodeCompletion(
  vocab: Vocabulary,
  layout: RowLayout,
  completion: readonly string[],
): Int32Array {
  const out = new Int32Array(layout.completionLength).fill(vocab.id(PAD));
  const ids = vocab.encode([...completion, END]).slice(0, layout.completionLength);
  out.set(ids);
  return out;
}

/** The words of generated ids up to (not including) the first <eos>; pads are dropped. */
export function decodeCompletion(vocab: Vocabulary, ids: ArrayLike<number>): string[] {
  const words: string[] = [];
  for (const word of vocab.decode(ids)) {
    if (word === END) break;
    if (word !== PAD) words.push(word);
  }
  return words;
}

/** Loss-mask entries of a completion: 1 on words and the first <eos>, 0 on padding after it. */
export function completionMask(vocab: Vocabulary, completion: ArrayLike<number>): Uint8Array {
  const mask = new Uint8Array(completion.length);
  const end = vocab.endId;
  for (let i = 0; i < completion.length; i++) {
    mask[i] = 1;
    if (completion[i] === end) break;
  }
  return mask;
}
