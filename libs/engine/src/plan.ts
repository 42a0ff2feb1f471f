import type { ArtifactRef, ArtifactStore, Manifest } from '@lockpick/artifacts';
import { describeKeyChange, nodeKey } from './cache-key.ts';
import { codeIdentity } from './code-identity.ts';
import { concurrencyLimit } from './limit.ts';
import type { ResolvedNode, ResolvedPipeline } from './pipeline.ts';
import { type DamagedOutput, lookupCached } from './run.ts';
import { previousNodeRuns } from './run-id.ts';

export interface PlanEntry {
  node: string;
  stage: string;
  status: 'cached' | 'run';
  /** Why the node runs (or, for cached nodes, nothing). */
  reasons: string[];
  /** Known when every input is cached. */
  key?: string;
  outputs?: Record<string, ArtifactRef>;
  /** A cached node's manifest's record of the run that computed it (for `lockpick times`). */
  timings?: Manifest['timings'];
  metrics?: Manifest['metrics'];
  /** Outputs its last run recorded whose objects are missing, corrupt or not the recorded ones. */
  damaged?: DamagedOutput[];
}

/**
 * What `run` would do, without running anything: per node, cached or to run, and why — compared with
 * the last recorded run of the same node with these settings, else with the closest settings (see
 * `comparableRuns`). Reads the store only: a damaged object is reported (`damaged`), never deleted.
 */
export async function planPipeline(pipeline: ResolvedPipeline, store: ArtifactStore): Promise<PlanEntry[]> {
  const record = (await previousNodeRuns(store, pipeline)).nodes;
  const byName = new Map(pipeline.nodes.map((n) => [n.name, n]));
  const entries = new Map<string, Promise<PlanEntry>>();
  // Independent nodes are looked up concurrently (file reads dominate), within a bound on open files.
  const io = concurrencyLimit(64);

  const previousComponents = async (name: string) => {
    const previous = record[name];
    return previous
      ? { key: previous.key, components: (await store.readManifest(previous.key))?.components }
      : undefined;
  };

  const planNode = async (node: ResolvedNode): Promise<PlanEntry> => {
    const upstreamNames = [...new Set(Object.values(node.inputs).map((w) => w.node))];
    const upstream = new Map<string, PlanEntry>();
    for (const u of upstreamNames) upstream.set(u, await entryOf(byName.get(u)!));
    const waitingOn = upstreamNames.filter((u) => upstream.get(u)?.status !== 'cached');
    if (waitingOn.length > 0) {
      const reasons = waitingOn.map((u) => `upstream "${u}" runs first`);
      const previous = await io(() => previousComponents(node.name));
      if (previous?.components) {
        const code = codeIdentity(node.stage.module);
        reasons.push(
          ...describeKeyChange(previous.components, {
            stage: node.stage.name,
            params: node.params,
            code: { hash: code.hash, files: code.files, packages: code.packages },
          }),
        );
      } else if (!previous) reasons.push('never run');
      return { node: node.name, stage: node.stage.name, status: 'run', reasons };
    }
    const inputs: Record<string, string> = {};
    for (const [input, wire] of Object.entries(node.inputs))
      inputs[input] = upstream.get(wire.node)!.outputs![wire.output].hash;
    const key = nodeKey(node, inputs);
    const warnings: string[] = [];
    const damaged: DamagedOutput[] = [];
    const hit = await io(() =>
      lookupCached(store, node, key.key, (m) => warnings.push(m), { onDamaged: (d) => damaged.push(d) }),
    );
    if (hit)
      return {
        node: node.name,
        stage: node.stage.name,
        status: 'cached',
        reasons: [],
        key: key.key,
        outputs: hit.outputs,
        timings: hit.timings,
        metrics: hit.metrics,
      };
    const previous = await io(() => previousComponents(node.name));
    let reasons: string[];
    if (!previous) reasons = ['never run'];
    else if (previous.key === key.key)
      reasons = ['its cached result is missing or damaged (deleted, or removed by gc)'];
    else if (!previous.components) reasons = ['its last run left no readable manifest'];
    else {
      reasons = describeKeyChange(previous.components, key.components);
      if (reasons.length === 0) reasons = ['key changed'];
    }
    return {
      node: node.name,
      stage: node.stage.name,
      status: 'run',
      reasons: [...reasons, ...warnings],
      key: key.key,
      ...(damaged.length > 0 ? { damaged } : {}),
    };
  };

  const entryOf = (node: ResolvedNode): Promise<PlanEntry> => {
    let entry = entries.get(node.name);
    if (!entry) {
      entry = planNode(node);
      entries.set(node.name, entry);
    }
    return entry;
  };

  return Promise.all(pipeline.nodes.map(entryOf));
}
