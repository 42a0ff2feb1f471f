/**
 * One supervised phase of a training stage (pretraining, locking, fine-tuning on demos), with what
 * every such stage needs around `trainSft`: resume from the stage's own checkpoint, the progress
 * events kept as a training log, and the throughput of the phase (tokens/s, effective GFLOP/s).
 */
import type { Json, ModelBundle } from '@lockpick/artifacts';
import { loadTransformer, saveCheckpoint } from './checkpoint.ts';
import type { TokenData } from './data.ts';
import { type LossOn, trainSft } from './lm.ts';
import type { TrainProgress, TrainSummary } from './loop.ts';
import { Optimizer, type OptimizerConfig } from './optim.ts';
import type { ParamSelection } from './params.ts';
import { type TrainingLogColumns, trainingLogColumns, trainingThroughput } from './training-log.ts';
import type { Transformer, TransformerConfig } from './transformer.ts';

/** Where a stage keeps its in-progress checkpoints (the engine's `ctx.checkpoint`). */
export interface CheckpointSlot {
  load(): Promise<ModelBundle | undefined>;
  save(bundle: ModelBundle): Promise<void>;
}

export interface SftPhaseOptions {
  /** Name of the phase in the log and in checkpoints. */
  phase: string;
  /** A fresh optimizer is built from this; its schedule spans the phase's step budget. */
  optimizer: Omit<OptimizerConfig, 'totalSteps'>;
  batchSize: number;
  epochs?: number;
  steps?: number;
  seed: number;
  lossOn?: LossOn;
  params?: ParamSelection;
  checkpoint?: CheckpointSlot;
  checkpointEvery?: number;
  progressEvery?: number;
  onProgress?: (progress: TrainProgress) => void;
  meta?: { [key: string]: Json };
  signal?: AbortSignal;
}

export interface SftPhaseResult {
  summary: TrainSummary;
  log: TrainingLogColumns;
  optimizer: Optimizer;
  /** Mean training throughput over the progress events of this run (excluding evaluation). */
  tokensPerSecond: number;
  /** 3 × forward matmul FLOPs per second (the measure of `npm run bench:ml`). */
  effectiveGflops: number;
}

/**
 * Forward matmul FLOPs per token of a transformer on rows of `time` tokens: 2·(12·L·C² + C·V)
 * for the linear layers and the head, plus 4·L·T·C for attention's two products (as bench/ml.ts).
 */
export function transformerFlopsPerToken(
  config: Pick<TransformerConfig, 'layers' | 'width' | 'vocabSize' | 'mlpRatio'>,
  time: number,
): number {
  const { layers: L, width: C, vocabSize: V, mlpRatio } = config;
  return 2 * (L * (4 + 2 * mlpRatio) * C * C + C * V) + 4 * L * time * C;
}

/** Steps of a phase: `steps`, or `epochs` (possibly fractional) passes over the rows, at least 1. */
export function sftPhaseSteps(
  rows: number,
  options: Pick<SftPhaseOptions, 'epochs' | 'steps' | 'batchSize'>,
): number {
  if (options.steps !== undefined) return options.steps;
  if (options.epochs === undefined) throw new Error('sftPhase: give epochs or steps');
  return Math.max(1, Math.round(options.epochs * Math.ceil(rows / options.batchSize)));
}

/** Trains `model` on `data` for one phase; resumes from `checkpoint` when it holds one. */
export async function sftPhase(
  model: Transformer,
  data: TokenData,
  options: SftPhaseOptions,
): Promise<SftPhaseResult> {
  const steps = sftPhaseSteps(data.rows, options);
  const optimizer = new Optimizer({ ...options.optimizer, totalSteps: steps });
  const progress: TrainProgress[] = [];
  const { checkpoint } = options;
  const summary = await trainSft(model, data, {
    optimizer,
    batchSize: options.batchSize,
    steps,
    seed: options.seed,
    lossOn: options.lossOn,
    params: options.params,
    progressEvery: options.progressEvery,
    checkpointEvery: options.checkpointEvery,
    onCheckpoint: checkpoint ? (bundle) => checkpoint.save(bundle) : undefined,
    resumeFrom: checkpoint ? await checkpoint.load() : undefined,
    meta: { ...(options.meta ?? {}), phase: options.phase },
    signal: options.signal,
    onProgress: (p) => {
      progress.push(p);
      options.onProgress?.(p);
    },
  });
  // Throughput is reported as metrics (the manifest), never written into the log's bytes.
  const { tokensPerSecond } = trainingThroughput(progress, options.progressEvery ?? 10);
  const time = data.seqLen - 1;
  const effectiveGflops = (3 * tokensPerSecond * transformerFlopsPerToken(model.config, time)) / 1e9;
  return {
    summary,
    log: trainingLogColumns(progress, options.phase, summary),
    optimizer,
    tokensPerSecond,
    effectiveGflops,
  };
}

/** Where a phase run reports (a stage passes its reporter; anything with these two methods fits). */
export interface PhaseReporter {
  progress(done: number, total: number, unit: string, label?: string): void;
  metric(name: string, value: number): void;
}

/**
 * One SFT phase from a saved transformer to a saved transformer: load `base`, run `sftPhase`,
 * report progress and the phase's figures (steps, final loss, tokens/s, effective GFLOP/s), and
 * return the trained bundle (with `meta`) and the log. The body every SFT-like stage shares.
 */
export async function trainTransformerBundle(
  base: ModelBundle,
  data: TokenData,
  options: Omit<SftPhaseOptions, 'onProgress'> & { report: PhaseReporter },
): Promise<{ bundle: ModelBundle; log: TrainingLogColumns; steps: number }> {
  const { report, ...phase } = options;
  const model = loadTransformer(base);
  try {
    const result = await sftPhase(model, data, {
      ...phase,
      onProgress: (e) => report.progress(e.step, e.totalSteps, 'steps', `loss ${e.meanLoss.toFixed(3)}`),
    });
    options.signal?.throwIfAborted();
    report.metric('steps', result.summary.steps);
    report.metric('final_loss', result.summary.finalLoss);
    report.metric('tokens_per_second', result.tokensPerSecond);
    report.metric('effective_gflops', result.effectiveGflops);
    const bundle = saveCheckpoint(model, {
      meta: { ...(options.meta ?? {}), phase: options.phase, steps: result.summary.steps },
    });
    return { bundle, log: result.log, steps: result.summary.steps };
  } finally {
    model.dispose();
  }
}
