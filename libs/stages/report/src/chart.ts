/**
 * Vega-Lite chart specs that report stages attach to their tables. The spec travels in the table's
 * Arrow schema metadata under `lockpick.vega-lite` and reads the table's own rows through the named
 * dataset `table`; `lockpick results` renders it to SVG and `lockpick report` embeds it in its page,
 * each binding the rows itself. It is plain JSON, so a stage needs nothing from the CLI, and a
 * stage of another library may write one by hand.
 */
import type { Json } from '@lockpick/artifacts';
import * as arrow from 'apache-arrow';

export const CHART_METADATA_KEY = 'lockpick.vega-lite';

/** A Vega-Lite spec, as JSON (its shape is Vega-Lite's business; the renderers validate it). */
export type ChartSpec = { [key: string]: Json };

/** One curve of a series chart: a column of means, and optionally its 95% half-width and a published column. */
export interface ChartSeries {
  column: string;
  label: string;
  /** Column of the 95% interval's half-width over seeds: drawn as a band around the line. */
  ci?: string;
  /** Column of published values (the paper's): drawn as hollow diamonds on the same axes. */
  paper?: string;
}

export interface SeriesChart {
  title: string;
  /** The numeric x column; rows whose x is missing (or ≤ 0 on a log axis) are left out. */
  x: string;
  xLabel: string;
  /** A log2 x axis, for counts of demos. */
  logX: boolean;
  yLabel: string;
  yDomain?: [number, number];
  series: ChartSeries[];
  /** Horizontal reference lines (e.g. π_weak's published score). */
  rules?: { y: number; label: string }[];
}

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

/** A Vega expression picking, per folded row, the value that belongs to its series. */
function perSeries(series: ChartSeries[], value: (s: ChartSeries) => string | undefined): string {
  let expr = 'null';
  for (const s of [...series].reverse()) {
    const column = value(s);
    // JSON.stringify quotes names safely for Vega's expression language (same string syntax).
    const picked = column === undefined ? 'null' : `datum[${JSON.stringify(column)}]`;
    expr = `datum.series_column === ${JSON.stringify(s.column)} ? ${picked} : ${expr}`;
  }
  return expr;
}

/**
 * Lines over x (ours: the mean over seeds, with its 95% interval as a band), the published values
 * as points on the same axes, and optional reference rules. Layers are named (`band`, `ours`,
 * `ours_points`, `paper`, `reference`) so the rendered marks can be found and counted: one `ours`
 * line per series, one `paper` point per published value.
 */
export function seriesChartSpec(chart: SeriesChart): ChartSpec {
  const labels = chart.series.map((s) => s.label);
  const y = (field: string, title?: string): { [key: string]: Json } => ({
    field,
    type: 'quantitative',
    title: title ?? null,
    ...(chart.yDomain ? { scale: { domain: chart.yDomain, clamp: true } } : {}),
  });
  const color: { [key: string]: Json } = {
    field: 'series',
    type: 'nominal',
    sort: labels,
    scale: { domain: labels },
    legend: {
      title: null,
      orient: 'bottom',
      columns: 1,
      labelLimit: 400,
      symbolType: 'stroke',
      symbolStrokeWidth: 3,
      symbolOpacity: 1,
    },
  };
  const tooltip: Json = [
    { field: 'series', type: 'nominal' },
    { field: chart.x, type: 'quantitative' },
    { field: 'mean', type: 'quantitative', format: '.4f', title: 'ours' },
    { field: 'ci', type: 'quantitative', format: '.4f', title: '± 95%' },
    { field: 'paper', type: 'quantitative', format: '.4f', title: 'published' },
  ];
  // On every layer that reads the table, not at the top: the reference rules have no x.
  const x: { [key: string]: Json } = {
    field: chart.x,
    type: 'quantitative',
    title: chart.xLabel,
    ...(chart.logX
      ? {
          // Padding keeps the first and last N's points off the frame; ticks at powers of 2.
          scale: { type: 'log', base: 2, nice: false, padding: 14 },
          axis: { values: Array.from({ length: 17 }, (_, k) => 2 ** k), format: 'd' },
        }
      : { scale: { padding: 14 } }),
  };
  const layers: Json[] = [
    {
      name: 'band',
      transform: [{ filter: 'isValid(datum.ci) && isValid(datum.mean)' }],
      mark: { type: 'area', opacity: 0.16 },
      encoding: { x, y: y('low', chart.yLabel), y2: { field: 'high' }, color },
    },
    {
      name: 'ours',
      transform: [{ filter: 'isValid(datum.mean)' }],
      mark: { type: 'line', strokeWidth: 2 },
      encoding: { x, y: y('mean', chart.yLabel), color },
    },
    {
      name: 'ours_points',
      transform: [{ filter: 'isValid(datum.mean)' }],
      mark: { type: 'point', filled: true, size: 30, opacity: 1 },
      encoding: { x, y: y('mean', chart.yLabel), color, tooltip },
    },
    {
      name: 'paper',
      transform: [{ filter: 'isValid(datum.paper)' }],
      mark: { type: 'point', shape: 'diamond', filled: false, size: 80, strokeWidth: 1.5, opacity: 1 },
      encoding: { x, y: y('paper', chart.yLabel), color, tooltip },
    },
  ];
  for (const [i, rule] of (chart.rules ?? []).entries())
    layers.push({
      name: `reference_${i}`,
      data: { values: [{ y: rule.y, label: rule.label }] },
      layer: [
        {
          mark: { type: 'rule', strokeDash: [2, 3], color: '#777' },
          encoding: { y: { field: 'y', type: 'quantitative' } },
        },
        {
          mark: { type: 'text', align: 'right', dy: -6, color: '#555', x: 'width' },
          encoding: { y: { field: 'y', type: 'quantitative' }, text: { field: 'label' } },
        },
      ],
    });
  return {
    $schema: SCHEMA,
    title: {
      text: chart.title,
      // The band's and the published values' legends only where there are some.
      subtitle: `lines: ours, mean over seeds${chart.series.some((x) => x.ci) ? ' (band: 95% interval)' : ''}${chart.series.some((x) => x.paper) ? '; hollow diamonds: published' : ''}`,
    },
    width: 520,
    height: 300,
    data: { name: 'table' },
    // Lets a renderer that must thin out a very long table know which column to bin on.
    usermeta: { lockpick: { x: chart.x, kind: 'series' } },
    transform: [
      {
        filter: chart.logX
          ? `isValid(datum[${JSON.stringify(chart.x)}]) && datum[${JSON.stringify(chart.x)}] > 0`
          : `isValid(datum[${JSON.stringify(chart.x)}])`,
      },
      { fold: chart.series.map((s) => s.column), as: ['series_column', 'mean'] },
      { calculate: labelExpression(chart.series), as: 'series' },
      { calculate: perSeries(chart.series, (s) => s.ci), as: 'ci' },
      { calculate: perSeries(chart.series, (s) => s.paper), as: 'paper' },
      { calculate: 'isValid(datum.ci) && isValid(datum.mean) ? datum.mean - datum.ci : null', as: 'low' },
      { calculate: 'isValid(datum.ci) && isValid(datum.mean) ? datum.mean + datum.ci : null', as: 'high' },
    ],
    layer: layers,
  };
}

function labelExpression(series: ChartSeries[]): string {
  let expr = 'datum.series_column';
  for (const s of [...series].reverse())
    expr = `datum.series_column === ${JSON.stringify(s.column)} ? ${JSON.stringify(s.label)} : ${expr}`;
  return expr;
}

export interface CategoryChart {
  title: string;
  /** The column naming each category (kept in table order). */
  category: string;
  xLabel: string;
  /** The value column (ours: mean over seeds), its 95% half-width column and the published column. */
  value: string;
  ci?: string;
  paper?: string;
  yLabel: string;
  yDomain?: [number, number];
}

/**
 * One value per category: ours as points with 95% error bars over seeds, the published value as a
 * hollow diamond beside it. Layers named `errorbar`, `ours` and `paper`, as in seriesChartSpec.
 */
export function categoryChartSpec(chart: CategoryChart): ChartSpec {
  const col = (name: string) => `datum[${JSON.stringify(name)}]`;
  const y = (field: string): { [key: string]: Json } => ({
    field,
    type: 'quantitative',
    title: chart.yLabel,
    ...(chart.yDomain ? { scale: { domain: chart.yDomain, clamp: true } } : {}),
  });
  const tooltip: Json = [
    { field: chart.category, type: 'nominal' },
    { field: 'mean', type: 'quantitative', format: '.4f', title: 'ours' },
    { field: 'ci', type: 'quantitative', format: '.4f', title: '± 95%' },
    { field: 'paper', type: 'quantitative', format: '.4f', title: 'published' },
  ];
  return {
    $schema: SCHEMA,
    title: {
      text: chart.title,
      subtitle: `filled: ours, mean over seeds with its 95% interval${chart.paper ? '; hollow diamonds: published' : ''}`,
    },
    width: 520,
    height: 300,
    data: { name: 'table' },
    usermeta: { lockpick: { kind: 'category' } },
    transform: [
      { calculate: col(chart.value), as: 'mean' },
      { calculate: chart.ci ? col(chart.ci) : 'null', as: 'ci' },
      { calculate: chart.paper ? col(chart.paper) : 'null', as: 'paper' },
      { calculate: 'isValid(datum.ci) && isValid(datum.mean) ? datum.mean - datum.ci : null', as: 'low' },
      { calculate: 'isValid(datum.ci) && isValid(datum.mean) ? datum.mean + datum.ci : null', as: 'high' },
    ],
    encoding: {
      x: { field: chart.category, type: 'nominal', sort: null, title: chart.xLabel, axis: { labelAngle: 0 } },
    },
    layer: [
      {
        name: 'errorbar',
        transform: [{ filter: 'isValid(datum.low)' }],
        mark: { type: 'rule', color: '#1f77b4', strokeWidth: 1.5 },
        encoding: { y: y('low'), y2: { field: 'high' } },
      },
      {
        name: 'ours',
        transform: [{ filter: 'isValid(datum.mean)' }],
        mark: { type: 'point', filled: true, size: 60, color: '#1f77b4' },
        encoding: { y: y('mean'), tooltip },
      },
      {
        name: 'paper',
        transform: [{ filter: 'isValid(datum.paper)' }],
        mark: {
          type: 'point',
          shape: 'diamond',
          filled: false,
          size: 90,
          strokeWidth: 1.5,
          color: '#d62728',
        },
        encoding: { y: y('paper'), tooltip },
      },
    ],
  };
}

/** The table with `spec` in its schema metadata (other metadata kept). */
export function withChart(table: arrow.Table, spec: ChartSpec): arrow.Table {
  const metadata = new Map(table.schema.metadata);
  metadata.set(CHART_METADATA_KEY, JSON.stringify(spec));
  return new arrow.Table(new arrow.Schema(table.schema.fields, metadata), table.batches);
}
