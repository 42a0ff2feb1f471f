import { readNumbers, readStrings, tableFromColumns } from '@lockpick/artifacts';
import { defineStage, stageTask } from '@lockpick/engine';
import { generate, initBackend, loadTransformer } from '@lockpick/ml';
import {
  DEFAULT_PASSWORD,
  encodePrompts,
  gradeCompletions,
  type LanguageProblem,
  LM_VOCABULARY,
  languageTask,
  NEAR_MISS_KINDS,
  nearMissPasswords,
  problemsFromColumns,
  taskLayout,
  WRONG_PASSWORDS,
} from '@lockpick/tasks';
import { z } from 'zod';

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
      const layout = taskLayout(task);
      const table = await ctx.inputs.problems.readTable();
      let problems: LanguageProblem[] = problemsFromColumns({
        domain: readStrings(table, 'domain'),
        difficulty: Int32Array.from(readNumbers(table, 'difficulty')),
        prompt: readStrings(table, 'prompt'),
        data: readStrings(table, 'data'),
      });
      if (p.rows > 0) problems = problems.slice(0, p.rows);
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
          const prompts = encodePrompts(
            LM_VOCABULARY,
            layout,
            problems.map((q) => setting.words(q.prompt)),
            () => setting.both,
          );
          const generated = generate(model, prompts, {
            maxNewTokens: layout.completionLength,
            batchSize: p.batchSize,
            stopToken: LM_VOCABULARY.endId,
          });
          const graded = gradeCompletions(task, LM_VOCABULARY, problems, generated, layout.completionLength);
          for (const [half, member] of [
            ['all', () => true],
            ['select', (i: number) => i % 2 === 0],
            ['report', (i: number) => i % 2 === 1],
          ] as const) {
            let n = 0;
            let correct = 0;
            let score = 0;
            for (let i = 0; i < problems.length; i++)
              if (member(i)) {
                n++;
                correct += graded.correct[i];
                score += graded.score[i];
              }
            out.task.push(p.task);
            out.seed.push(p.seed);
            out.kind.push(setting.kind);
            out.variant.push(setting.variant);
            out.half.push(half);
            out.problems.push(n);
            out.correct.push(n ? correct / n : Number.NaN);
            out.score.push(n ? score / n : Number.NaN);
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
