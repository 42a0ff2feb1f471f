/**
 * Line charts of result tables, as SVG files. A stage asks for one by putting a JSON plot spec in
 * its table's schema metadata under `lockpick.plot` (see README, "Adding a stage"); `lockpick
 * results` draws it. The spec is data, not code, so stages need no import from the CLI.
 */
import type * as arrow from 'apache-arrow';
import { z } from 'zod';

export const PLOT_METADATA_KEY = 'lockpick.plot';

const plotSpecSchema = z.object({
  title: z.string(),
  /** Column of x values; rows whose x is missing (or ≤ 0 on a log axis) are left out. */
  x: z.string(),
  xLabel: z.string().optional(),
  xScale: z.enum(['linear', 'log2']).default('linear'),
  yLabel: z.string().optional(),
  yRange: z.tuple([z.number(), z.number()]).optional(),
  series: z
    .array(
      z.object({
        column: z.string(),
        label: z.string(),
        /** Column of the 95% interval's half-width, drawn as error bars. */
        ci: z.string().optional(),
        /** Column of published values, drawn dashed in the same colour. */
        reference: z.string().optional(),
      }),
    )
    .min(1),
  /** Horizontal reference lines (e.g. the weak policy's score). */
  lines: z.array(z.object({ y: z.number(), label: z.string() })).default([]),
});

export type PlotSpec = z.output<typeof plotSpecSchema>;

/** The table's plot spec, or undefined when it has none; a malformed spec is an error naming the table. */
export function plotSpecOf(table: arrow.Table, label: string): PlotSpec | undefined {
  const raw = table.schema.metadata.get(PLOT_METADATA_KEY);
  if (raw === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new Error(`${label}: its ${PLOT_METADATA_KEY} metadata is not JSON`);
  }
  const parsed = plotSpecSchema.safeParse(json);
  if (!parsed.success)
    throw new Error(
      `${label}: its ${PLOT_METADATA_KEY} metadata is not a plot spec (${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')})`,
    );
  for (const name of [parsed.data.x, ...parsed.data.series.flatMap((s) => [s.column, s.ci, s.reference])])
    if (name !== undefined && !table.schema.fields.some((f) => f.name === name))
      throw new Error(`${label}: its plot spec names a column "${name}" the table does not have`);
  return parsed.data;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];
const WIDTH = 880;
const HEIGHT = 440;
const MARGIN = { left: 64, right: 340, top: 44, bottom: 56 };

function numbers(table: arrow.Table, column: string | undefined): (number | null)[] {
  if (!column) return Array.from({ length: table.numRows }, () => null);
  const vector = table.getChild(column)!;
  return Array.from({ length: table.numRows }, (_, i) => {
    const v: unknown = vector.get(i);
    return typeof v === 'number' && Number.isFinite(v) ? v : null;
  });
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);
}

/** Round numbers to 4 decimals in SVG coordinates (smaller files, stable bytes). */
const r = (v: number) => Math.round(v * 1e4) / 1e4;

/** Draws the spec's series as an SVG line chart. */
export function lineChartSvg(table: arrow.Table, spec: PlotSpec): string {
  const log = spec.xScale === 'log2';
  const xs = numbers(table, spec.x);
  const rows = xs.flatMap((x, i) => (x !== null && (!log || x > 0) ? [i] : []));
  const xOf = (i: number) => (log ? Math.log2(xs[i]!) : xs[i]!);
  const xValues = rows.map(xOf);
  const xMin = Math.min(...xValues);
  const xMax = Math.max(...xValues);
  const columns = spec.series.map((s) => ({
    ...s,
    y: numbers(table, s.column),
    ci: numbers(table, s.ci),
    reference: numbers(table, s.reference),
  }));
  const allY = columns
    .flatMap((c) => rows.flatMap((i) => [c.y[i], c.reference[i]]))
    .filter((v) => v !== null);
  const [yMin, yMax] = spec.yRange ?? [Math.min(0, ...allY), Math.max(1, ...allY)];

  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const px = (x: number) => MARGIN.left + (xMax === xMin ? plotW / 2 : ((x - xMin) / (xMax - xMin)) * plotW);
  const py = (y: number) => MARGIN.top + (1 - (y - yMin) / (yMax - yMin || 1)) * plotH;

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${MARGIN.left}" y="24" font-size="15" font-weight="bold">${escapeXml(spec.title)}</text>`,
  );
  // Axes and ticks: y every 0.1 or 0.2 of the range, x at every data x.
  const yStep = (yMax - yMin) / 5;
  for (let k = 0; k <= 5; k++) {
    const y = yMin + k * yStep;
    out.push(
      `<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${r(py(y))}" y2="${r(py(y))}" stroke="#e5e5e5"/>`,
      `<text x="${MARGIN.left - 8}" y="${r(py(y) + 4)}" text-anchor="end">${r(y)}</text>`,
    );
  }
  for (const x of [...new Set(xValues)]) {
    const label = log ? 2 ** x : x;
    out.push(
      `<line x1="${r(px(x))}" x2="${r(px(x))}" y1="${MARGIN.top + plotH}" y2="${MARGIN.top + plotH + 5}" stroke="black"/>`,
      `<text x="${r(px(x))}" y="${MARGIN.top + plotH + 18}" text-anchor="middle">${label}</text>`,
    );
  }
  out.push(
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="black"/>`,
  );
  if (spec.xLabel)
    out.push(
      `<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 14}" text-anchor="middle">${escapeXml(spec.xLabel)}</text>`,
    );
  if (spec.yLabel)
    out.push(
      `<text transform="translate(16 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escapeXml(spec.yLabel)}</text>`,
    );
  for (const line of spec.lines)
    out.push(
      `<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${r(py(line.y))}" y2="${r(py(line.y))}" stroke="#777" stroke-dasharray="2 3"/>`,
      `<text x="${MARGIN.left + plotW - 4}" y="${r(py(line.y) - 4)}" text-anchor="end" fill="#555">${escapeXml(line.label)}</text>`,
    );

  const legend: string[] = [];
  let legendRows = 0;
  for (const [k, c] of columns.entries()) {
    const colour = PALETTE[k % PALETTE.length];
    const path = (values: (number | null)[]) =>
      rows
        .filter((i) => values[i] !== null)
        .map((i, j) => `${j === 0 ? 'M' : 'L'}${r(px(xOf(i)))},${r(py(values[i]!))}`)
        .join(' ');
    const reference = path(c.reference);
    if (reference)
      out.push(
        `<path d="${reference}" fill="none" stroke="${colour}" stroke-width="1.5" stroke-dasharray="6 4"/>`,
      );
    for (const i of rows)
      if (c.reference[i] !== null)
        out.push(
          `<circle cx="${r(px(xOf(i)))}" cy="${r(py(c.reference[i]!))}" r="3.5" fill="white" stroke="${colour}"/>`,
        );
    for (const i of rows) {
      const y = c.y[i];
      const half = c.ci[i];
      if (y === null || half === null || half === 0) continue;
      // Error bars of different series side by side, not on top of each other.
      const bx = r(px(xOf(i)) + (k - (columns.length - 1) / 2) * 4);
      out.push(
        `<line x1="${bx}" x2="${bx}" y1="${r(py(Math.min(yMax, y + half)))}" y2="${r(py(Math.max(yMin, y - half)))}" stroke="${colour}" stroke-opacity="0.5"/>`,
      );
    }
    out.push(`<path d="${path(c.y)}" fill="none" stroke="${colour}" stroke-width="2"/>`);
    for (const i of rows)
      if (c.y[i] !== null)
        out.push(`<circle cx="${r(px(xOf(i)))}" cy="${r(py(c.y[i]!))}" r="3" fill="${colour}"/>`);
    const ly = MARGIN.top + 12 + legendRows++ * 18;
    const lx = MARGIN.left + plotW + 14;
    legend.push(
      `<line x1="${lx}" x2="${lx + 22}" y1="${ly}" y2="${ly}" stroke="${colour}" stroke-width="2"/>`,
      `<text x="${lx + 28}" y="${ly + 4}">${escapeXml(c.label)}</text>`,
    );
    if (c.reference.some((v) => v !== null)) {
      const ry = MARGIN.top + 12 + legendRows++ * 18;
      legend.push(
        `<line x1="${lx}" x2="${lx + 22}" y1="${ry}" y2="${ry}" stroke="${colour}" stroke-width="1.5" stroke-dasharray="6 4"/>`,
        `<text x="${lx + 28}" y="${ry + 4}" fill="#555">published</text>`,
      );
    }
  }
  out.push(...legend, '</svg>');
  return `${out.join('\n')}\n`;
}
