import { spawn } from 'node:child_process';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as arrow from 'apache-arrow';
import { parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256 } from './hash.ts';
import { ArtifactStore, CorruptArtifactError, type Manifest, NoStoreError, StoreBusyError } from './store.ts';

let root: string;
let store: ArtifactStore;
beforeEach(async () => {
  root = await fs.mkdtemp(path.join(tmpdir(), 'lockpick-store-'));
  store = await ArtifactStore.open(root);
  store.onWarning = () => undefined;
});
afterEach(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

function sampleTable(n: number): arrow.Table {
  return arrow.tableFromArrays({
    id: Int32Array.from({ length: n }, (_, i) => i),
    score: Float64Array.from({ length: n }, (_, i) => i / 7),
    label: Array.from({ length: n }, (_, i) => `row-${i % 13}`),
  });
}

describe('tables', () => {
  it('names a table by the sha256 of its Parquet bytes and reads it back', async () => {
    const ref = await store.writeTable(sampleTable(1000));
    const bytes = await fs.readFile(store.objectPath(ref.hash));
    expect(sha256(bytes)).toBe(ref.hash);
    expect(ref.kind).toBe('table');
    const back = await store.readTable(ref);
    expect(back.numRows).toBe(1000);
    expect(back.getChild('label')?.get(14)).toBe('row-1');
    expect(back.getChild('score')?.get(700)).toBeCloseTo(100);
  });

  it('writes Parquet (zstd) that an independent reader, hyparquet, reads with the same values', async () => {
    const ref = await store.writeTable(sampleTable(500));
    const bytes = await fs.readFile(store.objectPath(ref.hash));
    expect(bytes.subarray(0, 4).toString()).toBe('PAR1');
    const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    const rows = (await parquetReadObjects({ file, compressors })) as {
      id: number;
      score: number;
      label: string;
    }[];
    expect(rows).toHaveLength(500);
    expect(rows[123]).toEqual({ id: 123, score: 123 / 7, label: `row-${123 % 13}` });
  });

  it('streams a table in and out batch by batch with the same content as a whole write', async () => {
    const whole = sampleTable(10_000);
    async function* batches() {
      for (let start = 0; start < whole.numRows; start += 2500)
        yield* whole.slice(start, start + 2500).batches;
    }
    const ref = await store.writeTableBatches(batches());
    let rows = 0;
    let sum = 0;
    for await (const batch of store.readTableBatches(ref, 1000)) {
      rows += batch.numRows;
      for (const v of batch.getChild('id') ?? []) sum += Number(v);
    }
    expect(rows).toBe(10_000);
    expect(sum).toBe((9999 * 10_000) / 2);
  });

  it('writing the same bytes twice at once leaves one valid object', async () => {
    const table = sampleTable(2000);
    const [a, b] = await Promise.all([store.writeTable(table), store.writeTable(table)]);
    expect(a.hash).toBe(b.hash);
    expect(await store.objectState(a.hash)).toBe('ok');
    expect(await fs.readdir(path.join(root, 'tmp'))).toEqual([]);
  });

  it('detects a corrupted object instead of using it', async () => {
    const ref = await store.writeTable(sampleTable(100));
    const file = store.objectPath(ref.hash);
    const bytes = await fs.readFile(file);
    bytes[bytes.length >> 1] ^= 0xff;
    await fs.writeFile(file, bytes);
    expect(await store.objectState(ref.hash)).toBe('corrupt');
    await expect(store.readTable(ref)).rejects.toBeInstanceOf(CorruptArtifactError);
    await fs.rm(file);
    expect(await store.objectState(ref.hash)).toBe('missing');
    await expect(store.readTable(ref)).rejects.toThrow(/missing/);
  });
});

describe('model bundles', () => {
  it('round-trips config and tensors exactly', async () => {
    const weights = Float32Array.from({ length: 6 }, (_, i) => Math.sin(i) * 1e-3);
    const ref = await store.writeModel({
      config: { kind: 'mlp', layers: [2, 3], name: 'x' },
      tensors: [
        { name: 'w', shape: [2, 3], dtype: 'float32', data: weights },
        { name: 'step', shape: [], dtype: 'int32', data: Int32Array.of(42) },
      ],
    });
    expect(ref.kind).toBe('model');
    const back = await store.readModel(ref);
    expect(back.config).toEqual({ kind: 'mlp', layers: [2, 3], name: 'x' });
    expect(back.tensors[0].shape).toEqual([2, 3]);
    expect(Buffer.from(back.tensors[0].data.buffer).equals(Buffer.from(weights.buffer))).toBe(true);
    expect(back.tensors[1].data).toEqual(Int32Array.of(42));
  });

  it('rejects a tensor whose shape does not match its data', async () => {
    await expect(
      store.writeModel({
        config: {},
        tensors: [{ name: 'w', shape: [2, 2], dtype: 'float32', data: new Float32Array(3) }],
      }),
    ).rejects.toThrow(/"w" has shape \[2,2\] but 3 values/);
  });
});

describe('locks', () => {
  it('serialises holders of the same key', async () => {
    const release = await store.acquireLock('a'.repeat(64));
    let second = false;
    const pending = store.acquireLock('a'.repeat(64), { pollMs: 5 }).then((r) => {
      second = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(second).toBe(false);
    await release();
    await (await pending)();
    expect(second).toBe(true);
  });

  it('takes over a lock left by a process that is gone', async () => {
    const child = spawn(process.execPath, ['-e', '0']);
    const pid = await new Promise<number>((resolve) => child.on('exit', () => resolve(child.pid ?? 0)));
    const { hostname } = await import('node:os');
    await fs.writeFile(
      path.join(root, 'locks', `${'b'.repeat(64)}.lock`),
      JSON.stringify({ pid, host: hostname(), since: 'then' }),
    );
    const release = await store.acquireLock('b'.repeat(64), { pollMs: 5 });
    await release();
  });

  it('takes over an empty or half-written lock file with a warning naming it, instead of waiting forever', async () => {
    const warnings: string[] = [];
    store.onWarning = (m) => warnings.push(m);
    const empty = path.join(root, 'locks', `${'d'.repeat(64)}.lock`);
    await fs.writeFile(empty, '');
    const old = new Date(Date.now() - 60_000);
    await fs.utimes(empty, old, old);
    await (await store.acquireLock('d'.repeat(64), { pollMs: 5 }))();
    // A fresh one may be a lock being written right now: taken over only once it stays unreadable.
    const half = path.join(root, 'locks', `${'e'.repeat(64)}.lock`);
    await fs.writeFile(half, '{"pid": 12');
    const started = Date.now();
    await (await store.acquireLock('e'.repeat(64), { pollMs: 5, unreadableGraceMs: 200 }))();
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(warnings).toEqual([
      `took over a stale lock ${empty}: its holder cannot be read (the file is empty or half-written)`,
      `took over a stale lock ${half}: its holder cannot be read (the file is empty or half-written)`,
    ]);
    expect(await fs.readdir(path.join(root, 'locks'))).toEqual([]);
  });

  it('takes over a lock whose process id now belongs to a process started after the lock', async () => {
    const { hostname } = await import('node:os');
    const file = path.join(root, 'locks', `${'f'.repeat(64)}.lock`);
    // This very process is alive, but it started long after 2001: it cannot be the holder.
    await fs.writeFile(
      file,
      JSON.stringify({ pid: process.pid, host: hostname(), since: '2001-01-01T00:00:00Z' }),
    );
    const release = await Promise.race([
      store.acquireLock('f'.repeat(64), { pollMs: 5 }),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('still waiting')), 2000)),
    ]);
    await release();
  });

  it('waits for a holder on another host, saying who holds it and where the lock file is', async () => {
    const file = path.join(root, 'locks', `${'1'.repeat(64)}.lock`);
    const holder = { pid: 1, host: 'elsewhere', since: new Date().toISOString() };
    await fs.writeFile(file, JSON.stringify(holder));
    const abort = new AbortController();
    const waits: [unknown, string][] = [];
    const pending = store.acquireLock('1'.repeat(64), {
      pollMs: 5,
      signal: abort.signal,
      onWait: (h, lockFile) => waits.push([h, lockFile]),
    });
    await new Promise((r) => setTimeout(r, 50));
    abort.abort(new Error('gave up'));
    await expect(pending).rejects.toThrow('gave up');
    expect(waits).toEqual([[holder, file]]);
  });
});

describe('manifests, checked', () => {
  function manifest(key: string, outputs: Manifest['outputs']): Manifest {
    return {
      key,
      stage: 's',
      node: 'n',
      components: { stage: 's', code: { hash: 'h', files: {}, packages: {} }, params: {}, inputs: {} },
      outputs,
      metrics: { loss: Number.NaN },
      timings: { startedAt: '', finishedAt: '', durationMs: 0 },
      versions: {},
    };
  }
  const key = '2'.repeat(64);
  const file = () => path.join(root, 'manifests', `${key}.json`);
  const edit = async (change: (m: Record<string, unknown> & Manifest) => void) => {
    const m = JSON.parse(await fs.readFile(file(), 'utf8')) as Record<string, unknown> & Manifest;
    change(m);
    await fs.writeFile(file(), JSON.stringify(m));
  };

  it('refuses a manifest whose output hash was swapped for another valid object', async () => {
    const warnings: string[] = [];
    store.onWarning = (m) => warnings.push(m);
    const a = await store.writeTable(sampleTable(10));
    const b = await store.writeTable(sampleTable(11));
    await store.writeManifest(manifest(key, { table: a }));
    expect((await store.readManifest(key))?.outputs.table).toEqual(a);
    await edit((m) => {
      m.outputs.table = b;
    });
    expect(await store.objectState(b.hash)).toBe('ok');
    expect(await store.readManifest(key)).toBeUndefined();
    expect(warnings).toEqual([
      `ignoring manifest ${file()}: its content does not match its digest (it was edited or damaged after it was written); the node will be recomputed`,
    ]);
  });

  it('treats a malformed output hash as a cache miss with a warning, not an error', async () => {
    const warnings: string[] = [];
    store.onWarning = (m) => warnings.push(m);
    await store.writeManifest(manifest(key, { table: await store.writeTable(sampleTable(10)) }));
    await edit((m) => {
      m.outputs.table.hash = 'not-a-hash';
      delete m.digest;
    });
    expect(await store.readManifest(key)).toBeUndefined();
    expect(warnings[0]).toMatch(/ignoring manifest .*: output "table" has a malformed hash "not-a-hash"/);
  });

  it('still reads a well-formed manifest written before digests existed', async () => {
    const ref = await store.writeTable(sampleTable(10));
    await store.writeManifest(manifest(key, { table: ref }));
    await edit((m) => {
      delete m.digest;
    });
    expect((await store.readManifest(key))?.outputs.table).toEqual(ref);
  });
});

describe('run records', () => {
  it('drop an entry with a malformed key, saying so, and keep the rest', async () => {
    const warnings: string[] = [];
    store.onWarning = (m) => warnings.push(m);
    const file = path.join(root, 'runs', 'p.json');
    await fs.writeFile(
      file,
      JSON.stringify({
        pipeline: 'p',
        updatedAt: 'now',
        nodes: { good: { key: '3'.repeat(64), stage: 's' }, bad: { key: '../../etc', stage: 's' }, worse: 7 },
      }),
    );
    const record = await store.readRunRecord('p');
    expect(record?.nodes).toEqual({ good: { key: '3'.repeat(64), stage: 's' } });
    expect(warnings).toEqual([
      `run record ${file}: node "bad" has a malformed key "../../etc"; treating it as never run`,
      `run record ${file}: node "worse" has a malformed key undefined; treating it as never run`,
    ]);
    await fs.writeFile(file, '{ "nodes": ');
    expect(await store.readRunRecord('p')).toBeUndefined();
    expect(warnings[2]).toMatch(/^ignoring run record .*p\.json: not JSON/);
  });
});

describe('run records per run id', () => {
  it('keep each id apart and still read the one record per pipeline from before ids', async () => {
    const nodes = (k: string) => ({ n: { key: k.repeat(64), stage: 's' } });
    // A record as written before runs had ids: runs/<pipeline>.json, settings unknown.
    await fs.writeFile(
      path.join(root, 'runs', 'p.json'),
      JSON.stringify({ pipeline: 'p', updatedAt: '2024-01-01T00:00:00.000Z', nodes: nodes('1') }),
    );
    const smoke = { scale: 'smoke', seeds: [1], overrides: [] };
    const full = { scale: 'default', seeds: [1, 2], overrides: ['n.x=1'] };
    await store.writeRunRecord({
      pipeline: 'p',
      id: 'smoke-a',
      settings: smoke,
      updatedAt: '2024-03-01T00:00:00.000Z',
      nodes: nodes('2'),
    });
    await store.writeRunRecord({
      pipeline: 'p',
      id: 'default-b',
      settings: full,
      updatedAt: '2024-02-01T00:00:00.000Z',
      nodes: nodes('3'),
    });
    await store.writeRunRecord({
      pipeline: 'q',
      id: 'smoke-c',
      settings: smoke,
      updatedAt: '2024-04-01T00:00:00.000Z',
      nodes: nodes('4'),
    });
    const records = await store.listRunRecords('p');
    expect(records.map((r) => r.id ?? '(before ids)')).toEqual(['smoke-a', 'default-b', '(before ids)']);
    expect(records[1].settings).toEqual(full);
    expect(records[2].nodes.n.key).toBe('1'.repeat(64));
    expect((await store.readRunRecord('p', 'default-b'))?.nodes.n.key).toBe('3'.repeat(64));
    // Without an id: the pipeline's most recent run.
    expect((await store.readRunRecord('p'))?.id).toBe('smoke-a');
    expect((await store.listRunRecords()).map((r) => `${r.pipeline}/${r.id ?? '-'}`)).toEqual([
      'q/smoke-c',
      'p/smoke-a',
      'p/default-b',
      'p/-',
    ]);
    await expect(store.readRunRecord('p', '../x')).rejects.toThrow(/bad run id/);
  });
});

describe('opening an existing store', () => {
  it('fails on a path with no store and creates nothing there', async () => {
    const missing = path.join(root, 'typo');
    await expect(ArtifactStore.openExisting(missing)).rejects.toBeInstanceOf(NoStoreError);
    await expect(ArtifactStore.openExisting(missing)).rejects.toThrow(`no store at ${missing}`);
    await expect(fs.stat(missing)).rejects.toThrow(/ENOENT/);
    await fs.mkdir(missing);
    await expect(ArtifactStore.openExisting(missing)).rejects.toThrow(/has no objects\//);
    expect(await fs.readdir(missing)).toEqual([]);
  });

  it('reads but never writes or deletes', async () => {
    const ref = await store.writeTable(sampleTable(10));
    const readOnly = await ArtifactStore.openExisting(root);
    expect((await readOnly.readTable(ref)).numRows).toBe(10);
    await expect(readOnly.writeTable(sampleTable(3))).rejects.toThrow(/opened read-only/);
    await expect(readOnly.discardObject(ref.hash)).rejects.toThrow(/opened read-only/);
    await expect(readOnly.acquireLock('4'.repeat(64))).rejects.toThrow(/opened read-only/);
    await expect(readOnly.gc()).rejects.toThrow(/opened read-only/);
    expect(await store.objectState(ref.hash)).toBe('ok');
  });
});

describe('manifests and gc', () => {
  it('ignores a corrupt manifest and collects unreferenced objects', async () => {
    const kept = await store.writeTable(sampleTable(10));
    const dropped = await store.writeTable(sampleTable(20));
    const key = 'c'.repeat(64);
    await store.writeManifest({
      key,
      stage: 's',
      node: 'n',
      components: { stage: 's', code: { hash: 'h', files: {}, packages: {} }, params: {}, inputs: {} },
      outputs: { table: kept },
      metrics: {},
      timings: { startedAt: '', finishedAt: '', durationMs: 0 },
      versions: {},
    });
    expect((await store.readManifest(key))?.outputs.table.hash).toBe(kept.hash);
    const result = await store.gc();
    expect(result.objects).toBe(1);
    expect(await store.objectState(kept.hash)).toBe('ok');
    expect(await store.objectState(dropped.hash)).toBe('missing');
    await fs.writeFile(path.join(root, 'manifests', `${key}.json`), '{ not json');
    expect(await store.readManifest(key)).toBeUndefined();
  });

  it("gc keeps the object of an unfinished run's checkpoint", async () => {
    const key = '5'.repeat(64);
    const ref = await store.saveCheckpoint(key, {
      config: {},
      tensors: [{ name: 'w', shape: [1], dtype: 'float32', data: Float32Array.of(1) }],
    });
    expect((await store.gc()).objects).toBe(0);
    expect(await store.loadCheckpoint(key)).toBeDefined();
    await store.clearCheckpoint(key);
    expect((await store.gc()).objects).toBe(1);
    expect(await store.objectState(ref.hash)).toBe('missing');
  });
});

describe('gc and live runs', () => {
  const bundle = (x: number) => ({
    config: {},
    tensors: [{ name: 'w', shape: [1], dtype: 'float32' as const, data: Float32Array.of(x) }],
  });

  it('refuses while a live run holds the store, naming it, and deletes nothing', async () => {
    const release = await store.registerRun({ pipeline: 'quickstart', runId: 'smoke-0123456789' });
    // What a running node has stored but not yet recorded in a manifest, and a checkpoint object
    // whose pointer is not written yet (saveCheckpoint writes the object first).
    const output = await store.writeTable(sampleTable(5));
    const checkpoint = await store.writeModel(bundle(1));
    const refused = store.gc();
    await expect(refused).rejects.toBeInstanceOf(StoreBusyError);
    await expect(refused).rejects.toThrow(
      `process ${process.pid} running pipeline quickstart (run smoke-0123456789) since `,
    );
    await expect(refused).rejects.toThrow(/Wait for the run to finish .* then run gc again/);
    expect(await store.objectState(output.hash)).toBe('ok');
    expect(await store.objectState(checkpoint.hash)).toBe('ok');
    expect(await fs.readdir(path.join(root, 'locks'))).not.toContain('gc.lock');
    await release();
    expect((await store.gc()).objects).toBe(2);
  });

  it('refuses while a node lock is held, and ignores a run left by a process that is gone', async () => {
    const child = spawn(process.execPath, ['-e', '0']);
    const pid = await new Promise<number>((resolve) => child.on('exit', () => resolve(child.pid ?? 0)));
    const { hostname } = await import('node:os');
    const stale = path.join(root, 'locks', `run.${pid}.abcdef.json`);
    await fs.writeFile(
      stale,
      JSON.stringify({ pid, host: hostname(), since: new Date().toISOString(), pipeline: 'p' }),
    );
    const releaseNode = await store.acquireLock('6'.repeat(64));
    await expect(store.gc()).rejects.toThrow(`process ${process.pid} running a node it is computing`);
    await releaseNode();
    // A killed run's checkpoint stays for the rerun to resume from.
    const ref = await store.saveCheckpoint('7'.repeat(64), bundle(2));
    await store.writeTable(sampleTable(3));
    expect((await store.gc()).objects).toBe(1);
    expect(await store.objectState(ref.hash)).toBe('ok');
    expect(await store.loadCheckpoint('7'.repeat(64))).toBeDefined();
    expect(await fs.readdir(path.join(root, 'locks'))).toEqual([]);
  });

  it('a run registering while a gc collects waits for it; a second gc refuses', async () => {
    const { hostname } = await import('node:os');
    const gcLock = path.join(root, 'locks', 'gc.lock');
    await fs.writeFile(
      gcLock,
      JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() }),
    );
    await expect(store.gc()).rejects.toThrow(/another gc \(process \d+ on .*\) is collecting/);
    const waits: string[] = [];
    let registered = false;
    const pending = store
      .registerRun({ pipeline: 'p' }, { pollMs: 5, onWait: (_, file) => waits.push(file) })
      .then((release) => {
        registered = true;
        return release;
      });
    await new Promise((r) => setTimeout(r, 50));
    expect(registered).toBe(false);
    expect(waits).toEqual([gcLock]);
    await fs.rm(gcLock);
    await (await pending)();
    expect(await fs.readdir(path.join(root, 'locks'))).toEqual([]);
  });
});

describe('int32 matrix columns', () => {
  it('round-trip through Parquet, sliced and batched', async () => {
    const { int32MatrixVector, readInt32Matrix } = await import('./columns.ts');
    const data = Int32Array.from({ length: 5 * 3 }, (_, i) => i * 7);
    const table = new arrow.Table({
      tokens: int32MatrixVector(data, 5, 3),
      id: arrow.vectorFromArray([0, 1, 2, 3, 4]),
    });
    const back = await store.readTable(await store.writeTable(table));
    expect(readInt32Matrix(back, 'tokens')).toEqual({ data, rows: 5, width: 3 });
    const sliced = readInt32Matrix(back.slice(2, 4), 'tokens');
    expect(Array.from(sliced.data)).toEqual(Array.from(data.subarray(6, 12)));
    expect(() => readInt32Matrix(back, 'id')).toThrow(/column "id" is .*expected a fixed-size list/);
  });
});
