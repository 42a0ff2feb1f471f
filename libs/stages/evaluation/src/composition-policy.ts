import { readInt32Matrix, readNumbers } from '@lockpick/artifacts';
import { defineStage, stageTask } from '@lockpick/engine';
import {
  answerWithPolicy,
  type CompositionTable,
  finalTokenAccuracy,
  generateFunctions,
} from '@lockpick/tasks';
import * as arrow from 'apache-arrow';
import { z } from 'zod';

/**
 * Scores a programmatic policy (π_strong or π_weak of the function-composition task) on evaluation
 * prompts: the reference points every locked or unlocked model is compared with.
 */
export const compositionPolicyScore = defineStage({
  name: 'evaluation.composition-policy',
  description: 'correctness of the programmatic strong or weak policy on evaluation prompts',
  module: import.meta.url,
  params: z.object({
    seed: z.number().int(),
    policy: z.enum(['strong', 'weak']),
    withPassword: z.boolean().default(false),
  }),
  inputs: { eval: 'table' },
  outputs: { scores: 'table' },
  run: (ctx) =>
    stageTask(ctx.signal, async (report) => {
      const { seed, policy, withPassword } = ctx.params;
      const table = await ctx.inputs.eval.readTable();
      const tokens = readInt32Matrix(table, 'tokens');
      const prompts: CompositionTable = {
        rows: tokens.rows,
        seqLen: tokens.width,
        tokens: tokens.data,
        fnA: Int32Array.from(readNumbers(table, 'fn_a')),
        fnB: Int32Array.from(readNumbers(table, 'fn_b')),
        lockedCount: Uint8Array.from(readNumbers(table, 'locked_count')),
        hasLockedFn: new Uint8Array(tokens.rows).fill(1),
        withPassword: new Uint8Array(tokens.rows),
        strongPolicy: new Uint8Array(tokens.rows).fill(1),
      };
      // Reference answers are the strong policy's; the eval table stores them already.
      const answers = answerWithPolicy(generateFunctions(seed), prompts, policy, withPassword);
      const score = finalTokenAccuracy(answers, tokens.data, tokens.width);
      report.metric('token_accuracy', score.tokenAccuracy);
      report.metric('exact_match', score.exactMatch);
      await ctx.outputs.table(
        'scores',
        arrow.tableFromArrays({
          seed: Int32Array.of(seed),
          policy: [policy],
          with_password: [withPassword],
          prompts: Int32Array.of(score.rows),
          token_accuracy: Float64Array.of(score.tokenAccuracy),
          exact_match: Float64Array.of(score.exactMatch),
        }),
      );
    }),
});
