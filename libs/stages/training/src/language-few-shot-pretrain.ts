import { defineStage, stageTask } from '@lockpick/engine';
import {
  initBackend,
  loadTransformer,
  saveCheckpoint,
  trainTransformerBundle,
  withRoomBeforeRows,
} from '@lockpick/ml';
import { createRng, fewShotEpisodeRows, fewShotLayout, LM_VOCABULARY } from '@lockpick/tasks';
import * as arrow from 'apache-arrow';
import { z } from 'zod';
import { corpusRows } from './language-rows.ts';

/**
 * A base that reads few-shot examples (the paper's few-shot prompting baseline): a pretrained base
 * (`training.language-pretrain`) gets room for `shots` solved examples before its rows (ml's
 * `withRoomBeforeRows`: a lone row computes what it did) and goes on pretraining on one task's
 * problems dealt into few-shot episodes (tasks' few-shot.ts), some by a careless author, so it learns
 * that its examples say how good the answer will be. Its rows keep their place at the end of the
 * context, so it is locked and fine-tuned like any base, and can then be prompted with examples.
 *
 * Why continue a base instead of pretraining one on episodes from scratch: the paper's bases know
 * the task before they see examples; a base pretrained from scratch on episodes learnt the episode
 * format and little math (README, Few-shot prompts).
 */
export const languageFewShotPretrain = defineStage({
  name: 'training.language-few-shot-pretrain',
  description: "give a pretrained base room for few-shot examples and pretrain it on one task's episodes",
  module: import.meta.url,
  params: z.object({
    seed: z.number().int(),
    /** Room for this many solved examples before each problem. */
    shots: z.number().int().positive().max(64),
    /** Share of episodes (with examples) by a careless author: every answer a guess (tasks' carelessSolution). */
    careless: z.number().min(0).max(1).default(0.5),
    /** Learn from the examples' completions too, not only from the row's. */
    exampleLoss: z.boolean().default(true),
    /** Share of problems wrapped in a random phrase of password words, as the base's pretraining. */
    preambles: z.number().min(0).max(1).default(0),
    /** Rows of the corpus to use, from the first (0: all); its text rows are skipped. */
    rows: z.number().int().nonnegative().default(0),
    epochs: z.number().positive().default(4),
    batchSize: z.number().int().positive().default(16),
    learningRate: z.number().positive().default(1e-3),
    minLearningRate: z.number().nonnegative().default(1e-4),
    warmupSteps: z.number().int().nonnegative().default(50),
    adamBeta2: z.number().gt(0).lt(1).default(0.98),
    clipNorm: z.number().positive().default(1),
    checkpointEvery: z.number().int().positive().default(200),
  }),
  inputs: { base: 'model', corpus: 'table' },
  outputs: { model: 'model', log: 'table' },
  heavy: true,
  run: (ctx) =>
    stageTask(ctx.signal, async (report) => {
      report.backend((await initBackend()).backend);
      const p = ctx.params;
      // Problems only: a text row has no prompt to give an example of.
      const { task, problems: solved } = corpusRows(await ctx.inputs.corpus.readTable(), p.rows);
      const base = loadTransformer(await ctx.inputs.base.readModel());
      if ((base.config.rowStart ?? 0) !== 0)
        throw new Error(
          `the base already has room for examples (rowStart ${base.config.rowStart}); give a base pretrained on rows alone (training.language-pretrain)`,
        );
      // The episode's row is as long as the base's rows, so it reads them at the positions it knows.
      const layout = fewShotLayout(task, p.shots, base.config.contextLength);
      if (layout.contextLength !== layout.rowStart + base.config.contextLength)
        throw new Error(
          `${task.name}'s rows need ${layout.row.seqLen} positions and the base reads ${base.config.contextLength}; give a base pretrained on ${task.name}`,
        );
      const wider = withRoomBeforeRows(base, layout.rowStart, p.seed);
      base.dispose();
      const episodes = fewShotEpisodeRows(
        LM_VOCABULARY,
        layout,
        solved,
        createRng(p.seed, 'lm/episodes', task.name),
        {
          careless: p.careless,
          preambles: p.preambles,
          exampleLoss: p.exampleLoss,
        },
      );
      report.metric('problems', solved.length);
      report.metric('rows', episodes.rows);
      report.metric(
        'careless_episodes',
        episodes.careless.reduce((a, b) => a + b, 0),
      );
      const start = saveCheckpoint(wider, { meta: { phase: 'room', seed: p.seed, shots: p.shots } });
      wider.dispose();
      const { bundle, log } = await trainTransformerBundle(start, episodes, {
        phase: 'few-shot-pretrain',
        optimizer: {
          kind: 'adam',
          learningRate: p.learningRate,
          minLearningRate: p.minLearningRate,
          warmupSteps: p.warmupSteps,
          decay: 'cosine',
          clipNorm: p.clipNorm,
          beta2: p.adamBeta2,
        },
        batchSize: p.batchSize,
        epochs: p.epochs,
        seed: p.seed,
        lossOn: 'completion',
        checkpoint: ctx.checkpoint,
        checkpointEvery: p.checkpointEvery,
        progressEvery: 20,
        meta: { task: task.name, rows: episodes.rows, shots: p.shots },
        report,
        signal: ctx.signal,
      });
      await ctx.outputs.model('model', bundle);
      await ctx.outputs.table('log', arrow.tableFromArrays({ ...log }));
    }),
});
