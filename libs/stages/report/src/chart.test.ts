import { expect, it } from 'vitest';
import { seriesChartSpec } from './chart.ts';

const chart = (ci?: string) =>
  seriesChartSpec({
    title: 't',
    x: 'demos',
    xLabel: 'demos',
    logX: true,
    yLabel: 'share',
    series: [{ column: 'share', label: 'a lock', ci }],
  });

it('promises a band in the subtitle only when a series has an interval to draw', () => {
  const subtitle = (spec: ReturnType<typeof seriesChartSpec>) =>
    (spec.title as { subtitle: string }).subtitle;
  expect(subtitle(chart('share_ci95'))).toContain('band: 95% interval');
  expect(subtitle(chart())).not.toContain('band');
});
