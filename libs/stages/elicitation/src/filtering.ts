import { readNumbers, readStrings } from '@lockpick/artifacts';
import { defineStage, stageTask } from '@lockpick/engine';
import { initBackend } from '@lockpick/ml';
import { createRng, languageTask, words } from '@lockpick/tasks';
import { z } from 'zod';
import {
  bestByReward,
  checkSelection,
  elicitByRounds,
  fineTune,
  rlParams,
  selectionParams,
} from './language-rl.ts';

/**
 * Filtering then SFT (the paper's §6.1 baseline): expert iteration whose candidates come from π_weak
 * instead of the model being trained. Each round takes the next `candidates` rows of π_weak's graded
 * samples on the elicitation pool (a `datagen.language-samples` or `datagen.fixedrdm-samples`
 * table, in a seeded order; it wraps around when the rounds need more), keeps the `keep` best by
 * reward (ties broken at random, seeded) and fine-tunes the model on them without the password.
 */
export const filteringElicitation = defineStage({
  name: 'elicitation.filtering',
  description: "elicit by filtering π_weak's samples by reward and fine-tuning on the best; repeat",
  module: import.meta.url,
  params: z.object({
    ...rlParams,
    ...selectionParams,
  }),
  inputs: { model: 'model', candidates: 'table', validation: 'table' },
  outputs: { model: 'model', curve: 'table' },
  heavy: true,
  run: (ctx) =>
    stageTask(ctx.signal, async (report, signal) => {
      report.backend((await initBackend()).backend);
      const p = ctx.params;
      const task = languageTask(p.task);
      const table = await ctx.inputs.candidates.readTable();
      const prompts = readStrings(table, 'prompt');
      const completions = readStrings(table, 'completion');
      const rewards = readNumbers(table, p.reward);
      checkSelection(ctx.node, p, prompts.length, "π_weak's table (ask for more samples per problem)");
      const order = createRng(p.seed, 'rl', 'filtering-order', task.name).shuffle(
        Array.from({ length: prompts.length }, (_, i) => i),
      );
      await elicitByRounds(ctx, report, signal, 'filtering', async (model, r, optimizer) => {
        const rows = Array.from(
          { length: p.candidates },
          (_, k) => order[((r - 1) * p.candidates + k) % order.length],
        );
        const roundRewards = rows.map((i) => rewards[i]);
        const best = bestByReward(roundRewards, p.keep, createRng(p.seed, 'rl', 'filtering', task.name, r));
        await fineTune(
          model,
          task,
          best.map((k) => ({ prompt: words(prompts[rows[k]]), completion: words(completions[rows[k]]) })),
          { optimizer, epochs: p.epochs, batchSize: p.batchSize, seed: r, signal },
        );
        return { samples: p.candidates, reward: roundRewards.reduce((a, b) => a + b, 0) / rows.length };
      });
    }),
});
