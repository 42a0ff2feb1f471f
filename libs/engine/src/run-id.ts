import {
  type ArtifactStore,
  canonicalJson,
  type RunRecord,
  type RunSettings,
  sha256,
} from '@lockpick/artifacts';
import type { ResolvedPipeline } from './pipeline.ts';

/**
 * A run's settings in canonical form: the scale, the seeds as given (their order can order a
 * report's rows), and the overrides in effect — for a node and parameter set twice only the last
 * counts, as in `resolvePipeline` — sorted, with values as canonical JSON.
 */
export function runSettings(pipeline: Pick<ResolvedPipeline, 'options' | 'overrides'>): RunSettings {
  const last = new Map<string, string>();
  for (const o of pipeline.overrides)
    last.set(`${o.node}\u0000${o.param}`, `${o.node}.${o.param}=${canonicalJson(o.value)}`);
  return {
    scale: pipeline.options.scale,
    seeds: [...pipeline.options.seeds],
    overrides: [...last.values()].sort(),
  };
}

/**
 * The id of a run: its scale (so a smoke run's id, and every path named by it, says so at a glance)
 * and a hash of (pipeline, scale, seeds, overrides). Runs with other settings get other ids, so
 * their records and charts never overwrite each other; the same settings always get the same id.
 */
export function runIdOf(pipeline: Pick<ResolvedPipeline, 'name' | 'options' | 'overrides'>): string {
  const settings = runSettings(pipeline);
  const digest = sha256(canonicalJson({ pipeline: pipeline.name, ...settings })).slice(0, 10);
  const scale = settings.scale.replace(/[^\w-]+/g, '_') || 'scale';
  return `${scale}-${digest}`;
}

/** Whether a scale is the tiny one tests use: its output is a smoke test, not a result. */
export function isSmokeScale(scale: string): boolean {
  return scale === 'smoke';
}

/** `scale smoke, seeds 1,2,3, --set a.b=1`: a run's settings in one line. */
export function describeRunSettings(settings: RunSettings): string {
  const sets = settings.overrides.map((o) => `--set ${o}`).join(' ');
  return `scale ${settings.scale}, seeds ${settings.seeds.join(',')}${sets ? `, ${sets}` : ''}`;
}

/**
 * The recorded runs a pipeline with these settings is compared with, best first: the run with its
 * very id; then runs of the same scale and seeds (other --set overrides), then of the same scale,
 * newest first; then the pipeline's record from before runs had ids (settings unknown). Runs of
 * another scale are never used: a default run compared with a smoke one would list every budget
 * as a change.
 */
export async function comparableRuns(store: ArtifactStore, pipeline: ResolvedPipeline): Promise<RunRecord[]> {
  const id = runIdOf(pipeline);
  const records = await store.listRunRecords(pipeline.name);
  const { scale, seeds } = pipeline.options;
  const sameSeeds = (r: RunRecord) => r.settings?.seeds.join(',') === seeds.join(',');
  const rank = (r: RunRecord): number => {
    if (r.id === id) return 0;
    if (!r.settings) return r.id === undefined ? 3 : 4;
    if (r.settings.scale !== scale) return 4;
    return sameSeeds(r) ? 1 : 2;
  };
  // listRunRecords is newest first, and the sort is stable: ties stay newest first.
  return records.filter((r) => rank(r) < 4).sort((a, b) => rank(a) - rank(b));
}

/** Per node, its entry in the first comparable run that has it (see `comparableRuns`). */
export async function previousNodeRuns(
  store: ArtifactStore,
  pipeline: ResolvedPipeline,
): Promise<{ nodes: RunRecord['nodes']; runs: RunRecord[] }> {
  const runs = await comparableRuns(store, pipeline);
  const nodes: RunRecord['nodes'] = {};
  for (const run of [...runs].reverse()) Object.assign(nodes, run.nodes);
  return { nodes, runs };
}
