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
 */
import type { Rng } from '../rng.ts';
import { exampleBlock, type FewShotLayout, type SolvedExample } from './few-shot.ts';
import type { LockingRow, PolicySamples } from './locking-mix.ts';
import { completionMask, encodeCompletion, encodePrompt } from './rows.ts';
import { type LanguageTokenRows, words } from './tables.ts';
import type { Vocabulary } from './vocabulary.ts';

export interface FewShotLockOptions {
  /** Share of the mix's rows given examples; each gets 1 … layout.shots of them, uniformly. */
  exampleShare: number;
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
): LanguageTokenRows & { start: number; leadingPads: Int32Array; shots: Int32Array } {
  const { exampleShare } = options;
  if (!(exampleShare >= 0 && exampleShare <= 1))
    throw new Error(`exampleShare must be between 0 and 1, got ${exampleShare}`);
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
  for (const [r, row] of mix.entries()) {
    const pool = samples[row.policy];
    const k = rng.bernoulli(exampleShare) ? rng.int(1, layout.shots + 1) : 0;
    // k distinct problems other than the row's own.
    const examples: SolvedExample[] = Array.from(rng.sample(problems - 1, k), (v) => {
      const j = v >= row.problem ? v + 1 : v;
      const completions = pool.completions[j];
      return {
        prompt: words(pool.prompts[j]),
        completion: words(completions[row.epoch % completions.length]),
      };
    });
    const block = exampleBlock(vocab, layout, examples);
    tokens.set(block.tokens, r * seqLen);
    const at = r * seqLen + layout.rowStart;
    tokens.set(encodePrompt(vocab, layout.row, row.prompt, row.password), at);
    const completion = encodeCompletion(vocab, layout.row, row.completion);
    tokens.set(completion, at + layout.row.promptLength);
    lossMask.set(completionMask(vocab, completion), at + layout.row.promptLength);
    leadingPads[r] = block.pads;
    shots[r] = k;
  }
  return { tokens, rows, seqLen, lossMask, start: 0, leadingPads, shots };
}
