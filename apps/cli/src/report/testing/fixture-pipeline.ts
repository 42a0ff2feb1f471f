// A pipeline of synthetic scores judged by the real function-composition report stage, for the
// report's browser test (a finding must flip when the data does: `--set scores.unlocked=0.3`) and
// for the report benchmark (many pipelines, long tables). Seconds to run: nothing trains.

import { tableFromColumns } from '@lockpick/artifacts';
import { definePipeline, defineStage, type PipelineDefinition, stageTask } from '@lockpick/engine';
import { z } from 'zod';
import {
  compositionUnlockTable,
  seriesChartSpec,
  withChart,
} from '../../../../../libs/stages/report/src/index.ts';

/**
 * Evaluation rows shaped like `evaluation.composition-model`'s: per seed and lock kind, the locked
 * model with and without the password, then correctness after N demos rising to `unlocked` at the
 * largest N (from scratch more slowly than via SFT). Also a `long` table of `rows` rows with a chart.
 */
export const fixtureScores = defineStage({
  name: 'test.report-scores',
  description: 'synthetic unlocking scores and a long table, for report tests and benchmarks',
  module: import.meta.url,
  params: z.object({
    seeds: z.array(z.number().int()).default([1, 2, 3]),
    demos: z.array(z.number().int().positive()).default([2, 16, 128, 1024]),
    /** Correctness after the largest N. */
    unlocked: z.number().default(0.98),
    rows: z.number().int().nonnegative().default(120),
  }),
  inputs: {},
  outputs: { scores: 'table', long: 'table' },
  run: (ctx) =>
    stageTask(ctx.signal, async () => {
      const p = ctx.params;
      const out: Record<string, (string | number | boolean)[]> = {
        seed: [],
        lock: [],
        demos: [],
        with_password: [],
        prompts: [],
        token_accuracy: [],
        exact_match: [],
      };
      const push = (seed: number, lock: string, demos: number, withPassword: boolean, value: number) => {
        out.seed.push(seed);
        out.lock.push(lock);
        out.demos.push(demos);
        out.with_password.push(withPassword);
        out.prompts.push(4096);
        out.token_accuracy.push(value);
        out.exact_match.push(value / 2);
      };
      const top = Math.log2(Math.max(...p.demos));
      for (const [i, seed] of p.seeds.entries()) {
        const jitter = (i - (p.seeds.length - 1) / 2) * 0.01;
        // From scratch rises slowly (t²), via SFT fast (1.5 t, capped): about 10× fewer demos to 0.9.
        for (const [lock, shape] of [
          ['scratch', (t: number) => t ** 2],
          ['sft-1000', (t: number) => Math.min(1, 1.5 * t)],
        ] as const) {
          push(seed, lock, 0, true, 0.99 + jitter / 2);
          push(seed, lock, 0, false, 0.2 + jitter);
          for (const n of p.demos) {
            const t = Math.log2(n) / top;
            push(seed, lock, n, false, 0.2 + (p.unlocked - 0.2) * shape(t) + jitter);
          }
        }
      }
      await ctx.outputs.table('scores', tableFromColumns(out));
      const step = Array.from({ length: p.rows }, (_, i) => i + 1);
      const long = tableFromColumns({
        step,
        label: step.map((s) => `row ${String(s).padStart(5, '0')}`),
        value: step.map((s) => Math.round((1 - Math.exp(-s / 40)) * 1e4) / 1e4),
        value_ci95: step.map(() => 0.02),
        value_paper: step.map((s) => (s % 10 === 0 ? Math.round((1 - Math.exp(-s / 30)) * 1e4) / 1e4 : null)),
      });
      await ctx.outputs.table(
        'long',
        withChart(
          long,
          seriesChartSpec({
            title: 'A long synthetic curve',
            x: 'step',
            xLabel: 'step',
            logX: false,
            yLabel: 'value',
            yDomain: [0, 1],
            series: [{ column: 'value', label: 'synthetic', ci: 'value_ci95', paper: 'value_paper' }],
          }),
        ),
      );
    }),
});

const PAPER = [
  { demos: 2, value: 0.19 },
  { demos: 16, value: 0.56 },
  { demos: 128, value: 0.95 },
];

/** The pipeline under any name (the benchmark makes twenty), its long table `rows` rows long. */
export function reportFixturePipeline(name = 'report-fixture', rows = 120): PipelineDefinition {
  return definePipeline({
    name,
    description: 'synthetic unlocking scores judged by the function-composition report stage',
    defaultSeeds: [1, 2, 3],
    scales: ['default'],
    build: (p, { seeds }) => {
      const scores = p.node('scores', fixtureScores, { params: { seeds, rows }, inputs: {} });
      const report = p.node('report', compositionUnlockTable, {
        params: {
          locks: [
            {
              lock: 'scratch',
              title: 'from scratch',
              published: PAPER,
              publishedWithPassword: 1,
              publishedWithoutPassword: 0.18,
            },
            { lock: 'sft-1000', title: 'via SFT', publishedWithPassword: 1, publishedWithoutPassword: 0.18 },
          ],
        },
        inputs: { scores: [scores.out.scores] },
      });
      p.results(report.out.table, scores.out.long);
    },
  });
}

export default reportFixturePipeline();
