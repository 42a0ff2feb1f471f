import type { ArtifactRef, RunRecord } from '@lockpick/artifacts';
import {
  codeIdentity,
  emptyRunSummary,
  type NodeKey,
  type NodeStatus,
  nodeKey,
  type ResolvedNode,
  type ResolvedPipeline,
  type RunEvent,
  runIdOf,
  runSettings,
} from '@lockpick/engine';
import { Observable } from 'rxjs';
import { corruptInputHash, type NodeJobData, type NodeJobResult, type NodeQueue } from './queue.ts';
import type { SharedStore } from './shared-store.ts';
import { stageModulePath, WORKSPACE_ROOT } from './workspace.ts';

export interface ClusterRunOptions {
  /** Run everything not downstream of a failure instead of stopping at the first. */
  keepGoing?: boolean;
  /** Aborting stops the run: jobs no worker has started are withdrawn; finished nodes are kept. */
  signal?: AbortSignal;
  /**
   * How often queued nodes are checked against the shared store and the queue (default 2 s): the
   * queue's events are the fast path, this is what makes a run survive lost events, a Redis
   * restart that lost its jobs, or a job withdrawn by another run's Ctrl-C.
   */
  reconcileMs?: number;
  workspaceRoot?: string;
}

/** A node damaged inputs sent back upstream more often than this fails instead. */
const MAX_REVIVALS = 3;
/** How long stopping waits for the queue (it may be unreachable) before giving up on tidying. */
const STOP_TIMEOUT_MS = 3000;

type NodeState = 'waiting' | 'checking' | 'queued' | 'done' | 'failed' | 'skipped';

interface QueuedKey {
  data: NodeJobData;
  nodes: Set<string>;
  /** Whether the queue took it; false while Redis is unreachable (the reconcile pass retries). */
  enqueued: boolean;
  started: number;
  active: boolean;
  /** A check of the shared store for its manifest is under way. */
  checking: boolean;
}

/**
 * Runs a pipeline on a cluster: the same plan as a local run (each node looked up by its cache key,
 * in the shared store), but nodes to compute are put on the queue, one job per cache key, for
 * workers to compute. Emits the same RunEvents as `runPipeline`, ending with `run-done`, and keeps
 * the run's record in the shared store, so `plan`, `why`, `results` and `report` read it as usual.
 */
export function runPipelineOnCluster(
  pipeline: ResolvedPipeline,
  shared: SharedStore,
  queue: NodeQueue,
  options: ClusterRunOptions = {},
): Observable<RunEvent> {
  return new Observable<RunEvent>((subscriber) => {
    const started = performance.now();
    const emit = (event: RunEvent) => subscriber.next(event);
    const warn = (message: string) => emit({ type: 'warning', message });
    const runId = runIdOf(pipeline);
    const workspaceRoot = options.workspaceRoot ?? WORKSPACE_ROOT;
    const byName = new Map(pipeline.nodes.map((n) => [n.name, n]));
    const dependents = new Map<string, ResolvedNode[]>();
    const upstreamOf = new Map<string, string[]>();
    for (const node of pipeline.nodes) {
      const upstream = [...new Set(Object.values(node.inputs).map((w) => w.node))];
      upstreamOf.set(node.name, upstream);
      for (const u of upstream) dependents.set(u, [...(dependents.get(u) ?? []), node]);
    }
    const state = new Map<string, NodeState>(pipeline.nodes.map((n) => [n.name, 'waiting']));
    const outputsOf = new Map<string, Record<string, ArtifactRef>>();
    const keyOf = new Map<string, NodeKey>();
    const queued = new Map<string, QueuedKey>();
    const revivals = new Map<string, number>();
    const record: RunRecord['nodes'] = {};
    const summary = emptyRunSummary(pipeline.name);
    let stopping = false;
    let finished = false;

    // ---- the run's record in the shared store ----
    let recordWrite: Promise<void> = Promise.resolve();
    let recordTimer: NodeJS.Timeout | undefined;
    const saveRecord = async () => {
      const previous = (await shared.readRunRecord(pipeline.name, runId))?.nodes ?? {};
      await shared.writeRunRecord({
        pipeline: pipeline.name,
        id: runId,
        settings: runSettings(pipeline),
        updatedAt: new Date().toISOString(),
        nodes: { ...previous, ...record },
      });
    };
    // Current during long runs, but written at most once a second (see runPipeline).
    const scheduleRecordSave = () => {
      if (recordTimer) return;
      recordTimer = setTimeout(() => {
        recordTimer = undefined;
        recordWrite = recordWrite.then(saveRecord).catch(() => undefined);
      }, 1000);
      recordTimer.unref();
    };

    const settledStates: NodeState[] = ['done', 'failed', 'skipped'];
    const maybeFinish = () => {
      if (finished) return;
      if (!stopping && !pipeline.nodes.every((n) => settledStates.includes(state.get(n.name)!))) return;
      finished = true;
      void finish();
    };

    const finish = async () => {
      clearInterval(reconcileTimer);
      if (recordTimer) clearTimeout(recordTimer);
      options.signal?.removeEventListener('abort', onAbort);
      // Jobs no worker has started go back off the queue; started ones finish and are cached.
      await withTimeout(Promise.allSettled([...queued.keys()].map((key) => queue.withdraw(key))));
      for (const node of pipeline.nodes)
        if (!settledStates.includes(state.get(node.name)!)) summary.notRun.push(node.name);
      await recordWrite;
      if (Object.keys(record).length > 0)
        await saveRecord().catch((error: Error) => warn(`could not save run record: ${error.message}`));
      summary.durationMs = performance.now() - started;
      emit({ type: 'run-done', summary });
      subscriber.complete();
    };

    const allUpstreamDone = (node: ResolvedNode) =>
      (upstreamOf.get(node.name) ?? []).every((u) => state.get(u) === 'done');

    const done = (
      node: ResolvedNode,
      key: string,
      status: NodeStatus,
      outputs: Record<string, ArtifactRef>,
      durationMs: number,
    ) => {
      if (state.get(node.name) === 'done' || finished) return;
      state.set(node.name, 'done');
      outputsOf.set(node.name, outputs);
      record[node.name] = { key, stage: node.stage.name };
      (status === 'cached' ? summary.cached : summary.computed).push(node.name);
      emit({ type: 'node-done', node: node.name, key, status, durationMs, outputs });
      if (status !== 'cached') scheduleRecordSave();
      if (!stopping)
        for (const d of dependents.get(node.name) ?? [])
          if (state.get(d.name) === 'waiting' && allUpstreamDone(d)) void processNode(d);
      maybeFinish();
    };

    const skipDownstream = (node: ResolvedNode, reason: string) => {
      for (const d of dependents.get(node.name) ?? []) {
        if (state.get(d.name) !== 'waiting') continue;
        state.set(d.name, 'skipped');
        summary.notRun.push(d.name);
        emit({ type: 'node-skipped', node: d.name, reason });
        skipDownstream(d, reason);
      }
    };

    const fail = (node: ResolvedNode, error: string) => {
      if (finished || settledStates.includes(state.get(node.name)!)) return;
      state.set(node.name, 'failed');
      summary.failed.push({ node: node.name, error });
      emit({ type: 'node-failed', node: node.name, error });
      skipDownstream(node, `upstream "${node.name}" failed`);
      if (!options.keepGoing) stopping = true;
      maybeFinish();
    };

    const enqueue = async (entry: QueuedKey) => {
      try {
        await queue.enqueue(entry.data);
        entry.enqueued = true;
      } catch (error) {
        if (entry.enqueued === false && !finished)
          warn(`could not queue ${entry.data.node} (${(error as Error).message}); retrying`);
      }
    };

    /** Looks a ready node up in the shared store; queues it for the workers if it is not there. */
    const processNode = async (node: ResolvedNode) => {
      if (stopping || finished) return;
      state.set(node.name, 'checking');
      try {
        const inputs: Record<string, ArtifactRef> = {};
        for (const [input, wire] of Object.entries(node.inputs)) {
          const ref = outputsOf.get(wire.node)?.[wire.output];
          if (!ref) throw new Error(`input "${input}" has no artifact from "${wire.node}.${wire.output}"`);
          inputs[input] = ref;
        }
        const key = nodeKey(node, Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, v.hash])));
        keyOf.set(node.name, key);
        const manifest = await shared.readManifest(key.key, warn);
        if (manifest && kindsMatch(node, manifest.outputs) && (await shared.hasObjects(manifest.outputs))) {
          done(node, key.key, 'cached', manifest.outputs, 0);
          return;
        }
        if (manifest && !kindsMatch(node, manifest.outputs))
          warn(`node "${node.name}": cached run lacks outputs its stage declares; recomputing`);
        else if (manifest)
          warn(`node "${node.name}": cached outputs are missing from ${shared.url}; recomputing`);
        if (stopping || finished) return;
        state.set(node.name, 'queued');
        const existing = queued.get(key.key);
        if (existing) {
          // Two nodes of this pipeline compute the same thing: one job serves both.
          existing.nodes.add(node.name);
          return;
        }
        const entry: QueuedKey = {
          data: {
            key: key.key,
            pipeline: pipeline.name,
            node: node.name,
            stage: { name: node.stage.name, module: stageModulePath(node.stage, workspaceRoot) },
            params: node.params,
            inputs,
            components: key.components,
          },
          nodes: new Set([node.name]),
          enqueued: false,
          started: performance.now(),
          active: false,
          checking: false,
        };
        queued.set(key.key, entry);
        await enqueue(entry);
      } catch (error) {
        fail(node, (error as Error).message);
      }
    };

    /** A job finished, or vanished: the shared store's manifest says whether the node is done. */
    const onJobDone = async (key: string, result?: NodeJobResult) => {
      const entry = queued.get(key);
      if (!entry || entry.checking || finished) return;
      entry.checking = true;
      try {
        const manifest = await shared.readManifest(key, warn);
        if (manifest && (await shared.hasObjects(manifest.outputs))) {
          queued.delete(key);
          for (const name of entry.nodes)
            done(
              byName.get(name)!,
              key,
              result?.status ?? 'computed-elsewhere',
              manifest.outputs,
              result?.durationMs ?? performance.now() - entry.started,
            );
        } else {
          // Gone from the queue without a result (Redis lost it, or a run withdrew it): queue it again.
          await enqueue(entry);
        }
      } catch (error) {
        warn(`could not check ${entry.data.node} in ${shared.url}: ${(error as Error).message}; retrying`);
      } finally {
        entry.checking = false;
      }
    };

    const onJobFailed = (key: string, reason: string) => {
      const entry = queued.get(key);
      if (!entry || finished) return;
      queued.delete(key);
      const damaged = corruptInputHash(reason);
      for (const name of entry.nodes) {
        const node = byName.get(name)!;
        const wire = damaged
          ? Object.values(node.inputs).find((w) => outputsOf.get(w.node)?.[w.output]?.hash === damaged)
          : undefined;
        const count = (revivals.get(name) ?? 0) + 1;
        if (!wire || count > MAX_REVIVALS || stopping) {
          fail(node, reason);
          continue;
        }
        // A worker found this node's input damaged in the shared store and deleted it: recompute the
        // node that made it, then this one.
        revivals.set(name, count);
        warn(`node "${name}": ${reason.replace(/ \[.*\]$/, '')}; recomputing "${wire.node}" first`);
        state.set(name, 'waiting');
        const upstream = byName.get(wire.node)!;
        if (state.get(upstream.name) === 'done') {
          for (const list of [summary.cached, summary.computed]) {
            const i = list.indexOf(upstream.name);
            if (i >= 0) list.splice(i, 1);
          }
          outputsOf.delete(upstream.name);
          void processNode(upstream);
        }
      }
    };

    // ---- what the queue tells ----
    const onCompleted = ({ jobId, returnvalue }: { jobId: string; returnvalue: unknown }) =>
      void onJobDone(jobId, parseResult(returnvalue));
    const onFailed = ({ jobId, failedReason }: { jobId: string; failedReason: string }) =>
      onJobFailed(jobId, failedReason);
    const onActive = ({ jobId }: { jobId: string }) => {
      const entry = queued.get(jobId);
      if (!entry || entry.active) return;
      entry.active = true;
      for (const name of entry.nodes)
        emit({ type: 'node-start', node: name, stage: entry.data.stage.name, key: jobId, where: 'worker' });
    };
    const onProgress = ({ jobId, data }: { jobId: string; data: unknown }) => {
      const entry = queued.get(jobId);
      if (!entry || typeof data !== 'object' || data === null || !('type' in data)) return;
      for (const name of entry.nodes)
        emit({
          type: 'node-event',
          node: name,
          event: data as Extract<RunEvent, { type: 'node-event' }>['event'],
        });
    };
    queue.events.on('completed', onCompleted);
    queue.events.on('failed', onFailed);
    queue.events.on('active', onActive);
    queue.events.on('progress', onProgress);

    // ---- the slow path: every queued key checked against the queue and the store ----
    let reconciling = false;
    const reconcile = async () => {
      if (reconciling || finished) return;
      reconciling = true;
      try {
        for (const [key, entry] of [...queued]) {
          if (finished) return;
          if (!entry.enqueued) {
            await enqueue(entry);
            continue;
          }
          const job = await queue.state(key);
          if (job.state === 'active') onActive({ jobId: key });
          else if (job.state === 'failed') onJobFailed(key, job.failedReason ?? 'failed');
          else if (job.state === 'missing' || job.state === 'completed') await onJobDone(key);
        }
      } catch {
        // Redis unreachable: the next pass tries again.
      } finally {
        reconciling = false;
      }
    };
    const reconcileTimer = setInterval(() => void reconcile(), options.reconcileMs ?? 2000);

    const onAbort = () => {
      summary.cancelled = true;
      stopping = true;
      maybeFinish();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });

    // Each stage's code identity now, when its modules were just loaded (as runPipeline does).
    for (const node of pipeline.nodes) codeIdentity(node.stage.module);
    emit({
      type: 'run-start',
      pipeline: pipeline.name,
      runId,
      nodes: pipeline.nodes.map((n) => ({ name: n.name, stage: n.stage.name })),
    });
    if (options.signal?.aborted) onAbort();
    else if (pipeline.nodes.length === 0) maybeFinish();
    else
      for (const node of pipeline.nodes)
        if ((upstreamOf.get(node.name) ?? []).length === 0) void processNode(node);

    return () => {
      clearInterval(reconcileTimer);
      if (recordTimer) clearTimeout(recordTimer);
      options.signal?.removeEventListener('abort', onAbort);
      queue.events.off('completed', onCompleted);
      queue.events.off('failed', onFailed);
      queue.events.off('active', onActive);
      queue.events.off('progress', onProgress);
    };
  });
}

function kindsMatch(node: ResolvedNode, outputs: Record<string, ArtifactRef>): boolean {
  return Object.entries(node.stage.outputs).every(([name, kind]) => outputs[name]?.kind === kind);
}

function parseResult(value: unknown): NodeJobResult | undefined {
  const parsed = typeof value === 'string' ? safeJson(value) : value;
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const result = parsed as Partial<NodeJobResult>;
  return (result.status === 'computed' || result.status === 'computed-elsewhere') &&
    typeof result.durationMs === 'number'
    ? (result as NodeJobResult)
    : undefined;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function withTimeout<T>(promise: Promise<T>): Promise<T | undefined> {
  return Promise.race([
    promise,
    new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), STOP_TIMEOUT_MS).unref()),
  ]);
}
