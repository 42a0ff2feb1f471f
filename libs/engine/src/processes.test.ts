// Runs the fixture pipeline in real child processes: killed with SIGKILL mid-run, and two at once on
// one store.
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArtifactStore } from '@lockpick/artifacts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const runner = fileURLToPath(new URL('./testing/run-fixture.ts', import.meta.url));

let root: string;
beforeEach(async () => {
  root = await fs.mkdtemp(path.join(tmpdir(), 'lockpick-proc-'));
});
afterEach(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
}

function start(
  store: string,
  env: Record<string, string> = {},
): { child: ChildProcess; done: Promise<Finished>; output: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', runner, store, 'slow'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const done = new Promise<Finished>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, stdout: stdout + (code ? stderr : '') })),
  );
  return { child, done, output: () => stdout };
}

async function waitFor(predicate: () => boolean, timeoutMs = 30_000): Promise<void> {
  const t0 = Date.now();
  while (!predicate()) {
    if (Date.now() - t0 > timeoutMs) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function allManifestOutputsIntact(storeRoot: string): Promise<number> {
  const store = await ArtifactStore.open(storeRoot);
  const manifests = await store.listManifests();
  for (const m of manifests)
    for (const ref of Object.values(m.outputs)) expect(await store.objectState(ref.hash)).toBe('ok');
  // every object file must hash to its name: nothing half-written was renamed into place
  const objectsDir = path.join(storeRoot, 'objects', 'sha256');
  for (const prefix of await fs.readdir(objectsDir))
    for (const rest of await fs.readdir(path.join(objectsDir, prefix)))
      expect(await store.objectState(prefix + rest)).toBe('ok');
  return manifests.length;
}

describe('runs in separate processes', () => {
  it('survives SIGKILL mid-run: no corrupt object, and the rerun completes from the finished nodes', async () => {
    const storeRoot = path.join(root, 'store');
    const first = start(storeRoot);
    await waitFor(() => /node-done numbers-2/.test(first.output()) && /node-start sum-/.test(first.output()));
    first.child.kill('SIGKILL');
    const killed = await first.done;
    expect(killed.signal).toBe('SIGKILL');
    const finishedBefore = [...killed.stdout.matchAll(/node-done (\S+) computed/g)].map((m) => m[1]);
    expect(finishedBefore.length).toBeGreaterThan(0);
    // A node can finish (manifest written) after the last line this process read and before the
    // kill: so at least the reported ones, and not all 11.
    const manifestsBefore = await allManifestOutputsIntact(storeRoot);
    expect(manifestsBefore).toBeGreaterThanOrEqual(finishedBefore.length);
    expect(manifestsBefore).toBeLessThan(11);

    const second = await start(storeRoot).done;
    expect(second.code).toBe(0);
    for (const node of finishedBefore) expect(second.stdout).toContain(`node-done ${node} cached`);
    expect([...second.stdout.matchAll(/node-done \S+ cached/g)]).toHaveLength(manifestsBefore);
    expect(await allManifestOutputsIntact(storeRoot)).toBe(11);
  });

  it('two concurrent runs on one store both succeed and compute each node once', async () => {
    const storeRoot = path.join(root, 'store');
    const log = path.join(root, 'computations.log');
    const a = start(storeRoot, { LOCKPICK_TEST_LOG: log });
    const b = start(storeRoot, { LOCKPICK_TEST_LOG: log });
    const [ra, rb] = await Promise.all([a.done, b.done]);
    expect(ra.code, ra.stdout).toBe(0);
    expect(rb.code, rb.stdout).toBe(0);
    const computed = (await fs.readFile(log, 'utf8')).trim().split('\n').sort();
    expect(computed).toEqual([...new Set(computed)]);
    expect(computed).toHaveLength(11);
    expect(await allManifestOutputsIntact(storeRoot)).toBe(11);
  });
});
