import type { ArtifactRef, Json, Manifest } from '@lockpick/artifacts';
import type { StageEvent } from '@lockpick/engine';
import { type ConnectionOptions, type Job, Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';

/** The one BullMQ queue every run and worker of a Redis server shares: job id = node cache key. */
export const NODE_QUEUE = 'lockpick-nodes';

/** What a worker needs to compute one node, and to check that its code gives the same key. */
export interface NodeJobData {
  /** The node's cache key, also the job's id: one job per key, whichever runs want it. */
  key: string;
  /** For messages: the pipeline and node of the run that enqueued it first. */
  pipeline: string;
  node: string;
  stage: {
    name: string;
    /** The stage's file, relative to the workspace root: workers load it from their own checkout. */
    module: string;
  };
  params: Record<string, Json>;
  inputs: Record<string, ArtifactRef>;
  /** The key's components as the run computed them, so a worker that disagrees can say where. */
  components: Manifest['components'];
}

export interface NodeJobResult {
  /** 'computed-elsewhere': the result was already in the shared store when the worker took the job. */
  status: 'computed' | 'computed-elsewhere';
  durationMs: number;
  worker: string;
  /** Where the job's time went, for the cluster benchmark (epoch ms: one clock per machine). */
  timings: NodeJobTimings;
}

export interface NodeJobTimings {
  /** When the run put it on the queue (its clock), when this worker began, and when it was done. */
  queuedAt: number;
  startedAt: number;
  finishedAt: number;
  /** Inputs fetched from the shared store into the local cache (0 when all were cached already). */
  fetchMs: number;
  /** The engine computing the node, from the local cache. */
  computeMs: number;
  /** Outputs, then the manifest, uploaded to the shared store. */
  publishMs: number;
}

/** What a worker reports while it computes (through BullMQ's job progress). */
export type NodeJobProgress = StageEvent;

/**
 * Marks a job failure caused by a damaged input object in the shared store (the worker deleted it):
 * the run then recomputes the node that made it instead of failing.
 */
export const CORRUPT_INPUT_MARK = 'corrupt-object';

export function corruptInputHash(failedReason: string): string | undefined {
  return new RegExp(`\\[${CORRUPT_INPUT_MARK} ([0-9a-f]{64})\\]`).exec(failedReason)?.[1];
}

/**
 * Redis connection options from `redis://[user:password@]host:port[/db]`. Commands wait for a lost
 * connection to come back instead of failing (`maxRetriesPerRequest: null`, which BullMQ's workers
 * require): a Redis restart pauses runs and workers, it does not fail them.
 */
export function redisConnection(url: string): ConnectionOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`--queue ${url}: expected redis://host:port`);
  }
  if (parsed.protocol !== 'redis:' || !parsed.hostname)
    throw new Error(`--queue ${url}: expected redis://host:port`);
  const db = parsed.pathname.replace(/^\//, '');
  return {
    host: parsed.hostname,
    port: parsed.port ? Number(parsed.port) : 6379,
    ...(db ? { db: Number(db) } : {}),
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    maxRetriesPerRequest: null,
    // Reconnect quickly at first, then every 2 s for as long as it takes.
    retryStrategy: (times: number) => Math.min(100 * times, 2000),
  };
}

/**
 * Fails fast, with a message a person can act on, when Redis cannot be reached at start: the
 * connections BullMQ keeps would otherwise wait for it forever.
 */
export async function checkRedisReachable(url: string, timeoutMs = 5000): Promise<void> {
  const options = redisConnection(url) as Record<string, unknown>;
  const client = new Redis({
    ...options,
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    throw new Error(
      `cannot reach Redis at ${url} (${(error as Error).message}); start one with \`redis-server --port ${options.port} --protected-mode no\` or check --queue`,
    );
  } finally {
    client.disconnect();
  }
}

export type NodeJobState = 'missing' | 'waiting' | 'active' | 'completed' | 'failed';

/** The run side of the queue: enqueue nodes, look at their jobs, hear what happens to them. */
export class NodeQueue {
  readonly queue: Queue<NodeJobData, NodeJobResult>;
  readonly events: QueueEvents;

  constructor(readonly url: string) {
    const connection = redisConnection(url);
    this.queue = new Queue<NodeJobData, NodeJobResult>(NODE_QUEUE, { connection });
    this.events = new QueueEvents(NODE_QUEUE, { connection });
    // Connection errors come back through reconnection; unhandled they would crash the run.
    this.queue.on('error', () => undefined);
    this.events.on('error', () => undefined);
  }

  async ready(): Promise<void> {
    await Promise.all([this.queue.waitUntilReady(), this.events.waitUntilReady()]);
  }

  /**
   * Puts a node on the queue unless its job is there already (another run's, or ours from before):
   * the job id is the cache key, so the cluster computes each key once. A finished job still kept
   * under that id (a failure, kept so runs can read why) is replaced: the caller wants it again.
   */
  async enqueue(data: NodeJobData): Promise<void> {
    const existing = await this.queue.getJob(data.key);
    if (existing) {
      const state = await existing.getState();
      if (state !== 'failed' && state !== 'completed') return;
      await existing.remove().catch(() => undefined);
    }
    await this.queue.add('node', data, {
      jobId: data.key,
      // Gone once done: the shared store's manifest is the record. Failures stay a day for their reason.
      removeOnComplete: true,
      removeOnFail: { age: 24 * 3600 },
      attempts: 1,
    });
  }

  async state(key: string): Promise<{ state: NodeJobState; failedReason?: string }> {
    const job: Job<NodeJobData, NodeJobResult> | undefined = await this.queue.getJob(key);
    if (!job) return { state: 'missing' };
    const state = await job.getState();
    if (state === 'failed') return { state, failedReason: job.failedReason };
    if (state === 'completed' || state === 'active') return { state };
    if (state === 'unknown') return { state: 'missing' };
    return { state: 'waiting' };
  }

  /** Takes a job off the queue if no worker has started it (a cancelled run's). */
  async withdraw(key: string): Promise<void> {
    const job = await this.queue.getJob(key);
    if (!job) return;
    const state = await job.getState();
    if (state === 'waiting' || state === 'delayed' || state === 'prioritized')
      await job.remove().catch(() => undefined);
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.events.close(), this.queue.close()]);
  }
}
