import type { TrainProgress, TrainSummary } from './loop.ts';

/**
 * One row per progress event of a training phase, with how the phase ended on every row. Nothing
 * measured by the clock goes in: the log is an artifact, named by the hash of its bytes, and the
 * same training must give the same bytes (wall-clock throughput goes to the node's manifest as
 * metrics instead; see `trainingThroughput`).
 */
export interface TrainingLogColumns {
  phase: string[];
  step: Int32Array;
  loss: Float64Array;
  mean_loss: Float64Array;
  grad_norm: Float64Array;
  learning_rate: Float64Array;
  /** 'threshold' (met its stopping rule), 'steps' (hit the step budget) or 'aborted'. */
  stopped_by: string[];
  /** The stopping threshold on the mean loss of the last 100 steps (NaN when none). */
  threshold: Float64Array;
  /** Mean loss over the phase's last steps (the sum of its terms). */
  final_loss: Float64Array;
  /** The largest term's mean loss over the same steps: what a per-term threshold is compared with. */
  final_largest_term_loss: Float64Array;
}

/**
 * A training phase's progress events as columns, ready for a table artifact: the loss curve a
 * person plots, and the record of how many steps the phase used and whether it met its threshold.
 */
export function trainingLogColumns(
  log: readonly TrainProgress[],
  phase: string,
  summary: TrainSummary,
  threshold = Number.NaN,
): TrainingLogColumns {
  return {
    phase: log.map(() => phase),
    step: Int32Array.from(log, (p) => p.step),
    loss: Float64Array.from(log, (p) => p.loss),
    mean_loss: Float64Array.from(log, (p) => p.meanLoss),
    grad_norm: Float64Array.from(log, (p) => p.gradNorm),
    learning_rate: Float64Array.from(log, (p) => p.learningRate),
    stopped_by: log.map(() => summary.stoppedBy),
    threshold: Float64Array.from(log, () => threshold),
    final_loss: Float64Array.from(log, () => summary.finalLoss),
    final_largest_term_loss: Float64Array.from(log, () =>
      summary.finalTermLosses.length > 0 ? Math.max(...summary.finalTermLosses) : summary.finalLoss,
    ),
  };
}

/** Concatenates the logs of consecutive phases (a stage that trains a classifier, then the model). */
export function concatTrainingLogs(parts: readonly TrainingLogColumns[]): TrainingLogColumns {
  const cat = <T extends Int32Array | Float64Array>(
    make: new (n: number) => T,
    pick: (p: TrainingLogColumns) => T,
  ): T => {
    const out = new make(parts.reduce((n, p) => n + pick(p).length, 0));
    let offset = 0;
    for (const p of parts) {
      out.set(pick(p), offset);
      offset += pick(p).length;
    }
    return out;
  };
  return {
    phase: parts.flatMap((p) => p.phase),
    step: cat(Int32Array, (p) => p.step),
    loss: cat(Float64Array, (p) => p.loss),
    mean_loss: cat(Float64Array, (p) => p.mean_loss),
    grad_norm: cat(Float64Array, (p) => p.grad_norm),
    learning_rate: cat(Float64Array, (p) => p.learning_rate),
    stopped_by: parts.flatMap((p) => p.stopped_by),
    threshold: cat(Float64Array, (p) => p.threshold),
    final_loss: cat(Float64Array, (p) => p.final_loss),
    final_largest_term_loss: cat(Float64Array, (p) => p.final_largest_term_loss),
  };
}

/**
 * Mean training throughput over a phase's progress events (each covers the steps since the one
 * before): for the node's manifest metrics and for progress display, never for artifact bytes.
 */
export function trainingThroughput(
  log: readonly TrainProgress[],
  progressEvery = 10,
): { stepsPerSecond: number; tokensPerSecond: number } {
  let steps = 0;
  let tokens = 0;
  let seconds = 0;
  let previousStep = log.length > 0 ? log[0].step - Math.min(log[0].step, progressEvery) : 0;
  for (const p of log) {
    const dt = p.stepsPerSecond > 0 ? (p.step - previousStep) / p.stepsPerSecond : 0;
    seconds += dt;
    steps += p.step - previousStep;
    tokens += p.tokensPerSecond * dt;
    previousStep = p.step;
  }
  return seconds > 0
    ? { stepsPerSecond: steps / seconds, tokensPerSecond: tokens / seconds }
    : { stepsPerSecond: 0, tokensPerSecond: 0 };
}
