import { parentPort } from 'node:worker_threads';
import { ArtifactStore } from '@lockpick/artifacts';
import { runStageInline } from './execute-stage.ts';
import type { AnyStage } from './stage.ts';
import type { WorkerReply, WorkerRequest } from './worker-pool.ts';

// A pooled stage worker: runs one request at a time, as many as the engine sends it.
const port = parentPort!;
const send = (reply: WorkerReply) => port.postMessage(reply);

function isStage(value: unknown): value is AnyStage {
  return (
    typeof value === 'object' && value !== null && 'run' in value && 'module' in value && 'name' in value
  );
}

async function runRequest(request: WorkerRequest): Promise<void> {
  try {
    const module = (await import(request.moduleUrl)) as Record<string, unknown>;
    const stage = Object.values(module).find(
      (v): v is AnyStage => isStage(v) && v.name === request.stageName,
    );
    if (!stage) throw new Error(`${request.moduleUrl} exports no stage named ${request.stageName}`);
    const store = await ArtifactStore.open(request.storeRoot);
    store.onWarning = (message) => send({ type: 'event', event: { type: 'log', level: 'warn', message } });
    runStageInline(stage, store, request).subscribe({
      next: (event) => send({ type: 'event', event }),
      error: (error: Error) => send({ type: 'error', message: error.message, stack: error.stack }),
      complete: () => send({ type: 'done' }),
    });
  } catch (error) {
    const e = error as Error;
    send({ type: 'error', message: e.message, stack: e.stack });
  }
}

port.on('message', (request: WorkerRequest) => void runRequest(request));
