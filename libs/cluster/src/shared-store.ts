import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import {
  type ArtifactRef,
  ArtifactStore,
  canonicalJson,
  type Manifest,
  type RunRecord,
  sha256,
} from '@lockpick/artifacts';
import { FolderRemoteStore, type RemoteStore } from './remote-store.ts';

const HASH_RE = /^[0-9a-f]{64}$/;
const NAME_RE = /^[\w-][\w.-]*$/;

/** What fetching an object into the local cache found. */
export type FetchResult = 'ok' | 'missing' | 'corrupt';

/** Opens a remote store from its URL: `file:///shared/folder` or `s3://bucket/prefix`. */
export async function openRemoteStore(url: string): Promise<RemoteStore> {
  if (url.startsWith('file://')) return FolderRemoteStore.open(url);
  if (url.startsWith('s3://')) {
    // Loaded only for S3: the AWS SDK takes most of a second to import, which a worker on a shared
    // folder should not pay.
    const { parseS3Url, S3RemoteStore } = await import('./s3-remote-store.ts');
    return new S3RemoteStore(url, parseS3Url(url));
  }
  throw new Error(`${url}: a remote store is file:///folder or s3://bucket/prefix`);
}

/**
 * The cluster's store as one machine sees it: the remote store that every machine shares, and a
 * local cache (an ordinary store) where this machine's stages read and write. Objects stay
 * content-addressed and immutable; a node's objects are uploaded before its manifest, so a reader
 * that finds a manifest finds its objects. Every object fetched is verified against its hash before
 * the cache takes it: a damaged remote object is caught, never computed on.
 */
export class SharedStore {
  private constructor(
    readonly remote: RemoteStore,
    readonly cache: ArtifactStore,
  ) {}

  static async open(url: string, cacheRoot: string): Promise<SharedStore> {
    const remote = await openRemoteStore(url);
    return new SharedStore(remote, await ArtifactStore.open(cacheRoot));
  }

  get url(): string {
    return this.remote.url;
  }

  static objectName(hash: string): string {
    if (!HASH_RE.test(hash)) throw new Error(`not a sha256 hash: "${hash}"`);
    return `objects/sha256/${hash.slice(0, 2)}/${hash.slice(2)}`;
  }

  static manifestName(key: string): string {
    if (!HASH_RE.test(key)) throw new Error(`not a cache key: "${key}"`);
    return `manifests/${key}.json`;
  }

  static runName(pipeline: string, id: string): string {
    if (!NAME_RE.test(pipeline) || !NAME_RE.test(id)) throw new Error(`bad run name ${pipeline}/${id}`);
    return `runs/${pipeline}/${id}.json`;
  }

  /** Size of a remote object, or undefined if it is absent. */
  remoteObjectSize(hash: string): Promise<number | undefined> {
    return this.remote.size(SharedStore.objectName(hash));
  }

  /** Whether every object of a manifest's outputs is in the remote store at its recorded size. */
  async hasObjects(outputs: Record<string, ArtifactRef>): Promise<boolean> {
    const sizes = await Promise.all(Object.values(outputs).map((ref) => this.remoteObjectSize(ref.hash)));
    return Object.values(outputs).every((ref, i) => sizes[i] === ref.size);
  }

  /**
   * Brings an object into the local cache (unless it is there, intact): streamed from the remote
   * store into the cache, which names it by the hash of the bytes it actually received. Bytes that
   * hash to anything else are dropped and reported 'corrupt'.
   */
  async fetchObject(hash: string): Promise<FetchResult> {
    if ((await this.cache.objectState(hash)) === 'ok') return 'ok';
    const stream = await this.remote.readStream(SharedStore.objectName(hash));
    if (!stream) return 'missing';
    const received = await this.cache.putStream(stream, 'table');
    if (received.hash === hash) return 'ok';
    // Some other bytes went into the cache under their own hash: nothing names them, drop them.
    await this.cache.discardObject(received.hash);
    return 'corrupt';
  }

  /** Deletes a remote object found corrupt, so the node that made it is recomputed. */
  async discardRemoteObject(hash: string): Promise<void> {
    await this.remote.remove(SharedStore.objectName(hash));
  }

  /** Uploads a cached object unless the remote store has it at its size already (objects are immutable). */
  async uploadObject(ref: ArtifactRef): Promise<void> {
    if ((await this.remoteObjectSize(ref.hash)) === ref.size) return;
    await this.remote.writeFile(SharedStore.objectName(ref.hash), this.cache.objectPath(ref.hash));
  }

  /**
   * Publishes a node's result: its objects first, then its manifest, so no reader ever finds a
   * manifest whose objects are not all there.
   */
  async publish(manifest: Manifest): Promise<void> {
    await Promise.all(Object.values(manifest.outputs).map((ref) => this.uploadObject(ref)));
    await this.remote.write(SharedStore.manifestName(manifest.key), `${JSON.stringify(manifest, null, 2)}\n`);
  }

  /**
   * The remote manifest of a cache key, or undefined if there is none or it cannot be trusted
   * (malformed, another key's, or its digest no longer matches its content: see Manifest.digest).
   */
  async readManifest(key: string, warn?: (message: string) => void): Promise<Manifest | undefined> {
    const bytes = await this.remote.read(SharedStore.manifestName(key));
    if (!bytes) return undefined;
    const problem = manifestProblem(new TextDecoder().decode(bytes), key);
    if (typeof problem !== 'string') return problem;
    warn?.(`ignoring manifest ${key.slice(0, 12)} in ${this.url}: ${problem}; the node will be recomputed`);
    return undefined;
  }

  /** The remote record of one run, or undefined. */
  async readRunRecord(pipeline: string, id: string): Promise<RunRecord | undefined> {
    const bytes = await this.remote.read(SharedStore.runName(pipeline, id));
    if (!bytes) return undefined;
    try {
      const value = JSON.parse(new TextDecoder().decode(bytes)) as RunRecord;
      return typeof value === 'object' && value !== null && typeof value.nodes === 'object'
        ? value
        : undefined;
    } catch {
      return undefined;
    }
  }

  async writeRunRecord(record: RunRecord & { id: string }): Promise<void> {
    await this.remote.write(
      SharedStore.runName(record.pipeline, record.id),
      `${JSON.stringify(record, null, 2)}\n`,
    );
  }

  /**
   * Copies the remote store's run records and manifests into the local cache, and the objects they
   * name that the cache lacks (each verified), so the read-only commands (plan, why, results, show,
   * report) work on the cache as on any local store. Objects are content-addressed: a second mirror
   * fetches only what is new. Damaged remote objects are left out, so those commands report them.
   */
  async mirror(
    warn: (message: string) => void = () => undefined,
  ): Promise<{ manifests: number; objects: number }> {
    let objects = 0;
    const runs = await this.remote.list('runs/');
    for (const name of runs) {
      const bytes = await this.remote.read(name);
      if (bytes) await this.writeCacheFile(name, bytes);
    }
    const manifests = (await this.remote.list('manifests/')).filter((n) => n.endsWith('.json'));
    for (const name of manifests) {
      const key = path.basename(name, '.json');
      if (!HASH_RE.test(key)) continue;
      const bytes = await this.remote.read(name);
      if (!bytes) continue;
      await this.writeCacheFile(name, bytes);
      const manifest = manifestProblem(new TextDecoder().decode(bytes), key);
      if (typeof manifest === 'string') continue;
      for (const ref of Object.values(manifest.outputs)) {
        if ((await this.cache.objectState(ref.hash)) === 'ok') continue;
        const result = await this.fetchObject(ref.hash);
        if (result === 'ok') objects++;
        else warn(`object ${ref.hash.slice(0, 12)} of node "${manifest.node}" is ${result} in ${this.url}`);
      }
    }
    return { manifests: manifests.length, objects };
  }

  /** Writes a run record or manifest into the cache as it is, whole (a temporary file renamed). */
  private async writeCacheFile(name: string, bytes: Uint8Array): Promise<void> {
    const dest = path.join(this.cache.root, ...name.split('/'));
    const tmp = path.join(this.cache.root, 'tmp', `mirror.${process.pid}.${randomBytes(6).toString('hex')}`);
    await fs.writeFile(tmp, bytes);
    await fs.mkdir(path.dirname(dest), { recursive: true });
    await fs.rename(tmp, dest);
  }

  close(): void {
    this.remote.close();
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The manifest in `text` if it can be trusted for `key`, else what is wrong with it. The same checks
 * a local store makes where they matter for the cluster: its key, its outputs' references, and its
 * digest (which binds each output to its hash). A manifest without a digest is not trusted here:
 * every manifest a worker publishes has one.
 */
function manifestProblem(text: string, key: string): Manifest | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return `not JSON (${(error as Error).message})`;
  }
  if (!isObject(value)) return 'not a JSON object';
  if (value.key !== key) return `its key is ${JSON.stringify(value.key)}, not the one its file is named by`;
  if (!isObject(value.outputs) || !isObject(value.components) || !isObject(value.metrics))
    return 'its outputs, key components or metrics are missing';
  for (const [name, ref] of Object.entries(value.outputs)) {
    if (
      !isObject(ref) ||
      typeof ref.hash !== 'string' ||
      !HASH_RE.test(ref.hash) ||
      (ref.kind !== 'table' && ref.kind !== 'model') ||
      !Number.isInteger(ref.size)
    )
      return `output "${name}" is not a valid object reference`;
  }
  const { digest, ...body } = value;
  if (typeof digest !== 'string') return 'it has no digest';
  if (sha256(canonicalJson(body)) !== digest)
    return 'its content does not match its digest (it was edited or damaged after it was written)';
  return value as unknown as Manifest;
}
