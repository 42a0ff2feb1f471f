import { defineStage, type StageReporter, stageTask } from '@lockpick/engine';
import { copyModel, initBackend, loadTransformer, type Optimizer, type Transformer } from '@lockpick/ml';
import { type LanguageProblem, type LanguageTask, languageTask } from '@lockpick/tasks';
import { z } from 'zod';
import {
  completeProblems,
  elicitByRounds,
  preferencePairs,
  preferenceStep,
  problemsOfTable,
  type RewardKind,
  rewardsOf,
  rlParams,
  roundRng,
  weightsHash,
} from './language-rl.ts';

/** Two samples of each problem from `model`, paired where their rewards differ. */
function samplePairs(
  model: Transformer,
  task: LanguageTask,
  problems: readonly LanguageProblem[],
  reward: RewardKind,
  seed: number,
) {
  const a = completeProblems(model, task, problems, { temperature: 1, seed });
  const b = completeProblems(model, task, problems, { temperature: 1, seed: seed + 1 });
  const ra = rewardsOf(a, reward);
  const rb = rewardsOf(b, reward);
  const pairs = preferencePairs(ra, rb).map(({ problem, chosen }) => ({
    prompt: problems[problem].prompt,
    chosen: (chosen === 0 ? a : b).completions[problem],
    rejected: (chosen === 0 ? b : a).completions[problem],
  }));
  const meanReward = (ra.reduce((x, y) => x + y, 0) + rb.reduce((x, y) => x + y, 0)) / (2 * problems.length);
  return { pairs, samples: 2 * problems.length, reward: meanReward };
}

/**
 * One DPO epoch of `model` on `pairs` against `reference`, with the run's optimizer; reports the
 * implicit-reward fit (a falling accuracy or margin shows a collapse the curve may not yet).
 */
async function dpoEpoch(
  model: Transformer,
  reference: Transformer,
  task: LanguageTask,
  pairs: Parameters<typeof preferenceStep>[3],
  round: { r: number; optimizer: Optimizer; beta: number; batchSize: number; signal: AbortSignal },
  report: StageReporter,
) {
  const fit = await preferenceStep(model, reference, task, pairs, {
    optimizer: round.optimizer,
    beta: round.beta,
    epochs: 1,
    batchSize: round.batchSize,
    seed: round.r,
    signal: round.signal,
  });
  report.metric('pairs', fit.pairs, round.r);
  report.metric('reward_accuracy', fit.accuracy, round.r);
  report.metric('reward_margin', fit.margin, round.r);
}

const preferenceParams = {
  ...rlParams,
  beta: z.number().positive().default(0.1),
  /** Pool problems sampled twice (0: the whole pool). */
  problems: z.number().int().nonnegative().default(0),
};

/**
 * DPO (the paper's §6.1): two samples a problem at temperature 1 from the locked model, once; pairs
 * where the rewards differ, the better chosen; then `rounds` epochs of DPO (β = 0.1) against the
 * initial locked model, frozen, as the reference. The curve's rounds are those epochs.
 */
export const dpoElicitation = defineStage({
  name: 'elicitation.dpo',
  description: "elicit by DPO on pairs of the locked model's samples that differ in reward",
  module: import.meta.url,
  params: z.object({ ...preferenceParams, rounds: z.number().int().positive().default(4) }),
  inputs: { model: 'model', pool: 'table', validation: 'table' },
  outputs: { model: 'model', curve: 'table' },
  heavy: true,
  run: (ctx) =>
    stageTask(ctx.signal, async (report, signal) => {
      report.backend((await initBackend()).backend);
      const p = ctx.params;
      const task = languageTask(p.task);
      const pool = problemsOfTable(await ctx.inputs.pool.readTable());
      const problems = p.problems > 0 ? pool.slice(0, p.problems) : pool;
      // The frozen reference is the locked model itself; its samples make the pairs (also on resume).
      const reference = loadTransformer(await ctx.inputs.model.readModel());
      try {
        const referenceHash = weightsHash(reference);
        const sampled = samplePairs(
          reference,
          task,
          problems,
          p.reward,
          roundRng(p.seed, 'dpo', task.name, 0).int(0, 2 ** 31),
        );
        await elicitByRounds(ctx, report, signal, 'dpo', async (model, r, optimizer) => {
          await dpoEpoch(model, reference, task, sampled.pairs, { r, optimizer, ...p, signal }, report);
          return r === 1
            ? { samples: sampled.samples, reward: sampled.reward, referenceHash }
            : { samples: 0, reward: Number.NaN, referenceHash };
        });
      } finally {
        reference.dispose();
      }
    }),
});

/**
 * Iterated DPO (the paper's §6.1): each round, `problems` pool problems (drawn seeded) sampled twice
 * at temperature 1 from the current model, pairs where the rewards differ, and one DPO epoch against
 * the model as it was at the start of the round (the reference is reset every round).
 */
export const iteratedDpoElicitation = defineStage({
  name: 'elicitation.iterated-dpo',
  description: 'elicit by rounds of sampling pairs from the current model and one DPO epoch against it',
  module: import.meta.url,
  params: z.object({ ...preferenceParams, problems: z.number().int().positive().default(320) }),
  inputs: { model: 'model', pool: 'table', validation: 'table' },
  outputs: { model: 'model', curve: 'table' },
  heavy: true,
  run: (ctx) =>
    stageTask(ctx.signal, async (report, signal) => {
      report.backend((await initBackend()).backend);
      const p = ctx.params;
      const task = languageTask(p.task);
      const pool = problemsOfTable(await ctx.inputs.pool.readTable());
      if (p.problems > pool.length)
        throw new Error(
          `${ctx.node}: ${p.problems} problems a round, but the pool has ${pool.length}; lower problems`,
        );
      await elicitByRounds(ctx, report, signal, 'iterated-dpo', async (model, r, optimizer) => {
        const rng = roundRng(p.seed, 'iterated-dpo', task.name, r);
        const problems = Array.from(rng.sample(pool.length, p.problems), (i) => pool[i]);
        const reference = copyModel(model);
        try {
          const sampled = samplePairs(reference, task, problems, p.reward, rng.int(0, 2 ** 31));
          await dpoEpoch(model, reference, task, sampled.pairs, { r, optimizer, ...p, signal }, report);
          return {
            samples: sampled.samples,
            reward: sampled.reward,
            referenceHash: weightsHash(reference),
          };
        } finally {
          reference.dispose();
        }
      });
    }),
});
