import { readInt32Matrix } from '@lockpick/artifacts';
import { defineStage, stageTask } from '@lockpick/engine';
import { initBackend, trainTransformerBundle } from '@lockpick/ml';
import { compositionTrainingRows, unlockEpochs } from '@lockpick/tasks';
import * as arrow from 'apache-arrow';
import { z } from 'zod';

/**
 * Elicitation by SFT on N strong demonstrations without the password (paper §7, Figure 6): the
 * first N rows of the demo pool (each with at least one locked function), for unlockEpochs(N)
 * epochs (129 for N ≤ 4 … 5 for N = 1024) unless `epochs` says otherwise.
 */
export const compositionDemoSft = defineStage({
  name: 'elicitation.composition-demos',
  description: 'unlock a password-locked composition model by SFT on N strong no-password demos',
  module: import.meta.url,
  params: z.object({
    seed: z.number().int(),
    /** N: the first N rows of the demo pool. */
    demos: z.number().int().positive(),
    /** Passes over the N demos (0: the paper's schedule, unlockEpochs(N)). */
    epochs: z.number().int().nonnegative().default(0),
    /** Rows a step (a full batch when N is smaller). */
    batchSize: z.number().int().positive().default(64),
    learningRate: z.number().positive().default(1e-3),
    clipNorm: z.number().positive().default(1),
    /** Loss on the 9 completion tokens, or on the whole row (the paper's choice for the toy task). */
    lossOn: z.enum(['completion', 'all']).default('completion'),
    checkpointEvery: z.number().int().positive().default(500),
  }),
  inputs: { model: 'model', demos: 'table' },
  outputs: { model: 'model', log: 'table' },
  heavy: true,
  run: (ctx) =>
    stageTask(ctx.signal, async (report) => {
      report.backend((await initBackend()).backend);
      const p = ctx.params;
      const pool = readInt32Matrix(await ctx.inputs.demos.readTable(), 'tokens');
      if (p.demos > pool.rows) throw new Error(`${p.demos} demos asked of a demo pool of ${pool.rows} rows`);
      const epochs = p.epochs === 0 ? unlockEpochs(p.demos) : p.epochs;
      const data = compositionTrainingRows(pool.data.subarray(0, p.demos * pool.width), p.demos, p.lossOn);
      report.metric('epochs', epochs);
      const { bundle, log } = await trainTransformerBundle(await ctx.inputs.model.readModel(), data, {
        phase: 'unlock',
        optimizer: { kind: 'adam', learningRate: p.learningRate, clipNorm: p.clipNorm },
        batchSize: Math.min(p.batchSize, p.demos),
        epochs,
        seed: p.seed,
        lossOn: p.lossOn,
        checkpoint: ctx.checkpoint,
        checkpointEvery: p.checkpointEvery,
        progressEvery: 10,
        meta: { demos: p.demos, epochs },
        report,
        signal: ctx.signal,
      });
      await ctx.outputs.model('model', bundle);
      await ctx.outputs.table('log', arrow.tableFromArrays({ ...log }));
    }),
});
