import { Worker } from 'node:worker_threads';
import type { ArtifactStore } from '@lockpick/artifacts';
import { Observable } from 'rxjs';
import type { StageInvocation } from './execute-stage.ts';
import type { AnyStage, StageEvent } from './stage.ts';

/** Messages between the engine and a stage worker. */
export type WorkerRequest = StageInvocation & { moduleUrl: string; stageName: string; storeRoot: string };
export type WorkerReply =
  | { type: 'event'; event: StageEvent }
  | { type: 'error'; message: string; stack?: string }
  | { type: 'done' };

const WORKER_ENTRY = new URL('./worker-entry.mjs', import.meta.url);

/**
 * Worker threads for heavy stages (each its own wasm instance, its own core), kept between the
 * nodes of one run: starting a thread costs about a second (tsx, TensorFlow.js, the wasm backend),
 * as much as a small unlocking or scoring node computes. A worker goes back to the pool only after
 * its stage finished cleanly; one whose stage failed or was cancelled is terminated, so no state of
 * a broken stage reaches the next node. Cancelling terminates the worker at once: whatever it was
 * writing stays in the store's tmp/ and never becomes an object.
 */
export class StageWorkerPool {
  private idle: Worker[] = [];
  private closed = false;
  /** Threads started so far (for tests and benchmarks). */
  started = 0;

  /** `maxIdle`: workers kept waiting between nodes (the run's number of jobs). */
  constructor(private readonly maxIdle: number) {}

  run(stage: AnyStage, store: ArtifactStore, call: StageInvocation): Observable<StageEvent> {
    return new Observable<StageEvent>((subscriber) => {
      if (this.closed) {
        subscriber.error(new Error('the stage worker pool is closed'));
        return;
      }
      const worker = this.idle.pop() ?? this.spawn();
      worker.ref();
      let finished = false;
      const detach = () => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
      };
      const fail = (error: Error) => {
        finished = true;
        detach();
        void worker.terminate();
        subscriber.error(error);
      };
      const onMessage = (reply: WorkerReply) => {
        if (reply.type === 'event') subscriber.next(reply.event);
        else if (reply.type === 'error') {
          const error = new Error(reply.message);
          if (reply.stack) error.stack = reply.stack;
          fail(error);
        } else {
          finished = true;
          detach();
          this.release(worker);
          subscriber.complete();
        }
      };
      const onError = (error: Error) => fail(error);
      const onExit = (code: number) => {
        if (!finished) fail(new Error(`worker for stage ${stage.name} exited with code ${code}`));
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      const request: WorkerRequest = {
        ...call,
        moduleUrl: stage.module,
        stageName: stage.name,
        storeRoot: store.root,
      };
      worker.postMessage(request);
      return () => {
        if (finished) return;
        finished = true;
        detach();
        void worker.terminate();
      };
    });
  }

  /** Terminates the idle workers; workers still running a stage end with it. */
  close(): void {
    this.closed = true;
    for (const worker of this.idle) void worker.terminate();
    this.idle = [];
  }

  private spawn(): Worker {
    this.started++;
    const worker = new Worker(WORKER_ENTRY, { stdout: false, stderr: false });
    // An idle worker that dies (out of memory, say) leaves the pool.
    worker.once('exit', () => {
      this.idle = this.idle.filter((w) => w !== worker);
    });
    return worker;
  }

  private release(worker: Worker): void {
    if (this.closed || this.idle.length >= this.maxIdle) {
      void worker.terminate();
      return;
    }
    // Waiting for work must not keep the process alive.
    worker.unref();
    this.idle.push(worker);
  }
}
