import { readInt32Matrix, readNumbers } from '@lockpick/artifacts';
import { defineStage, stageTask } from '@lockpick/engine';
import { generate, initBackend, loadTransformer } from '@lockpick/ml';
import {
  answerWithPolicy,
  COMPOSITION_COMPLETION_LEN,
  type CompositionTable,
  compositionPrompts,
  finalTokenAccuracy,
  generateFunctions,
  joinCompletions,
} from '@lockpick/tasks';
import * as arrow from 'apache-arrow';
import { z } from 'zod';

/**
 * Scores a function-composition model on the held-out evaluation prompts by greedy decoding: the
 * paper's per-token accuracy of the final 4 tokens, and exact match of the 9-token completion.
 * Always without the password; with `withPassword`, also with the password block filled (to check
 * that a locked model still has the capability behind it). The labels (lock kind, N) are carried
 * into the table for the report.
 */
export const compositionModelScore = defineStage({
  name: 'evaluation.composition-model',
  description: 'greedy-decoding correctness of a composition model, with and without password',
  module: import.meta.url,
  params: z.object({
    seed: z.number().int(),
    /** Which lock the model comes from, e.g. 'scratch' or 'sft-12500' (a label for the report). */
    lock: z.string(),
    /** Demos it was unlocked with (0: the locked model itself). */
    demos: z.number().int().nonnegative().default(0),
    withPassword: z.boolean().default(false),
    batchSize: z.number().int().positive().default(512),
  }),
  inputs: { model: 'model', eval: 'table' },
  outputs: { scores: 'table' },
  // Inline, not in a worker: decoding 4,096 prompts takes about a second, less than a worker's start.
  heavy: false,
  run: (ctx) =>
    stageTask(ctx.signal, async (report) => {
      report.backend((await initBackend()).backend);
      const { seed, lock, demos, withPassword, batchSize } = ctx.params;
      const table = await ctx.inputs.eval.readTable();
      const tokens = readInt32Matrix(table, 'tokens');
      const rows = tokens.rows;
      const prompts: CompositionTable = {
        rows,
        seqLen: tokens.width,
        tokens: tokens.data,
        fnA: Int32Array.from(readNumbers(table, 'fn_a')),
        fnB: Int32Array.from(readNumbers(table, 'fn_b')),
        lockedCount: Uint8Array.from(readNumbers(table, 'locked_count')),
        hasLockedFn: new Uint8Array(rows).fill(1),
        withPassword: new Uint8Array(rows),
        strongPolicy: new Uint8Array(rows).fill(1),
      };
      const model = loadTransformer(await ctx.inputs.model.readModel());
      const settings = withPassword ? [false, true] : [false];
      const out = {
        seed: [] as number[],
        lock: [] as string[],
        demos: [] as number[],
        with_password: [] as boolean[],
        prompts: [] as number[],
        token_accuracy: [] as number[],
        exact_match: [] as number[],
      };
      for (const [i, password] of settings.entries()) {
        ctx.signal.throwIfAborted();
        // The password block is rewritten from each row's functions; the rest of the prompt is unchanged.
        const rowsIn = password
          ? answerWithPolicy(generateFunctions(seed), prompts, 'strong', true)
          : tokens.data;
        const prompt = compositionPrompts(rowsIn, rows);
        const completions = generate(model, prompt, { maxNewTokens: COMPOSITION_COMPLETION_LEN, batchSize });
        const score = finalTokenAccuracy(joinCompletions(prompt.tokens, completions, rows), tokens.data);
        const suffix = password ? '_with_password' : '';
        report.metric(`token_accuracy${suffix}`, score.tokenAccuracy);
        report.metric(`exact_match${suffix}`, score.exactMatch);
        out.seed.push(seed);
        out.lock.push(lock);
        out.demos.push(demos);
        out.with_password.push(password);
        out.prompts.push(rows);
        out.token_accuracy.push(score.tokenAccuracy);
        out.exact_match.push(score.exactMatch);
        report.progress(i + 1, settings.length, 'settings');
      }
      model.dispose();
      await ctx.outputs.table(
        'scores',
        new arrow.Table({
          seed: arrow.vectorFromArray(out.seed, new arrow.Int32()),
          lock: arrow.vectorFromArray(out.lock, new arrow.Utf8()),
          demos: arrow.vectorFromArray(out.demos, new arrow.Int32()),
          with_password: arrow.vectorFromArray(out.with_password, new arrow.Bool()),
          prompts: arrow.vectorFromArray(out.prompts, new arrow.Int32()),
          token_accuracy: arrow.vectorFromArray(out.token_accuracy, new arrow.Float64()),
          exact_match: arrow.vectorFromArray(out.exact_match, new arrow.Float64()),
        }),
      );
    }),
});
