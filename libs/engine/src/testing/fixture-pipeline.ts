import { definePipeline } from '../pipeline.ts';
import { join, numbers, sum } from './fixture-stages.ts';

/** numbers[seed] → sum[seed] per seed, then pairwise joins; delays make runs slow enough to interrupt. */
export const fixturePipeline = definePipeline({
  name: 'fixture',
  description: 'engine test pipeline',
  defaultSeeds: [1, 2, 3, 4],
  scales: ['default', 'slow'],
  build: (p, { seeds, scale }) => {
    const delayMs = scale === 'slow' ? 400 : 0;
    const sums = seeds.map((seed) => {
      const n = p.node(`numbers-${seed}`, numbers, { params: { n: 10 + seed, delayMs }, inputs: {} });
      return p.node(`sum-${seed}`, sum, { params: { delayMs }, inputs: { table: n.out.table } });
    });
    let last = sums[0];
    for (let i = 1; i < sums.length; i++)
      last = p.node(`join-${i}`, join, {
        inputs: { left: last.out.table, right: sums[i].out.table },
      }) as unknown as typeof last;
    p.results(last.out.table);
  },
});
