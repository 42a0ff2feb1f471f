import { readInt32Matrix } from '@lockpick/artifacts';
import { defineStage, stageTask } from '@lockpick/engine';
import { initBackend, trainTransformerBundle } from '@lockpick/ml';
import { compositionTrainingRows } from '@lockpick/tasks';
import * as arrow from 'apache-arrow';
import { z } from 'zod';

/**
 * Password-locking of a function-composition model: SFT on a mix of the strong policy's samples
 * (prompts with the password) and the weak policy's samples (prompts without), half and half.
 * The policies are inputs, not code: `strong` and `weak` are tables of answered rows (from the
 * programmatic policies of datagen, or sampled from trained models). The `base` model decides the
 * kind of lock: a random-init model gives locking *from scratch* (the paper: 5 epochs on 200k), a
 * model pretrained on strong data gives locking *via SFT* (1 epoch on 200k, 50k or 12.5k).
 */
export const compositionLock = defineStage({
  name: 'locking.composition',
  description: 'password-lock a composition model on a strong (with password) / weak (without) mix',
  module: import.meta.url,
  params: z.object({
    seed: z.number().int(),
    /** Size of the mix: the first ⌈rows/2⌉ strong rows and ⌊rows/2⌋ weak rows (0: all of both). */
    rows: z.number().int().nonnegative().default(0),
    epochs: z.number().positive().default(1),
    batchSize: z.number().int().positive().default(128),
    learningRate: z.number().positive().default(2e-3),
    minLearningRate: z.number().nonnegative().default(1e-4),
    warmupSteps: z.number().int().nonnegative().default(20),
    decay: z.enum(['constant', 'linear', 'cosine']).default('cosine'),
    clipNorm: z.number().positive().default(1),
    /** Adam's second-moment decay (PyTorch's default 0.999; 0.98 converges much faster on this task). */
    adamBeta2: z.number().gt(0).lt(1).default(0.999),
    /** Loss on the 9 completion tokens, or on the whole row (the paper's choice for the toy task). */
    lossOn: z.enum(['completion', 'all']).default('completion'),
    checkpointEvery: z.number().int().positive().default(500),
  }),
  inputs: { base: 'model', strong: 'table', weak: 'table' },
  outputs: { model: 'model', log: 'table' },
  heavy: true,
  run: (ctx) =>
    stageTask(ctx.signal, async (report) => {
      report.backend((await initBackend()).backend);
      const p = ctx.params;
      const strong = readInt32Matrix(await ctx.inputs.strong.readTable(), 'tokens');
      const weak = readInt32Matrix(await ctx.inputs.weak.readTable(), 'tokens');
      if (strong.width !== weak.width)
        throw new Error(`strong rows have ${strong.width} tokens, weak rows ${weak.width}`);
      const strongRows = p.rows === 0 ? strong.rows : Math.ceil(p.rows / 2);
      const weakRows = p.rows === 0 ? weak.rows : Math.floor(p.rows / 2);
      if (strongRows > strong.rows || weakRows > weak.rows)
        throw new Error(
          `a mix of ${p.rows} rows needs ${strongRows} strong and ${weakRows} weak rows; the tables have ${strong.rows} and ${weak.rows}`,
        );
      const width = strong.width;
      const rows = strongRows + weakRows;
      const tokens = new Int32Array(rows * width);
      tokens.set(strong.data.subarray(0, strongRows * width));
      tokens.set(weak.data.subarray(0, weakRows * width), strongRows * width);
      report.metric('mix_rows', rows);
      const { bundle, log } = await trainTransformerBundle(
        await ctx.inputs.base.readModel(),
        compositionTrainingRows(tokens, rows, p.lossOn),
        {
          phase: 'lock',
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
        },
      );
      await ctx.outputs.model('model', bundle);
      await ctx.outputs.table('log', arrow.tableFromArrays({ ...log }));
    }),
});
