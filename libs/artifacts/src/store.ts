import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, readFileSync, statSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { hostname } from 'node:os';
import * as path from 'node:path';
import type * as arrow from 'apache-arrow';
import { sha256, sha256File } from './hash.ts';
import type { Json, ModelBundle } from './model-bundle.ts';
import { modelBundleToParquet, parquetToModelBundle } from './model-bundle.ts';
import { parquetToTable, readParquetBatches, tableToParquet, writeParquetBatches } from './parquet.ts';

export type ArtifactKind = 'table' | 'model';

/** A pointer to an immutable object in the store: its sha256 is its name. */
export interface ArtifactRef {
  hash: string;
  kind: ArtifactKind;
  size: number;
}

/** What one node run left behind: enough to explain, reproduce and garbage-collect it. */
export interface Manifest {
  key: string;
  stage: string;
  node: string;
  components: {
    stage: string;
    code: { hash: string; files: Record<string, string>; packages: Record<string, string> };
    params: Record<string, Json>;
    inputs: Record<string, string>;
  };
  outputs: Record<string, ArtifactRef>;
  metrics: Record<string, number>;
  timings: { startedAt: string; finishedAt: string; durationMs: number };
  versions: Record<string, string>;
  backend?: string;
}

/**
 * The last run of a pipeline: which key each node had, so `plan` and `why` can say what changed (the
 * key's components are in that key's manifest, kept out of here so large sweeps stay small).
 */
export interface RunRecord {
  pipeline: string;
  updatedAt: string;
  nodes: Record<string, { key: string; stage: string }>;
}

export class CorruptArtifactError extends Error {
  constructor(
    readonly hash: string,
    readonly file: string,
    detail: string,
  ) {
    super(`artifact ${hash.slice(0, 12)} at ${file} is ${detail}`);
  }
}

export type ObjectState = 'ok' | 'missing' | 'corrupt';

export interface LockOptions {
  signal?: AbortSignal;
  /** Called once when the lock is held by another live process and we start waiting. */
  onWait?: (holder: LockHolder) => void;
  pollMs?: number;
}

export interface LockHolder {
  pid: number;
  host: string;
  since: string;
}

const HASH_RE = /^[0-9a-f]{64}$/;
const SMALL_FILE = 1 << 20;

/**
 * Content-addressed artifact store on a plain folder. Objects are immutable and named by the sha256
 * of their bytes; every write goes to `tmp/` first and is renamed into place, so a reader never sees
 * half an object and two writers of the same bytes both succeed.
 */
export class ArtifactStore {
  readonly root: string;
  /** Where warnings go (a corrupt object found and ignored, a stale lock taken over). */
  onWarning: (message: string) => void = (m) => process.emitWarning(m);
  private readonly verified = new Map<string, string>();

  private constructor(root: string) {
    this.root = path.resolve(root);
  }

  /** Opens (creating if needed) a store rooted at `root`. */
  static async open(root: string): Promise<ArtifactStore> {
    const store = new ArtifactStore(root);
    for (const dir of ['objects/sha256', 'manifests', 'runs', 'locks', 'tmp', 'checkpoints'])
      await fs.mkdir(path.join(store.root, dir), { recursive: true });
    return store;
  }

  objectPath(hash: string): string {
    if (!HASH_RE.test(hash)) throw new Error(`not a sha256 hash: "${hash}"`);
    return path.join(this.root, 'objects', 'sha256', hash.slice(0, 2), hash.slice(2));
  }

  private tmpPath(label: string): string {
    return path.join(this.root, 'tmp', `${label}.${process.pid}.${randomBytes(6).toString('hex')}`);
  }

  /** Writes `bytes` to `dest` atomically: a temporary file in the store, fsynced, then renamed. */
  private async atomicWrite(dest: string, bytes: Uint8Array | string): Promise<void> {
    const tmp = this.tmpPath(path.basename(dest));
    try {
      const handle = await fs.open(tmp, 'w');
      try {
        await handle.writeFile(bytes);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await fs.mkdir(path.dirname(dest), { recursive: true });
      await fs.rename(tmp, dest);
    } catch (error) {
      await fs.rm(tmp, { force: true });
      throw error;
    }
  }

  async putBytes(bytes: Uint8Array, kind: ArtifactKind): Promise<ArtifactRef> {
    const hash = sha256(bytes);
    const dest = this.objectPath(hash);
    if ((await this.objectState(hash)) !== 'ok') await this.atomicWrite(dest, bytes);
    return { hash, kind, size: bytes.byteLength };
  }

  /** Streams chunks into the store, hashing as it writes; for artifacts too large to hold. */
  async putStream(chunks: AsyncIterable<Uint8Array>, kind: ArtifactKind): Promise<ArtifactRef> {
    const hasher = createHash('sha256');
    const tmp = this.tmpPath('stream');
    let size = 0;
    const out = createWriteStream(tmp);
    try {
      for await (const chunk of chunks) {
        hasher.update(chunk);
        size += chunk.byteLength;
        if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
      }
      await new Promise<void>((resolve, reject) =>
        out.end((err?: Error | null) => (err ? reject(err) : resolve())),
      );
      const hash = hasher.digest('hex');
      const dest = this.objectPath(hash);
      await fs.mkdir(path.dirname(dest), { recursive: true });
      await fs.rename(tmp, dest);
      return { hash, kind, size };
    } catch (error) {
      out.destroy();
      await fs.rm(tmp, { force: true });
      throw error;
    }
  }

  /**
   * Whether an object is present and its bytes still hash to its name. The answer is remembered for
   * this process as long as the file's size and mtime do not change, so a fully cached run of a large
   * pipeline does not rehash every object.
   */
  async objectState(hash: string): Promise<ObjectState> {
    const file = this.objectPath(hash);
    // Synchronous calls on purpose: a cache check of a large sweep is thousands of tiny reads, and
    // the promise API's per-call overhead costs more than the reads themselves.
    const stat = statSync(file, { throwIfNoEntry: false });
    if (!stat) return 'missing';
    const stamp = `${stat.size}:${stat.mtimeMs}`;
    if (this.verified.get(hash) === stamp) return 'ok';
    const actual = stat.size < SMALL_FILE ? sha256(readFileSync(file)) : await sha256File(file);
    if (actual !== hash) return 'corrupt';
    this.verified.set(hash, stamp);
    return 'ok';
  }

  /** Reads an object's bytes and checks them against the hash; throws if missing or corrupt. */
  async readBytes(ref: ArtifactRef | string): Promise<Uint8Array> {
    const hash = typeof ref === 'string' ? ref : ref.hash;
    const file = this.objectPath(hash);
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await fs.readFile(file));
    } catch {
      throw new CorruptArtifactError(hash, file, 'missing');
    }
    if (sha256(bytes) !== hash)
      throw new CorruptArtifactError(hash, file, 'corrupt (its bytes no longer match its hash)');
    return bytes;
  }

  /** Removes an object found corrupt, so it can be recomputed. */
  async discardObject(hash: string): Promise<void> {
    this.verified.delete(hash);
    await fs.rm(this.objectPath(hash), { force: true });
  }

  async writeTable(table: arrow.Table, metadata?: Map<string, string>): Promise<ArtifactRef> {
    return this.putBytes(tableToParquet(table, metadata), 'table');
  }

  /** Writes a table batch by batch (one row group per batch) without holding it whole. */
  async writeTableBatches(
    batches: AsyncIterable<arrow.RecordBatch>,
    metadata?: Map<string, string>,
  ): Promise<ArtifactRef> {
    return this.putStream(writeParquetBatches(batches, metadata), 'table');
  }

  async readTable(ref: ArtifactRef | string): Promise<arrow.Table> {
    return parquetToTable(await this.readBytes(ref));
  }

  /** Reads a table batch by batch from disk after checking its hash. */
  async *readTableBatches(ref: ArtifactRef | string, batchSize?: number): AsyncGenerator<arrow.RecordBatch> {
    const hash = typeof ref === 'string' ? ref : ref.hash;
    const state = await this.objectState(hash);
    if (state !== 'ok') throw new CorruptArtifactError(hash, this.objectPath(hash), state);
    yield* readParquetBatches(this.objectPath(hash), batchSize);
  }

  async writeModel(bundle: ModelBundle): Promise<ArtifactRef> {
    return this.putBytes(modelBundleToParquet(bundle), 'model');
  }

  async readModel(ref: ArtifactRef | string): Promise<ModelBundle> {
    return parquetToModelBundle(await this.readBytes(ref));
  }

  // ---- manifests -------------------------------------------------------------------------------

  private manifestPath(key: string): string {
    if (!HASH_RE.test(key)) throw new Error(`not a cache key: "${key}"`);
    return path.join(this.root, 'manifests', `${key}.json`);
  }

  /** The manifest of a node run, or undefined if there is none; an unreadable one is reported and ignored. */
  async readManifest(key: string): Promise<Manifest | undefined> {
    const file = this.manifestPath(key);
    let text: string;
    try {
      text = readFileSync(file, 'utf8'); // small, and read by the thousand: see objectState
    } catch {
      return undefined;
    }
    try {
      const manifest = JSON.parse(text) as Manifest;
      if (manifest.key !== key || typeof manifest.outputs !== 'object')
        throw new Error('wrong key or no outputs');
      return manifest;
    } catch (error) {
      this.onWarning(
        `ignoring unreadable manifest ${file}: ${(error as Error).message}; the node will be recomputed`,
      );
      return undefined;
    }
  }

  async writeManifest(manifest: Manifest): Promise<void> {
    await this.atomicWrite(this.manifestPath(manifest.key), `${JSON.stringify(manifest, null, 2)}\n`);
  }

  async listManifests(): Promise<Manifest[]> {
    const dir = path.join(this.root, 'manifests');
    const out: Manifest[] = [];
    for (const name of await fs.readdir(dir)) {
      if (!name.endsWith('.json')) continue;
      const manifest = await this.readManifest(name.slice(0, -5));
      if (manifest) out.push(manifest);
    }
    return out;
  }

  // ---- run records -----------------------------------------------------------------------------

  private runPath(pipeline: string): string {
    if (!/^[\w.-]+$/.test(pipeline)) throw new Error(`bad pipeline name "${pipeline}"`);
    return path.join(this.root, 'runs', `${pipeline}.json`);
  }

  async readRunRecord(pipeline: string): Promise<RunRecord | undefined> {
    try {
      return JSON.parse(await fs.readFile(this.runPath(pipeline), 'utf8')) as RunRecord;
    } catch {
      return undefined;
    }
  }

  async writeRunRecord(record: RunRecord): Promise<void> {
    await this.atomicWrite(this.runPath(record.pipeline), `${JSON.stringify(record, null, 2)}\n`);
  }

  // ---- locks -----------------------------------------------------------------------------------

  /**
   * Takes the per-key lock that makes a node compute once even when two runs share the store. A lock
   * whose holder process on this host is gone (killed, crashed) is taken over. Resolves to a release
   * function.
   */
  async acquireLock(key: string, options: LockOptions = {}): Promise<() => Promise<void>> {
    const file = path.join(this.root, 'locks', `${key}.lock`);
    const me: LockHolder = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
    let waited = false;
    for (;;) {
      options.signal?.throwIfAborted();
      try {
        const handle = await fs.open(file, 'wx');
        await handle.writeFile(JSON.stringify(me));
        await handle.close();
        return async () => {
          await fs.rm(file, { force: true });
        };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = await readLockHolder(file);
      if (holder && !isAlive(holder)) {
        await this.takeOverStaleLock(file, holder);
        continue;
      }
      if (holder && !waited) {
        waited = true;
        options.onWait?.(holder);
      }
      await sleep(options.pollMs ?? 50, options.signal);
    }
  }

  private async takeOverStaleLock(file: string, holder: LockHolder): Promise<void> {
    // Move it aside first, then check it is the stale one we read: if another process took it over
    // meanwhile and wrote a fresh lock, put that one back.
    const aside = `${file}.stale.${process.pid}.${randomBytes(4).toString('hex')}`;
    try {
      await fs.rename(file, aside);
    } catch {
      return;
    }
    const moved = await readLockHolder(aside);
    if (moved && moved.pid === holder.pid && moved.since === holder.since) {
      this.onWarning(
        `took over a stale lock ${path.basename(file)} left by process ${holder.pid} (no longer running)`,
      );
      await fs.rm(aside, { force: true });
    } else {
      await fs.link(aside, file).catch(() => undefined);
      await fs.rm(aside, { force: true });
    }
  }

  // ---- checkpoints of unfinished node runs ---------------------------------------------------

  private checkpointPath(key: string): string {
    if (!HASH_RE.test(key)) throw new Error(`not a cache key: "${key}"`);
    return path.join(this.root, 'checkpoints', `${key}.json`);
  }

  /**
   * Saves a training checkpoint of the node run with cache key `key`, so a run interrupted after it
   * resumes from here. The pointer file is replaced atomically; gc keeps what it points to.
   */
  async saveCheckpoint(
    key: string,
    bundle: ModelBundle,
    meta: { [k: string]: Json } = {},
  ): Promise<ArtifactRef> {
    const ref = await this.writeModel(bundle);
    await this.atomicWrite(
      this.checkpointPath(key),
      JSON.stringify({ ref, savedAt: new Date().toISOString(), meta }),
    );
    return ref;
  }

  /** The last checkpoint of an unfinished node run, if one was saved and is intact. */
  async loadCheckpoint(key: string): Promise<ModelBundle | undefined> {
    let pointer: { ref: ArtifactRef };
    try {
      pointer = JSON.parse(await fs.readFile(this.checkpointPath(key), 'utf8')) as { ref: ArtifactRef };
    } catch {
      return undefined;
    }
    try {
      return await this.readModel(pointer.ref);
    } catch (error) {
      this.onWarning(`ignoring checkpoint of ${key.slice(0, 12)}: ${(error as Error).message}`);
      return undefined;
    }
  }

  /** Forgets a node run's checkpoint once the run has finished (gc then removes its object). */
  async clearCheckpoint(key: string): Promise<void> {
    await fs.rm(this.checkpointPath(key), { force: true });
  }

  // ---- garbage collection ----------------------------------------------------------------------

  /**
   * Deletes objects that no manifest references, temporary files of processes that are gone, and
   * stale locks. Returns what it removed.
   */
  async gc(): Promise<{ objects: number; bytes: number; tmp: number }> {
    const referenced = new Set<string>();
    for (const m of await this.listManifests())
      for (const ref of Object.values(m.outputs)) referenced.add(ref.hash);
    let objects = 0;
    let bytes = 0;
    const objectsDir = path.join(this.root, 'objects', 'sha256');
    for (const prefix of await fs.readdir(objectsDir)) {
      for (const rest of await fs.readdir(path.join(objectsDir, prefix))) {
        const hash = prefix + rest;
        if (referenced.has(hash)) continue;
        const file = path.join(objectsDir, prefix, rest);
        bytes += (await fs.stat(file)).size;
        await fs.rm(file, { force: true });
        objects++;
      }
    }
    let tmp = 0;
    for (const name of await fs.readdir(path.join(this.root, 'tmp'))) {
      const pid = Number(name.split('.').at(-2));
      if (Number.isInteger(pid) && pid !== process.pid && isAlive({ pid, host: hostname(), since: '' }))
        continue;
      await fs.rm(path.join(this.root, 'tmp', name), { force: true, recursive: true });
      tmp++;
    }
    for (const name of await fs.readdir(path.join(this.root, 'locks'))) {
      const file = path.join(this.root, 'locks', name);
      const holder = await readLockHolder(file);
      if (!holder || !isAlive(holder)) await fs.rm(file, { force: true });
    }
    return { objects, bytes, tmp };
  }
}

async function readLockHolder(file: string): Promise<LockHolder | undefined> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as LockHolder;
  } catch {
    // Being written right now, or gone: treat as held and look again shortly.
    return undefined;
  }
}

function isAlive(holder: LockHolder): boolean {
  if (holder.host !== hostname()) return true; // cannot tell for another machine: assume alive
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}
