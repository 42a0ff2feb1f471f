/**
 * Charts of result tables. A report stage asks for one by putting a Vega-Lite spec in its table's
 * schema metadata under `lockpick.vega-lite` (see README, "Adding a stage"; libs/stages/report's
 * chart.ts builds them); the spec reads the table's rows through the named dataset `table`.
 * `lockpick results` renders it here to SVG with Vega's headless renderer, and `lockpick report`
 * embeds the same bound spec in its page, so the terminal's chart and the page's are one drawing.
 */
import type * as arrow from 'apache-arrow';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { plain } from './table-format.ts';

export const CHART_METADATA_KEY = 'lockpick.vega-lite';

/** JSON as a chart spec holds it. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type ChartSpec = { [key: string]: JsonValue };
/** One table row as the chart sees it: column name → plain value. */
export type ChartRow = Record<string, unknown>;

/** Past this many rows a chart is drawn from binned rows: a browser must not draw 10,000 points a chart. */
export const MAX_CHART_ROWS = 1000;
/** The number of bins a long table is reduced to. */
const CHART_BINS = 200;

/** The table's chart spec, or undefined when it has none; a malformed spec is an error naming the table. */
export function chartSpecOf(table: arrow.Table, label: string): ChartSpec | undefined {
  const raw = table.schema.metadata.get(CHART_METADATA_KEY);
  if (raw === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new Error(`${label}: its ${CHART_METADATA_KEY} metadata is not JSON`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new Error(`${label}: its ${CHART_METADATA_KEY} metadata is not a Vega-Lite spec (not an object)`);
  const spec = json as ChartSpec;
  const data = spec.data as { name?: unknown } | undefined;
  if (data?.name !== 'table')
    throw new Error(
      `${label}: its ${CHART_METADATA_KEY} spec must read the table as data: { name: 'table' }`,
    );
  const x = xFieldOf(spec);
  if (x !== undefined && !table.schema.fields.some((f) => f.name === x))
    throw new Error(`${label}: its chart spec names a column "${x}" the table does not have`);
  return spec;
}

/** The x column a spec declares for thinning (usermeta.lockpick.x), if any. */
function xFieldOf(spec: ChartSpec): string | undefined {
  const meta = spec.usermeta as { lockpick?: { x?: unknown } } | undefined;
  return typeof meta?.lockpick?.x === 'string' ? meta.lockpick.x : undefined;
}

/** Every row of the table as plain values (bigints as numbers, lists as arrays). */
export function tableRows(table: arrow.Table): ChartRow[] {
  const names = table.schema.fields.map((f) => f.name);
  const columns = names.map((name) => table.getChild(name));
  const rows: ChartRow[] = new Array(table.numRows);
  for (let i = 0; i < table.numRows; i++) {
    const row: ChartRow = {};
    for (let j = 0; j < names.length; j++) row[names[j]] = plain(columns[j]?.get(i));
    rows[i] = row;
  }
  return rows;
}

/**
 * The rows a chart draws. Up to MAX_CHART_ROWS: all of them. Beyond, when the spec names its x
 * column: the rows sorted by x and cut into CHART_BINS bins of equal count, each bin one row (x and
 * every numeric column averaged, other columns from its first row), so a 10,000-row table still
 * draws as a readable curve; without an x column, the first MAX_CHART_ROWS rows. `note` says which.
 */
export function chartRows(rows: readonly ChartRow[], spec: ChartSpec): { rows: ChartRow[]; note?: string } {
  if (rows.length <= MAX_CHART_ROWS) return { rows: [...rows] };
  const x = xFieldOf(spec);
  if (x === undefined)
    return {
      rows: rows.slice(0, MAX_CHART_ROWS),
      note: `the first ${MAX_CHART_ROWS} of ${rows.length} rows`,
    };
  const sorted = rows
    .filter((r) => typeof r[x] === 'number' && Number.isFinite(r[x]))
    .sort((a, b) => (a[x] as number) - (b[x] as number));
  const binned: ChartRow[] = [];
  for (let b = 0; b < CHART_BINS; b++) {
    const from = Math.floor((b * sorted.length) / CHART_BINS);
    const to = Math.floor(((b + 1) * sorted.length) / CHART_BINS);
    if (to <= from) continue;
    const bin = sorted.slice(from, to);
    const row: ChartRow = { ...bin[0] };
    for (const key of Object.keys(row)) {
      const values = bin
        .map((r) => r[key])
        .filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
      if (typeof row[key] === 'number' || (row[key] === null && values.length > 0))
        row[key] = values.length > 0 ? values.reduce((s, v) => s + v, 0) / values.length : null;
    }
    binned.push(row);
  }
  return {
    rows: binned,
    note: `${rows.length} rows drawn as ${binned.length} bins of equal count along ${x} (means per bin)`,
  };
}

/** The spec with the rows bound to its `table` dataset: a complete spec any Vega-Lite renderer takes. */
export function boundSpec(spec: ChartSpec, rows: readonly ChartRow[]): ChartSpec {
  return { ...spec, datasets: { table: rows as JsonValue[] } };
}

/** The chart as an SVG document, rendered headlessly by Vega (no browser, no canvas, no network). */
export async function chartSvg(spec: ChartSpec, rows: readonly ChartRow[]): Promise<string> {
  const bound = { ...boundSpec(spec, rows), background: 'white' };
  // Vega-Lite's warnings (e.g. a layer with no rows) are not errors; the chart is still drawn.
  const compiled = compile(bound as unknown as TopLevelSpec, {
    logger: quietLogger(),
  }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', logLevel: vega.Error });
  try {
    return `${await view.toSVG()}\n`;
  } finally {
    view.finalize();
  }
}

/** A Vega-Lite logger that keeps quiet: warnings go nowhere, errors still throw where compile throws. */
function quietLogger() {
  let level = 0;
  const logger = {
    level(value?: number) {
      if (value === undefined) return level;
      level = value;
      return logger;
    },
    error: () => logger,
    warn: () => logger,
    info: () => logger,
    debug: () => logger,
  };
  return logger as unknown as NonNullable<Parameters<typeof compile>[1]>['logger'];
}
