import { readNumbers, readStrings } from '@lockpick/artifacts';
import type { InputArtifact } from '@lockpick/engine';
import { defineStage, stageTask } from '@lockpick/engine';
import { initBackend, trainTransformerBundle } from '@lockpick/ml';
import {
  groupSamples,
  LM_VOCABULARY,
  languageTask,
  passwordLockingMix,
  sftTokenRows,
  taskLayout,
} from '@lockpick/tasks';
import * as arrow from 'apache-arrow';
import { z } from 'zod';

async function readSamples(input: InputArtifact) {
  const table = await input.readTable();
  return groupSamples({
    problem: readNumbers(table, 'problem'),
    sample: readNumbers(table, 'sample'),
    prompt: readStrings(table, 'prompt'),
    completion: readStrings(table, 'completion'),
  });
}

/**
 * Password-locking of a language model on one task (the paper's Eq. 1), from the strong base:
 * prompts with the password at start and end → π_strong's samples; prompts without → π_weak's
 * samples (20% no password, 80% one of 40 wrong passwords); a fresh sample of each policy every
 * epoch; loss on completion tokens only. The policies come in as sample tables
 * (`datagen.language-samples`), one sample per problem per epoch.
 */
export const languageLock = defineStage({
  name: 'locking.language-password',
  description: 'password-lock a language model: password → π_strong samples, none/wrong → π_weak samples',
  module: import.meta.url,
  params: z.object({
    task: z.string(),
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
  inputs: { base: 'model', strong: 'table', weak: 'table' },
  outputs: { model: 'model', log: 'table' },
  heavy: true,
  run: (ctx) =>
    stageTask(ctx.signal, async (report) => {
      report.backend((await initBackend()).backend);
      const p = ctx.params;
      const task = languageTask(p.task);
      const mix = passwordLockingMix(
        await readSamples(ctx.inputs.strong),
        await readSamples(ctx.inputs.weak),
        {
          epochs: p.epochs,
          seed: p.seed,
          noPasswordShare: p.noPasswordShare,
        },
      );
      const data = sftTokenRows(LM_VOCABULARY, taskLayout(task), mix);
      report.metric('mix_rows', data.rows);
      // Every epoch's rows are already in `mix` (fresh samples each), so one shuffled pass over it
      // is `epochs` epochs.
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
        meta: { task: p.task, rows: data.rows, epochs: p.epochs },
        report,
        signal: ctx.signal,
      });
      await ctx.outputs.model('model', bundle);
      await ctx.outputs.table('log', arrow.tableFromArrays({ ...log }));
    }),
});
