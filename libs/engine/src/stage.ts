import type { ArtifactKind, ArtifactRef, ArtifactStore, Json, ModelBundle } from '@lockpick/artifacts';
import type * as arrow from 'apache-arrow';
import { Observable } from 'rxjs';
import type { z } from 'zod';

export type { ArtifactKind } from '@lockpick/artifacts';

/** Declared outputs of a stage: name → artifact kind. */
export type ArtifactKinds = Record<string, ArtifactKind>;

/** An input is one artifact, or a list of them (`'table[]'`) for stages that gather a sweep. */
export type InputKind = ArtifactKind | `${ArtifactKind}[]`;
export type InputKinds = Record<string, InputKind>;

/** What a stage body receives for an input of kind K. */
export type InputValue<K extends InputKind> = K extends `${string}[]` ? InputArtifact[] : InputArtifact;

/** What a running stage reports. Artifact events are emitted by the output writer, not by hand. */
export type StageEvent =
  | { type: 'progress'; done: number; total: number; unit: string; label?: string }
  | { type: 'metric'; name: string; value: number; step?: number }
  | { type: 'log'; level: 'info' | 'warn'; message: string }
  | { type: 'backend'; name: string }
  | { type: 'artifact'; output: string; ref: ArtifactRef };

/** An input artifact as a stage sees it: its reference and ways to read it. */
export interface InputArtifact {
  ref: ArtifactRef;
  readTable(): Promise<arrow.Table>;
  readTableBatches(batchSize?: number): AsyncIterable<arrow.RecordBatch>;
  readModel(): Promise<ModelBundle>;
}

type KeysOfKind<O extends ArtifactKinds, K extends ArtifactKind> = {
  [N in keyof O]: O[N] extends K ? N : never;
}[keyof O] &
  string;

/** Where a stage puts its outputs; each call stores an artifact and reports it. */
export interface OutputWriter<O extends ArtifactKinds> {
  table(
    name: KeysOfKind<O, 'table'>,
    table: arrow.Table,
    metadata?: Map<string, string>,
  ): Promise<ArtifactRef>;
  tableBatches(name: KeysOfKind<O, 'table'>, batches: AsyncIterable<arrow.RecordBatch>): Promise<ArtifactRef>;
  model(name: KeysOfKind<O, 'model'>, bundle: ModelBundle): Promise<ArtifactRef>;
}

export interface StageContext<P, I extends InputKinds, O extends ArtifactKinds> {
  /** Name of the pipeline node this run belongs to (for messages). */
  node: string;
  params: P;
  inputs: { [K in keyof I]: InputValue<I[K]> };
  outputs: OutputWriter<O>;
  store: ArtifactStore;
  /** Aborted when the run is cancelled (Ctrl-C, fail-fast); long loops should check it. */
  signal: AbortSignal;
  /**
   * Periodic training checkpoints of this very node run (same cache key): `load` returns the last
   * one saved before an interruption, so a long stage resumes instead of starting over. Forgotten
   * once the node finishes.
   */
  checkpoint: {
    load(): Promise<ModelBundle | undefined>;
    save(bundle: ModelBundle): Promise<void>;
  };
}

// biome-ignore lint/suspicious/noExplicitAny: the widest zod object, used only as a generic bound.
export type ParamSchema = z.ZodObject<any>;

export interface Stage<
  P extends ParamSchema = ParamSchema,
  I extends InputKinds = InputKinds,
  O extends ArtifactKinds = ArtifactKinds,
> {
  name: string;
  description: string;
  /** `import.meta.url` of the file that defines the stage: the root of its code identity. */
  module: string;
  params: P;
  inputs: I;
  outputs: O;
  /** Compute-heavy stages (training) run in a worker thread so that several use all cores. */
  heavy: boolean;
  run(ctx: StageContext<z.output<P>, I, O>): Observable<StageEvent>;
}

/**
 * Any stage, whatever its parameter and artifact types: what pipelines and the executor hold. Its
 * `run` takes `never` so that every concrete stage fits; the executor calls it through `runStage`.
 */
export interface AnyStage {
  name: string;
  description: string;
  module: string;
  params: ParamSchema;
  inputs: InputKinds;
  outputs: ArtifactKinds;
  heavy: boolean;
  run(ctx: never): Observable<StageEvent>;
}

/** Calls a stage's run with a context built at run time (parameters already parsed by its schema). */
export function runStage(
  stage: AnyStage,
  ctx: StageContext<Record<string, unknown>, InputKinds, ArtifactKinds>,
): Observable<StageEvent> {
  return (stage.run as (c: typeof ctx) => Observable<StageEvent>)(ctx);
}

export interface StageDefinition<P extends ParamSchema, I extends InputKinds, O extends ArtifactKinds> {
  name: string;
  description: string;
  module: string;
  params: P;
  inputs: I;
  outputs: O;
  heavy?: boolean;
  run(ctx: StageContext<z.output<P>, I, O>): Observable<StageEvent>;
}

const STAGE_NAME = /^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)*$/;

export function defineStage<P extends ParamSchema, const I extends InputKinds, const O extends ArtifactKinds>(
  definition: StageDefinition<P, I, O>,
): Stage<P, I, O> {
  if (!STAGE_NAME.test(definition.name))
    throw new Error(`stage name "${definition.name}" must be lower-case words joined by dots or dashes`);
  if (!definition.module.startsWith('file:'))
    throw new Error(`stage "${definition.name}": module must be import.meta.url of its file`);
  return { ...definition, heavy: definition.heavy ?? false };
}

/** The helpers an async stage body gets for reporting. */
export interface StageReporter {
  progress(done: number, total: number, unit: string, label?: string): void;
  metric(name: string, value: number, step?: number): void;
  log(message: string): void;
  warn(message: string): void;
  backend(name: string): void;
}

/**
 * Turns an async stage body into the Observable a stage returns. Unsubscribing aborts `signal`, so a
 * body that checks it (or passes it on) stops promptly.
 */
export function stageTask(
  signal: AbortSignal,
  body: (report: StageReporter, signal: AbortSignal) => Promise<void>,
): Observable<StageEvent> {
  return new Observable<StageEvent>((subscriber) => {
    const local = new AbortController();
    const onAbort = () => local.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    const report: StageReporter = {
      progress: (done, total, unit, label) => subscriber.next({ type: 'progress', done, total, unit, label }),
      metric: (name, value, step) => subscriber.next({ type: 'metric', name, value, step }),
      log: (message) => subscriber.next({ type: 'log', level: 'info', message }),
      warn: (message) => subscriber.next({ type: 'log', level: 'warn', message }),
      backend: (name) => subscriber.next({ type: 'backend', name }),
    };
    body(report, local.signal).then(
      () => subscriber.complete(),
      (error: unknown) => subscriber.error(error),
    );
    return () => {
      signal.removeEventListener('abort', onAbort);
      local.abort(new Error('cancelled'));
    };
  });
}

export type { Json };
