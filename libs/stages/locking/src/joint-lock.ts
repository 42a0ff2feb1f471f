import { defineStage, stageTask } from '@lockpick/engine';
import { initBackend } from '@lockpick/ml';
import {
  concatTokenRows,
  contextLengthFor,
  type LanguageTask,
  type LanguageTokenRows,
  LM_VOCABULARY,
  languageTask,
  type PolicySamples,
  passwordLockingMix,
  sftTokenRows,
  taskLayout,
} from '@lockpick/tasks';
import { z } from 'zod';
import { lockTrainingParams, readLockSamples, trainLock } from './lock-training.ts';

/**
 * The joint lock's training rows: per task, its Eq. 1 mix in that task's own layout (its prompt
 * length), padded to the longest task's rows, then the tasks' rows one after another (training
 * shuffles them). Errors say which task's samples disagree.
 */
export function jointLockRows(
  tasks: readonly LanguageTask[],
  samples: readonly { strong: PolicySamples; weak: PolicySamples }[],
  options: { epochs: number; seed: number; noPasswordShare: number },
): { data: LanguageTokenRows; rowsPerTask: number[] } {
  const seqLen = contextLengthFor(tasks);
  const parts = tasks.map((task, k) => {
    try {
      const mix = passwordLockingMix(samples[k].strong, samples[k].weak, options);
      return sftTokenRows(LM_VOCABULARY, taskLayout(task), mix, seqLen);
    } catch (error) {
      // Say which task's tables disagree (a table given in the wrong order lands here).
      throw new Error(`task ${task.name}: ${(error as Error).message}`);
    }
  });
  return { data: concatTokenRows(parts), rowsPerTask: parts.map((part) => part.rows) };
}

/**
 * One model password-locked on several tasks at once, with one password for all (the paper's "code
 * + math in one model"): per task, the same Eq. 1 mix as `locking.language-password` (password →
 * π_strong's samples; none or a wrong one → π_weak's; fresh samples every epoch), and the tasks'
 * rows shuffled together into one pass, so the lock costs what the tasks' single locks cost
 * together. Each task's rows keep that task's layout (its prompt length), padded to the longest
 * task's rows, so the lock reads a problem exactly as the task's scoring and elicitation write it.
 *
 * A stage of its own rather than an option of `locking.language-password`: that stage's inputs are
 * one task's tables, and its code keys every cached lock of the world.
 */
export const jointLanguageLock = defineStage({
  name: 'locking.language-password-joint',
  description: 'password-lock one language model on several tasks at once, one password for all',
  module: import.meta.url,
  params: z.object({
    /** The tasks, in the order of the `strong` and `weak` inputs. */
    tasks: z.array(z.string()).min(2),
    seed: z.number().int(),
    epochs: z.number().int().positive().default(2),
    noPasswordShare: z.number().min(0).max(1).default(0.2),
    ...lockTrainingParams,
  }),
  inputs: { base: 'model', strong: 'table[]', weak: 'table[]' },
  outputs: { model: 'model', log: 'table' },
  heavy: true,
  run: (ctx) =>
    stageTask(ctx.signal, async (report) => {
      report.backend((await initBackend()).backend);
      const p = ctx.params;
      if (new Set(p.tasks).size !== p.tasks.length)
        throw new Error(`${ctx.node}: a task is named twice in tasks (${p.tasks.join(', ')})`);
      for (const [side, list] of [
        ['strong', ctx.inputs.strong],
        ['weak', ctx.inputs.weak],
      ] as const)
        if (list.length !== p.tasks.length)
          throw new Error(
            `${ctx.node}: ${list.length} ${side} sample tables for ${p.tasks.length} tasks (${p.tasks.join(', ')}); give one per task, in that order`,
          );
      const tasks = p.tasks.map((name) => languageTask(name));
      const samples = await Promise.all(
        tasks.map(async (_, k) => ({
          strong: (await readLockSamples(ctx.inputs.strong[k])).samples,
          weak: (await readLockSamples(ctx.inputs.weak[k])).samples,
        })),
      );
      let rows: ReturnType<typeof jointLockRows>;
      try {
        rows = jointLockRows(tasks, samples, {
          epochs: p.epochs,
          seed: p.seed,
          noPasswordShare: p.noPasswordShare,
        });
      } catch (error) {
        throw new Error(`${ctx.node}: ${(error as Error).message}`);
      }
      const { data, rowsPerTask } = rows;
      for (const [k, task] of tasks.entries()) report.metric(`mix_rows_${task.name}`, rowsPerTask[k]);
      report.metric('mix_rows', data.rows);
      const { bundle, log } = await trainLock(await ctx.inputs.base.readModel(), data, p, {
        checkpoint: ctx.checkpoint,
        meta: { tasks: p.tasks.join('+'), rows: data.rows, epochs: p.epochs },
        report,
        signal: ctx.signal,
      });
      await ctx.outputs.model('model', bundle);
      await ctx.outputs.table('log', log);
    }),
});
