import type { RunRecord } from '@lockpick/artifacts';
import { describe, expect, it } from 'vitest';
import { formatRuns } from './runs.ts';

const record: RunRecord = {
  pipeline: 'tiny',
  id: 'default-0123456789',
  settings: {
    scale: 'default',
    seeds: [100],
    overrides: Array.from({ length: 5 }, (_, i) => `elicit-n${i}.learningRate=0.0001`),
  },
  updatedAt: '2026-12-01T00:00:00.000Z',
  nodes: {},
};

describe('formatRuns', () => {
  it('shows two overrides and a count in the text table, every one in json', () => {
    const table = formatRuns([record], 'table');
    expect(table).toContain('elicit-n0.learningRate=0.0001 elicit-n1.learningRate=0.0001 … +3 more');
    expect(table).not.toContain('elicit-n4');
    const json = JSON.parse(formatRuns([record], 'json').trim()) as { overrides: string };
    expect(json.overrides.split(' ')).toHaveLength(5);
  });
});
