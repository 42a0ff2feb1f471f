import { defineStage, stageTask } from '@lockpick/engine';
import { initBackend, trainTransformerBundle } from '@lockpick/ml';
import * as arrow from 'apache-arrow';
import { z } from 'zod';
import { demoTokenRows } from './language-rows.ts';

/**
 * Supervised fine-tuning of a language model on one task: π_strong (the strong base on reference
 * solutions), π_weak (a weak base imitating π_strong's samples on the 10% split), π_intermediate
 * (a weak base on reference solutions). `column` picks the target: `reference` of a problem table,
 * or `completion` of a sample table. Loss on completion tokens only.
 */
export const languageSft = defineStage({
  name: 'training.language-sft',
  description: 'fine-tune a language model on one task (references or policy samples)',
  module: import.meta.url,
  params: z.object({
    task: z.string(),
    seed: z.number().int(),
    column: z.enum(['reference', 'completion']).default('reference'),
    /** The first `rows` rows of the table (0: all). */
    rows: z.number().int().nonnegative().default(0),
    password: z.enum(['none', 'default']).default('none'),
    epochs: z.number().positive().default(2),
    batchSize: z.number().int().positive().default(64),
    learningRate: z.number().positive().default(1e-3),
    minLearningRate: z.number().nonnegative().default(1e-4),
    warmupSteps: z.number().int().nonnegative().default(20),
    decay: z.enum(['constant', 'linear', 'cosine']).default('cosine'),
    adamBeta2: z.number().gt(0).lt(1).default(0.98),
    clipNorm: z.number().positive().default(1),
    checkpointEvery: z.number().int().positive().default(500),
  }),
  inputs: { base: 'model', data: 'table' },
  outputs: { model: 'model', log: 'table' },
  heavy: true,
  run: (ctx) =>
    stageTask(ctx.signal, async (report) => {
      report.backend((await initBackend()).backend);
      const p = ctx.params;
      const data = demoTokenRows(await ctx.inputs.data.readTable(), p);
      report.metric('rows', data.rows);
      const { bundle, log } = await trainTransformerBundle(await ctx.inputs.base.readModel(), data, {
        phase: 'sft',
        optimizer: {
          kind: 'adam',
          learningRate: p.learningRate,
          minLearningRate: p.minLearningRate,
          warmupSteps: p.warmupSteps,
          decay: p.decay,
          clipNorm: p.clipNorm,
          beta2: p.adamBeta2,
        },
        batchSize: Math.min(p.batchSize, data.rows),
        epochs: p.epochs,
        seed: p.seed,
        lossOn: 'completion',
        checkpoint: ctx.checkpoint,
        checkpointEvery: p.checkpointEvery,
        progressEvery: 20,
        meta: { task: p.task, rows: data.rows },
        report,
        signal: ctx.signal,
      });
      await ctx.outputs.model('model', bundle);
      await ctx.outputs.table('log', arrow.tableFromArrays({ ...log }));
    }),
});
