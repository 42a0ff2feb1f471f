// Charts from the report stages' Vega-Lite specs, rendered headlessly by Vega (as `results` does).
import * as arrow from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { seriesChartSpec, withChart } from '../../../libs/stages/report/src/chart.ts';
import { chartRows, chartSpecOf, chartSvg, MAX_CHART_ROWS, tableRows } from './plot.ts';

const table = () =>
  withChart(
    arrow.tableFromArrays({
      n: Float64Array.of(0, 2, 4, 8),
      a: Float64Array.of(0.9, 0.2, 0.5, 0.9),
      a_ci95: Float64Array.of(0, 0.05, 0.05, 0.02),
      a_paper: [null, 0.3, null, 0.8],
      b: Float64Array.of(0.9, 0.4, 0.6, 0.95),
    }),
    seriesChartSpec({
      title: 'T',
      x: 'n',
      xLabel: 'N',
      logX: true,
      yLabel: 'y',
      yDomain: [0, 1],
      series: [
        { column: 'a', label: 'series A', ci: 'a_ci95', paper: 'a_paper' },
        { column: 'b', label: 'series B' },
      ],
      rules: [{ y: 0.18, label: 'π_weak' }],
    }),
  );

const count = (svg: string, marks: string) =>
  (svg.match(new RegExp(`<g class="[^"]*\\b${marks}\\b[^"]*"`, 'g')) ?? []).length;

describe('charts', () => {
  it('draw one line per series and one point per published value, leaving out x ≤ 0 on a log axis', async () => {
    const t = table();
    const spec = chartSpecOf(t, 'r.table')!;
    const svg = await chartSvg(spec, chartRows(tableRows(t), spec).rows);
    expect(svg).toMatch(/^<svg /);
    expect(count(svg, 'ours_marks')).toBe(2);
    // The published points: one symbol path each, inside the paper layer's group.
    const paper = svg.slice(svg.indexOf('paper_marks'));
    expect(paper.slice(0, paper.indexOf('</g>')).match(/<path /g)).toHaveLength(2);
    expect(svg).toContain('series A');
    expect(svg).toContain('π_weak');
  });

  it('refuse a malformed spec with a message naming the table and the problem', () => {
    const tagged = (metadata: string) => {
      const t = arrow.tableFromArrays({ n: Float64Array.of(1) });
      return new arrow.Table(
        new arrow.Schema(t.schema.fields, new Map([['lockpick.vega-lite', metadata]])),
        t.batches,
      );
    };
    expect(() => chartSpecOf(tagged('{oops'), 'r.table')).toThrow(
      /r.table: its lockpick.vega-lite metadata is not JSON/,
    );
    expect(() => chartSpecOf(tagged('{"data":{"values":[]}}'), 'r.table')).toThrow(
      /data: \{ name: 'table' \}/,
    );
    expect(() =>
      chartSpecOf(tagged('{"data":{"name":"table"},"usermeta":{"lockpick":{"x":"z"}}}'), 'r.table'),
    ).toThrow(/names a column "z" the table does not have/);
    expect(chartSpecOf(arrow.tableFromArrays({ n: Float64Array.of(1) }), 'r.table')).toBeUndefined();
  });

  it('thin a long table into bins of equal count along x, and keep a short one whole', () => {
    const spec = chartSpecOf(table(), 'r.table')!;
    const short = tableRows(table());
    expect(chartRows(short, spec)).toEqual({ rows: short });
    const long = Array.from({ length: 10_000 }, (_, i) => ({
      n: i + 1,
      a: (i % 2) * 1.0,
      a_paper: null,
      label: 'x',
    }));
    const thinned = chartRows(long, spec);
    expect(long.length).toBeGreaterThan(MAX_CHART_ROWS);
    expect(thinned.rows).toHaveLength(200);
    // Each bin of 50 rows averages alternating 0 and 1.
    expect(thinned.rows[0]).toEqual({ n: 25.5, a: 0.5, a_paper: null, label: 'x' });
    expect(thinned.note).toMatch(/10000 rows drawn as 200 bins/);
  });
});
