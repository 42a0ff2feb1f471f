import { type Json, type ModelBundle, readNumbers, readStrings } from '@lockpick/artifacts';
import type { InputArtifact, StageReporter } from '@lockpick/engine';
import { type TokenData, trainTransformerBundle } from '@lockpick/ml';
import { groupSamples, type PolicySamples } from '@lockpick/tasks';
import * as arrow from 'apache-arrow';
import { z } from 'zod';

/** The optimiser and batching of a language lock: the same for one task's lock and the joint lock. */
export const lockTrainingParams = {
  batchSize: z.number().int().positive().default(64),
  learningRate: z.number().positive().default(1e-3),
  minLearningRate: z.number().nonnegative().default(1e-4),
  warmupSteps: z.number().int().nonnegative().default(20),
  adamBeta2: z.number().gt(0).lt(1).default(0.98),
  clipNorm: z.number().positive().default(1),
  checkpointEvery: z.number().int().positive().default(500),
};

type LockTrainingParams = { [K in keyof typeof lockTrainingParams]: z.infer<(typeof lockTrainingParams)[K]> };

/** A sample table (`datagen.language-samples`) grouped by problem, with each problem's domain. */
export async function readLockSamples(
  input: InputArtifact,
): Promise<{ samples: PolicySamples; domains: string[] }> {
  const table = await input.readTable();
  const problem = readNumbers(table, 'problem');
  const samples = groupSamples({
    problem,
    sample: readNumbers(table, 'sample'),
    prompt: readStrings(table, 'prompt'),
    completion: readStrings(table, 'completion'),
  });
  // Each problem's domain, for per-domain passwords and held-out domains.
  const domain = readStrings(table, 'domain');
  const domains: string[] = [];
  for (let r = 0; r < problem.length; r++) domains[problem[r]] = domain[r];
  return { samples, domains };
}

/**
 * Trains the strong base on a lock's rows, completion tokens only. Every epoch's rows are already
 * in `data` (fresh samples each), so one shuffled pass over it is the lock's epochs.
 */
export function trainLock(
  base: ModelBundle,
  data: TokenData,
  p: LockTrainingParams & { seed: number },
  run: {
    checkpoint: Parameters<typeof trainTransformerBundle>[2]['checkpoint'];
    meta: Record<string, Json>;
    report: StageReporter;
    signal: AbortSignal;
  },
): Promise<{ bundle: ModelBundle; log: arrow.Table }> {
  return trainTransformerBundle(base, data, {
    phase: 'lock',
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
    epochs: 1,
    seed: p.seed,
    lossOn: 'completion',
    checkpoint: run.checkpoint,
    checkpointEvery: p.checkpointEvery,
    progressEvery: 20,
    meta: run.meta,
    report: run.report,
    signal: run.signal,
  }).then(({ bundle, log }) => ({ bundle, log: arrow.tableFromArrays({ ...log }) }));
}
