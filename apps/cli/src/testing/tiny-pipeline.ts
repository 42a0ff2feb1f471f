// A pipeline of the engine's fixture stages with a smoke scale, for the tests of run records: runs
// with other scales or seeds must keep records of their own, and `results` serve the one asked for.
import { definePipeline } from '../../../../libs/engine/src/pipeline.ts';
import { gather, numbers, sum } from '../../../../libs/engine/src/testing/fixture-stages.ts';

export default definePipeline({
  name: 'tiny',
  description: 'per seed the sum of 0..n-1, gathered in one table',
  defaultSeeds: [1, 2],
  scales: ['default', 'smoke'],
  build: (p, { seeds, scale }) => {
    const sums = seeds.map((seed) => {
      const n = p.node(`numbers-${seed}`, numbers, {
        params: { n: (scale === 'smoke' ? 2 : 10) + seed },
        inputs: {},
      });
      return p.node(`sum-${seed}`, sum, { inputs: { table: n.out.table } }).out.table;
    });
    p.results(p.node('report', gather, { inputs: { parts: sums } }).out.table);
  },
});
