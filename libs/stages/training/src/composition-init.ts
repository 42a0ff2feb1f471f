import { defineStage, stageTask } from '@lockpick/engine';
import { initBackend, saveCheckpoint, Transformer } from '@lockpick/ml';
import { COMPOSITION_SEQ_LEN, COMPOSITION_VOCAB_SIZE } from '@lockpick/tasks';
import { z } from 'zod';

/**
 * A randomly initialised transformer for the function-composition task: the base that locking
 * "from scratch" starts from, and that pretraining on strong data starts from for locking "via SFT".
 * One stage owns the architecture, so every model of a seed has the same shape and initial weights.
 */
export const compositionInit = defineStage({
  name: 'training.composition-init',
  description: 'random-init transformer for the function-composition task',
  module: import.meta.url,
  params: z.object({
    seed: z.number().int(),
    layers: z.number().int().positive().default(2),
    width: z.number().int().positive().default(64),
    heads: z.number().int().positive().default(4),
    mlpRatio: z.number().int().positive().default(4),
  }),
  inputs: {},
  outputs: { model: 'model' },
  heavy: true,
  run: (ctx) =>
    stageTask(ctx.signal, async (report) => {
      report.backend((await initBackend()).backend);
      const { seed, layers, width, heads, mlpRatio } = ctx.params;
      const model = new Transformer(
        {
          vocabSize: COMPOSITION_VOCAB_SIZE,
          contextLength: COMPOSITION_SEQ_LEN,
          layers,
          width,
          heads,
          mlpRatio,
          bias: false,
        },
        seed,
      );
      report.metric('parameters', model.params.count());
      const bundle = saveCheckpoint(model, { meta: { phase: 'init', seed } });
      model.dispose();
      await ctx.outputs.model('model', bundle);
      report.progress(1, 1, 'models');
    }),
});
