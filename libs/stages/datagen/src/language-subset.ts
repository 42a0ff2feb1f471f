import { readNumbers, readStrings } from '@lockpick/artifacts';
import { defineStage, stageTask } from '@lockpick/engine';
import * as arrow from 'apache-arrow';
import { z } from 'zod';

/** The rows of `table` at `rows`, every column kept with its type and the schema's metadata. */
export function selectRows(table: arrow.Table, rows: readonly number[]): arrow.Table {
  const vectors: Record<string, arrow.Vector> = {};
  for (const field of table.schema.fields) {
    const column = table.getChild(field.name)!;
    vectors[field.name] = arrow.vectorFromArray(
      rows.map((i) => column.get(i)),
      field.type,
    );
  }
  const selected = new arrow.Table(vectors);
  return new arrow.Table(
    new arrow.Schema(selected.schema.fields, new Map(table.schema.metadata)),
    selected.batches,
  );
}

/**
 * The problems (or samples) of one group of a task: rows whose `domain`, or `difficulty`, is one
 * of `values`. The cross-domain experiments (the paper's Figures 4, 10, 11) draw demos from one
 * domain only through it; the table keeps its order, so a seed draws the same demos every time.
 */
export const languageSubset = defineStage({
  name: 'datagen.language-subset',
  description: "a problem or sample table's rows of some domains (or difficulty levels)",
  module: import.meta.url,
  params: z.object({
    by: z.enum(['domain', 'difficulty']),
    /** Domains by name, difficulty levels as numbers written as strings ("1"). */
    values: z.array(z.string()).min(1),
  }),
  inputs: { table: 'table' },
  outputs: { table: 'table' },
  run: (ctx) =>
    stageTask(ctx.signal, async () => {
      const { by, values } = ctx.params;
      const table = await ctx.inputs.table.readTable();
      if (!table.getChild(by))
        throw new Error(
          `${ctx.node}: the input table has no "${by}" column (columns: ${table.schema.names.join(', ')}); give it a problem or sample table`,
        );
      const keys = by === 'domain' ? readStrings(table, by) : readNumbers(table, by).map(String);
      const wanted = new Set(values);
      const rows = keys.flatMap((key, i) => (wanted.has(key) ? [i] : []));
      if (rows.length === 0)
        throw new Error(
          `${ctx.node}: no row has ${by} ${values.join(' or ')} (the table has ${[...new Set(keys)].sort().join(', ')})`,
        );
      await ctx.outputs.table('table', selectRows(table, rows));
    }),
});
