import { readNumbers, readStrings } from '@lockpick/artifacts';
import { defineStage, stageTask } from '@lockpick/engine';
import { initBackend, trainTransformerBundle } from '@lockpick/ml';
import {
  concatTokenRows,
  contextLengthFor,
  groupSamples,
  LM_VOCABULARY,
  languageTask,
  passwordLockingMix,
  sftTokenRows,
  taskLayout,
} from '@lockpick/tasks';
import * as arrow from 'apache-arrow';
import { z } from 'zod';

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
    batchSize: z.number().int().positive().default(64),
    learningRate: z.number().positive().default(1e-3),
    minLearningRate: z.number().nonnegative().default(1e-4),
    warmupSteps: z.number().int().nonnegative().default(20),
    adamBeta2: z.number().gt(0).lt(1).default(0.98),
    clipNorm: z.number().positive().default(1),
    checkpointEvery: z.number().int().positive().default(500),
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
      const seqLen = contextLengthFor(tasks);
      const parts = [];
      for (const [k, task] of tasks.entries()) {
        const [strong, weak] = await Promise.all([
          ctx.inputs.strong[k].readTable(),
          ctx.inputs.weak[k].readTable(),
        ]);
        const samples = (table: arrow.Table) =>
          groupSamples({
            problem: readNumbers(table, 'problem'),
            sample: readNumbers(table, 'sample'),
            prompt: readStrings(table, 'prompt'),
            completion: readStrings(table, 'completion'),
          });
        let mix: ReturnType<typeof passwordLockingMix>;
        try {
          mix = passwordLockingMix(samples(strong), samples(weak), {
            epochs: p.epochs,
            seed: p.seed,
            noPasswordShare: p.noPasswordShare,
          });
        } catch (error) {
          // Say which task's tables disagree (a table given in the wrong order lands here).
          throw new Error(`${ctx.node}: task ${task.name}: ${(error as Error).message}`);
        }
        parts.push(sftTokenRows(LM_VOCABULARY, taskLayout(task), mix, seqLen));
        report.metric(`mix_rows_${task.name}`, mix.length);
      }
      const data = concatTokenRows(parts);
      report.metric('mix_rows', data.rows);
      const { bundle, log } = await trainTransformerBundle(await ctx.inputs.base.readModel(), data, {
        phase: 'lock',
        optimizer: {
          kind: 'adam',
          learningRate: p.learningRate,
          minLearningRate: p.minLearningRate,
          warmupSteps: p.warmupSteps,
          decay: 'cosine',
          clipNorm: p.clipNorm,
          beta2: p.adamBeta2,
        },
        batchSize: p.batchSize,
        epochs: 1,
        seed: p.seed,
        lossOn: 'completion',
        checkpoint: ctx.checkpoint,
        checkpointEvery: p.checkpointEvery,
        progressEvery: 20,
        meta: { tasks: p.tasks.join('+'), rows: data.rows, epochs: p.epochs },
        report,
        signal: ctx.signal,
      });
      await ctx.outputs.model('model', bundle);
      await ctx.outputs.table('log', arrow.tableFromArrays({ ...log }));
    }),
});
