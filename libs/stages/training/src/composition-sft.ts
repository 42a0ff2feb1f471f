import { readInt32Matrix } from '@lockpick/artifacts';
import { defineStage, stageTask } from '@lockpick/engine';
import { initBackend, trainTransformerBundle } from '@lockpick/ml';
import { compositionTrainingRows } from '@lockpick/tasks';
import * as arrow from 'apache-arrow';
import { z } from 'zod';

/**
 * Supervised training of a function-composition model on a table of rows: pretraining on strong
 * data (the first step of locking "via SFT"), or any other plain SFT phase. Starts from the `base`
 * model's weights with a fresh Adam optimizer; resumes from its own checkpoint after an interruption.
 */
export const compositionSft = defineStage({
  name: 'training.composition-sft',
  description: 'SFT of a composition model on a table of rows (pretraining on strong data)',
  module: import.meta.url,
  params: z.object({
    seed: z.number().int(),
    /** Rows of the table to train on, from the first (0: all). */
    rows: z.number().int().nonnegative().default(0),
    epochs: z.number().positive().default(4),
    batchSize: z.number().int().positive().default(128),
    learningRate: z.number().positive().default(2e-3),
    minLearningRate: z.number().nonnegative().default(1e-4),
    warmupSteps: z.number().int().nonnegative().default(50),
    decay: z.enum(['constant', 'linear', 'cosine']).default('cosine'),
    clipNorm: z.number().positive().default(1),
    /** Adam's second-moment decay (PyTorch's default 0.999; 0.98 converges much faster on this task). */
    adamBeta2: z.number().gt(0).lt(1).default(0.999),
    /** Loss on the 9 completion tokens, or on the whole row (the paper's choice for the toy task). */
    lossOn: z.enum(['completion', 'all']).default('completion'),
    checkpointEvery: z.number().int().positive().default(500),
  }),
  inputs: { base: 'model', data: 'table' },
  outputs: { model: 'model', log: 'table' },
  heavy: true,
  run: (ctx) =>
    stageTask(ctx.signal, async (report) => {
      report.backend((await initBackend()).backend);
      const p = ctx.params;
      const tokens = readInt32Matrix(await ctx.inputs.data.readTable(), 'tokens');
      const rows = p.rows === 0 ? tokens.rows : Math.min(p.rows, tokens.rows);
      if (p.rows > tokens.rows) report.warn(`asked for ${p.rows} rows, the table has ${tokens.rows}`);
      const data = compositionTrainingRows(tokens.data.subarray(0, rows * tokens.width), rows, p.lossOn);
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
        batchSize: p.batchSize,
        epochs: p.epochs,
        seed: p.seed,
        lossOn: p.lossOn,
        checkpoint: ctx.checkpoint,
        checkpointEvery: p.checkpointEvery,
        progressEvery: 20,
        meta: { rows },
        report,
        signal: ctx.signal,
      });
      await ctx.outputs.model('model', bundle);
      await ctx.outputs.table('log', arrow.tableFromArrays({ ...log }));
    }),
});
