import { defineStage, stageTask } from '@lockpick/engine';
import { answerWithPolicy, type CompositionTable, generateFunctions } from '@lockpick/tasks';
import { z } from 'zod';
import { compositionTableFromArrow, compositionTableToArrow } from './composition-tables.ts';

/**
 * A programmatic policy of the function-composition task (π_strong: correct compositions; π_weak:
 * locked functions act as the identity) answering a slice of a prompt table, with or without the
 * password block. Its output is what the locking stage reads as "the strong policy's samples" or
 * "the weak policy's samples": a stage that samples a trained model into the same table shape can
 * take its place.
 */
export const compositionAnswers = defineStage({
  name: 'datagen.composition-answers',
  description: 'a programmatic strong or weak policy answering composition prompts',
  module: import.meta.url,
  params: z.object({
    seed: z.number().int(),
    policy: z.enum(['strong', 'weak']),
    /** Fill each row's password block (one `pwd0` per locked function applied). */
    withPassword: z.boolean(),
    /** First row of the prompt table to answer. */
    offset: z.number().int().nonnegative().default(0),
    /** Rows to answer from `offset` on (0: all the rest). */
    rows: z.number().int().nonnegative().default(0),
  }),
  inputs: { prompts: 'table' },
  outputs: { answers: 'table' },
  run: (ctx) =>
    stageTask(ctx.signal, async (report) => {
      const { seed, policy, withPassword, offset } = ctx.params;
      const all = compositionTableFromArrow(await ctx.inputs.prompts.readTable());
      const rows = ctx.params.rows === 0 ? all.rows - offset : ctx.params.rows;
      if (offset + rows > all.rows || rows <= 0)
        throw new Error(`rows ${offset}…${offset + rows} asked of a prompt table of ${all.rows} rows`);
      const slice = <T extends Int32Array | Uint8Array>(a: T, width = 1) =>
        a.slice(offset * width, (offset + rows) * width) as T;
      const prompts: CompositionTable = {
        rows,
        seqLen: all.seqLen,
        tokens: slice(all.tokens, all.seqLen),
        fnA: slice(all.fnA),
        fnB: slice(all.fnB),
        lockedCount: slice(all.lockedCount),
        hasLockedFn: slice(all.hasLockedFn),
        withPassword: new Uint8Array(rows).fill(withPassword ? 1 : 0),
        strongPolicy: new Uint8Array(rows).fill(policy === 'strong' ? 1 : 0),
      };
      prompts.tokens = answerWithPolicy(generateFunctions(seed), prompts, policy, withPassword);
      await ctx.outputs.table('answers', compositionTableToArrow(prompts));
      report.progress(1, 1, 'tables', `${rows} rows`);
    }),
});
