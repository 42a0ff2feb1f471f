import type { ModelBundle } from '@lockpick/artifacts';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TokenData } from './data.ts';
import { Random } from './random.ts';
import { sftPhase, sftPhaseSteps, transformerFlopsPerToken } from './sft-phase.ts';
import { useWasm } from './test-utils.ts';
import { Transformer } from './transformer.ts';

beforeAll(useWasm);

const config = { vocabSize: 12, contextLength: 8, layers: 1, width: 16, heads: 2, mlpRatio: 4, bias: false };

function data(rows: number): TokenData {
  const rng = new Random(5);
  const tokens = Int32Array.from({ length: rows * 8 }, () => rng.int(12));
  return { tokens, rows, seqLen: 8 };
}

describe('sftPhase', () => {
  it('counts steps from epochs (fractional, at least one) or takes them as given', () => {
    expect(sftPhaseSteps(100, { epochs: 2, batchSize: 32 })).toBe(8);
    expect(sftPhaseSteps(100, { epochs: 0.5, batchSize: 32 })).toBe(2);
    expect(sftPhaseSteps(3, { epochs: 0.01, batchSize: 32 })).toBe(1);
    expect(sftPhaseSteps(100, { steps: 7, batchSize: 32 })).toBe(7);
  });

  it('counts forward FLOPs as bench/ml.ts does', () => {
    // 2·(12·L·C² + C·V) + 4·L·T·C for the bench's 2×128 model, vocab 64, 32 positions
    expect(transformerFlopsPerToken({ layers: 2, width: 128, vocabSize: 64, mlpRatio: 4 }, 32)).toBe(
      2 * (2 * 12 * 128 * 128 + 128 * 64) + 4 * 2 * 32 * 128,
    );
  });

  it('trains, logs every progress event, reports throughput, and resumes from its checkpoint', async () => {
    const saved: ModelBundle[] = [];
    const slot = { load: async () => undefined, save: async (b: ModelBundle) => void saved.push(b) };
    const options = {
      phase: 'test',
      optimizer: { kind: 'adam' as const, learningRate: 1e-2 },
      batchSize: 8,
      steps: 12,
      seed: 1,
      progressEvery: 4,
      checkpointEvery: 6,
    };
    const full = new Transformer(config, 3);
    const result = await sftPhase(full, data(32), { ...options, checkpoint: slot });
    expect(result.summary.steps).toBe(12);
    expect(Array.from(result.log.step)).toEqual([4, 8, 12]);
    expect(result.log.phase).toEqual(['test', 'test', 'test']);
    expect(result.tokensPerSecond).toBeGreaterThan(0);
    expect(result.effectiveGflops).toBeGreaterThan(0);
    expect(saved).toHaveLength(1);

    const resumed = new Transformer(config, 3);
    const rest = await sftPhase(resumed, data(32), {
      ...options,
      checkpoint: { load: async () => saved[0], save: async () => {} },
    });
    expect(rest.summary.steps).toBe(12);
    expect(Array.from(rest.log.step)).toEqual([8, 12]);
    expect(resumed.params.get('wte').dataSync()).toEqual(full.params.get('wte').dataSync());
    full.dispose();
    resumed.dispose();
  });
});
