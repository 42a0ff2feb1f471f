import type { ArtifactRef, ArtifactStore, Json, ModelBundle } from '@lockpick/artifacts';
import { Observable } from 'rxjs';
import { type AnyStage, type InputArtifact, type OutputWriter, runStage, type StageEvent } from './stage.ts';

export interface StageInvocation {
  node: string;
  /** The node's cache key: names its checkpoints. Absent outside a pipeline (no checkpoints). */
  key?: string;
  params: Record<string, Json>;
  inputs: Record<string, ArtifactRef>;
}

function inputArtifact(store: ArtifactStore, ref: ArtifactRef): InputArtifact {
  return {
    ref,
    readTable: () => store.readTable(ref),
    readTableBatches: (batchSize) => store.readTableBatches(ref, batchSize),
    readModel: () => store.readModel(ref),
  };
}

/**
 * Runs a stage in this thread. The output writer stores each artifact and reports it as an
 * `artifact` event, merged into the stage's own events; cancelling unsubscribes the stage.
 */
export function runStageInline(
  stage: AnyStage,
  store: ArtifactStore,
  call: StageInvocation,
): Observable<StageEvent> {
  return new Observable<StageEvent>((subscriber) => {
    const abort = new AbortController();
    const emitArtifact = (output: string, kind: 'table' | 'model', ref: ArtifactRef): ArtifactRef => {
      if (stage.outputs[output] !== kind)
        throw new Error(
          `stage ${stage.name} wrote a ${kind} to "${output}", which it declares as ${stage.outputs[output] ?? 'nothing'}`,
        );
      // Reported straight to the subscriber: the write is awaited inside the stage body, so this
      // always arrives before the stage's own completion.
      subscriber.next({ type: 'artifact', output, ref });
      return ref;
    };
    const outputs: OutputWriter<Record<string, 'table' | 'model'>> = {
      table: async (name, table, metadata) =>
        emitArtifact(name, 'table', await store.writeTable(table, metadata)),
      tableBatches: async (name, batches) =>
        emitArtifact(name, 'table', await store.writeTableBatches(batches)),
      model: async (name, bundle) => emitArtifact(name, 'model', await store.writeModel(bundle)),
    };
    const inputs: Record<string, InputArtifact | InputArtifact[]> = {};
    for (const [name, kind] of Object.entries(stage.inputs)) {
      if (kind.endsWith('[]')) {
        const list: InputArtifact[] = [];
        for (let i = 0; call.inputs[`${name}[${i}]`]; i++)
          list.push(inputArtifact(store, call.inputs[`${name}[${i}]`]));
        inputs[name] = list;
      } else inputs[name] = inputArtifact(store, call.inputs[name]);
    }
    const params = stage.params.parse(call.params) as Record<string, unknown>;
    const key = call.key;
    const checkpoint = {
      load: async () => (key ? store.loadCheckpoint(key) : undefined),
      save: async (bundle: ModelBundle) => {
        // A stage still running after its node was cancelled must not write: its checkpoint
        // would outlive a later run of the same node that finished and cleared it.
        abort.signal.throwIfAborted();
        if (key) await store.saveCheckpoint(key, bundle, { node: call.node }, abort.signal);
      },
    };
    const events = runStage(stage, {
      node: call.node,
      params,
      inputs,
      outputs,
      store,
      signal: abort.signal,
      checkpoint,
    });
    const subscription = events.subscribe(subscriber);
    return () => {
      abort.abort(new Error('cancelled'));
      subscription.unsubscribe();
    };
  });
}

/**
 * Runs one stage outside any pipeline, for stage tests and notebooks: parameters go through the
 * stage's schema (defaults applied), inputs are artifact references already in `store`.
 */
export async function runStageOnce(
  stage: AnyStage,
  store: ArtifactStore,
  call: { params?: Record<string, Json>; inputs?: Record<string, ArtifactRef | ArtifactRef[]> },
): Promise<{ outputs: Record<string, ArtifactRef>; events: StageEvent[] }> {
  const inputs: Record<string, ArtifactRef> = {};
  for (const [name, value] of Object.entries(call.inputs ?? {})) {
    if (Array.isArray(value)) for (const [i, ref] of value.entries()) inputs[`${name}[${i}]`] = ref;
    else inputs[name] = value;
  }
  const events: StageEvent[] = [];
  const outputs: Record<string, ArtifactRef> = {};
  await new Promise<void>((resolve, reject) =>
    runStageInline(stage, store, { node: stage.name, params: call.params ?? {}, inputs }).subscribe({
      next: (event) => {
        events.push(event);
        if (event.type === 'artifact') outputs[event.output] = event.ref;
      },
      error: reject,
      complete: resolve,
    }),
  );
  for (const name of Object.keys(stage.outputs))
    if (!outputs[name]) throw new Error(`stage ${stage.name} finished without writing output "${name}"`);
  return { outputs, events };
}
