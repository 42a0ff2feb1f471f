import type { ArtifactKind } from '@lockpick/artifacts';
import { type AnyStage, defineStage } from '@lockpick/engine';
import { throwError } from 'rxjs';
import { z } from 'zod';

/**
 * Stand-ins for a node's upstream on a worker. A worker computes one node whose inputs are objects
 * in the shared store; it runs the engine on a two-level pipeline: one pinned node per input, whose
 * manifest (written into the local cache beforehand) records that very object, then the node itself.
 * The node's cache key depends on its inputs' hashes, never on which node made them, so the engine
 * computes it under the key the run asked for, with everything a local run gives it (a worker
 * thread for heavy stages, checkpoints, the per-key lock).
 */
function pinnedInputStage(kind: ArtifactKind): AnyStage {
  return defineStage({
    name: `cluster.pinned-${kind}`,
    description: `a ${kind} already in the shared store, fetched into the local cache`,
    module: import.meta.url,
    params: z.object({ hash: z.string() }),
    inputs: {},
    outputs: { artifact: kind },
    // Never runs: its manifest is written before the engine starts. If it does, the cache lost it.
    run: (ctx) =>
      throwError(
        () => new Error(`input ${ctx.params.hash.slice(0, 12)} vanished from the local cache while in use`),
      ),
  });
}

export const pinnedInputStages: Record<ArtifactKind, AnyStage> = {
  table: pinnedInputStage('table'),
  model: pinnedInputStage('model'),
};
