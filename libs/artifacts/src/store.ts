import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, readFileSync, type Stats, statSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { hostname } from 'node:os';
import * as path from 'node:path';
import type * as arrow from 'apache-arrow';
import { canonicalJson, sha256, sha256File } from './hash.ts';
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
  /**
   * sha256 of the manifest's canonical JSON without this field, set by writeManifest and checked by
   * readManifest: it binds each output name to its hash, so an output hash edited or swapped for
   * another valid object is caught instead of trusted. Manifests written before it existed lack it.
   */
  digest?: string;
}

/** The settings that tell one run of a pipeline from another: what `--scale`, `--seeds`, `--set` gave. */
export interface RunSettings {
  scale: string;
  seeds: number[];
  /** The `--set` overrides in effect, as canonical `node.param=<JSON>` strings, sorted. */
  overrides: string[];
}

/**
 * The last run of a pipeline with one set of settings: which key each node had, so `plan` and `why`
 * can say what changed (the key's components are in that key's manifest, kept out of here so large
 * sweeps stay small). Kept per run id in `runs/<pipeline>/<id>.json`, so a smoke run never replaces
 * the record of a full one.
 */
export interface RunRecord {
  pipeline: string;
  /**
   * Derived from the pipeline and its settings. Absent in a record written before runs had ids
   * (`runs/<pipeline>.json`, one per pipeline, whose settings are unknown).
   */
  id?: string;
  settings?: RunSettings;
  updatedAt: string;
  nodes: Record<string, { key: string; stage: string }>;
}

/** A live run registered in the store (see `registerRun`): who runs what. */
export interface RunHolder extends LockHolder {
  pipeline: string;
  runId?: string;
}

/** Who is using the store right now, as gc found it: a registered run, or a node's lock. */
export interface StoreUser {
  holder: LockHolder & { pipeline?: string; runId?: string };
  /** The file that says so (delete it by hand only if that process is gone). */
  file: string;
  kind: 'run' | 'node';
}

/**
 * Thrown by `gc` while a run is using the store: collecting then would delete the objects a running
 * node has stored but not yet recorded in its manifest, and the checkpoints it is writing.
 */
export class StoreBusyError extends Error {
  constructor(
    readonly root: string,
    readonly users: StoreUser[],
  ) {
    // Runs first; a node lock held by a process already named as a run says nothing more.
    const runs = users.filter((u) => u.kind === 'run');
    const named = new Set(runs.map((u) => `${u.holder.host}:${u.holder.pid}`));
    const shown = [
      ...runs,
      ...users.filter((u) => u.kind === 'node' && !named.has(`${u.holder.host}:${u.holder.pid}`)),
    ];
    const who = shown.slice(0, 5).map((u) => describeUser(u));
    const more = shown.length > 5 ? `; and ${shown.length - 5} more` : '';
    super(
      `the store ${root} is in use by a live run: ${who.join('; ')}${more}. ` +
        'Collecting now would delete the objects and checkpoints it has written but not yet recorded. ' +
        'Wait for the run to finish (or stop it with Ctrl-C), then run gc again; if that process is gone ' +
        'on another machine, delete the file named above.',
    );
  }
}

function describeUser(user: StoreUser): string {
  const { holder } = user;
  const where = holder.host === hostname() ? '' : ` on ${holder.host}`;
  const what =
    user.kind === 'run'
      ? `pipeline ${holder.pipeline ?? '?'}${holder.runId ? ` (run ${holder.runId})` : ''}`
      : 'a node it is computing';
  return `process ${holder.pid}${where} running ${what} since ${holder.since} (${user.file})`;
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

/** Thrown by `openExisting` when there is no store at the path: nothing was created there. */
export class NoStoreError extends Error {
  constructor(
    readonly root: string,
    detail: string,
  ) {
    super(`no store at ${root} (${detail})`);
  }
}

export interface LockOptions {
  signal?: AbortSignal;
  /** Called once when the lock is held by another live process and we start waiting. */
  onWait?: (holder: LockHolder, lockFile: string) => void;
  pollMs?: number;
  /**
   * How long a lock file whose holder cannot be read (empty, half-written) may stay unchanged before
   * it counts as stale (default 2 s): its writer may be between creating and filling it.
   */
  unreadableGraceMs?: number;
}

export interface LockHolder {
  pid: number;
  host: string;
  since: string;
}

const HASH_RE = /^[0-9a-f]{64}$/;
/** Pipeline names and run ids become file names: no separators, no leading dot. */
const NAME_RE = /^[\w-][\w.-]*$/;
/** In `locks/`: one file per live run (`run.<pid>.<random>.json`) and the gc lock. */
const RUN_FILE_RE = /^run\.\d+\.[0-9a-f]+\.json$/;
const GC_LOCK = 'gc.lock';
const SMALL_FILE = 1 << 20;
const STORE_DIRS = ['objects/sha256', 'manifests', 'runs', 'locks', 'tmp', 'checkpoints'];

/**
 * Content-addressed artifact store on a plain folder. Objects are immutable and named by the sha256
 * of their bytes; every write goes to `tmp/` first and is renamed into place, so a reader never sees
 * half an object and two writers of the same bytes both succeed.
 */
export class ArtifactStore {
  readonly root: string;
  /** Where warnings go (a corrupt object found and ignored, a stale lock taken over). */
  onWarning: (message: string) => void = (m) => process.emitWarning(m);
  /** False for a store opened with `openExisting`: every write or delete throws. */
  readonly writable: boolean;
  private readonly verified = new Map<string, string>();

  private constructor(root: string, writable: boolean) {
    this.root = path.resolve(root);
    this.writable = writable;
  }

  /** Opens (creating if needed) a store rooted at `root`. */
  static async open(root: string): Promise<ArtifactStore> {
    const store = new ArtifactStore(root, true);
    for (const dir of STORE_DIRS) await fs.mkdir(path.join(store.root, dir), { recursive: true });
    return store;
  }

  /**
   * Opens an existing store for reading only, creating nothing: a mistyped path fails with a
   * NoStoreError instead of becoming an empty store, and every write or delete throws.
   */
  static async openExisting(root: string): Promise<ArtifactStore> {
    const store = new ArtifactStore(root, false);
    const stat = await fs.stat(store.root).catch(() => undefined);
    if (!stat) throw new NoStoreError(store.root, 'the folder does not exist');
    if (!stat.isDirectory()) throw new NoStoreError(store.root, 'it is a file, not a folder');
    for (const dir of ['objects', 'manifests'])
      if (!(await fs.stat(path.join(store.root, dir)).catch(() => undefined))?.isDirectory())
        throw new NoStoreError(store.root, `the folder has no ${dir}/`);
    return store;
  }

  private assertWritable(what: string): void {
    if (!this.writable) throw new Error(`cannot ${what}: the store at ${this.root} is opened read-only`);
  }

  /** Names of the files in one of the store's folders; none if the folder is absent. */
  async list(dir: 'runs' | 'manifests' | 'checkpoints' | 'locks'): Promise<string[]> {
    try {
      return await fs.readdir(path.join(this.root, dir));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
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
    this.assertWritable(`write ${dest}`);
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
    this.assertWritable('write an object');
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

  /** Size in bytes of an object's file, or undefined if it is absent. */
  objectSize(hash: string): number | undefined {
    return statSync(this.objectPath(hash), { throwIfNoEntry: false })?.size;
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
    this.assertWritable(`delete object ${hash}`);
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

  /**
   * The manifest of a node run, or undefined if there is none. One that is unreadable, malformed
   * (a field missing, an output hash that is not a sha256) or edited since it was written (its digest
   * no longer matches) is reported and ignored: the node counts as not cached and is recomputed.
   */
  async readManifest(key: string): Promise<Manifest | undefined> {
    const file = this.manifestPath(key);
    let text: string;
    try {
      text = readFileSync(file, 'utf8'); // small, and read by the thousand: see objectState
    } catch {
      return undefined;
    }
    let problem: string | undefined;
    let manifest: Manifest | undefined;
    try {
      const value: unknown = JSON.parse(text);
      problem = manifestProblem(value, key);
      if (!problem) manifest = value as Manifest;
    } catch (error) {
      problem = `not JSON (${(error as Error).message})`;
    }
    if (manifest) return manifest;
    this.onWarning(`ignoring manifest ${file}: ${problem}; the node will be recomputed`);
    return undefined;
  }

  /** Writes a manifest with its digest (any digest passed in is replaced). */
  async writeManifest(manifest: Manifest): Promise<void> {
    const { digest: _, ...body } = manifest;
    // The digest covers what readers will parse back: JSON turns NaN metrics into null, for one.
    const stored = JSON.parse(JSON.stringify(body)) as Manifest;
    const withDigest: Manifest = { ...stored, digest: manifestDigest(stored) };
    await this.atomicWrite(this.manifestPath(manifest.key), `${JSON.stringify(withDigest, null, 2)}\n`);
  }

  async listManifests(): Promise<Manifest[]> {
    const out: Manifest[] = [];
    for (const name of await this.list('manifests')) {
      if (!name.endsWith('.json')) continue;
      const manifest = await this.readManifest(name.slice(0, -5));
      if (manifest) out.push(manifest);
    }
    return out;
  }

  // ---- run records -----------------------------------------------------------------------------

  /** `runs/<pipeline>/<id>.json`; without an id, the one record per pipeline written before ids. */
  private runPath(pipeline: string, id?: string): string {
    if (!NAME_RE.test(pipeline)) throw new Error(`bad pipeline name "${pipeline}"`);
    if (id === undefined) return path.join(this.root, 'runs', `${pipeline}.json`);
    if (!NAME_RE.test(id)) throw new Error(`bad run id "${id}"`);
    return path.join(this.root, 'runs', pipeline, `${id}.json`);
  }

  /**
   * The record of one run of a pipeline (by its id), or, without an id, the most recently updated
   * record of the pipeline (a record from before run ids included); undefined if none. An unreadable
   * record is reported and ignored; an entry whose key is malformed is reported and dropped (that
   * node counts as never run), so a damaged record never crashes `plan` or `results`.
   */
  async readRunRecord(pipeline: string, id?: string): Promise<RunRecord | undefined> {
    if (id !== undefined) return this.readRunRecordFile(this.runPath(pipeline, id), pipeline);
    return (await this.listRunRecords(pipeline))[0];
  }

  /**
   * Every recorded run, of one pipeline or of all, most recently updated first: one per run id, plus
   * the single record a pipeline had before runs had ids (read as it is, never rewritten).
   */
  async listRunRecords(pipeline?: string): Promise<RunRecord[]> {
    const files: { file: string; pipeline: string }[] = [];
    const runsDir = path.join(this.root, 'runs');
    for (const entry of await fs.readdir(runsDir, { withFileTypes: true }).catch(() => [])) {
      if (entry.isFile() && entry.name.endsWith('.json')) {
        const name = entry.name.slice(0, -5);
        if ((pipeline === undefined || name === pipeline) && NAME_RE.test(name))
          files.push({ file: path.join(runsDir, entry.name), pipeline: name });
      } else if (entry.isDirectory() && (pipeline === undefined || entry.name === pipeline)) {
        for (const name of (await fs.readdir(path.join(runsDir, entry.name)).catch(() => [])).sort())
          if (name.endsWith('.json'))
            files.push({ file: path.join(runsDir, entry.name, name), pipeline: entry.name });
      }
    }
    const records: RunRecord[] = [];
    for (const { file, pipeline: name } of files) {
      const record = await this.readRunRecordFile(file, name);
      if (record) records.push(record);
    }
    return records.sort(
      (a, b) => b.updatedAt.localeCompare(a.updatedAt) || a.pipeline.localeCompare(b.pipeline),
    );
  }

  private async readRunRecordFile(file: string, pipeline: string): Promise<RunRecord | undefined> {
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch {
      return undefined;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      this.onWarning(`ignoring run record ${file}: not JSON (${(error as Error).message})`);
      return undefined;
    }
    if (!isObject(value) || !isObject(value.nodes)) {
      this.onWarning(`ignoring run record ${file}: it has no "nodes" object`);
      return undefined;
    }
    const nodes: RunRecord['nodes'] = {};
    for (const [node, entry] of Object.entries(value.nodes)) {
      const key = isObject(entry) ? entry.key : undefined;
      if (typeof key === 'string' && HASH_RE.test(key))
        nodes[node] = { key, stage: isObject(entry) && typeof entry.stage === 'string' ? entry.stage : '' };
      else
        this.onWarning(
          `run record ${file}: node "${node}" has a malformed key ${JSON.stringify(key)}; treating it as never run`,
        );
    }
    const settings = value.settings;
    return {
      pipeline: typeof value.pipeline === 'string' ? value.pipeline : pipeline,
      ...(typeof value.id === 'string' ? { id: value.id } : {}),
      ...(isObject(settings) &&
      typeof settings.scale === 'string' &&
      Array.isArray(settings.seeds) &&
      settings.seeds.every((x) => Number.isInteger(x)) &&
      Array.isArray(settings.overrides) &&
      settings.overrides.every((x) => typeof x === 'string')
        ? {
            settings: {
              scale: settings.scale,
              seeds: settings.seeds as number[],
              overrides: settings.overrides as string[],
            },
          }
        : {}),
      updatedAt: typeof value.updatedAt === 'string' ? value.updatedAt : '',
      nodes,
    };
  }

  /** Writes a run's record: under its id, or (no id) as the pipeline's one record of old. */
  async writeRunRecord(record: RunRecord): Promise<void> {
    await this.atomicWrite(this.runPath(record.pipeline, record.id), `${JSON.stringify(record, null, 2)}\n`);
  }

  // ---- live runs -------------------------------------------------------------------------------

  /**
   * Registers a run in the store until the returned function is called, so `gc` refuses to collect
   * while it goes on (its nodes' objects and checkpoints are not all referenced yet). If a gc is
   * collecting right now, waits for it to end first. The two sides write their file, then look for
   * the other's: whatever the interleaving, at least one of them sees the other, so a gc never
   * collects under a run that has started. A registration left by a killed run is stale: its
   * process is gone, and gc removes it.
   */
  async registerRun(
    run: { pipeline: string; runId?: string },
    options: {
      signal?: AbortSignal;
      pollMs?: number;
      onWait?: (holder: LockHolder, file: string) => void;
    } = {},
  ): Promise<() => Promise<void>> {
    this.assertWritable(`register a run of ${run.pipeline}`);
    const holder: RunHolder = {
      pid: process.pid,
      host: hostname(),
      since: new Date().toISOString(),
      pipeline: run.pipeline,
      ...(run.runId ? { runId: run.runId } : {}),
    };
    const file = path.join(this.root, 'locks', `run.${process.pid}.${randomBytes(6).toString('hex')}.json`);
    await this.atomicWrite(file, JSON.stringify(holder));
    const release = async () => {
      await fs.rm(file, { force: true });
    };
    try {
      const gcLock = path.join(this.root, 'locks', GC_LOCK);
      let waited = false;
      for (;;) {
        options.signal?.throwIfAborted();
        const observed = await observeLock(gcLock);
        if (!observed) return release;
        const stale = observed.holder ? staleHolderReason(observed.holder) : undefined;
        if (stale) {
          await this.takeOverStaleLock(gcLock, observed, stale);
          continue;
        }
        if (observed.holder && !waited) {
          waited = true;
          options.onWait?.(observed.holder, gcLock);
        }
        await sleep(options.pollMs ?? 50, options.signal);
      }
    } catch (error) {
      await release();
      throw error;
    }
  }

  /**
   * Who may be writing to the store now: registered runs and node locks whose holder is alive, or
   * on another machine (which cannot be checked). Stale ones (their process is gone) are left out.
   */
  async storeUsers(): Promise<StoreUser[]> {
    const users: StoreUser[] = [];
    for (const name of (await this.list('locks')).sort()) {
      const kind = RUN_FILE_RE.test(name)
        ? 'run'
        : name.endsWith('.lock') && name !== GC_LOCK
          ? 'node'
          : undefined;
      if (!kind) continue;
      const file = path.join(this.root, 'locks', name);
      const observed = await observeLock(file);
      if (!observed?.holder || staleHolderReason(observed.holder)) continue;
      let holder: StoreUser['holder'] = observed.holder;
      if (kind === 'run') {
        const value = JSON.parse(observed.text) as Record<string, unknown>;
        holder = {
          ...holder,
          ...(typeof value.pipeline === 'string' ? { pipeline: value.pipeline } : {}),
          ...(typeof value.runId === 'string' ? { runId: value.runId } : {}),
        };
      }
      users.push({ holder, file, kind });
    }
    return users;
  }

  // ---- locks -----------------------------------------------------------------------------------

  /**
   * Takes the per-key lock that makes a node compute once even when two runs share the store, and
   * resolves to a release function. A stale lock is taken over with a warning: one whose holder
   * cannot be read (empty or half-written, as a process killed while writing it leaves) and has not
   * changed for `unreadableGraceMs`, or one left by a process on this host that is gone. A lock held
   * by a live process, or by one on another host (which cannot be checked), is waited for.
   */
  async acquireLock(key: string, options: LockOptions = {}): Promise<() => Promise<void>> {
    this.assertWritable(`lock ${key}`);
    const file = this.lockPath(key);
    const me: LockHolder = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
    const grace = options.unreadableGraceMs ?? 2000;
    let waited = false;
    let unreadableSince: { identity: string; at: number } | undefined;
    for (;;) {
      options.signal?.throwIfAborted();
      if (await this.createLockFile(file, me))
        return async () => {
          await fs.rm(file, { force: true });
        };
      const observed = await observeLock(file);
      if (!observed) continue; // released between our attempt and our look: try again at once
      let stale: string | undefined;
      if (observed.holder) {
        unreadableSince = undefined;
        stale = staleHolderReason(observed.holder);
      } else {
        // Unreadable: its writer may be between creating and filling it. Stale once it is older than
        // the grace period, or once we have watched it stay the same that long (clocks may differ).
        if (unreadableSince?.identity !== observed.identity)
          unreadableSince = { identity: observed.identity, at: Date.now() };
        const age = Math.max(Date.now() - observed.stat.mtimeMs, Date.now() - unreadableSince.at);
        if (age >= grace) stale = 'its holder cannot be read (the file is empty or half-written)';
      }
      if (stale) {
        await this.takeOverStaleLock(file, observed, stale);
        continue;
      }
      if (observed.holder && !waited) {
        waited = true;
        options.onWait?.(observed.holder, file);
      }
      await sleep(options.pollMs ?? 50, options.signal);
    }
  }

  private lockPath(key: string): string {
    if (!HASH_RE.test(key)) throw new Error(`not a cache key: "${key}"`);
    return path.join(this.root, 'locks', `${key}.lock`);
  }

  /**
   * Creates the lock file whole, or reports that it exists. The holder is written to a temporary
   * file that is then hard-linked into place (link fails if the name exists), so a lock file is never
   * seen empty; where the file system has no hard links, it falls back to an exclusive create.
   */
  private async createLockFile(file: string, me: LockHolder): Promise<boolean> {
    const tmp = this.tmpPath('lock');
    await fs.writeFile(tmp, JSON.stringify(me));
    try {
      await fs.link(tmp, file);
      return true;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return false;
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw error;
    } finally {
      await fs.rm(tmp, { force: true });
    }
    try {
      const handle = await fs.open(file, 'wx');
      try {
        await handle.writeFile(JSON.stringify(me));
      } finally {
        await handle.close();
      }
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw error;
    }
  }

  private async takeOverStaleLock(file: string, observed: ObservedLock, reason: string): Promise<void> {
    // Move it aside first, then check it is the very file we judged stale: if another process took
    // it over meanwhile and wrote a fresh lock, put that one back.
    const aside = `${file}.stale.${process.pid}.${randomBytes(4).toString('hex')}`;
    try {
      await fs.rename(file, aside);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return; // someone else removed it
      throw new Error(
        `the lock ${file} is stale (${reason}) but could not be removed: ${(error as Error).message}; ` +
          'delete it by hand if no lockpick run is using this store',
      );
    }
    const moved = await observeLock(aside);
    if (moved && moved.identity === observed.identity && moved.text === observed.text) {
      this.onWarning(`took over a stale lock ${file}: ${reason}`);
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
    signal?: AbortSignal,
  ): Promise<ArtifactRef> {
    this.assertWritable(`save a checkpoint of ${key}`);
    const ref = await this.writeModel(bundle);
    // Cancelled while the object was written: keep the pointer at the last checkpoint. A pointer
    // moved after the run has ended could name an object that a gc run meanwhile took as unused.
    signal?.throwIfAborted();
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
    this.assertWritable(`clear the checkpoint of ${key}`);
    await fs.rm(this.checkpointPath(key), { force: true });
  }

  // ---- garbage collection ----------------------------------------------------------------------

  /**
   * Deletes objects that neither a manifest nor a checkpoint references, temporary files of
   * processes that are gone, and stale locks. Returns what it removed. Refuses (StoreBusyError)
   * while a live run uses the store: an object a running node has stored but not yet recorded in its
   * manifest, or a checkpoint it is writing, is not referenced yet, and deleting it would fail the
   * node or make an interrupted training start again from step 0. It holds `locks/gc.lock` while it
   * collects, so a run that starts meanwhile waits for it (see `registerRun`).
   */
  async gc(): Promise<{ objects: number; bytes: number; tmp: number }> {
    this.assertWritable('collect garbage');
    const release = await this.acquireGcLock();
    try {
      // Checked only once our lock is in place: a run registering from now on waits for us.
      const users = await this.storeUsers();
      if (users.length > 0) throw new StoreBusyError(this.root, users);
      return await this.collect();
    } finally {
      await release();
    }
  }

  /** Takes `locks/gc.lock`, or fails if another live gc holds it. */
  private async acquireGcLock(): Promise<() => Promise<void>> {
    const file = path.join(this.root, 'locks', GC_LOCK);
    const me: LockHolder = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
    for (;;) {
      if (await this.createLockFile(file, me))
        return async () => {
          await fs.rm(file, { force: true });
        };
      const observed = await observeLock(file);
      if (!observed) continue;
      const stale = observed.holder ? staleHolderReason(observed.holder) : undefined;
      if (stale) {
        await this.takeOverStaleLock(file, observed, stale);
        continue;
      }
      const who = observed.holder ? `process ${observed.holder.pid} on ${observed.holder.host}` : 'a process';
      throw new Error(
        `another gc (${who}) is collecting ${this.root} right now; wait for it to finish, or delete ${file} if that process is gone`,
      );
    }
  }

  private async collect(): Promise<{ objects: number; bytes: number; tmp: number }> {
    const referenced = await this.referencedObjects();
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
      if (
        Number.isInteger(pid) &&
        pid !== process.pid &&
        !staleHolderReason({ pid, host: hostname(), since: '' })
      )
        continue;
      await fs.rm(path.join(this.root, 'tmp', name), { force: true, recursive: true });
      tmp++;
    }
    for (const name of await this.list('locks')) {
      const file = path.join(this.root, 'locks', name);
      const observed = await observeLock(file);
      if (observed && (!observed.holder || staleHolderReason(observed.holder)))
        await fs.rm(file, { force: true });
    }
    return { objects, bytes, tmp };
  }

  /**
   * Every object hash a manifest or checkpoint names. Read leniently on purpose: a manifest that
   * fails its checks is not used as a cache hit, but what it names is still kept, so gc never turns
   * a fixable manifest into lost work.
   */
  private async referencedObjects(): Promise<Set<string>> {
    const referenced = new Set<string>();
    const collect = (value: unknown) => {
      if (!isObject(value)) return;
      if (typeof value.hash === 'string' && HASH_RE.test(value.hash)) referenced.add(value.hash);
      else for (const v of Object.values(value)) collect(v);
    };
    for (const dir of ['manifests', 'checkpoints'] as const)
      for (const name of await this.list(dir)) {
        if (!name.endsWith('.json')) continue;
        try {
          const value = JSON.parse(await fs.readFile(path.join(this.root, dir, name), 'utf8')) as unknown;
          collect(isObject(value) ? (dir === 'manifests' ? value.outputs : value.ref) : undefined);
        } catch {
          // unreadable: it references nothing we could use
        }
      }
    return referenced;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStringRecord(value: unknown): boolean {
  return isObject(value) && Object.values(value).every((v) => typeof v === 'string');
}

/** sha256 of a manifest's canonical JSON without its digest. */
function manifestDigest(manifest: Manifest): string {
  const { digest: _, ...body } = manifest;
  return sha256(canonicalJson(body));
}

/** What is wrong with a parsed manifest, in words; undefined if it can be used. */
function manifestProblem(value: unknown, key: string): string | undefined {
  if (!isObject(value)) return 'not a JSON object';
  if (value.key !== key) return `its key is ${JSON.stringify(value.key)}, not the one its file is named by`;
  if (typeof value.stage !== 'string' || typeof value.node !== 'string') return 'no stage or node name';
  if (!isObject(value.outputs)) return 'no outputs';
  for (const [name, ref] of Object.entries(value.outputs)) {
    if (!isObject(ref)) return `output "${name}" is not an object`;
    if (typeof ref.hash !== 'string' || !HASH_RE.test(ref.hash))
      return `output "${name}" has a malformed hash ${JSON.stringify(ref.hash)}`;
    if (ref.kind !== 'table' && ref.kind !== 'model')
      return `output "${name}" has an unknown kind ${JSON.stringify(ref.kind)}`;
    if (typeof ref.size !== 'number' || !Number.isInteger(ref.size) || ref.size < 0)
      return `output "${name}" has a malformed size ${JSON.stringify(ref.size)}`;
  }
  const c = value.components;
  if (
    !isObject(c) ||
    typeof c.stage !== 'string' ||
    !isObject(c.code) ||
    typeof c.code.hash !== 'string' ||
    !isStringRecord(c.code.files) ||
    !isStringRecord(c.code.packages) ||
    !isObject(c.params) ||
    !isStringRecord(c.inputs)
  )
    return 'its key components are malformed';
  if (!isObject(value.metrics)) return 'no metrics';
  if (value.digest !== undefined) {
    let actual: string;
    try {
      actual = manifestDigest(value as unknown as Manifest);
    } catch (error) {
      return `its digest cannot be checked (${(error as Error).message})`;
    }
    if (value.digest !== actual)
      return 'its content does not match its digest (it was edited or damaged after it was written)';
  }
  return undefined;
}

interface ObservedLock {
  /** The holder, or undefined if the file cannot be parsed as one (empty, half-written, garbage). */
  holder?: LockHolder;
  text: string;
  stat: Stats;
  /** Inode, size and mtime: tells whether a file moved aside is still the one we looked at. */
  identity: string;
}

/** The lock file as it is now, or undefined if there is none. */
async function observeLock(file: string): Promise<ObservedLock | undefined> {
  let text: string;
  let stat: Stats;
  try {
    stat = await fs.stat(file);
    text = await fs.readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  const identity = `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeMs}`;
  let holder: LockHolder | undefined;
  try {
    const value: unknown = JSON.parse(text);
    if (
      isObject(value) &&
      Number.isInteger(value.pid) &&
      typeof value.host === 'string' &&
      typeof value.since === 'string'
    )
      holder = { pid: value.pid as number, host: value.host, since: value.since };
  } catch {
    // unparsable: holder stays undefined
  }
  return { holder, text, stat, identity };
}

/** Why a readable lock's holder is known to be gone, or undefined if it may still be running. */
function staleHolderReason(holder: LockHolder): string | undefined {
  if (holder.host !== hostname()) return undefined; // cannot tell for another machine: assume alive
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM')
      return `left by process ${holder.pid}, which is no longer running`;
  }
  const started = processStartTime(holder.pid);
  const since = Date.parse(holder.since);
  // A process id is reused after its process ends (soon, in a container): one that started after
  // the lock was taken is not its holder. Slack for clock granularity and small clock corrections.
  if (started !== undefined && Number.isFinite(since) && started > since + 5000)
    return `left by process ${holder.pid}, which is no longer running (its process id now belongs to a newer process)`;
  return undefined;
}

/** When a process started, in ms since the epoch, where the system says (Linux); else undefined. */
function processStartTime(pid: number): number | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    // Field 22 of /proc/PID/stat is the start time in clock ticks after boot; the command name
    // (field 2) may hold spaces, so count from its closing parenthesis. Linux fixes ticks at 100/s.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    const boot = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]);
    if (!Number.isFinite(ticks) || !Number.isFinite(boot)) return undefined;
    return boot * 1000 + ticks * 10;
  } catch {
    return undefined;
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    // The listener goes when the timer fires: a long wait polls many times on one signal.
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
