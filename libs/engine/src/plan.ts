import type { ArtifactRef, ArtifactStore } from '@lockpick/artifacts';
import { describeKeyChange, nodeKey } from './cache-key.ts';
import { codeIdentity } from './code-identity.ts';
import type { ResolvedPipeline } from './pipeline.ts';
import { lookupCached } from './run.ts';

export interface PlanEntry {
  node: string;
  stage: string;
  status: 'cached' | 'run';
  /** Why the node runs (or, for cached nodes, nothing). */
  reasons: string[];
  /** Known when every input is cached. */
  key?: string;
  outputs?: Record<string, ArtifactRef>;
}

/**
 * What `run` would do, without running anything: per node, cached or to run, and why — compared with
 * the last run of the same node recorded in the store.
 */
export async function planPipeline(pipeline: ResolvedPipeline, store: ArtifactStore): Promise<PlanEntry[]> {
  const record = (await store.readRunRecord(pipeline.name))?.nodes ?? {};
  const entries = new Map<string, PlanEntry>();
  const warnings: string[] = [];
  for (const node of pipeline.nodes) {
    const previousRun = record[node.name];
    const previous = previousRun && {
      key: previousRun.key,
      components: (await store.readManifest(previousRun.key))?.components,
    };
    const waitingOn = [...new Set(Object.values(node.inputs).map((w) => w.node))].filter(
      (u) => entries.get(u)?.status !== 'cached',
    );
    if (waitingOn.length > 0) {
      const reasons = waitingOn.map((u) => `upstream "${u}" runs first`);
      if (previous?.components) {
        const code = codeIdentity(node.stage.module);
        reasons.push(
          ...describeKeyChange(previous.components, {
            stage: node.stage.name,
            params: node.params,
            code: { hash: code.hash, files: code.files, packages: code.packages },
          }),
        );
      } else reasons.push('never run');
      entries.set(node.name, { node: node.name, stage: node.stage.name, status: 'run', reasons });
      continue;
    }
    const inputs: Record<string, string> = {};
    for (const [input, wire] of Object.entries(node.inputs))
      inputs[input] = entries.get(wire.node)!.outputs![wire.output].hash;
    const key = nodeKey(node, inputs);
    const hit = await lookupCached(store, node, key.key, (m) => warnings.push(m));
    if (hit) {
      entries.set(node.name, {
        node: node.name,
        stage: node.stage.name,
        status: 'cached',
        reasons: [],
        key: key.key,
        outputs: hit.outputs,
      });
      continue;
    }
    let reasons: string[];
    if (!previous) reasons = ['never run'];
    else if (previous.key === key.key)
      reasons = ['its cached result is missing or damaged (deleted, or removed by gc)'];
    else if (!previous.components) reasons = ['its last run left no readable manifest'];
    else {
      reasons = describeKeyChange(previous.components, key.components);
      if (reasons.length === 0) reasons = ['key changed'];
    }
    reasons.push(...warnings.splice(0));
    entries.set(node.name, { node: node.name, stage: node.stage.name, status: 'run', reasons, key: key.key });
  }
  return [...entries.values()];
}
