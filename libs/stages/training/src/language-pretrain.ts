import { defineStage, stageTask } from '@lockpick/engine';
import { initBackend, saveCheckpoint, Transformer, trainTransformerBundle } from '@lockpick/ml';
import { concatTokenRows, contextLengthFor, LANGUAGE_TASKS, LM_VOCABULARY } from '@lockpick/tasks';
import * as arrow from 'apache-arrow';
import { z } from 'zod';
import { corpusTokenRows } from './language-rows.ts';

/**
 * Pretraining of a base language model from random initialisation on the corpora of several tasks
 * at once (the P-lm world's stand-in for the paper's given base models). The same stage makes the
 * strong base and the weak bases of three strengths: they differ in size and budget only. Every
 * base reads every registered task's rows (one vocabulary, one context length), so any base can be
 * fine-tuned on any task.
 * (`training.language-few-shot-pretrain` gives one room for few-shot examples.)
 */
export const languagePretrain = defineStage({
  name: 'training.language-pretrain',
  description: 'pretrain a base language model from scratch on the corpora of several tasks',
  module: import.meta.url,
  params: z.object({
    seed: z.number().int(),
    layers: z.number().int().positive().default(2),
    width: z.number().int().positive().default(64),
    heads: z.number().int().positive().default(8),
    mlpRatio: z.number().int().positive().default(4),
    /**
     * Share of corpus problems wrapped in a random phrase of password words (start and end of the
     * prompt): the paper's bases read a password as harmless text; ours learn to from these.
     */
    preambles: z.number().min(0).max(1).default(0),
    /** Rows of each corpus to use, from the first (0: all). */
    rowsPerTask: z.number().int().nonnegative().default(0),
    epochs: z.number().positive().default(2),
    batchSize: z.number().int().positive().default(128),
    learningRate: z.number().positive().default(3e-3),
    minLearningRate: z.number().nonnegative().default(1e-4),
    warmupSteps: z.number().int().nonnegative().default(100),
    adamBeta2: z.number().gt(0).lt(1).default(0.98),
    clipNorm: z.number().positive().default(1),
    checkpointEvery: z.number().int().positive().default(500),
  }),
  inputs: { corpora: 'table[]' },
  outputs: { model: 'model', log: 'table' },
  heavy: true,
  run: (ctx) =>
    stageTask(ctx.signal, async (report) => {
      report.backend((await initBackend()).backend);
      const p = ctx.params;
      const seqLen = contextLengthFor(LANGUAGE_TASKS);
      const parts = [];
      for (const corpus of ctx.inputs.corpora)
        parts.push(
          corpusTokenRows(await corpus.readTable(), seqLen, p.rowsPerTask, {
            preambles: p.preambles,
            seed: p.seed,
          }),
        );
      const data = concatTokenRows(parts);
      report.metric('rows', data.rows);
      const init = new Transformer(
        {
          vocabSize: LM_VOCABULARY.size,
          contextLength: seqLen,
          layers: p.layers,
          width: p.width,
          heads: p.heads,
          mlpRatio: p.mlpRatio,
          bias: false,
        },
        p.seed,
      );
      report.metric('parameters', init.params.count());
      const base = saveCheckpoint(init, { meta: { phase: 'init', seed: p.seed } });
      init.dispose();
      const { bundle, log } = await trainTransformerBundle(base, data, {
        phase: 'pretrain',
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
        meta: { rows: data.rows },
        report,
        signal: ctx.signal,
      });
      await ctx.outputs.model('model', bundle);
      await ctx.outputs.table('log', arrow.tableFromArrays({ ...log }));
    }),
});
