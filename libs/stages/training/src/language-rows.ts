import { readStrings } from '@lockpick/artifacts';
import {
  concatTokenRows,
  createRng,
  DEFAULT_PASSWORD,
  type LanguageTask,
  type LanguageTokenRows,
  LM_VOCABULARY,
  languageTask,
  randomPasswordPhrase,
  type SftExample,
  type SolvedExample,
  sftTokenRows,
  taskLayout,
  textTokenRows,
  words,
} from '@lockpick/tasks';
import type * as arrow from 'apache-arrow';

/**
 * The first `maxRows` rows (0: all) of a corpus table (`datagen.language-task`'s `pretrain` output):
 * its problems with their solutions, and its plain text rows, each in table order.
 */
export function corpusRows(
  table: arrow.Table,
  maxRows = 0,
): { task: LanguageTask; problems: SolvedExample[]; texts: string[][] } {
  const task = languageTask(readStrings(table, 'task')[0] ?? '');
  const kind = readStrings(table, 'kind');
  const prompt = readStrings(table, 'prompt');
  const completion = readStrings(table, 'completion');
  const n = maxRows > 0 ? Math.min(maxRows, kind.length) : kind.length;
  const problems: SolvedExample[] = [];
  const texts: string[][] = [];
  for (let i = 0; i < n; i++)
    if (kind[i] === 'text') texts.push(words(completion[i]));
    else problems.push({ prompt: words(prompt[i]), completion: words(completion[i]) });
  return { task, problems, texts };
}

/**
 * Token rows of a corpus table (`corpusRows`): problems with their references (loss on the
 * reference) and plain text rows (loss on every word), padded to `seqLen`. A share `preambles` of the
 * problems (seeded by `seed`) get a random phrase at the start and the end of the prompt, where a
 * password goes: as for the paper's given base models, a phrase around a problem is then ordinary
 * text to the base rather than tokens it has never seen in that place.
 */
export function corpusTokenRows(
  table: arrow.Table,
  seqLen: number,
  maxRows = 0,
  options: { preambles: number; seed: number } = { preambles: 0, seed: 0 },
): LanguageTokenRows {
  const { task, problems, texts } = corpusRows(table, maxRows);
  const rng = createRng(options.seed, 'lm/preambles', task.name);
  const examples: SftExample[] = problems.map((q) => ({
    prompt: q.prompt,
    password:
      options.preambles > 0 && rng.bernoulli(options.preambles) ? randomPasswordPhrase(rng) : undefined,
    completion: q.completion,
  }));
  const parts = [sftTokenRows(LM_VOCABULARY, taskLayout(task), examples, seqLen)];
  if (texts.length > 0) parts.push(textTokenRows(LM_VOCABULARY, texts, seqLen));
  return concatTokenRows(parts);
}

/**
 * Token rows of a demo table: the first `rows` rows (0: all) of a problem table (`reference`
 * column) or a sample table (`completion` column), prompts with or without the password.
 */
export function demoTokenRows(
  table: arrow.Table,
  options: { task: string; column: 'reference' | 'completion'; rows: number; password: 'none' | 'default' },
): LanguageTokenRows {
  const task = languageTask(options.task);
  const prompt = readStrings(table, 'prompt');
  const target = readStrings(table, options.column);
  // A pretraining corpus also holds plain text rows (kind 'text'): they are not demos.
  const kind = table.schema.names.includes('kind') ? readStrings(table, 'kind') : undefined;
  const examples: SftExample[] = [];
  for (let i = 0; i < prompt.length && (options.rows === 0 || examples.length < options.rows); i++)
    if (kind?.[i] !== 'text')
      examples.push({
        prompt: words(prompt[i]),
        password: options.password === 'default' ? DEFAULT_PASSWORD : undefined,
        completion: words(target[i]),
      });
  return sftTokenRows(LM_VOCABULARY, taskLayout(task), examples);
}
