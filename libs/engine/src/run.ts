import { setMaxListeners } from 'node:events';
import { availableParallelism } from 'node:os';
import type { ArtifactRef, ArtifactStore, LockHolder, Manifest, RunRecord } from '@lockpick/artifacts';
import { mergeMap, Observable, Subject, takeUntil } from 'rxjs';
import { type NodeKey, nodeKey } from './cache-key.ts';
import { codeIdentity } from './code-identity.ts';
import { runStageInline } from './execute-stage.ts';
import { concurrencyLimit } from './limit.ts';
import type { ResolvedNode, ResolvedPipeline } from './pipeline.ts';
import { runIdOf, runSettings } from './run-id.ts';
import type { StageEvent } from './stage.ts';
import { StageWorkerPool } from './worker-pool.ts';

export interface RunOptions {
  /** Nodes run at once (default: number of cores). */
  jobs?: number;
  /** Run everything not downstream of a failure instead of stopping at the first. */
  keepGoing?: boolean;
  /** Aborting stops the run cleanly: running stages are cancelled, nothing partial is kept. */
  signal?: AbortSignal;
  /** Run heavy stages in worker threads (default true); tests may turn it off. */
  workers?: boolean;
  /**
   * Keep worker threads between heavy nodes (default true); false starts a fresh thread for every
   * node, which costs about a second each (the benchmark's baseline; or to rule out a stage that
   * leaves state behind).
   */
  reuseWorkers?: boolean;
}

export type NodeStatus = 'cached' | 'computed' | 'computed-elsewhere';

export type RunEvent =
  | {
      type: 'run-start';
      pipeline: string;
      /** The run's id (from its settings): its record is `runs/<pipeline>/<runId>.json`. */
      runId: string;
      nodes: { name: string; stage: string }[];
    }
  | { type: 'gc-waiting'; holder: LockHolder; lockFile: string }
  | { type: 'node-start'; node: string; stage: string; key: string; where: 'inline' | 'worker' }
  | { type: 'node-waiting'; node: string; holder: LockHolder; lockFile: string }
  | { type: 'node-event'; node: string; event: StageEvent }
  | {
      type: 'node-done';
      node: string;
      key: string;
      status: NodeStatus;
      durationMs: number;
      outputs: Record<string, ArtifactRef>;
    }
  | { type: 'node-failed'; node: string; error: string }
  | { type: 'node-skipped'; node: string; reason: string }
  | { type: 'warning'; message: string }
  | { type: 'run-done'; summary: RunSummary };

export interface RunSummary {
  pipeline: string;
  computed: string[];
  cached: string[];
  failed: { node: string; error: string }[];
  /** Not run: downstream of a failure, or stopped by fail-fast or cancellation. */
  notRun: string[];
  cancelled: boolean;
  durationMs: number;
}

/** A run's summary before any node has settled (the local run and the cluster run both start here). */
export function emptyRunSummary(pipeline: string): RunSummary {
  return { pipeline, computed: [], cached: [], failed: [], notRun: [], cancelled: false, durationMs: 0 };
}

const LOOKUP_CONCURRENCY = 64;

class Cancelled extends Error {
  constructor() {
    super('cancelled');
  }
}

/**
 * Runs a resolved pipeline against a store. Ready nodes run concurrently up to `jobs`; each node is
 * looked up by its cache key first, computed under a per-key lock otherwise, and recorded in a
 * manifest only after all its outputs are stored. The run is registered in the store from start to
 * end, so `gc` refuses to collect under it. Emits RunEvents and ends with `run-done`.
 */
export function runPipeline(
  pipeline: ResolvedPipeline,
  store: ArtifactStore,
  options: RunOptions = {},
): Observable<RunEvent> {
  return new Observable<RunEvent>((subscriber) => {
    const started = performance.now();
    const jobs = Math.max(1, options.jobs ?? availableParallelism());
    const computeSlot = concurrencyLimit(jobs);
    const workers =
      options.workers !== false ? new StageWorkerPool(options.reuseWorkers === false ? 0 : jobs) : undefined;
    const emit = (event: RunEvent) => subscriber.next(event);
    const runId = runIdOf(pipeline);
    const settings = runSettings(pipeline);
    const previousWarning = store.onWarning;
    store.onWarning = (message) => emit({ type: 'warning', message });

    const outputsOf = new Map<string, Record<string, ArtifactRef>>();
    const pendingUpstream = new Map<string, number>();
    const dependents = new Map<string, ResolvedNode[]>();
    for (const node of pipeline.nodes) {
      const upstream = new Set(Object.values(node.inputs).map((w) => w.node));
      pendingUpstream.set(node.name, upstream.size);
      for (const u of upstream) dependents.set(u, [...(dependents.get(u) ?? []), node]);
    }
    const priority = schedulingPriorities(pipeline.nodes);
    const summary = emptyRunSummary(pipeline.name);
    const settled = new Set<string>();
    const cleanups = new Set<Promise<unknown>>();
    const record: RunRecord['nodes'] = {};
    const ready = new Subject<ResolvedNode>();
    const stop = new Subject<void>();
    const abort = new AbortController();
    // Every node in flight listens on it: many at once is expected, not a leak.
    setMaxListeners(0, abort.signal);
    let finished = false;

    const onExternalAbort = () => {
      summary.cancelled = true;
      abort.abort(new Cancelled());
      stop.next();
    };
    options.signal?.addEventListener('abort', onExternalAbort, { once: true });

    // Registered before any node starts, released after the last record is saved.
    let unregister: (() => Promise<void>) | undefined;
    let registered = false;

    const finish = async () => {
      if (finished) return;
      finished = true;
      await Promise.allSettled([...cleanups]);
      // A save still waiting on its timer would land after the run ended (and after it released
      // the store): the final save below covers it.
      clearTimeout(recordSaveTimer);
      recordSaveQueued = false;
      await recordWrite;
      for (const node of pipeline.nodes) if (!settled.has(node.name)) summary.notRun.push(node.name);
      if (registered)
        await saveRecord().catch((error: Error) =>
          emit({ type: 'warning', message: `could not save run record: ${error.message}` }),
        );
      await unregister?.().catch(() => undefined);
      summary.durationMs = performance.now() - started;
      workers?.close();
      store.onWarning = previousWarning;
      emit({ type: 'run-done', summary });
      subscriber.complete();
    };

    let recordWrite: Promise<void> = Promise.resolve();
    let recordSaveQueued = false;
    let recordSaveTimer: ReturnType<typeof setTimeout> | undefined;
    let lastRecordSave = 0;
    // Keep the record current during long runs (so an interrupted run still explains itself), but
    // write it at most once a second: a 10,000-node sweep must not rewrite it 10,000 times.
    const scheduleRecordSave = () => {
      if (recordSaveQueued || finished) return;
      recordSaveQueued = true;
      const delay = Math.max(0, 1000 - (Date.now() - lastRecordSave));
      recordSaveTimer = setTimeout(() => {
        recordSaveQueued = false;
        lastRecordSave = Date.now();
        recordWrite = recordWrite.then(saveRecord).catch(() => undefined);
      }, delay);
      recordSaveTimer.unref();
    };
    // One record per run id: a run with other settings (a smoke run, other seeds) keeps its own.
    const saveRecord = async () => {
      const previous = (await store.readRunRecord(pipeline.name, runId))?.nodes ?? {};
      await store.writeRunRecord({
        pipeline: pipeline.name,
        id: runId,
        settings,
        updatedAt: new Date().toISOString(),
        nodes: { ...previous, ...record },
      });
    };

    const settle = (node: ResolvedNode) => {
      settled.add(node.name);
      if (settled.size === pipeline.nodes.length) ready.complete();
    };

    const skipDownstream = (node: ResolvedNode, reason: string) => {
      for (const d of dependents.get(node.name) ?? []) {
        if (settled.has(d.name)) continue;
        summary.notRun.push(d.name);
        emit({ type: 'node-skipped', node: d.name, reason });
        settle(d);
        skipDownstream(d, reason);
      }
    };

    const execute = (node: ResolvedNode) =>
      new Observable<RunEvent>((nodeSubscriber) => {
        const nodeAbort = new AbortController();
        const onAbort = () => nodeAbort.abort(abort.signal.reason);
        abort.signal.addEventListener('abort', onAbort, { once: true });
        const slot = <T>(fn: () => Promise<T>) => computeSlot(fn, priority.get(node.name));
        const work = executeNode(node, store, outputsOf, nodeAbort.signal, workers, slot, (e) =>
          nodeSubscriber.next(e),
        ).then(
          (result) => {
            outputsOf.set(node.name, result.outputs);
            record[node.name] = { key: result.key.key, stage: node.stage.name };
            (result.status === 'cached' ? summary.cached : summary.computed).push(node.name);
            nodeSubscriber.next({
              type: 'node-done',
              node: node.name,
              key: result.key.key,
              status: result.status,
              durationMs: result.durationMs,
              outputs: result.outputs,
            });
            settle(node);
            if (result.status !== 'cached') scheduleRecordSave();
            for (const d of dependents.get(node.name) ?? []) {
              const left = (pendingUpstream.get(d.name) ?? 1) - 1;
              pendingUpstream.set(d.name, left);
              if (left === 0) ready.next(d);
            }
            nodeSubscriber.complete();
          },
          (error: unknown) => {
            if (error instanceof Cancelled || abort.signal.aborted) {
              nodeSubscriber.complete();
              return;
            }
            const message = error instanceof Error ? error.message : String(error);
            summary.failed.push({ node: node.name, error: message });
            nodeSubscriber.next({ type: 'node-failed', node: node.name, error: message });
            settle(node);
            skipDownstream(node, `upstream "${node.name}" failed`);
            nodeSubscriber.complete();
            if (!options.keepGoing) {
              abort.abort(new Cancelled());
              stop.next();
            }
          },
        );
        cleanups.add(work);
        void work.finally(() => cleanups.delete(work));
        return () => {
          abort.signal.removeEventListener('abort', onAbort);
          if (!nodeAbort.signal.aborted && !settled.has(node.name)) nodeAbort.abort(new Cancelled());
        };
      });

    const subscription = ready
      .pipe(
        // Cache lookups are file reads and run wide; computing is bounded by `jobs` inside.
        mergeMap((node) => execute(node), Math.max(LOOKUP_CONCURRENCY, jobs)),
        takeUntil(stop),
      )
      .subscribe({
        next: emit,
        error: (error: Error) => {
          summary.failed.push({ node: '(engine)', error: error.message });
          void finish();
        },
        complete: () => void finish(),
      });

    // Snapshot every stage's code identity now, when its modules were just loaded: a source edited
    // while the run goes on must not lend its hash to code that was loaded before the edit.
    for (const node of pipeline.nodes) codeIdentity(node.stage.module);
    emit({
      type: 'run-start',
      pipeline: pipeline.name,
      runId,
      nodes: pipeline.nodes.map((n) => ({ name: n.name, stage: n.stage.name })),
    });
    // No node starts before the run is registered: a gc from then on refuses, and one collecting
    // right now is waited for.
    store
      .registerRun(
        { pipeline: pipeline.name, runId },
        {
          signal: abort.signal,
          onWait: (holder, lockFile) => emit({ type: 'gc-waiting', holder, lockFile }),
        },
      )
      .then(
        (release) => {
          // Stopped while registering: nothing will run, so free the store at once.
          if (finished || abort.signal.aborted) {
            void release().catch(() => undefined);
            return;
          }
          unregister = release;
          registered = true;
          if (pipeline.nodes.length === 0) ready.complete();
          for (const node of pipeline.nodes) if (pendingUpstream.get(node.name) === 0) ready.next(node);
        },
        (error: unknown) => {
          if (!abort.signal.aborted)
            summary.failed.push({
              node: '(engine)',
              error: `could not register the run in the store: ${(error as Error).message}`,
            });
          ready.complete();
        },
      );

    return () => {
      options.signal?.removeEventListener('abort', onExternalAbort);
      abort.abort(new Cancelled());
      subscription.unsubscribe();
      workers?.close();
      // Unsubscribed before the end: nothing runs any more, so the store is free for gc.
      if (!finished) void unregister?.().catch(() => undefined);
    };
  });
}

/**
 * Which waiting node gets a free compute slot first: the one with the longest chain of nodes
 * downstream of it (a lock, whose SFT runs and their scores wait on it, before an SFT run that reads
 * a lock already there). Ready nodes otherwise start in the order the pipeline declares them, and a
 * long node declared late (a section's last lock) then runs alone at the end while the other core
 * idles. The chain's length, not the count of all nodes downstream: one pass over the graph.
 */
export function schedulingPriorities(nodes: ResolvedPipeline['nodes']): Map<string, number> {
  const depth = new Map<string, number>();
  // The nodes come in topological order: walked backwards, each is met after every node reading it.
  for (let i = nodes.length - 1; i >= 0; i--) {
    const below = depth.get(nodes[i].name) ?? 0;
    depth.set(nodes[i].name, below);
    for (const wire of Object.values(nodes[i].inputs))
      depth.set(wire.node, Math.max(depth.get(wire.node) ?? 0, below + 1));
  }
  return depth;
}

interface NodeResult {
  key: NodeKey;
  status: NodeStatus;
  outputs: Record<string, ArtifactRef>;
  durationMs: number;
}

/** A cached output that cannot be used: its object is gone, damaged, or not the size its manifest says. */
export interface DamagedOutput {
  node: string;
  output: string;
  hash: string;
  /** Where the object is (or was) in the store. */
  file: string;
  state: 'missing' | 'corrupt' | 'wrong-size';
}

export interface LookupOptions {
  /**
   * Delete a cached object found corrupt (a run does, before recomputing it); read-only callers
   * (plan, results) leave the store as it is.
   */
  discardCorrupt?: boolean;
  /** Told of each output of a manifest that cannot be used. */
  onDamaged?: (damaged: DamagedOutput) => void;
}

/** The node's cached outputs if its manifest exists and every output object is intact. */
export async function lookupCached(
  store: ArtifactStore,
  node: ResolvedNode,
  key: string,
  warn: (message: string) => void,
  options: LookupOptions = {},
): Promise<Manifest | undefined> {
  const manifest = await store.readManifest(key);
  if (!manifest) return undefined;
  for (const [name, kind] of Object.entries(node.stage.outputs)) {
    const ref = manifest.outputs[name];
    if (!ref || ref.kind !== kind) {
      warn(`node "${node.name}": cached run has no ${kind} output "${name}"; recomputing`);
      return undefined;
    }
    let state: DamagedOutput['state'] | 'ok' = await store.objectState(ref.hash);
    // An intact object of another size is some other artifact than the one this manifest recorded.
    if (state === 'ok' && store.objectSize(ref.hash) !== ref.size) state = 'wrong-size';
    if (state !== 'ok') {
      const file = store.objectPath(ref.hash);
      const what =
        state === 'wrong-size'
          ? `is not the ${ref.size}-byte object its manifest records`
          : state === 'corrupt'
            ? 'is corrupt (its bytes no longer match its hash)'
            : 'is missing';
      warn(
        `node "${node.name}": cached output "${name}" (${ref.hash.slice(0, 12)}, ${file}) ${what}; recomputing`,
      );
      options.onDamaged?.({ node: node.name, output: name, hash: ref.hash, file, state });
      if (state === 'corrupt' && options.discardCorrupt) await store.discardObject(ref.hash);
      return undefined;
    }
  }
  return manifest;
}

async function executeNode(
  node: ResolvedNode,
  store: ArtifactStore,
  outputsOf: Map<string, Record<string, ArtifactRef>>,
  signal: AbortSignal,
  workers: StageWorkerPool | undefined,
  computeSlot: <T>(fn: () => Promise<T>) => Promise<T>,
  emit: (event: RunEvent) => void,
): Promise<NodeResult> {
  const started = performance.now();
  const inputs: Record<string, ArtifactRef> = {};
  for (const [input, wire] of Object.entries(node.inputs)) {
    const ref = outputsOf.get(wire.node)?.[wire.output];
    if (!ref)
      throw new Error(
        `node "${node.name}": input "${input}" has no artifact from "${wire.node}.${wire.output}"`,
      );
    inputs[input] = ref;
  }
  const inputHashes = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, v.hash]));
  const key = nodeKey(node, inputHashes);
  const warn = (message: string) => emit({ type: 'warning', message });

  const hit = await lookupCached(store, node, key.key, warn, { discardCorrupt: true });
  if (hit) return { key, status: 'cached', outputs: hit.outputs, durationMs: performance.now() - started };
  return computeSlot(() => computeNode(node, store, key, inputs, signal, workers, emit));
}

async function computeNode(
  node: ResolvedNode,
  store: ArtifactStore,
  key: NodeKey,
  inputs: Record<string, ArtifactRef>,
  signal: AbortSignal,
  workers: StageWorkerPool | undefined,
  emit: (event: RunEvent) => void,
): Promise<NodeResult> {
  signal.throwIfAborted();
  const warn = (message: string) => emit({ type: 'warning', message });
  // Durations of computed nodes count from here: time spent queued for a compute slot is not theirs.
  const computeStarted = performance.now();
  const release = await store.acquireLock(key.key, {
    signal,
    onWait: (holder, lockFile) => emit({ type: 'node-waiting', node: node.name, holder, lockFile }),
  });
  try {
    // Another run may have finished this very node while we waited for the lock.
    const shared = await lookupCached(store, node, key.key, warn);
    if (shared)
      return {
        key,
        status: 'computed-elsewhere',
        outputs: shared.outputs,
        durationMs: performance.now() - computeStarted,
      };

    const pool = node.stage.heavy ? workers : undefined;
    const where = pool ? 'worker' : 'inline';
    emit({ type: 'node-start', node: node.name, stage: node.stage.name, key: key.key, where });
    const startedAt = new Date();
    const outputs: Record<string, ArtifactRef> = {};
    const metrics: Record<string, number> = {};
    let backend: string | undefined;
    const call = { node: node.name, key: key.key, params: node.params, inputs };
    const events = pool ? pool.run(node.stage, store, call) : runStageInline(node.stage, store, call);
    await new Promise<void>((resolve, reject) => {
      const subscription = events.subscribe({
        next: (event) => {
          if (event.type === 'artifact') outputs[event.output] = event.ref;
          else if (event.type === 'metric') metrics[event.name] = event.value;
          else if (event.type === 'backend') backend = event.name;
          emit({ type: 'node-event', node: node.name, event });
        },
        error: reject,
        complete: resolve,
      });
      const onAbort = () => {
        subscription.unsubscribe();
        reject(new Cancelled());
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
    for (const [name, kind] of Object.entries(node.stage.outputs))
      if (!outputs[name])
        throw new Error(
          `node "${node.name}": stage ${node.stage.name} finished without writing its ${kind} output "${name}"`,
        );
    const finishedAt = new Date();
    await store.writeManifest({
      key: key.key,
      stage: node.stage.name,
      node: node.name,
      components: key.components,
      outputs,
      metrics,
      timings: {
        startedAt: startedAt.toISOString(),
        finishedAt: finishedAt.toISOString(),
        durationMs: finishedAt.getTime() - startedAt.getTime(),
      },
      versions: { node: process.version, ...key.components.code.packages },
      ...(backend ? { backend } : {}),
    });
    await store.clearCheckpoint(key.key);
    return { key, status: 'computed', outputs, durationMs: performance.now() - computeStarted };
  } finally {
    await release();
  }
}
