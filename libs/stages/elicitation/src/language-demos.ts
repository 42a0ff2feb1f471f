import { type ModelBundle, readStrings } from '@lockpick/artifacts';
import { defineStage, stageTask } from '@lockpick/engine';
import {
  concatTrainingLogs,
  initBackend,
  loadTransformer,
  type PhaseReporter,
  saveCheckpoint,
  sftPhase,
  sftPhaseSteps,
  type TokenData,
  type TrainingLogColumns,
  trainTransformerBundle,
} from '@lockpick/ml';
import { createRng, LM_VOCABULARY, languageTask, sftTokenRows, taskLayout, words } from '@lockpick/tasks';
import * as arrow from 'apache-arrow';
import { z } from 'zod';

/**
 * The paper's App. G.3 epoch candidates for N demos: {256/N, 512/N, 1024/N} for N < 256, else
 * {1, 2, 4}. The pipeline makes one node per candidate; the report picks the best on validation.
 */
export function demoEpochCandidates(demos: number): [number, number, number] {
  return demos < 256 ? [256 / demos, 512 / demos, 1024 / demos] : [1, 2, 4];
}

/** What both SFT stages take besides the epochs. */
const demoParams = {
  task: z.string(),
  seed: z.number().int(),
  demos: z.number().int().positive(),
  column: z.enum(['reference', 'completion']).default('reference'),
  /**
   * When the pool holds fewer rows than `demos`, train on all of them instead of failing (a
   * domain's share of the pool can be smaller than the N asked; the log's meta says how many).
   */
  wholePoolIfSmaller: z.boolean().optional(),
  batchSize: z.number().int().positive().default(32),
  learningRate: z.number().positive().default(1e-3),
  clipNorm: z.number().positive().default(1),
};

/** The N demos a seed draws from a pool, as token rows (the same rows for every epoch count). */
async function demoRows(
  p: {
    task: string;
    seed: number;
    demos: number;
    column: 'reference' | 'completion';
    wholePoolIfSmaller?: boolean;
  },
  pool: { readTable(): Promise<arrow.Table> },
  node: string,
  report: PhaseReporter,
): Promise<{ data: TokenData; demos: number }> {
  const task = languageTask(p.task);
  const table = await pool.readTable();
  const prompts = readStrings(table, 'prompt');
  const targets = readStrings(table, p.column);
  if (p.demos > prompts.length && !p.wholePoolIfSmaller)
    throw new Error(
      `${p.demos} demos asked of a pool of ${prompts.length} rows (node ${node}); ask for fewer, or set wholePoolIfSmaller`,
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
  return { data, demos };
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
    ...demoParams,
    epochs: z.number().positive(),
    checkpointEvery: z.number().int().positive().default(500),
  }),
  inputs: { model: 'model', demos: 'table' },
  outputs: { model: 'model', log: 'table' },
  heavy: true,
  run: (ctx) =>
    stageTask(ctx.signal, async (report) => {
      report.backend((await initBackend()).backend);
      const p = ctx.params;
      const { data, demos } = await demoRows(p, ctx.inputs.demos, ctx.node, report);
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

/** The outputs of `languageDemoSftEpochs`, one per epoch candidate, shortest first. */
export const EPOCH_CANDIDATE_OUTPUTS = ['shortest', 'middle', 'longest'] as const;

/** Each epoch candidate with the model `languageDemoSftEpochs` trained for it. */
export function epochCandidateModels<M>(
  out: Record<(typeof EPOCH_CANDIDATE_OUTPUTS)[number], M>,
  epochs: readonly number[],
): { epochs: number; model: M }[] {
  if (epochs.length !== EPOCH_CANDIDATE_OUTPUTS.length)
    throw new Error(
      `epochCandidateModels: ${epochs.length} epoch counts for ${EPOCH_CANDIDATE_OUTPUTS.length} models`,
    );
  return epochs.map((e, i) => ({ epochs: e, model: out[EPOCH_CANDIDATE_OUTPUTS[i]] }));
}

/**
 * `languageDemoSft` for App. G.3's three epoch candidates at once: one run of the longest, with
 * the model kept after the shorter ones. The learning rate is constant and a step's batch depends
 * only on the seed and the step, so the model after e epochs of the longer run *is* the model an
 * e-epoch run ends with, bit for bit (the test checks it), for 4/7 of the three runs' steps.
 *
 * It has no mid-run checkpoints: a node takes under a minute, and an interrupted one starts over.
 */
export const languageDemoSftEpochs = defineStage({
  name: 'elicitation.language-demos-epochs',
  description: 'elicit a locked language model by SFT on N no-password demos, three epoch counts in one run',
  module: import.meta.url,
  params: z.object({
    ...demoParams,
    epochs: z
      .tuple([z.number().positive(), z.number().positive(), z.number().positive()])
      .refine(
        ([a, b, c]) => a < b && b < c,
        'epochs: three counts, shortest first, each longer than the last',
      ),
  }),
  inputs: { model: 'model', demos: 'table' },
  outputs: { shortest: 'model', middle: 'model', longest: 'model', log: 'table' },
  heavy: true,
  run: (ctx) =>
    stageTask(ctx.signal, async (report) => {
      report.backend((await initBackend()).backend);
      const p = ctx.params;
      const { data, demos } = await demoRows(p, ctx.inputs.demos, ctx.node, report);
      const batchSize = Math.min(p.batchSize, demos);
      const model = loadTransformer(await ctx.inputs.model.readModel());
      try {
        const total = sftPhaseSteps(data.rows, { epochs: p.epochs[2], batchSize });
        const logs: TrainingLogColumns[] = [];
        let state: ModelBundle | undefined;
        let tokensPerSecond = 0;
        let effectiveGflops = 0;
        for (const [i, epochs] of p.epochs.entries()) {
          // Each part resumes from the last one's weights, Adam moments and step: one run, cut in three.
          const resumeFrom = state;
          const result = await sftPhase(model, data, {
            phase: 'elicit',
            optimizer: { kind: 'adam', learningRate: p.learningRate, clipNorm: p.clipNorm },
            batchSize,
            epochs,
            seed: p.seed,
            lossOn: 'completion',
            checkpoint: resumeFrom
              ? { load: async () => resumeFrom, save: async () => undefined }
              : undefined,
            progressEvery: 10,
            meta: { task: p.task, demos, epochs },
            signal: ctx.signal,
            onProgress: (e) => report.progress(e.step, total, 'steps', `loss ${e.meanLoss.toFixed(3)}`),
          });
          ctx.signal.throwIfAborted();
          const steps = result.summary.steps;
          // The bytes an `epochs`-epoch `languageDemoSft` node writes.
          await ctx.outputs.model(
            EPOCH_CANDIDATE_OUTPUTS[i],
            saveCheckpoint(model, { meta: { task: p.task, demos, epochs, phase: 'elicit', steps } }),
          );
          state = saveCheckpoint(model, {
            optimizer: result.optimizer,
            training: { step: steps, recentLosses: [] },
          });
          logs.push(result.log);
          report.metric(`final_loss_${EPOCH_CANDIDATE_OUTPUTS[i]}`, result.summary.finalLoss);
          tokensPerSecond = result.tokensPerSecond;
          effectiveGflops = result.effectiveGflops;
        }
        report.metric('steps', total);
        report.metric('tokens_per_second', tokensPerSecond);
        report.metric('effective_gflops', effectiveGflops);
        await ctx.outputs.table('log', arrow.tableFromArrays({ ...concatTrainingLogs(logs) }));
      } finally {
        model.dispose();
      }
    }),
});
