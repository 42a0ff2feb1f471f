import { type Json, readNumbers, readStrings, tableFromColumns } from '@lockpick/artifacts';
import { defineStage, stageTask } from '@lockpick/engine';
import { z } from 'zod';
import { type ChartSpec, withChart } from './chart.ts';
import { type Finding, findingsTable, verdictOf } from './findings.ts';
import { meanInterval } from './statistics.ts';

type Cell = string | number | null;

/** One `evaluation.language-model` row (domain `all`, report half), with the RL labels it carries. */
interface ScoreRow {
  task: string;
  seed: number;
  /** 'locked', 'weak', 'sft-intermediate', or an RL method. */
  policy: string;
  /** The weak policy the lock imitates. */
  weak: string;
  /** SFT epochs on 16 π_intermediate samples before RL (0: RL from the lock itself). */
  sftEpochs: number;
  withPassword: boolean;
  correct: number;
}

const round4 = (x: number) => (Number.isFinite(x) ? Math.round(x * 1e4) / 1e4 : null);

/** Share of the lock's gap (with − without password) a score recovers, per seed. */
function gapShares(
  scores: Map<number, number>,
  withPw: Map<number, number>,
  without: Map<number, number>,
): number[] {
  const out: number[] = [];
  for (const [seed, v] of scores) {
    const hi = withPw.get(seed);
    const lo = without.get(seed);
    if (hi !== undefined && lo !== undefined && hi > lo) out.push((v - lo) / (hi - lo));
  }
  return out;
}

const describe = (values: number[]) => {
  const s = meanInterval(values);
  if (s.n === 0) return 'no gap to recover (the lock scores no higher with the password), so nothing';
  const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
  return Number.isFinite(s.ci95) ? `${pct(s.mean)} ± ${pct(s.ci95)}` : `${pct(s.mean)} (one seed)`;
};

/**
 * Learning curves faceted by task (columns) and weak policy (rows): correctness without the
 * password against samples generated, a line per method (mean over seeds, band: 95% interval).
 */
function curvesChartSpec(methods: readonly string[], weaks: readonly string[]): ChartSpec {
  const color: { [key: string]: Json } = {
    field: 'method',
    type: 'nominal',
    scale: { domain: [...methods] },
  };
  const x: { [key: string]: Json } = { field: 'samples', type: 'quantitative', title: 'samples generated' };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'RL elicitation: correctness without password against samples generated (Figure 5)',
      subtitle: 'lines: mean over seeds (band: 95% interval); rows: the weak policy the lock imitates',
    },
    data: { name: 'table' },
    usermeta: { lockpick: { kind: 'facet' } },
    transform: [{ filter: 'isValid(datum.mean)' }],
    facet: {
      // Rows from the strongest weak policy to fixedrdm, as the params list them.
      row: { field: 'weak', type: 'nominal', title: 'π_weak', sort: [...weaks] },
      column: { field: 'panel', type: 'nominal', title: null, sort: null },
    },
    spec: {
      width: 240,
      height: 150,
      layer: [
        {
          name: 'band',
          transform: [{ filter: 'isValid(datum.low)' }],
          mark: { type: 'area', opacity: 0.16 },
          encoding: {
            x,
            y: { field: 'low', type: 'quantitative', scale: { domain: [0, 1] }, title: 'correctness' },
            y2: { field: 'high' },
            color,
          },
        },
        {
          name: 'ours',
          mark: { type: 'line', strokeWidth: 2, point: true },
          encoding: {
            x,
            y: { field: 'mean', type: 'quantitative', scale: { domain: [0, 1] }, title: 'correctness' },
            color,
            tooltip: [
              { field: 'method', type: 'nominal' },
              { field: 'samples', type: 'quantitative' },
              { field: 'mean', type: 'quantitative', format: '.3f' },
              { field: 'ci95', type: 'quantitative', format: '.3f', title: '± 95%' },
            ],
          },
        },
      ],
    },
  };
}

/**
 * The paper's Figure 5 (RL elicitation of the locks of each weak policy) and Figure 16 (RL after a
 * little SFT), with finding 5 of P-lm judged from the intervals. Final models are read on the
 * `report` half of validation; learning curves on the RL stages' own curve problems.
 *
 * - `figure`: rows task × weak policy: π_weak alone, the lock with and without password, each
 *   method's final correctness (mean over seeds, 95% half-width) and its share of the gap.
 * - `rescue`: rows task × weak policy × start (the lock, or SFT on 16 π_intermediate samples for E
 *   epochs): the start's correctness and each method's after RL.
 * - `curves`: mean correctness per (task, weak, start, method, round) against samples generated.
 * - `findings`: finding 5's claims, each measured and judged.
 */
export const rlElicitationReport = defineStage({
  name: 'report.rl-elicitation',
  description: 'Figure 5 and 16 (RL elicitation of password-locked language models) and finding 5',
  module: import.meta.url,
  params: z.object({
    tasks: z.array(z.object({ task: z.string(), title: z.string() })).min(1),
    /** Weak policies from the strongest to the weakest; `fixedrdm` (if present) is the last. */
    weaks: z.array(z.string()).min(1),
    methods: z.array(z.string()).min(1),
    /** The share of the gap "most" means. */
    most: z.number().gt(0).lt(1).default(0.5),
  }),
  inputs: { scores: 'table[]', curves: 'table[]' },
  outputs: { figure: 'table', rescue: 'table', curves: 'table', findings: 'table' },
  run: (ctx) =>
    stageTask(ctx.signal, async () => {
      const p = ctx.params;
      const rows: ScoreRow[] = [];
      for (const input of ctx.inputs.scores) {
        const t = await input.readTable();
        const domain = readStrings(t, 'domain');
        const half = readStrings(t, 'half');
        const task = readStrings(t, 'task');
        const seed = readNumbers(t, 'seed');
        const policy = readStrings(t, 'policy');
        const source = readStrings(t, 'source');
        const epochs = readNumbers(t, 'epochs');
        const correct = readNumbers(t, 'correct');
        for (let i = 0; i < t.numRows; i++)
          if (domain[i] === 'all' && half[i] === 'report')
            rows.push({
              task: task[i],
              seed: seed[i],
              policy: policy[i],
              weak: source[i],
              sftEpochs: epochs[i],
              withPassword: Boolean(t.getChild('with_password')?.get(i)),
              correct: correct[i],
            });
      }
      if (rows.length === 0) throw new Error('no evaluation rows to report');
      const bySeed = (f: (r: ScoreRow) => boolean) =>
        new Map(rows.filter(f).map((r) => [r.seed, r.correct] as [number, number]));
      const locked = (task: string, weak: string, withPassword: boolean) =>
        bySeed(
          (r) =>
            r.task === task && r.weak === weak && r.policy === 'locked' && r.withPassword === withPassword,
        );
      const after = (task: string, weak: string, method: string, sftEpochs = 0) =>
        bySeed(
          (r) =>
            r.task === task &&
            r.weak === weak &&
            r.policy === method &&
            r.sftEpochs === sftEpochs &&
            !r.withPassword,
        );
      const mean = (m: Map<number, number>) => meanInterval([...m.values()]);

      // Figure 5.
      const figure: Record<string, Cell[]> = {
        task: [],
        weak: [],
        seeds: [],
        pi_weak: [],
        locked_with: [],
        locked_without: [],
      };
      for (const m of p.methods)
        for (const suffix of ['', '_ci95', '_gap_share']) figure[`${m}${suffix}`] = [];
      for (const t of p.tasks)
        for (const weak of p.weaks) {
          const withPw = locked(t.task, weak, true);
          const without = locked(t.task, weak, false);
          if (withPw.size === 0 && without.size === 0) continue;
          figure.task.push(t.task);
          figure.weak.push(weak);
          figure.seeds.push(without.size);
          figure.pi_weak.push(
            round4(mean(bySeed((r) => r.task === t.task && r.weak === weak && r.policy === 'weak')).mean),
          );
          figure.locked_with.push(round4(mean(withPw).mean));
          figure.locked_without.push(round4(mean(without).mean));
          for (const m of p.methods) {
            const s = mean(after(t.task, weak, m));
            figure[m].push(round4(s.mean));
            figure[`${m}_ci95`].push(round4(s.ci95));
            figure[`${m}_gap_share`].push(
              round4(meanInterval(gapShares(after(t.task, weak, m), withPw, without)).mean),
            );
          }
        }

      // Figure 16: RL from the lock or from a little SFT on π_intermediate's samples.
      const starts = [...new Set(rows.filter((r) => r.sftEpochs > 0).map((r) => r.sftEpochs))].sort(
        (a, b) => a - b,
      );
      const rescue: Record<string, Cell[]> = { task: [], weak: [], start: [], start_correct: [] };
      const rescueMethods = p.methods.filter((m) => rows.some((r) => r.policy === m && r.sftEpochs > 0));
      for (const m of rescueMethods)
        for (const suffix of ['', '_ci95', '_gap_share']) rescue[`${m}${suffix}`] = [];
      for (const t of p.tasks)
        for (const weak of p.weaks) {
          const rescued = rows.some((r) => r.task === t.task && r.weak === weak && r.sftEpochs > 0);
          if (!rescued) continue;
          const withPw = locked(t.task, weak, true);
          const without = locked(t.task, weak, false);
          for (const e of [0, ...starts]) {
            rescue.task.push(t.task);
            rescue.weak.push(weak);
            rescue.start.push(e === 0 ? 'the lock' : `SFT on 16 π_intermediate samples, ${e} epochs`);
            rescue.start_correct.push(
              round4(
                mean(
                  e === 0
                    ? without
                    : bySeed(
                        (r) =>
                          r.task === t.task &&
                          r.weak === weak &&
                          r.policy === 'sft-intermediate' &&
                          r.sftEpochs === e &&
                          !r.withPassword,
                      ),
                ).mean,
              ),
            );
            for (const m of rescueMethods) {
              const s = mean(after(t.task, weak, m, e));
              rescue[m].push(round4(s.mean));
              rescue[`${m}_ci95`].push(round4(s.ci95));
              rescue[`${m}_gap_share`].push(
                round4(meanInterval(gapShares(after(t.task, weak, m, e), withPw, without)).mean),
              );
            }
          }
        }

      // Learning curves over seeds.
      const points = new Map<
        string,
        {
          task: string;
          weak: string;
          start: number;
          method: string;
          round: number;
          samples: number;
          values: number[];
        }
      >();
      for (const input of ctx.inputs.curves) {
        const t = await input.readTable();
        const task = readStrings(t, 'task');
        const method = readStrings(t, 'method');
        const weak = readStrings(t, 'weak');
        const start = readNumbers(t, 'sft_epochs');
        const roundCol = readNumbers(t, 'round');
        const samples = readNumbers(t, 'samples');
        const correct = readNumbers(t, 'correct');
        for (let i = 0; i < t.numRows; i++) {
          if (!Number.isFinite(correct[i])) continue;
          const key = [task[i], weak[i], start[i], method[i], roundCol[i]].join('|');
          const pt = points.get(key) ?? {
            task: task[i],
            weak: weak[i],
            start: start[i],
            method: method[i],
            round: roundCol[i],
            samples: samples[i],
            values: [],
          };
          pt.values.push(correct[i]);
          points.set(key, pt);
        }
      }
      const curves: Record<string, Cell[]> = {
        task: [],
        weak: [],
        sft_epochs: [],
        panel: [],
        method: [],
        round: [],
        samples: [],
        seeds: [],
        mean: [],
        ci95: [],
        low: [],
        high: [],
      };
      const title = (task: string) => p.tasks.find((t) => t.task === task)?.title ?? task;
      for (const pt of [...points.values()].sort(
        (a, b) =>
          a.task.localeCompare(b.task) ||
          p.weaks.indexOf(a.weak) - p.weaks.indexOf(b.weak) ||
          a.start - b.start ||
          a.method.localeCompare(b.method) ||
          a.round - b.round,
      )) {
        const s = meanInterval(pt.values);
        curves.task.push(pt.task);
        curves.weak.push(pt.weak);
        curves.sft_epochs.push(pt.start);
        curves.panel.push(pt.start === 0 ? title(pt.task) : `${title(pt.task)}, after SFT ×${pt.start}`);
        curves.method.push(pt.method);
        curves.round.push(pt.round);
        curves.samples.push(pt.samples);
        curves.seeds.push(s.n);
        curves.mean.push(round4(s.mean));
        curves.ci95.push(round4(s.ci95));
        curves.low.push(Number.isFinite(s.ci95) ? round4(s.mean - s.ci95) : null);
        curves.high.push(Number.isFinite(s.ci95) ? round4(s.mean + s.ci95) : null);
      }

      // Finding 5.
      const findings: Finding[] = [];
      const model = p.weaks.filter((w) => w !== 'fixedrdm');
      const decent = model[0];
      const poor = model.length > 1 ? model[model.length - 1] : undefined;
      const growing = ['expert-iteration', 'iterated-dpo'].filter((m) => p.methods.includes(m));
      const shares = (task: string, weak: string, m: string, e = 0) =>
        gapShares(after(task, weak, m, e), locked(task, weak, true), locked(task, weak, false));
      for (const t of p.tasks) {
        for (const m of growing) {
          if (decent)
            findings.push({
              finding: `5: ${m} recovers most of the gap when π_weak is decent`,
              subject: `${t.task}, π_weak from ${decent}`,
              paper: 'most of the gap',
              measured: `${describe(shares(t.task, decent, m))} of the gap (≥ ${p.most * 100}% asked)`,
              verdict: verdictOf(shares(t.task, decent, m), p.most, 'above'),
            });
          if (poor)
            findings.push({
              finding: `5: ${m} recovers little when π_weak is very poor`,
              subject: `${t.task}, π_weak from ${poor}`,
              paper: 'little of the gap',
              measured: `${describe(shares(t.task, poor, m))} of the gap (< ${p.most * 100}% asked)`,
              verdict: verdictOf(shares(t.task, poor, m), p.most, 'below'),
            });
          if (p.weaks.includes('fixedrdm'))
            findings.push({
              finding: `5: ${m} recovers nothing from fixedrdm`,
              subject: `${t.task}, fixedrdm`,
              paper: 'nothing',
              measured: `${describe(shares(t.task, 'fixedrdm', m))} of the gap (< 10% asked)`,
              verdict: verdictOf(shares(t.task, 'fixedrdm', m), 0.1, 'below'),
            });
          for (const e of starts) {
            const rescued = poor ?? 'fixedrdm';
            const values = shares(t.task, rescued, m, e);
            findings.push({
              finding: `5: a few SFT demos before ${m} rescue the poor-π_weak case`,
              subject: `${t.task}, π_weak from ${rescued}, SFT on 16 π_intermediate samples × ${e} epochs`,
              paper: 'most of the gap after SFT',
              measured: `${describe(values)} of the gap after SFT + ${m}, ${describe(shares(t.task, rescued, m))} from the lock alone`,
              verdict: verdictOf(values, p.most, 'above'),
            });
          }
        }
        if (p.methods.includes('filtering'))
          for (const weak of p.weaks) {
            const lockedWithout = locked(t.task, weak, false);
            const diffs = [...after(t.task, weak, 'filtering')].flatMap(([seed, v]) =>
              lockedWithout.has(seed) ? [v - lockedWithout.get(seed)!] : [],
            );
            if (diffs.length === 0) continue;
            findings.push({
              finding: '5: filtering stays near the locked level',
              subject: `${t.task}, π_weak from ${weak}`,
              paper: 'near the locked level',
              // Near both ways: a filtering run that drags the model far below its lock is not near it.
              measured: `${describe(diffs)} from the lock without password (within ±5 points asked)`,
              verdict: verdictOf(diffs, 0.05, 'within'),
            });
          }
      }

      await ctx.outputs.table('figure', tableFromColumns(figure));
      await ctx.outputs.table('rescue', tableFromColumns(rescue));
      await ctx.outputs.table(
        'curves',
        withChart(tableFromColumns(curves), curvesChartSpec(p.methods, p.weaks)),
      );
      await ctx.outputs.table('findings', findingsTable(findings));
    }),
});
