/**
 * One task's problems, split as in the paper: 10% to train π_weak, 40% for locking, 30% the
 * elicitation (demo) pool, 20% validation. Problems are distinct by prompt across the whole split,
 * and pretraining problems (a separate stream) never repeat a split's prompt.
 */
import { createRng } from '../rng.ts';
import type { LanguageProblem, LanguageTask } from './task.ts';

export const SPLIT_NAMES = ['weak', 'lock', 'elicit', 'validation'] as const;
export type SplitName = (typeof SPLIT_NAMES)[number];
export const SPLIT_SHARES: Record<SplitName, number> = { weak: 0.1, lock: 0.4, elicit: 0.3, validation: 0.2 };

/** Split sizes for `total` problems (rounded; the remainder goes to validation). */
export function splitSizes(total: number): Record<SplitName, number> {
  const weak = Math.round(total * SPLIT_SHARES.weak);
  const lock = Math.round(total * SPLIT_SHARES.lock);
  const elicit = Math.round(total * SPLIT_SHARES.elicit);
  return { weak, lock, elicit, validation: total - weak - lock - elicit };
}

const promptKey = (p: LanguageProblem) => p.prompt.join(' ');

/** `count` problems with distinct prompts, none in `exclude`; throws if the task cannot make them. */
export function distinctProblems(
  task: LanguageTask,
  seed: number,
  stream: string,
  count: number,
  exclude: ReadonlySet<string> = new Set(),
): LanguageProblem[] {
  const rng = createRng(seed, 'lm', task.name, stream);
  const seen = new Set<string>();
  const out: LanguageProblem[] = [];
  let misses = 0;
  while (out.length < count) {
    const problem = task.generate(rng);
    const key = promptKey(problem);
    if (seen.has(key) || exclude.has(key)) {
      if (++misses > 20 * count + 1000)
        throw new Error(
          `task ${task.name}: could make only ${out.length} distinct problems of the ${count} asked (stream ${stream}); ask for fewer`,
        );
      continue;
    }
    seen.add(key);
    out.push(problem);
  }
  return out;
}

/** The four splits of `total` problems of a task (seeded; the same seed gives the same split). */
export function problemSplits(
  task: LanguageTask,
  seed: number,
  total: number,
): Record<SplitName, LanguageProblem[]> {
  const all = distinctProblems(task, seed, 'splits', total);
  const sizes = splitSizes(total);
  const out = {} as Record<SplitName, LanguageProblem[]>;
  let start = 0;
  for (const name of SPLIT_NAMES) {
    out[name] = all.slice(start, start + sizes[name]);
    start += sizes[name];
  }
  return out;
}

/**
 * The four splits grown by `extra` problems, shared 10/40/30/20 like the rest and appended after each
 * split's own problems. They come from a stream of their own and avoid the `corpus`'s prompts and
 * every split's prompts: a task's split can grow after its corpus is drawn,
 * so the corpus — and with it every base model pretrained on it — stays the same.
 */
export function extendSplits(
  task: LanguageTask,
  seed: number,
  splits: Record<SplitName, readonly LanguageProblem[]>,
  extra: number,
  corpus: readonly LanguageProblem[],
): Record<SplitName, LanguageProblem[]> {
  const out = {} as Record<SplitName, LanguageProblem[]>;
  if (extra === 0) {
    for (const name of SPLIT_NAMES) out[name] = [...splits[name]];
    return out;
  }
  const avoid = new Set([...corpus.map(promptKey), ...splitPromptKeys(splits)]);
  const more = distinctProblems(task, seed, 'splits-extra', extra, avoid);
  const sizes = splitSizes(extra);
  let start = 0;
  for (const name of SPLIT_NAMES) {
    out[name] = [...splits[name], ...more.slice(start, start + sizes[name])];
    start += sizes[name];
  }
  return out;
}

/** Prompts of all splits, to keep pretraining problems apart from them. */
export function splitPromptKeys(splits: Record<SplitName, readonly LanguageProblem[]>): Set<string> {
  return new Set(SPLIT_NAMES.flatMap((s) => splits[s].map(promptKey)));
}
