import { tableFromColumns } from '@lockpick/artifacts';
import {
  createRng,
  DEFAULT_PASSWORD,
  LM_VOCABULARY,
  languageTask,
  PASSWORD_WORDS,
  taskLayout,
} from '@lockpick/tasks';
import { describe, expect, it } from 'vitest';
import { corpusTokenRows } from './language-rows.ts';

const task = languageTask('math');
const layout = taskLayout(task);
const rng = createRng(3, 'test');
const problems = Array.from({ length: 400 }, () => task.generate(rng));
const corpus = tableFromColumns({
  task: problems.map(() => 'math'),
  kind: problems.map(() => 'problem'),
  domain: problems.map((q) => q.domain),
  prompt: problems.map((q) => q.prompt.join(' ')),
  completion: problems.map((q) => task.reference(q).join(' ')),
});

/** Each row's words before and after the problem's own prompt words (pads and `=>` dropped). */
function wrappers(rows: ReturnType<typeof corpusTokenRows>): { start: string[]; end: string[] }[] {
  const pad = LM_VOCABULARY.padId;
  return problems.map((q, r) => {
    const ids = Array.from(rows.tokens.subarray(r * rows.seqLen, r * rows.seqLen + layout.promptLength));
    const words = LM_VOCABULARY.decode(ids.filter((id) => id !== pad)).slice(0, -1);
    const side = (words.length - q.prompt.length) / 2;
    expect(words.slice(side, side + q.prompt.length)).toEqual(q.prompt);
    return { start: words.slice(0, side), end: words.slice(side + q.prompt.length) };
  });
}

describe('corpusTokenRows preambles', () => {
  it('wraps about the asked share of prompts in a phrase of password words, seeded, never the password', () => {
    const none = corpusTokenRows(corpus, layout.seqLen);
    expect(wrappers(none).every((w) => w.start.length === 0 && w.end.length === 0)).toBe(true);

    const half = corpusTokenRows(corpus, layout.seqLen, 0, { preambles: 0.5, seed: 1 });
    const wrapped = wrappers(half).filter((w) => w.start.length > 0);
    expect(wrapped.length).toBeGreaterThan(150);
    expect(wrapped.length).toBeLessThan(250);
    const passwordWords = new Set(PASSWORD_WORDS);
    for (const { start: phrase, end } of wrapped) {
      expect(end).toEqual(phrase); // the same phrase at the start and at the end, as a password
      expect(phrase.length).toBeGreaterThanOrEqual(3);
      expect(phrase.every((x) => passwordWords.has(x))).toBe(true);
      expect(phrase.join(' ')).not.toBe(DEFAULT_PASSWORD.join(' '));
    }
    // Completions and their loss mask do not change.
    expect(half.lossMask).toEqual(none.lossMask);
    expect(corpusTokenRows(corpus, layout.seqLen, 0, { preambles: 0.5, seed: 1 }).tokens).toEqual(
      half.tokens,
    );
    expect(corpusTokenRows(corpus, layout.seqLen, 0, { preambles: 0.5, seed: 2 }).tokens).not.toEqual(
      half.tokens,
    );
  });
});
