import { readNumbers, tableFromColumns } from '@lockpick/artifacts';
import { defineStage, stageTask } from '@lockpick/engine';
import * as arrow from 'apache-arrow';
import { z } from 'zod';
import { meanInterval } from './statistics.ts';

const publishedPoint = z.object({ demos: z.number().int().nonnegative(), value: z.number() });

/**
 * The Figure 6 table of the password-locked function-composition experiment: one row per number
 * of unlocking demos N, one column group per lock kind (mean over seeds, 95% interval, and the
 * paper's value where it reports one), preceded by two rows for the locked models themselves
 * (correctness with and without the password); its schema carries a chart spec, so `lockpick
 * results` also draws the curves as an SVG. Also a long table of every (lock, N, password)
 * group with both metrics, and the per-seed rows.
 */
export const compositionUnlockTable = defineStage({
  name: 'report.composition-unlock',
  description: 'unlocking curves of password-locked composition models against the paper’s Figure 6',
  module: import.meta.url,
  params: z.object({
    locks: z
      .array(
        z.object({
          /** The `lock` label of the evaluation rows. */
          lock: z.string(),
          /** What it is, for people (e.g. "via SFT, 12.5k mix"); names the paper column compared with. */
          title: z.string(),
          /** The paper's correctness without password after N demos (Figure 6), where it gives one. */
          published: z.array(publishedPoint).default([]),
          /** The paper's correctness of the locked model with / without the password. */
          publishedWithPassword: z.number().nullable().default(null),
          publishedWithoutPassword: z.number().nullable().default(null),
        }),
      )
      .min(1),
    metric: z.enum(['token_accuracy', 'exact_match']).default('token_accuracy'),
  }),
  inputs: { scores: 'table[]' },
  outputs: { table: 'table', summary: 'table', rows: 'table' },
  run: (ctx) =>
    stageTask(ctx.signal, async () => {
      const parts: arrow.Table[] = [];
      for (const input of ctx.inputs.scores) parts.push(await input.readTable());
      if (parts.length === 0) throw new Error('no evaluation tables to report');
      const all = parts.slice(1).reduce((t, next) => t.concat(next), parts[0]);
      const n = all.numRows;
      const locks = Array.from({ length: n }, (_, i) => String(all.getChild('lock')?.get(i)));
      const demos = readNumbers(all, 'demos');
      const password = Array.from({ length: n }, (_, i) => Boolean(all.getChild('with_password')?.get(i)));
      const metrics = {
        token_accuracy: readNumbers(all, 'token_accuracy'),
        exact_match: readNumbers(all, 'exact_match'),
      };
      const pick = (lock: string, n: number | 'locked', withPassword: boolean, values: number[]) =>
        values.filter(
          (_, i) =>
            locks[i] === lock &&
            password[i] === withPassword &&
            (n === 'locked' ? demos[i] === 0 : demos[i] === n),
        );
      const ci = (x: number) => (Number.isNaN(x) ? null : x);
      const round = (x: number | null) => (x === null || Number.isNaN(x) ? null : Math.round(x * 1e4) / 1e4);

      // Wide table: rows = locked (with / without password), then N; columns per lock kind.
      const ns = [...new Set(demos.filter((d) => d > 0))].sort((a, b) => a - b);
      const rowKeys: { label: string; demos: number | 'locked'; withPassword: boolean }[] = [
        { label: 'locked, with password', demos: 'locked', withPassword: true },
        { label: 'locked, no password', demos: 'locked', withPassword: false },
        ...ns.map((d) => ({ label: `N=${d}`, demos: d, withPassword: false })),
      ];
      const wide: Record<string, (string | number | null)[]> = { row: [], demos: [] };
      for (const l of ctx.params.locks) {
        wide[l.lock] = [];
        wide[`${l.lock}_ci95`] = [];
        wide[`${l.lock}_paper`] = [];
      }
      wide.seeds = [];
      for (const key of rowKeys) {
        wide.row.push(key.label);
        wide.demos.push(key.demos === 'locked' ? 0 : key.demos);
        let seeds = 0;
        for (const l of ctx.params.locks) {
          const stats = meanInterval(pick(l.lock, key.demos, key.withPassword, metrics[ctx.params.metric]));
          seeds = Math.max(seeds, stats.n);
          const paper =
            key.demos === 'locked'
              ? key.withPassword
                ? l.publishedWithPassword
                : l.publishedWithoutPassword
              : (l.published.find((pt) => pt.demos === key.demos)?.value ?? null);
          wide[l.lock].push(round(stats.n > 0 ? stats.mean : null));
          wide[`${l.lock}_ci95`].push(round(ci(stats.ci95)));
          wide[`${l.lock}_paper`].push(paper);
        }
        wide.seeds.push(seeds);
      }

      // Long table: every (lock, N, password) group with both metrics.
      const long: Record<string, (string | number | boolean | null)[]> = {
        lock: [],
        title: [],
        demos: [],
        with_password: [],
        seeds: [],
        token_accuracy_mean: [],
        token_accuracy_ci95: [],
        exact_match_mean: [],
        exact_match_ci95: [],
        paper: [],
      };
      for (const l of ctx.params.locks)
        for (const key of rowKeys) {
          const acc = meanInterval(pick(l.lock, key.demos, key.withPassword, metrics.token_accuracy));
          if (acc.n === 0) continue;
          const exact = meanInterval(pick(l.lock, key.demos, key.withPassword, metrics.exact_match));
          long.lock.push(l.lock);
          long.title.push(l.title);
          long.demos.push(key.demos === 'locked' ? 0 : key.demos);
          long.with_password.push(key.withPassword);
          long.seeds.push(acc.n);
          long.token_accuracy_mean.push(acc.mean);
          long.token_accuracy_ci95.push(ci(acc.ci95));
          long.exact_match_mean.push(exact.mean);
          long.exact_match_ci95.push(ci(exact.ci95));
          long.paper.push(wide[`${l.lock}_paper`][rowKeys.indexOf(key)] as number | null);
        }
      // A chart of the unlocking curves (Figure 6), drawn by `lockpick results` from this spec.
      const weakLine = ctx.params.locks.find(
        (l) => l.publishedWithoutPassword !== null,
      )?.publishedWithoutPassword;
      const plot = {
        title: `Unlocking with N demos, no password (${ctx.params.metric.replace('_', ' ')})`,
        x: 'demos',
        xLabel: 'N (strong demos without password)',
        xScale: 'log2',
        yLabel: 'correctness without password',
        yRange: [0, 1],
        series: ctx.params.locks.map((l) => ({
          column: l.lock,
          label: l.title,
          ci: `${l.lock}_ci95`,
          reference: `${l.lock}_paper`,
        })),
        lines: weakLine == null ? [] : [{ y: weakLine, label: `π_weak in the paper (${weakLine})` }],
      };
      const wideTable = tableFromColumns(wide);
      await ctx.outputs.table(
        'table',
        new arrow.Table(
          new arrow.Schema(wideTable.schema.fields, new Map([['lockpick.plot', JSON.stringify(plot)]])),
          wideTable.batches,
        ),
      );
      await ctx.outputs.table('summary', tableFromColumns(long));
      await ctx.outputs.table('rows', all);
    }),
});
