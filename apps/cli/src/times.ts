/**
 * `lockpick times`: where a pipeline's compute went, per stage, read from the manifests of the
 * nodes a run with these settings has computed. A researcher sizing a run (or checking a 2-hour
 * target) wants node-seconds per stage and training throughput, not 1,900 manifest files.
 */
import type { PlanEntry } from '@lockpick/engine';
import * as arrow from 'apache-arrow';

/** A planned node: `timings` and `metrics` are there when it is computed with these settings. */
export type PlannedNode = Pick<PlanEntry, 'node' | 'stage' | 'timings' | 'metrics'>;

/** What the per-stage table sums up, for the line printed above it. */
export interface TimesSummary {
  planned: number;
  computed: number;
  nodeSeconds: number;
  /** Earliest start and latest finish among the computed nodes (ISO), if any. */
  firstStart?: string;
  lastFinish?: string;
}

const TOKENS_PER_SECOND = 'tokens_per_second';

/**
 * One row per stage, most node-seconds first, then a row `(all)`: nodes computed and planned,
 * node-seconds (the sum of each node's own duration: two nodes at a time make it up to twice the
 * wall time), mean and largest node, the slowest node, and training throughput (the mean of the
 * nodes' tokens/s weighted by their durations; empty for stages that do not train).
 */
export function stageTimes(nodes: readonly PlannedNode[]): { table: arrow.Table; summary: TimesSummary } {
  interface Sum {
    stage: string;
    planned: number;
    computed: number;
    ms: number;
    maxMs: number;
    slowest: string;
    tokenMs: number;
    tokensWeighted: number;
  }
  const empty = (stage: string): Sum => ({
    stage,
    planned: 0,
    computed: 0,
    ms: 0,
    maxMs: 0,
    slowest: '',
    tokenMs: 0,
    tokensWeighted: 0,
  });
  const byStage = new Map<string, Sum>();
  const all = empty('(all)');
  let firstStart: string | undefined;
  let lastFinish: string | undefined;
  for (const n of nodes) {
    const s = byStage.get(n.stage) ?? empty(n.stage);
    byStage.set(n.stage, s);
    for (const sum of [s, all]) {
      sum.planned++;
      if (!n.timings) continue;
      const ms = n.timings.durationMs;
      sum.computed++;
      sum.ms += ms;
      if (ms >= sum.maxMs) {
        sum.maxMs = ms;
        sum.slowest = n.node;
      }
      const tps = n.metrics?.[TOKENS_PER_SECOND];
      if (typeof tps === 'number' && Number.isFinite(tps)) {
        sum.tokenMs += ms;
        sum.tokensWeighted += tps * ms;
      }
    }
    if (n.timings) {
      const { startedAt, finishedAt } = n.timings;
      if (!firstStart || startedAt < firstStart) firstStart = startedAt;
      if (!lastFinish || finishedAt > lastFinish) lastFinish = finishedAt;
    }
  }
  const rows = [...byStage.values()].sort((a, b) => b.ms - a.ms || a.stage.localeCompare(b.stage));
  rows.push(all);
  const seconds = (ms: number) => Math.round(ms / 100) / 10;
  const table = arrow.tableFromArrays({
    stage: rows.map((r) => r.stage),
    computed: Int32Array.from(rows, (r) => r.computed),
    planned: Int32Array.from(rows, (r) => r.planned),
    node_seconds: Float64Array.from(rows, (r) => seconds(r.ms)),
    share: Float64Array.from(rows, (r) => (all.ms > 0 ? Math.round((1000 * r.ms) / all.ms) / 1000 : 0)),
    mean_seconds: Float64Array.from(rows, (r) => (r.computed > 0 ? seconds(r.ms / r.computed) : 0)),
    max_seconds: Float64Array.from(rows, (r) => seconds(r.maxMs)),
    slowest_node: rows.map((r) => r.slowest),
    tokens_per_second: rows.map((r) => (r.tokenMs > 0 ? Math.round(r.tokensWeighted / r.tokenMs) : null)),
  });
  return {
    table,
    summary: {
      planned: all.planned,
      computed: all.computed,
      nodeSeconds: all.ms / 1000,
      firstStart,
      lastFinish,
    },
  };
}
