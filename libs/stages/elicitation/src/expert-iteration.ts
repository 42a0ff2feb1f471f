import { defineStage, stageTask } from '@lockpick/engine';
import { initBackend } from '@lockpick/ml';
import { languageTask } from '@lockpick/tasks';
import { z } from 'zod';
import {
  bestByReward,
  checkSelection,
  completeProblems,
  elicitByRounds,
  fineTune,
  problemsOfTable,
  rewardsOf,
  rlParams,
  roundRng,
  selectionParams,
} from './language-rl.ts';

/**
 * Expert iteration (the paper's §6.1): each round, one completion sampled at temperature 1 from the
 * current model for each of `candidates` problems drawn from the elicitation pool, the `keep` best
 * by reward kept (ties broken at random, seeded), and the model fine-tuned on them without the
 * password. The paper: 640 candidates, 64 kept, 50 rounds.
 */
export const expertIteration = defineStage({
  name: 'elicitation.expert-iteration',
  description:
    'elicit by expert iteration: sample from the model, keep the best by reward, fine-tune; repeat',
  module: import.meta.url,
  params: z.object({
    ...rlParams,
    ...selectionParams,
  }),
  inputs: { model: 'model', pool: 'table', validation: 'table' },
  outputs: { model: 'model', curve: 'table' },
  heavy: true,
  run: (ctx) =>
    stageTask(ctx.signal, async (report, signal) => {
      report.backend((await initBackend()).backend);
      const p = ctx.params;
      const task = languageTask(p.task);
      const pool = problemsOfTable(await ctx.inputs.pool.readTable());
      checkSelection(ctx.node, p, pool.length, 'the pool');
      await elicitByRounds(ctx, report, signal, 'expert-iteration', async (model, r, optimizer) => {
        const rng = roundRng(p.seed, 'expert-iteration', task.name, r);
        const problems = Array.from(rng.sample(pool.length, p.candidates), (i) => pool[i]);
        const graded = completeProblems(model, task, problems, {
          temperature: 1,
          seed: rng.int(0, 2 ** 31),
        });
        const rewards = rewardsOf(graded, p.reward);
        const best = bestByReward(rewards, p.keep, rng);
        await fineTune(
          model,
          task,
          best.map((i) => ({ prompt: problems[i].prompt, completion: graded.completions[i] })),
          { optimizer, epochs: p.epochs, batchSize: p.batchSize, seed: r, signal },
        );
        return { samples: p.candidates, reward: rewards.reduce((a, b) => a + b, 0) / rewards.length };
      });
    }),
});
