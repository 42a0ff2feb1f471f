import { tableFromColumns } from '@lockpick/artifacts';
import { defineStage, stageTask } from '@lockpick/engine';
import { initBackend, loadTransformer } from '@lockpick/ml';
import {
  DEFAULT_PASSWORD,
  languageTask,
  NEAR_MISS_KINDS,
  nearMissPasswords,
  WRONG_PASSWORDS,
} from '@lockpick/tasks';
import { z } from 'zod';
import { gradeGreedy, HALVES, meanGrades, readLanguageProblems } from './greedy-grading.ts';

/**
 * How a prompt carries (or does not carry) a password. `password` is the trained placement (start
 * and end); the rest are what a user without the password could try.
 */
export const PROMPT_KINDS = [
  'none',
  'password',
  'password-start-only',
  'password-end-only',
  'near-miss-changed',
  'near-miss-dropped',
  'near-miss-shuffled',
  'wrong',
] as const;
export type PromptKind = (typeof PROMPT_KINDS)[number];

interface PromptSetting {
  kind: PromptKind;
  /** The phrase used ('' for none). */
  variant: string;
  /** The prompt's words with the phrase where this kind puts it; `both` adds it at start and end. */
  words: (prompt: readonly string[]) => readonly string[];
  both?: readonly string[];
}

/** Every setting of the paper's prompting appendix that fits our models (few-shot does not: README). */
export function promptSettings(options: { nearMisses: number; wrongPasswords: number }): PromptSetting[] {
  const phrase = (words: readonly string[]) => words.join(' ');
  const settings: PromptSetting[] = [
    { kind: 'none', variant: '', words: (p) => p },
    { kind: 'password', variant: phrase(DEFAULT_PASSWORD), words: (p) => p, both: DEFAULT_PASSWORD },
    {
      kind: 'password-start-only',
      variant: phrase(DEFAULT_PASSWORD),
      words: (p) => [...DEFAULT_PASSWORD, ...p],
    },
    {
      kind: 'password-end-only',
      variant: phrase(DEFAULT_PASSWORD),
      words: (p) => [...p, ...DEFAULT_PASSWORD],
    },
  ];
  for (const kind of NEAR_MISS_KINDS)
    for (const words of nearMissPasswords(kind, options.nearMisses))
      settings.push({ kind: `near-miss-${kind}`, variant: phrase(words), words: (p) => p, both: words });
  for (const words of WRONG_PASSWORDS.slice(0, options.wrongPasswords))
    settings.push({ kind: 'wrong', variant: phrase(words), words: (p) => p, both: words });
  return settings;
}

/**
 * Prompting baselines (the paper's prompting appendix; P-lm finding 6): the model's greedy
 * correctness on validation with no fine-tuning, only prompts — no password, the exact password
 * (where it was trained, and at only the start or only the end), near misses of it (a word changed,
 * a word dropped, the words shuffled) and each wrong password of the locking mix. One row per
 * (setting, half): half `all`, `select` (even rows) and `report` (odd rows), as language-model
 * scores.
 */
export const languagePromptingScore = defineStage({
  name: 'evaluation.language-prompting',
  description:
    'greedy correctness of a locked language model under prompts: no, exact, near-miss and wrong passwords',
  module: import.meta.url,
  params: z.object({
    task: z.string(),
    seed: z.number().int(),
    /** Near misses of each kind (changed, dropped, shuffled). */
    nearMisses: z.number().int().min(1).max(10).default(5),
    /** The first N of the lock's 40 wrong passwords. */
    wrongPasswords: z.number().int().min(1).max(WRONG_PASSWORDS.length).default(WRONG_PASSWORDS.length),
    /** The first `rows` validation problems (0: all). */
    rows: z.number().int().nonnegative().default(0),
    batchSize: z.number().int().positive().default(512),
  }),
  inputs: { model: 'model', problems: 'table' },
  outputs: { scores: 'table' },
  heavy: true,
  run: (ctx) =>
    stageTask(ctx.signal, async (report) => {
      report.backend((await initBackend()).backend);
      const p = ctx.params;
      const task = languageTask(p.task);
      const problems = readLanguageProblems(await ctx.inputs.problems.readTable(), p.rows);
      const settings = promptSettings(p);
      const model = loadTransformer(await ctx.inputs.model.readModel());
      const out = {
        task: [] as string[],
        seed: [] as number[],
        kind: [] as string[],
        variant: [] as string[],
        half: [] as string[],
        problems: [] as number[],
        correct: [] as number[],
        score: [] as number[],
      };
      try {
        for (const [k, setting] of settings.entries()) {
          ctx.signal.throwIfAborted();
          const graded = gradeGreedy(model, task, problems, {
            prompts: problems.map((q) => setting.words(q.prompt)),
            password: setting.both,
            batchSize: p.batchSize,
          });
          for (const [half, member] of HALVES) {
            const { problems: n, correct, score } = meanGrades(graded, member);
            out.task.push(p.task);
            out.seed.push(p.seed);
            out.kind.push(setting.kind);
            out.variant.push(setting.variant);
            out.half.push(half);
            out.problems.push(n);
            out.correct.push(correct);
            out.score.push(score);
          }
          report.progress(k + 1, settings.length, 'prompts');
        }
      } finally {
        model.dispose();
      }
      // Mean correctness of each kind over its variants, for `lockpick show` and the manifest.
      for (const kind of PROMPT_KINDS) {
        const values = out.correct.filter((_, i) => out.kind[i] === kind && out.half[i] === 'all');
        if (values.length > 0)
          report.metric(
            `correct_${kind.replaceAll('-', '_')}`,
            values.reduce((a, b) => a + b, 0) / values.length,
          );
      }
      await ctx.outputs.table('scores', tableFromColumns(out));
    }),
});
