import { meanInterval } from './statistics.ts';

/** A scored elicited model: its N, epochs, seed, validation half and correctness. */
export interface ElicitedScore {
  demos: number;
  epochs: number;
  seed: number;
  half: string;
  correct: number;
}

/**
 * An SFT curve read as the paper's App. G.3 says: per N, the epoch candidate with the best mean
 * over seeds on the `select` half of validation, and that candidate's per-seed correctness on the
 * `report` half (so picking the epochs does not flatter the result).
 */
export function curveOfBestEpochs(
  elicited: readonly ElicitedScore[],
): Map<number, { epochs: number; bySeed: Map<number, number> }> {
  const out = new Map<number, { epochs: number; bySeed: Map<number, number> }>();
  for (const demos of [...new Set(elicited.map((r) => r.demos))].sort((a, b) => a - b)) {
    let best = Number.NaN;
    let bestValue = Number.NEGATIVE_INFINITY;
    for (const epochs of new Set(elicited.filter((r) => r.demos === demos).map((r) => r.epochs))) {
      const v = meanInterval(
        elicited
          .filter((r) => r.demos === demos && r.epochs === epochs && r.half === 'select')
          .map((r) => r.correct),
      ).mean;
      if (v > bestValue) [best, bestValue] = [epochs, v];
    }
    const chosen = elicited.filter((r) => r.demos === demos && r.epochs === best && r.half === 'report');
    out.set(demos, { epochs: best, bySeed: new Map(chosen.map((r) => [r.seed, r.correct])) });
  }
  return out;
}
