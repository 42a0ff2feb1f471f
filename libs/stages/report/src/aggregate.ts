import { defineStage, stageTask } from '@lockpick/engine';
import * as arrow from 'apache-arrow';
import { z } from 'zod';
import { meanInterval } from './statistics.ts';

type Cell = string | number | boolean | null;

/**
 * Gathers per-seed rows from a sweep and summarises each metric by group: mean, 95% interval and
 * the number of seeds. Writes the summary and, separately, every per-seed row.
 */
export const aggregateRuns = defineStage({
  name: 'report.aggregate',
  description: 'mean and 95% interval of metrics over seeds, by group',
  module: import.meta.url,
  params: z.object({
    groupBy: z.array(z.string()).min(1),
    metrics: z.array(z.string()).min(1),
  }),
  inputs: { rows: 'table[]' },
  outputs: { summary: 'table', rows: 'table' },
  run: (ctx) =>
    stageTask(ctx.signal, async () => {
      const { groupBy, metrics } = ctx.params;
      const records: Record<string, Cell>[] = [];
      for (const input of ctx.inputs.rows) {
        const table = await input.readTable();
        for (const name of [...groupBy, ...metrics])
          if (!table.getChild(name))
            throw new Error(
              `input ${input.ref.hash.slice(0, 12)} has no column "${name}" (columns: ${table.schema.names.join(', ')})`,
            );
        for (let i = 0; i < table.numRows; i++) {
          const record: Record<string, Cell> = {};
          for (const field of table.schema.fields) {
            const v = table.getChild(field.name)?.get(i) as unknown;
            record[field.name] = typeof v === 'bigint' ? Number(v) : (v as Cell);
          }
          records.push(record);
        }
      }
      const groups = new Map<string, Record<string, Cell>[]>();
      for (const r of records) {
        const key = JSON.stringify(groupBy.map((g) => r[g]));
        groups.set(key, [...(groups.get(key) ?? []), r]);
      }
      const columns: Record<string, Cell[]> = {};
      for (const g of groupBy) columns[g] = [];
      columns.seeds = [];
      for (const m of metrics) {
        columns[`${m}_mean`] = [];
        columns[`${m}_ci95`] = [];
      }
      for (const rows of groups.values()) {
        for (const g of groupBy) columns[g].push(rows[0][g]);
        columns.seeds.push(rows.length);
        for (const m of metrics) {
          const stats = meanInterval(rows.map((r) => Number(r[m])));
          columns[`${m}_mean`].push(stats.mean);
          columns[`${m}_ci95`].push(Number.isNaN(stats.ci95) ? null : stats.ci95);
        }
      }
      await ctx.outputs.table('summary', tableFromColumns(columns));
      const all: Record<string, Cell[]> = {};
      for (const name of Object.keys(records[0] ?? {})) all[name] = records.map((r) => r[name] ?? null);
      await ctx.outputs.table('rows', tableFromColumns(all));
    }),
});

function tableFromColumns(columns: Record<string, Cell[]>): arrow.Table {
  const vectors: Record<string, arrow.Vector> = {};
  for (const [name, values] of Object.entries(columns)) {
    const sample = values.find((v) => v !== null);
    const type =
      typeof sample === 'number'
        ? new arrow.Float64()
        : typeof sample === 'boolean'
          ? new arrow.Bool()
          : new arrow.Utf8();
    vectors[name] = arrow.vectorFromArray(
      values.map((v) => (v === null ? null : typeof sample === 'string' ? String(v) : v)),
      type,
    );
  }
  return new arrow.Table(vectors);
}
