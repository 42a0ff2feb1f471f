import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';

/**
 * A store every machine of a cluster reaches: a shared folder or an S3 bucket. It holds the same
 * layout as a local store (`objects/sha256/ab/cdef…`, `manifests/<key>.json`, `runs/<pipeline>/<id>.json`)
 * as named blobs; what they mean (content addressing, manifests last) is SharedStore's business.
 * Every write is whole or absent: a reader never sees half a blob, even if the writer dies mid-way.
 */
export interface RemoteStore {
  /** The URL it was opened from, for messages. */
  readonly url: string;
  /** Bytes in the blob, or undefined if there is none. */
  size(name: string): Promise<number | undefined>;
  /** The whole blob, or undefined if there is none. */
  read(name: string): Promise<Uint8Array | undefined>;
  /** The blob as a stream of chunks (for objects too large to hold), or undefined if there is none. */
  readStream(name: string): Promise<AsyncIterable<Uint8Array> | undefined>;
  /** Writes the blob whole, replacing any; a concurrent reader sees the old one or the new one. */
  write(name: string, body: Uint8Array | string): Promise<void>;
  /** Writes a local file as the blob, whole (see `write`). */
  writeFile(name: string, file: string): Promise<void>;
  remove(name: string): Promise<void>;
  /** Names of the blobs under a prefix (`manifests/`), in no particular order. */
  list(prefix: string): Promise<string[]>;
  close(): void;
}

export function isRemoteStoreUrl(text: string): boolean {
  return /^(file|s3):\/\//.test(text);
}

/** The folders a shared folder is given, so that it is also a store `lockpick plan` can open as is. */
const FOLDER_LAYOUT = ['objects/sha256', 'manifests', 'runs', 'tmp'];

/**
 * A store on a folder every machine mounts (NFS, SMB, a cluster file system). Writes go to `tmp/`
 * first and are renamed into place, which is atomic within one file system, so readers on other
 * machines never see half a blob. It needs rename to be atomic and a finished write to be visible
 * to other machines once the rename is (close-to-open consistency, as NFS gives).
 */
export class FolderRemoteStore implements RemoteStore {
  private constructor(
    readonly url: string,
    readonly root: string,
  ) {}

  static async open(url: string): Promise<FolderRemoteStore> {
    const root = fileURLToPath(url);
    for (const dir of FOLDER_LAYOUT) await fs.mkdir(path.join(root, dir), { recursive: true });
    return new FolderRemoteStore(url, root);
  }

  private file(name: string): string {
    // Names are built by SharedStore from hashes and validated pipeline names; refuse anything that
    // could step outside the folder all the same.
    if (name.split('/').some((part) => part === '..' || part === '') || path.isAbsolute(name))
      throw new Error(`bad blob name "${name}"`);
    return path.join(this.root, name);
  }

  async size(name: string): Promise<number | undefined> {
    return (await fs.stat(this.file(name)).catch(() => undefined))?.size;
  }

  async read(name: string): Promise<Uint8Array | undefined> {
    try {
      return new Uint8Array(await fs.readFile(this.file(name)));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async readStream(name: string): Promise<AsyncIterable<Uint8Array> | undefined> {
    const handle = await fs.open(this.file(name), 'r').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    return handle?.createReadStream();
  }

  /** A temporary name in the store's tmp/, unique across machines (they share the folder). */
  private tmpFile(name: string): string {
    // `<label>.<pid>.<random>`: the form a local store's gc reads to tell whose leftover it is.
    const label = `${path.basename(name)}-${hostname().replace(/[^\w-]/g, '_')}`;
    return path.join(this.root, 'tmp', `${label}.${process.pid}.${randomBytes(6).toString('hex')}`);
  }

  private async commit(tmp: string, name: string): Promise<void> {
    const dest = this.file(name);
    await fs.mkdir(path.dirname(dest), { recursive: true });
    await fs.rename(tmp, dest);
  }

  /** Fills a temporary file, syncs it to disk and renames it into place; removes it on failure. */
  private async writeAtomically(name: string, fill: (tmp: string) => Promise<void>): Promise<void> {
    const tmp = this.tmpFile(name);
    try {
      await fill(tmp);
      const handle = await fs.open(tmp, 'r+');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      await this.commit(tmp, name);
    } catch (error) {
      await fs.rm(tmp, { force: true });
      throw error;
    }
  }

  async write(name: string, body: Uint8Array | string): Promise<void> {
    await this.writeAtomically(name, (tmp) => fs.writeFile(tmp, body));
  }

  async writeFile(name: string, file: string): Promise<void> {
    await this.writeAtomically(name, (tmp) => pipeline(createReadStream(file), createWriteStream(tmp)));
  }

  async remove(name: string): Promise<void> {
    await fs.rm(this.file(name), { force: true });
  }

  async list(prefix: string): Promise<string[]> {
    const base = this.file(prefix.replace(/\/$/, ''));
    const entries = await fs.readdir(base, { recursive: true, withFileTypes: true }).catch(() => []);
    return entries
      .filter((e) => e.isFile())
      .map((e) => path.relative(this.root, path.join(e.parentPath, e.name)).split(path.sep).join('/'));
  }

  close(): void {}
}
