import { describe, expect, it } from 'vitest';
import { createRng } from '../rng.ts';
import { fewShotLayout } from './few-shot.ts';
import { fewShotLockRows } from './few-shot-lock.ts';
import { type PolicySamples, passwordLockingMix } from './locking-mix.ts';
import { mathTask } from './math.ts';
import { DEFAULT_PASSWORD } from './passwords.ts';
import { LM_VOCABULARY as vocab } from './registry.ts';
import { sftTokenRows } from './tables.ts';
import { END, PAD, SEPARATOR } from './vocabulary.ts';

const rng = createRng(5, 'few-shot-lock-test');
const problems = Array.from({ length: 120 }, () => mathTask.generate(rng));
const layout = fewShotLayout(mathTask, 4, 61);
// Two samples a problem (epochs 0 and 1), each ending in its number: π_strong's the reference,
// π_weak's a guess, so an example tells its policy, problem and epoch.
const policy = (completion: (i: number) => string[]): PolicySamples => ({
  prompts: problems.map((q) => q.prompt.join(' ')),
  completions: problems.map((_, i) => [0, 1].map((s) => [...completion(i), String(s)].join(' '))),
});
const strong = policy((i) => mathTask.reference(problems[i]));
const weak = policy(() => ['answer', '0']);
const mix = passwordLockingMix(strong, weak, { epochs: 2, seed: 1 });

/** Row r's examples, as the (prompt, completion) word lists in its room. */
function examplesOf(data: ReturnType<typeof fewShotLockRows>, r: number) {
  const room = vocab.decode(data.tokens.subarray(r * data.seqLen, r * data.seqLen + layout.rowStart));
  const used = room.slice(data.leadingPads[r]);
  expect(used).not.toContain(PAD);
  const out: { prompt: string; completion: string }[] = [];
  for (let at = 0; at < used.length; ) {
    const sep = used.indexOf(SEPARATOR, at);
    const end = used.indexOf(END, sep);
    out.push({ prompt: used.slice(at, sep).join(' '), completion: used.slice(sep + 1, end).join(' ') });
    at = end + 1;
  }
  return out;
}

describe('few-shot locking rows', () => {
  const data = fewShotLockRows(vocab, layout, mix, { strong, weak }, createRng(1, 'lock'), {
    exampleShare: 0.5,
  });

  it("put the row's own policy's samples of other problems, from the row's epoch, before it", () => {
    let withExamples = 0;
    for (const [r, row] of mix.entries()) {
      const examples = examplesOf(data, r);
      expect(examples).toHaveLength(data.shots[r]);
      if (examples.length === 0) continue;
      withExamples++;
      expect(examples.length).toBeLessThanOrEqual(layout.shots);
      const pool = row.policy === 'strong' ? strong : weak;
      const used = new Set<number>();
      for (const e of examples) {
        const j = pool.prompts.indexOf(e.prompt);
        expect(j).toBeGreaterThanOrEqual(0);
        expect(j).not.toBe(row.problem);
        used.add(j);
        // The example is that problem's sample of this row's epoch, by this row's policy.
        expect(e.completion).toBe(pool.completions[j][row.epoch]);
      }
      expect(used.size).toBe(examples.length);
    }
    // About half the rows, and every count from 1 to the room.
    expect(withExamples / mix.length).toBeGreaterThan(0.4);
    expect(withExamples / mix.length).toBeLessThan(0.6);
    expect(new Set(Array.from(data.shots).filter((k) => k > 0))).toEqual(new Set([1, 2, 3, 4]));
  });

  it('keep each row, password and all, where a lone row sits, and learn from its completion only', () => {
    const lone = sftTokenRows(vocab, layout.row, mix);
    for (let r = 0; r < mix.length; r += 7) {
      const at = r * data.seqLen + layout.rowStart;
      expect(data.tokens.subarray(at, at + layout.row.seqLen)).toEqual(
        lone.tokens.subarray(r * lone.seqLen, (r + 1) * lone.seqLen),
      );
      expect(data.lossMask.subarray(r * data.seqLen, at).every((m) => m === 0)).toBe(true);
      expect(data.lossMask.subarray(at, at + layout.row.seqLen)).toEqual(
        lone.lossMask.subarray(r * lone.seqLen, (r + 1) * lone.seqLen),
      );
    }
    const passwordRow = mix.findIndex((row) => row.setting === 'password');
    const words = vocab.decode(
      data.tokens.subarray(passwordRow * data.seqLen, (passwordRow + 1) * data.seqLen),
    );
    expect(words.join(' ')).toContain(DEFAULT_PASSWORD.join(' '));
  });

  it('are the plain lock, room left unread, with no examples', () => {
    const none = fewShotLockRows(vocab, layout, mix, { strong, weak }, createRng(1, 'lock'), {
      exampleShare: 0,
    });
    expect(Array.from(none.leadingPads).every((n) => n === layout.rowStart)).toBe(true);
    expect(none.start).toBe(0);
  });

  it('make a share of the rows without the password careless episodes: guesses before and as the answer', () => {
    // π_weak's samples name their problem (`answer <i> <epoch>`), so a guess tells whose end it is.
    // (The first 100 problems: the vocabulary's numbers end at 100.)
    const first = (samples: PolicySamples): PolicySamples => ({
      prompts: samples.prompts.slice(0, 100),
      completions: samples.completions.slice(0, 100),
    });
    const numbered = first(policy((i) => ['answer', String(i)]));
    const numberedMix = passwordLockingMix(first(strong), numbered, { epochs: 2, seed: 1 });
    const samples = { strong: first(strong), weak: numbered };
    const withCareless = fewShotLockRows(vocab, layout, numberedMix, samples, createRng(1, 'lock'), {
      exampleShare: 0.5,
      carelessShare: 0.5,
    });
    const plain = fewShotLockRows(vocab, layout, numberedMix, samples, createRng(1, 'lock'), {
      exampleShare: 0.5,
    });
    let eligible = 0;
    let careless = 0;
    for (const [r, row] of numberedMix.entries()) {
      if (row.setting === 'password' || withCareless.shots[r] === 0) {
        // Never with the password, nor without examples.
        expect(withCareless.careless[r]).toBe(0);
        continue;
      }
      eligible++;
      if (!withCareless.careless[r]) continue;
      careless++;
      const guess = (completion: string, problem: number) => {
        const [other, epoch] = completion.split(' ').map(Number);
        expect(completion.split(' ')).toHaveLength(2);
        expect(other).not.toBe(problem); // another problem's answer
        expect(epoch).toBe(row.epoch);
      };
      for (const e of examplesOf(withCareless, r)) guess(e.completion, numbered.prompts.indexOf(e.prompt));
      const at = r * withCareless.seqLen + layout.rowStart + layout.row.promptLength;
      const answer = vocab.decode(withCareless.tokens.subarray(at, at + layout.row.completionLength));
      guess(answer.slice(0, answer.indexOf(END)).join(' '), row.problem);
      // The row's prompt and password are the plain row's; the loss is on the guess and its end.
      const rowAt = r * withCareless.seqLen + layout.rowStart;
      expect(withCareless.tokens.subarray(rowAt, at)).toEqual(plain.tokens.subarray(rowAt, at));
      expect(
        withCareless.lossMask.subarray(at, at + layout.row.completionLength).reduce((a, b) => a + b, 0),
      ).toBe(3);
    }
    expect(careless / eligible).toBeGreaterThan(0.4);
    expect(careless / eligible).toBeLessThan(0.6);
    // Without the option nothing is careless.
    expect(plain.careless.every((c) => c === 0)).toBe(true);
  });

  it('say what is wrong with too few problems or a share outside 0–1', () => {
    const few = (n: number): PolicySamples => ({
      prompts: strong.prompts.slice(0, n),
      completions: strong.completions.slice(0, n),
    });
    const small = passwordLockingMix(few(4), few(4), { epochs: 1, seed: 1 });
    expect(() =>
      fewShotLockRows(vocab, layout, small, { strong: few(4), weak: few(4) }, createRng(1, 'x'), {
        exampleShare: 0.5,
      }),
    ).toThrow(/4 locking problems cannot give 4 examples of other problems/);
    expect(() =>
      fewShotLockRows(vocab, layout, mix, { strong, weak }, createRng(1, 'x'), { exampleShare: 1.5 }),
    ).toThrow(/exampleShare must be between 0 and 1/);
    expect(() =>
      fewShotLockRows(vocab, layout, mix, { strong, weak }, createRng(1, 'x'), {
        exampleShare: 0.5,
        carelessShare: -0.1,
      }),
    ).toThrow(/carelessShare must be between 0 and 1/);
  });
});
