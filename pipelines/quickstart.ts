import { definePipeline } from '@lockpick/engine';
import { compositionData } from '@lockpick/stage-datagen';
import { compositionPolicyScore } from '@lockpick/stage-evaluation';
import { aggregateRuns } from '@lockpick/stage-report';

/**
 * The default job: generates the function-composition task for each seed and scores the two
 * reference policies with and without the password block. It is what every locked model is later
 * compared with: π_strong is the ceiling (1.0), π_weak the floor (≈0.2 on the paper's metric).
 */
export default definePipeline({
  name: 'quickstart',
  description: 'function-composition data and the strong/weak reference policies (seconds)',
  defaultSeeds: [1, 2, 3],
  scales: ['default', 'smoke'],
  build: (p, { seeds, scale }) => {
    const rows = scale === 'smoke' ? 256 : 4096;
    const data = p.sweep('data', compositionData, { seed: seeds }, ({ seed }) => ({
      params: { seed, lockingRows: rows, pretrainRows: rows, demoRows: 256, evalRows: rows },
      inputs: {},
    }));
    const evalOf = new Map(data.map((d) => [d.point.seed, d.out.eval]));
    const scores = p.sweep(
      'policy',
      compositionPolicyScore,
      { seed: seeds, policy: ['strong', 'weak'], withPassword: [false, true] },
      (pt) => ({ params: pt, inputs: { eval: evalOf.get(pt.seed)! } }),
    );
    const report = p.node('report', aggregateRuns, {
      params: { groupBy: ['policy', 'with_password'], metrics: ['token_accuracy', 'exact_match'] },
      inputs: { rows: scores.map((s) => s.out.scores) },
    });
    p.results(report.out.summary);
  },
});
