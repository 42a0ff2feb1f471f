/**
 * The training loop every trainer shares: for each step, build the loss terms, take one optimizer
 * step, report progress, checkpoint every K steps, stop at a step budget or when the recent mean
 * loss is low enough. It can resume from a checkpoint bundle exactly where that bundle was taken.
 */
import type { Json, ModelBundle } from '@lockpick/artifacts';
import { checkpointTraining, loadWeights, type Model, saveCheckpoint } from './checkpoint.ts';
import type { Optimizer } from './optim.ts';
import { type LossTerm, trainStep } from './train.ts';

export interface TrainProgress {
  /** Steps done so far (1 after the first step). */
  step: number;
  totalSteps: number;
  /** Loss of this step (sum over terms). */
  loss: number;
  /** Each term's loss this step. */
  losses: number[];
  /** Mean of `loss` since the previous progress event. */
  meanLoss: number;
  learningRate: number;
  gradNorm: number;
  /** Throughput since the previous progress event. */
  stepsPerSecond: number;
  tokensPerSecond: number;
  elapsedSeconds: number;
}

export interface TrainSummary {
  /** Steps done in total (including those before a resume). */
  steps: number;
  /** Why the loop ended. */
  stoppedBy: 'steps' | 'threshold' | 'aborted';
  /** Mean loss (sum over terms) over the last min(steps, 100) steps. */
  finalLoss: number;
  /** Each term's mean loss over the same steps (what a per-term threshold is compared with). */
  finalTermLosses: number[];
  elapsedSeconds: number;
}

/** Stop when the mean loss over the last `window` steps is below `below` (for `term`, or every term). */
export interface StopCriterion {
  window: number;
  below: number;
  term?: number;
}

export interface LoopOptions {
  model: Model;
  optimizer: Optimizer;
  /** The loss terms of step `step` (0-based); derive any randomness from (seed, step). */
  terms: (step: number) => LossTerm[];
  /** Step budget (a maximum, counted from the very first step, across resumes). */
  steps: number;
  stopWhen?: StopCriterion;
  /** Tokens processed per step, for the tokens/s figure. */
  tokensPerStep?: number;
  onProgress?: (progress: TrainProgress) => void;
  /** Progress events every this many steps (default 10), and always after the last step. */
  progressEvery?: number;
  /** Call `onCheckpoint` every this many steps (and not at the end: the caller saves the result). */
  checkpointEvery?: number;
  onCheckpoint?: (bundle: ModelBundle, step: number) => void | Promise<void>;
  /** A bundle from `onCheckpoint`: restores weights, optimizer state, step and loss history. */
  resumeFrom?: ModelBundle;
  /** Extra JSON stored with each checkpoint (e.g. the phase name). */
  meta?: { [key: string]: Json };
  signal?: AbortSignal;
}

const HISTORY = 100;

/** Let the event loop run (messages, cancellation) between steps. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export async function trainLoop(options: LoopOptions): Promise<TrainSummary> {
  const { model, optimizer, steps, stopWhen, signal } = options;
  const progressEvery = options.progressEvery ?? 10;
  const keep = Math.max(HISTORY, stopWhen?.window ?? 0);

  // Recent per-term losses (for the stop criterion, the summary, and exact resumes).
  let history: number[][] = [];
  let step = 0;
  if (options.resumeFrom) {
    loadWeights(model, options.resumeFrom);
    const training = checkpointTraining(options.resumeFrom);
    optimizer.loadState(options.resumeFrom);
    step = training.step;
    history = training.recentLosses;
  }

  const started = performance.now();
  let lastReport = started;
  let lossSinceReport = 0;
  let stepsSinceReport = 0;
  let stoppedBy: TrainSummary['stoppedBy'] = 'steps';

  const thresholdReached = () => {
    if (!stopWhen || history.length < stopWhen.window) return false;
    const window = history.slice(-stopWhen.window);
    const terms = stopWhen.term === undefined ? window[0].map((_, i) => i) : [stopWhen.term];
    return terms.every((t) => window.reduce((a, l) => a + l[t], 0) / window.length < stopWhen.below);
  };

  while (step < steps) {
    if (signal?.aborted) {
      stoppedBy = 'aborted';
      break;
    }
    const result = trainStep(optimizer, options.terms(step));
    step++;
    history.push(result.losses);
    if (history.length > keep) history.shift();
    const loss = result.losses.reduce((a, b) => a + b, 0);
    lossSinceReport += loss;
    stepsSinceReport++;

    const done = step >= steps || thresholdReached();
    if (options.onProgress && (step % progressEvery === 0 || done)) {
      const now = performance.now();
      const seconds = Math.max(1e-9, (now - lastReport) / 1000);
      options.onProgress({
        step,
        totalSteps: steps,
        loss,
        losses: result.losses,
        meanLoss: lossSinceReport / stepsSinceReport,
        learningRate: result.learningRate,
        gradNorm: result.gradNorm,
        stepsPerSecond: stepsSinceReport / seconds,
        tokensPerSecond: ((options.tokensPerStep ?? 0) * stepsSinceReport) / seconds,
        elapsedSeconds: (now - started) / 1000,
      });
      lastReport = now;
      lossSinceReport = 0;
      stepsSinceReport = 0;
    }
    if (done && step < steps) {
      stoppedBy = 'threshold';
      break;
    }
    if (
      options.onCheckpoint &&
      options.checkpointEvery &&
      step % options.checkpointEvery === 0 &&
      step < steps
    ) {
      const bundle = saveCheckpoint(model, {
        optimizer,
        training: { step, recentLosses: history },
        meta: options.meta,
      });
      await options.onCheckpoint(bundle, step);
    }
    await yieldToEventLoop();
  }
  // Each term's mean over the last min(steps, 100) steps; the summary's loss is their sum.
  const recent = history.slice(-HISTORY);
  const termMeans = Array.from(
    { length: recent[0]?.length ?? 0 },
    (_, t) => recent.reduce((a, l) => a + l[t], 0) / recent.length,
  );
  return {
    steps: step,
    stoppedBy,
    finalLoss: termMeans.reduce((a, b) => a + b, 0),
    finalTermLosses: termMeans,
    elapsedSeconds: (performance.now() - started) / 1000,
  };
}
