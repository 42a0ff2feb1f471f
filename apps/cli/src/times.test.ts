import { describe, expect, it } from 'vitest';
import { stageTimes } from './times.ts';

const computed = (start: number, seconds: number, metrics: Record<string, number> = {}) => ({
  timings: {
    startedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, start)).toISOString(),
    finishedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, start + seconds)).toISOString(),
    durationMs: seconds * 1000,
  },
  metrics,
});

describe('stageTimes', () => {
  const { table, summary } = stageTimes([
    { node: 'lock-1', stage: 'locking', ...computed(10, 30, { tokens_per_second: 1000 }) },
    { node: 'lock-2', stage: 'locking', ...computed(12, 10, { tokens_per_second: 3000 }) },
    { node: 'lock-3', stage: 'locking' },
    { node: 'score-1', stage: 'evaluation', ...computed(0, 2) },
    { node: 'score-2', stage: 'evaluation', ...computed(50, 4) },
  ]);
  const rows = table.toArray().map((r) => r.toJSON());

  it('sums node-seconds per stage, most first, and counts nodes not computed yet as planned', () => {
    expect(rows.map((r) => r.stage)).toEqual(['locking', 'evaluation', '(all)']);
    expect(rows[0]).toMatchObject({ computed: 2, planned: 3, node_seconds: 40, max_seconds: 30 });
    expect(rows[0].slowest_node).toBe('lock-1');
    expect(rows[1]).toMatchObject({ computed: 2, planned: 2, node_seconds: 6, mean_seconds: 3 });
    expect(rows[2]).toMatchObject({ computed: 4, planned: 5, node_seconds: 46 });
    expect(rows[0].share).toBeCloseTo(40 / 46, 3);
  });

  it('weights tokens/s by duration and leaves it empty for stages that do not train', () => {
    // (1000 · 30 + 3000 · 10) / 40
    expect(rows[0].tokens_per_second).toBe(1500);
    expect(rows[1].tokens_per_second).toBeNull();
  });

  it('spans the earliest start to the latest finish of the computed nodes', () => {
    expect(summary).toMatchObject({ planned: 5, computed: 4, nodeSeconds: 46 });
    expect(summary.firstStart).toBe('2026-01-01T00:00:00.000Z');
    expect(summary.lastFinish).toBe('2026-01-01T00:00:54.000Z');
  });
});
