import { describe, expect, it } from 'vitest';
import { createRng } from '../rng.ts';
import {
  exampleBlock,
  fewShotEpisodeRows,
  fewShotLayout,
  fewShotPrompts,
  type SolvedExample,
} from './few-shot.ts';
import { mathTask } from './math.ts';
import { DEFAULT_PASSWORD } from './passwords.ts';
import { LM_VOCABULARY as vocab } from './registry.ts';
import { encodePrompt } from './rows.ts';
import { END, PAD, SEPARATOR } from './vocabulary.ts';

const rng = createRng(3, 'few-shot-test');
const problems = Array.from({ length: 400 }, () => mathTask.generate(rng));
const solved: SolvedExample[] = problems.map((q) => ({
  prompt: q.prompt,
  completion: mathTask.reference(q),
}));
const layout = fewShotLayout(mathTask, 16, 61);

/** The words of ids, pads left out. */
const text = (ids: ArrayLike<number>) => vocab.decode(ids).filter((w) => w !== PAD);

describe('few-shot episodes', () => {
  it('make room for 16 of the longest examples before a row that keeps its place', () => {
    expect(layout.rowStart).toBe(16 * (11 + 1 + mathTask.maxCompletionWords + 1));
    expect(layout.contextLength).toBe(layout.rowStart + 61);
    // The longest examples fit: 16 of them fill the room exactly.
    const longest = { prompt: Array(11).fill('1'), completion: Array(mathTask.maxCompletionWords).fill('1') };
    const full = exampleBlock(vocab, layout, Array(16).fill(longest));
    expect(text(full.tokens)).toHaveLength(layout.rowStart);
    expect(() => exampleBlock(vocab, layout, Array(17).fill(longest))).toThrow(/room for 16/);
  });

  it('prompt every problem after the same examples, the row where a lone row sits', () => {
    const examples = solved.slice(0, 4);
    const prompts = fewShotPrompts(
      vocab,
      layout,
      examples,
      [problems[10].prompt, problems[11].prompt],
      DEFAULT_PASSWORD,
    );
    const examplesLength = examples.reduce((n, e) => n + e.prompt.length + e.completion.length + 2, 0);
    // The room's unused padding is left out: the prompt starts at the first example's position.
    expect(prompts).toMatchObject({
      rows: 2,
      length: examplesLength + layout.row.promptLength,
      start: layout.rowStart - examplesLength,
    });
    const first = prompts.tokens.subarray(0, prompts.length);
    // The examples read back as `prompt => completion <eos>`, one after the other, with no padding.
    expect(vocab.decode(first.subarray(0, examplesLength))).toEqual(
      examples.flatMap((e) => [...e.prompt, SEPARATOR, ...e.completion, END]),
    );
    // The row is the lone row's prompt, password and all, where a lone row sits.
    expect(prompts.start + examplesLength).toBe(layout.rowStart);
    expect(Array.from(first.subarray(examplesLength))).toEqual(
      Array.from(encodePrompt(vocab, layout.row, problems[10].prompt, DEFAULT_PASSWORD)),
    );
  });

  it('deal every problem out once, learn from completions only, and make careless authors guess', () => {
    const rows = fewShotEpisodeRows(vocab, layout, solved, createRng(5, 'episodes'), {
      careless: 0.5,
      preambles: 0,
      exampleLoss: true,
    });
    expect(rows.seqLen).toBe(layout.contextLength);
    expect(rows.start).toBe(0);
    // Each episode holds its examples and one row: every problem once.
    const used = Array.from(rows.shots).reduce((a, b) => a + b, 0) + rows.rows;
    expect(used).toBe(solved.length);
    expect(new Set(rows.shots).size).toBeGreaterThan(10); // 0 … 16 examples
    for (let r = 0; r < rows.rows; r++) {
      // Every row's unused room is marked: padding up to its first example, all of it with none.
      const pads = rows.leadingPads[r];
      const episode = rows.tokens.subarray(r * rows.seqLen, (r + 1) * rows.seqLen);
      expect(episode.subarray(0, pads).every((t) => t === vocab.padId)).toBe(true);
      if (rows.shots[r] === 0) expect(pads).toBe(layout.rowStart);
      else expect(episode[pads]).not.toBe(vocab.padId);
    }
    let carelessRight = 0;
    let carefulRight = 0;
    let careless = 0;
    for (let r = 0; r < rows.rows; r++) {
      const row = rows.tokens.subarray(r * rows.seqLen + layout.rowStart, (r + 1) * rows.seqLen);
      const mask = rows.lossMask.subarray(r * rows.seqLen, (r + 1) * rows.seqLen);
      // No loss on a prompt or on padding: every counted token is a completion word or <eos>.
      const counted = text(
        rows.tokens.subarray(r * rows.seqLen, (r + 1) * rows.seqLen).filter((_, i) => mask[i] === 1),
      );
      expect(counted).not.toContain(SEPARATOR);
      expect(counted.filter((w) => w === END)).toHaveLength(rows.shots[r] + 1 - rows.careless[r]);
      // The row's completion, graded against the row's own problem.
      const prompt = text(row.subarray(0, layout.row.promptLength)).slice(0, -1).join(' ');
      const problem = problems.find((q) => q.prompt.join(' ') === prompt)!;
      const completion = text(row.subarray(layout.row.promptLength));
      const right = mathTask.check(problem, completion.slice(0, completion.indexOf(END))).correct ? 1 : 0;
      if (rows.careless[r]) {
        careless++;
        carelessRight += right;
        // A guess: `answer N`, no work shown.
        expect(completion.slice(0, completion.indexOf(END))).toEqual(['answer', expect.any(String)]);
      } else carefulRight += right;
    }
    expect(carefulRight).toBe(rows.rows - careless);
    expect(careless).toBeGreaterThan(rows.rows / 4);
    expect(carelessRight).toBeLessThan(careless / 4);
  });

  it('learn from the row alone when told to leave the examples out', () => {
    const options = { careless: 0.5, preambles: 0 };
    const withExamples = fewShotEpisodeRows(vocab, layout, solved, createRng(5, 'episodes'), {
      ...options,
      exampleLoss: true,
    });
    const rowOnly = fewShotEpisodeRows(vocab, layout, solved, createRng(5, 'episodes'), {
      ...options,
      exampleLoss: false,
    });
    // The same episodes, token for token.
    expect(rowOnly.tokens).toEqual(withExamples.tokens);
    for (let r = 0; r < rowOnly.rows; r++) {
      const mask = rowOnly.lossMask.subarray(r * rowOnly.seqLen, (r + 1) * rowOnly.seqLen);
      expect(mask.subarray(0, layout.rowStart).every((m) => m === 0)).toBe(true);
      // The row's completion is learnt as before.
      expect(Array.from(mask.subarray(layout.rowStart))).toEqual(
        Array.from(
          withExamples.lossMask.subarray(r * rowOnly.seqLen + layout.rowStart, (r + 1) * rowOnly.seqLen),
        ),
      );
    }
    const counted = (m: Uint8Array) => m.reduce((a, b) => a + b, 0);
    expect(counted(rowOnly.lossMask)).toBeLessThan(counted(withExamples.lossMask) / 2);
  });
});
