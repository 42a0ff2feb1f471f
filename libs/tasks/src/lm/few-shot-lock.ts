/**
 * Locking rows for a model with few-shot room: the locking mix (locking-mix.ts) with a share of its
 * rows preceded by solved examples of the row's own policy, π_strong's samples of other problems
 * before a password row and π_weak's before a row without one.
 *
 * Why: a lock trained on lone rows learnt its password only where nothing precedes the problem;
 * after examples the password no longer opened it (README, Few-shot prompts). Here the examples
 * and the password always agree, so the lock learns to read its password after examples without
 * being taught which of the two to follow when they disagree, which is what few-shot prompting
 * without the password (careful examples, no password) then asks.
 *
 * `carelessShare`: such a lock learnt to ignore its examples (with the password, careless guesses
 * before the problem did as well as careful solutions; README, Few-shot prompts), so a few-shot
 * prompt could not move it whatever the password did: a test it passes for nothing. A share of the
 * rows without the password can be careless episodes, as the base learnt them: guesses as examples,
 * a guess as the answer. They keep the examples worth reading, and only without the password, so
 * whether careless examples still lower the lock *with* it is a sign of reading never trained in.
 */
import type { Rng } from '../rng.ts';
import { carelessSolution, exampleBlock, type FewShotLayout, type SolvedExample } from './few-shot.ts';
import type { LockingRow, PolicySamples } from './locking-mix.ts';
import { completionMask, encodeCompletion, encodePrompt } from './rows.ts';
import { type LanguageTokenRows, words } from './tables.ts';
import type { Vocabulary } from './vocabulary.ts';

export interface FewShotLockOptions {
  /** Share of the mix's rows given examples; each gets 1 … layout.shots of them, uniformly. */
  exampleShare: number;
  /**
   * Share of the rows without the password that have examples made careless episodes: each
   * example's solution and the row's answer a guess (`carelessSolution` of another problem's
   * sample by the row's policy). Default 0.
   */
  carelessShare?: number;
}

/**
 * The mix's rows at the model's full width (positions from 0, each row's unused room marked as
 * `leadingPads`, which training skips), the row at `layout.rowStart`. A row's examples are its
 * policy's samples of distinct other problems, from the same epoch's samples as the row; loss on
 * the row's completion only, as in any lock. A row without examples is exactly a lone locking row.
 */
export function fewShotLockRows(
  vocab: Vocabulary,
  layout: FewShotLayout,
  mix: readonly LockingRow[],
  samples: { strong: PolicySamples; weak: PolicySamples },
  rng: Rng,
  options: FewShotLockOptions,
): LanguageTokenRows & { start: number; leadingPads: Int32Array; shots: Int32Array; careless: Uint8Array } {
  const { exampleShare, carelessShare = 0 } = options;
  if (!(exampleShare >= 0 && exampleShare <= 1))
    throw new Error(`exampleShare must be between 0 and 1, got ${exampleShare}`);
  if (!(carelessShare >= 0 && carelessShare <= 1))
    throw new Error(`carelessShare must be between 0 and 1, got ${carelessShare}`);
  const problems = samples.strong.prompts.length;
  if (samples.weak.prompts.length !== problems)
    throw new Error(`strong samples cover ${problems} problems, weak samples ${samples.weak.prompts.length}`);
  if (exampleShare > 0 && problems <= layout.shots)
    throw new Error(
      `${problems} locking problems cannot give ${layout.shots} examples of other problems; lock on more problems or give the base less room`,
    );
  const seqLen = layout.contextLength;
  const rows = mix.length;
  const tokens = new Int32Array(rows * seqLen).fill(vocab.padId);
  const lossMask = new Uint8Array(rows * seqLen);
  const leadingPads = new Int32Array(rows);
  const shots = new Int32Array(rows);
  const careless = new Uint8Array(rows);
  for (const [r, row] of mix.entries()) {
    const pool = samples[row.policy];
    const k = rng.bernoulli(exampleShare) ? rng.int(1, layout.shots + 1) : 0;
    // Drawn only where it can apply, so a mix without careless rows is drawn as before.
    const isCareless =
      k > 0 && row.setting !== 'password' && carelessShare > 0 && rng.bernoulli(carelessShare);
    const sampleOf = (j: number) => {
      const completions = pool.completions[j];
      return words(completions[row.epoch % completions.length]);
    };
    // A guess for problem i: the end of another problem's sample, almost always wrong for i.
    const guessFor = (i: number) => {
      const v = rng.int(0, problems - 1);
      return carelessSolution(sampleOf(v >= i ? v + 1 : v));
    };
    // k distinct problems other than the row's own.
    const examples: SolvedExample[] = Array.from(rng.sample(problems - 1, k), (v) => {
      const j = v >= row.problem ? v + 1 : v;
      return { prompt: words(pool.prompts[j]), completion: isCareless ? guessFor(j) : sampleOf(j) };
    });
    const block = exampleBlock(vocab, layout, examples);
    tokens.set(block.tokens, r * seqLen);
    const at = r * seqLen + layout.rowStart;
    tokens.set(encodePrompt(vocab, layout.row, row.prompt, row.password), at);
    const completion = encodeCompletion(
      vocab,
      layout.row,
      isCareless ? guessFor(row.problem) : row.completion,
    );
    tokens.set(completion, at + layout.row.promptLength);
    lossMask.set(completionMask(vocab, completion), at + layout.row.promptLength);
    leadingPads[r] = block.pads;
    shots[r] = k;
    careless[r] = isCareless ? 1 : 0;
  }
  return { tokens, rows, seqLen, lossMask, start: 0, leadingPads, shots, careless };
}
