import type { RunRecord } from '@lockpick/artifacts';
import * as arrow from 'apache-arrow';
import { formatTable, type TableFormat } from './table-format.ts';

/** What `lockpick runs` calls a record written before runs had ids (its settings are unknown). */
export const BEFORE_IDS = '(before ids)';

/**
 * The recorded runs as a table: one row per run, newest first, as `listRunRecords` gives them. Built
 * as an Arrow table so `--format json|csv` come from the same formatter as every other table.
 */
export function runsTable(
  records: readonly RunRecord[],
  options: { shortOverrides?: boolean } = {},
): arrow.Table {
  const overrides = (list: readonly string[]) =>
    options.shortOverrides && list.length > 2
      ? `${list.slice(0, 2).join(' ')} … +${list.length - 2} more (--format json lists all)`
      : list.join(' ');
  return arrow.tableFromArrays({
    id: records.map((r) => r.id ?? BEFORE_IDS),
    pipeline: records.map((r) => r.pipeline),
    scale: records.map((r) => r.settings?.scale ?? '?'),
    seeds: records.map((r) => r.settings?.seeds.join(',') ?? '?'),
    overrides: records.map((r) => (r.settings ? overrides(r.settings.overrides) : '?')),
    updated: records.map((r) => r.updatedAt),
    nodes: Int32Array.from(records, (r) => Object.keys(r.nodes).length),
  });
}

export function formatRuns(records: readonly RunRecord[], format: TableFormat): string {
  // A sweep of --set overrides would make one row as wide as many screens: the text table shows two.
  return formatTable(runsTable(records, { shortOverrides: format === 'table' }), format);
}
