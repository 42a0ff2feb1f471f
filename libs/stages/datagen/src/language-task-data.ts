import { tableFromColumns } from '@lockpick/artifacts';
import { defineStage, stageTask } from '@lockpick/engine';
import {
  createRng,
  distinctProblems,
  extendSplits,
  languageTask,
  problemSplits,
  SPLIT_NAMES,
  splitPromptKeys,
} from '@lockpick/tasks';
import { z } from 'zod';
import { problemTable } from './language-tables.ts';

/**
 * One language task's problems (EXPERIMENTS.md P-lm): the paper's split — 10% to train π_weak, 40%
 * for locking, 30% the elicitation (demo) pool, 20% validation — and a pretraining corpus from a
 * separate stream that never repeats a split's prompt (problems with their reference solutions,
 * plus the task's own pretraining text, e.g. the fact base of the multiple-choice task).
 * `extraProblems` then grows the split from a third stream that avoids the corpus.
 */
export const languageTaskData = defineStage({
  name: 'datagen.language-task',
  description: 'a language task split 10/40/30/20 (weak/lock/elicit/validation) and its pretraining corpus',
  module: import.meta.url,
  params: z.object({
    task: z.string(),
    /** The world's seed: the split and corpus are shared by every run seed. */
    seed: z.number().int().default(0),
    /** Problems in the four splits together. */
    problems: z.number().int().min(10).default(5000),
    /**
     * Problems added to the four splits after the corpus is drawn (same 10/40/30/20 shares), from a
     * stream that avoids the corpus: a split can grow without changing the corpus and the bases.
     */
    extraProblems: z.number().int().nonnegative().default(0),
    /** Problems (with references) in the pretraining corpus. */
    pretrainProblems: z.number().int().nonnegative().default(20_000),
    /** Rows of the task's own pretraining text (ignored by tasks that have none). */
    pretrainTextRows: z.number().int().nonnegative().default(10_000),
  }),
  inputs: {},
  outputs: { weak: 'table', lock: 'table', elicit: 'table', validation: 'table', pretrain: 'table' },
  run: (ctx) =>
    stageTask(ctx.signal, async (report) => {
      const p = ctx.params;
      const task = languageTask(p.task);
      const drawn = problemSplits(task, p.seed, p.problems);
      const corpus = distinctProblems(task, p.seed, 'pretrain', p.pretrainProblems, splitPromptKeys(drawn));
      const splits = extendSplits(task, p.seed, drawn, p.extraProblems, corpus);
      for (const [i, name] of SPLIT_NAMES.entries()) {
        await ctx.outputs.table(name, problemTable(task, splits[name]));
        report.progress(i + 1, SPLIT_NAMES.length + 1, 'tables', `${name}: ${splits[name].length} problems`);
      }
      ctx.signal.throwIfAborted();
      const text =
        task.pretrainingText && p.pretrainTextRows > 0
          ? task.pretrainingText(createRng(p.seed, 'lm', task.name, 'pretrain-text'), p.pretrainTextRows)
          : [];
      await ctx.outputs.table(
        'pretrain',
        tableFromColumns({
          task: [...corpus, ...text].map(() => task.name),
          kind: [...corpus.map(() => 'problem'), ...text.map(() => 'text')],
          domain: [...corpus.map((q) => q.domain), ...text.map(() => '')],
          prompt: [...corpus.map((q) => q.prompt.join(' ')), ...text.map(() => '')],
          completion: [...corpus.map((q) => task.reference(q).join(' ')), ...text.map((t) => t.join(' '))],
        }),
      );
      report.metric('pretrain_rows', corpus.length + text.length);
      report.progress(SPLIT_NAMES.length + 1, SPLIT_NAMES.length + 1, 'tables');
    }),
});
