/**
 * The one tokenizer of the P-lm world, shared by every task and by the passwords: a word-level
 * vocabulary (a word is a string without spaces). Ids are positions in a list built from the core
 * words, then each registered task's words in registration order, duplicates dropped — so adding a
 * task at the end of the registry appends ids and never moves existing ones.
 */
import { PASSWORD_WORDS } from './passwords.ts';
import type { LanguageTask } from './task.ts';

export const PAD = '_';
/** Ends the prompt: the completion starts after it. */
export const SEPARATOR = '=>';
export const END = '<eos>';

/** Words every task may use: specials, integers 0–99, signs and punctuation, option letters. */
export const CORE_WORDS: readonly string[] = [
  PAD,
  SEPARATOR,
  END,
  ...Array.from({ length: 100 }, (_, n) => String(n)),
  '-',
  '+',
  '*',
  '/',
  '=',
  '(',
  ')',
  ',',
  '.',
  ':',
  ';',
  '!',
  '?',
  'A',
  'B',
  'C',
  'D',
  ...PASSWORD_WORDS,
];

export class Vocabulary {
  readonly words: readonly string[];
  private readonly ids = new Map<string, number>();

  constructor(words: readonly string[]) {
    const list: string[] = [];
    for (const word of words) {
      if (word.length === 0 || /\s/.test(word)) throw new Error(`vocabulary: "${word}" is not a word`);
      if (this.ids.has(word)) continue;
      this.ids.set(word, list.length);
      list.push(word);
    }
    this.words = list;
  }

  /** The vocabulary of the core words and these tasks' words, in this order. */
  static forTasks(tasks: readonly Pick<LanguageTask, 'words'>[]): Vocabulary {
    return new Vocabulary([...CORE_WORDS, ...tasks.flatMap((t) => t.words)]);
  }

  get size(): number {
    return this.words.length;
  }

  get padId(): number {
    return this.id(PAD);
  }

  get endId(): number {
    return this.id(END);
  }

  has(word: string): boolean {
    return this.ids.has(word);
  }

  id(word: string): number {
    const id = this.ids.get(word);
    if (id === undefined)
      throw new Error(`vocabulary: unknown word "${word}" (add it to the task's \`words\`)`);
    return id;
  }

  encode(words: readonly string[]): number[] {
    return words.map((w) => this.id(w));
  }

  /** Words of ids; an id outside the vocabulary reads as `<unk:ID>` (never throws). */
  decode(ids: ArrayLike<number>): string[] {
    return Array.from(ids, (i) => this.words[i] ?? `<unk:${i}>`);
  }
}
