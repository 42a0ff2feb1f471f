import type * as arrow from 'apache-arrow';
import { formatNumber } from './render.ts';

export type TableFormat = 'table' | 'json' | 'csv';

function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return formatNumber(value);
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return `<${value.byteLength} bytes>`;
  if (typeof value === 'object' && value !== null && 'toArray' in value)
    return `[${Array.from((value as { toArray(): ArrayLike<unknown> }).toArray(), cell).join(', ')}]`;
  return String(value);
}

/** A cell as plain JSON: bigints as numbers, bytes as a size, lists as arrays (for JSON output and the report). */
export function plain(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Uint8Array) return `<${value.byteLength} bytes>`;
  if (typeof value === 'object' && value !== null && 'toArray' in value)
    return Array.from((value as { toArray(): ArrayLike<unknown> }).toArray(), plain);
  return value;
}

/** Renders the first `limit` rows of an Arrow table as aligned text, JSON lines or CSV. */
export function formatTable(
  table: arrow.Table,
  format: TableFormat,
  limit = Number.POSITIVE_INFINITY,
): string {
  const names = table.schema.fields.map((f) => f.name);
  const n = Math.min(table.numRows, limit);
  const rows: unknown[][] = [];
  for (let i = 0; i < n; i++) rows.push(names.map((name) => table.getChild(name)?.get(i)));
  if (format === 'json')
    return rows
      .map((r) => JSON.stringify(Object.fromEntries(names.map((name, j) => [name, plain(r[j])]))))
      .join('\n');
  if (format === 'csv') {
    const quote = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
    return [names.map(quote).join(','), ...rows.map((r) => r.map((v) => quote(cell(v))).join(','))].join(
      '\n',
    );
  }
  const text = rows.map((r) => r.map(cell));
  const widths = names.map((name, j) => Math.max(name.length, ...text.map((r) => r[j].length)));
  const numeric = names.map((_, j) =>
    rows.every((r) => typeof r[j] === 'number' || typeof r[j] === 'bigint' || r[j] == null),
  );
  const fmt = (r: string[]) =>
    r.map((v, j) => (numeric[j] ? v.padStart(widths[j]) : v.padEnd(widths[j]))).join('  ');
  return [fmt(names), widths.map((w) => '─'.repeat(w)).join('  '), ...text.map(fmt)].join('\n');
}
