import { tableFromColumns } from '@lockpick/artifacts';
import { defineStage, stageTask } from '@lockpick/engine';
import { z } from 'zod';
import { seriesChartSpec, withChart } from './chart.ts';
import { curveOfBestEpochs } from './epoch-choice.ts';
import { demosToReach, readWholeScores } from './password-locking.ts';
import { meanInterval } from './statistics.ts';

type Cell = string | number | null;

const round4 = (x: number) => (Number.isFinite(x) ? Math.round(x * 1e4) / 1e4 : null);

/**
 * Locks that imitate different weak policies, unlocked by SFT on reference demos (the paper's
 * Figure 8), from `evaluation.language-model` tables whose `source` is the weak policy. Read on the
 * report half of validation; each (task, weak policy, N) takes the App. G.3 epoch candidate best on
 * the select half, averaged over seeds, as `password-locking` does.
 *
 * - `figure`: rows = the weak policy alone, the lock with and without the password, then N; a column
 *   group per task × weak policy (mean, 95% half-width, epochs); a chart of the curves.
 * - `summary`: per task × weak policy, the gap (with − without password), the share of it 4 demos
 *   recover and the demos that recover 70% of it: does a poorer π_weak make the lock harder to open?
 */
export const weakPoliciesReport = defineStage({
  name: 'report.weak-policies',
  description: 'SFT elicitation of locks that imitate different weak policies (Figure 8)',
  module: import.meta.url,
  params: z.object({
    tasks: z.array(z.object({ task: z.string(), title: z.string() })).min(1),
    /** Weak policies, strongest first. */
    weaks: z.array(z.string()).min(1),
    share: z.number().gt(0).lt(1).default(0.7),
  }),
  inputs: { scores: 'table[]' },
  outputs: { figure: 'table', summary: 'table' },
  run: (ctx) =>
    stageTask(ctx.signal, async () => {
      const p = ctx.params;
      // The score's `source` names the weak policy here.
      const rows = (await readWholeScores(ctx.inputs.scores)).map(({ source, ...r }) => ({
        ...r,
        weak: source,
      }));
      if (rows.length === 0) throw new Error('report.weak-policies: no evaluation rows to report');
      type Row = (typeof rows)[number];
      const report = (f: (r: Row) => boolean) => rows.filter((r) => r.half === 'report' && f(r));
      const bySeed = (list: Row[]) => new Map(list.map((r) => [r.seed, r.correct]));

      /** Per N: the epochs picked on the select half and the per-seed report-half scores. */
      const curve = (task: string, weak: string) =>
        curveOfBestEpochs(rows.filter((r) => r.task === task && r.weak === weak && r.policy === 'elicited'));

      const present = p.tasks.flatMap((t) =>
        p.weaks
          .filter((w) => rows.some((r) => r.task === t.task && r.weak === w))
          .map((weak) => ({ ...t, weak })),
      );
      const allDemos = [...new Set(rows.filter((r) => r.policy === 'elicited').map((r) => r.demos))].sort(
        (a, b) => a - b,
      );
      const figure: Record<string, Cell[]> = { row: [], demos: [] };
      const column = (c: (typeof present)[number]) => `${c.task}_${c.weak}`;
      for (const c of present) {
        figure[column(c)] = [];
        figure[`${column(c)}_ci95`] = [];
        figure[`${column(c)}_epochs`] = [];
      }
      const push = (
        label: string,
        demos: number | null,
        value: (c: (typeof present)[number]) => [number[], number | null],
      ) => {
        figure.row.push(label);
        figure.demos.push(demos);
        for (const c of present) {
          const [values, epochs] = value(c);
          const s = meanInterval(values.filter(Number.isFinite));
          figure[column(c)].push(round4(s.mean));
          figure[`${column(c)}_ci95`].push(round4(s.ci95));
          figure[`${column(c)}_epochs`].push(epochs);
        }
      };
      const lockedBySeed = (c: (typeof present)[number], withPassword: boolean) =>
        bySeed(
          report(
            (r) =>
              r.task === c.task &&
              r.weak === c.weak &&
              r.policy === 'locked' &&
              r.withPassword === withPassword,
          ),
        );
      push('π_weak alone', null, (c) => [
        report((r) => r.task === c.task && r.weak === c.weak && r.policy === 'weak' && !r.withPassword).map(
          (r) => r.correct,
        ),
        null,
      ]);
      push('locked, with password', null, (c) => [[...lockedBySeed(c, true).values()], null]);
      push('locked, no password', null, (c) => [[...lockedBySeed(c, false).values()], null]);
      const curves = new Map(present.map((c) => [column(c), curve(c.task, c.weak)]));
      for (const demos of allDemos)
        push(`N = ${demos}`, demos, (c) => {
          const point = curves.get(column(c))?.get(demos);
          return point ? [[...point.bySeed.values()], point.epochs] : [[], null];
        });

      const summary: Record<string, Cell[]> = {
        task: [],
        weak: [],
        seeds: [],
        weak_alone: [],
        locked_with_password: [],
        locked_no_password: [],
        gap: [],
        share_at_4: [],
        share_at_4_ci95: [],
      };
      const reachColumn = `demos_to_${Math.round(p.share * 100)}pct`;
      summary[reachColumn] = [];
      for (const c of present) {
        const withPw = lockedBySeed(c, true);
        const without = lockedBySeed(c, false);
        const shares: number[] = [];
        const perSeedCurves = new Map<number, { demos: number; value: number }[]>();
        for (const [demos, point] of curves.get(column(c)) ?? [])
          for (const [seed, v] of point.bySeed) {
            const lo = without.get(seed);
            const hi = withPw.get(seed);
            if (lo === undefined || hi === undefined || hi <= lo) continue;
            const share = (v - lo) / (hi - lo);
            if (demos === 4) shares.push(share);
            perSeedCurves.set(seed, [...(perSeedCurves.get(seed) ?? []), { demos, value: share }]);
          }
        // Demos to the share on the mean curve over seeds.
        const meanCurve = [...(curves.get(column(c)) ?? [])].map(([demos]) => ({
          demos,
          value: meanInterval(
            [...perSeedCurves.values()].flatMap((points) =>
              points.filter((x) => x.demos === demos).map((x) => x.value),
            ),
          ).mean,
        }));
        const gaps = [...withPw].flatMap(([seed, hi]) =>
          without.has(seed) ? [hi - without.get(seed)!] : [],
        );
        const s4 = meanInterval(shares);
        summary.task.push(c.task);
        summary.weak.push(c.weak);
        summary.seeds.push(withPw.size);
        summary.weak_alone.push(
          round4(
            meanInterval(
              report(
                (r) => r.task === c.task && r.weak === c.weak && r.policy === 'weak' && !r.withPassword,
              ).map((r) => r.correct),
            ).mean,
          ),
        );
        summary.locked_with_password.push(round4(meanInterval([...withPw.values()]).mean));
        summary.locked_no_password.push(round4(meanInterval([...without.values()]).mean));
        summary.gap.push(round4(meanInterval(gaps).mean));
        summary.share_at_4.push(round4(s4.mean));
        summary.share_at_4_ci95.push(round4(s4.ci95));
        const reach = demosToReach(meanCurve, p.share);
        summary[reachColumn].push(reach === null ? null : Math.round(reach));
      }

      const chart = seriesChartSpec({
        title: 'SFT on reference demos, locks that imitate different weak policies (Figure 8)',
        x: 'demos',
        xLabel: 'demos (N)',
        logX: true,
        yLabel: 'correctness without password',
        yDomain: [0, 1],
        series: present.map((c) => ({
          column: column(c),
          label: p.tasks.length > 1 ? `${c.title}, ${c.weak}` : c.weak,
          ci: `${column(c)}_ci95`,
        })),
      });
      await ctx.outputs.table('figure', withChart(tableFromColumns(figure), chart));
      await ctx.outputs.table('summary', tableFromColumns(summary));
    }),
});
