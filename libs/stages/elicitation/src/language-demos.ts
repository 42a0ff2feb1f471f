import { readStrings } from '@lockpick/artifacts';
import { defineStage, stageTask } from '@lockpick/engine';
import { initBackend, trainTransformerBundle } from '@lockpick/ml';
import { createRng, LM_VOCABULARY, languageTask, sftTokenRows, taskLayout, words } from '@lockpick/tasks';
import * as arrow from 'apache-arrow';
import { z } from 'zod';

/**
 * The paper's App. G.3 epoch candidates for N demos: {256/N, 512/N, 1024/N} for N < 256, else
 * {1, 2, 4}. The pipeline makes one node per candidate; the report picks the best on validation.
 */
export function demoEpochCandidates(demos: number): number[] {
  return demos < 256 ? [256 / demos, 512 / demos, 1024 / demos] : [1, 2, 4];
}

/**
 * Elicitation by SFT on N demonstrations without the password: N rows drawn (seeded) from a demo
 * source — the elicitation pool's reference solutions (`column: 'reference'` of a problem table) or
 * a policy's samples on it (`column: 'completion'` of a sample table: π_strong, π_intermediate,
 * π_weak) — trained for `epochs` passes with a constant learning rate.
 */
export const languageDemoSft = defineStage({
  name: 'elicitation.language-demos',
  description: 'elicit a locked language model by SFT on N no-password demos from a source',
  module: import.meta.url,
  params: z.object({
    task: z.string(),
    seed: z.number().int(),
    demos: z.number().int().positive(),
    epochs: z.number().positive(),
    column: z.enum(['reference', 'completion']).default('reference'),
    /**
     * When the pool holds fewer rows than `demos`, train on all of them instead of failing (a
     * domain's share of the pool can be smaller than the N asked; the log's meta says how many).
     */
    wholePoolIfSmaller: z.boolean().optional(),
    batchSize: z.number().int().positive().default(32),
    learningRate: z.number().positive().default(1e-3),
    clipNorm: z.number().positive().default(1),
    checkpointEvery: z.number().int().positive().default(500),
  }),
  inputs: { model: 'model', demos: 'table' },
  outputs: { model: 'model', log: 'table' },
  heavy: true,
  run: (ctx) =>
    stageTask(ctx.signal, async (report) => {
      report.backend((await initBackend()).backend);
      const p = ctx.params;
      const task = languageTask(p.task);
      const table = await ctx.inputs.demos.readTable();
      const prompts = readStrings(table, 'prompt');
      const targets = readStrings(table, p.column);
      if (p.demos > prompts.length && !p.wholePoolIfSmaller)
        throw new Error(
          `${p.demos} demos asked of a pool of ${prompts.length} rows (node ${ctx.node}); ask for fewer, or set wholePoolIfSmaller`,
        );
      const demos = Math.min(p.demos, prompts.length);
      report.metric('demos_used', demos);
      // The seed draws which N demos: the same N from one source are the same rows for every epoch
      // candidate, different rows for different seeds.
      const chosen = createRng(p.seed, 'demos', task.name).sample(prompts.length, demos);
      const data = sftTokenRows(
        LM_VOCABULARY,
        taskLayout(task),
        Array.from(chosen, (r) => ({ prompt: words(prompts[r]), completion: words(targets[r]) })),
      );
      const { bundle, log } = await trainTransformerBundle(await ctx.inputs.model.readModel(), data, {
        phase: 'elicit',
        optimizer: { kind: 'adam', learningRate: p.learningRate, clipNorm: p.clipNorm },
        batchSize: Math.min(p.batchSize, demos),
        epochs: p.epochs,
        seed: p.seed,
        lossOn: 'completion',
        checkpoint: ctx.checkpoint,
        checkpointEvery: p.checkpointEvery,
        progressEvery: 10,
        meta: { task: p.task, demos, epochs: p.epochs },
        report,
        signal: ctx.signal,
      });
      await ctx.outputs.model('model', bundle);
      await ctx.outputs.table('log', arrow.tableFromArrays({ ...log }));
    }),
});
