// Processes for the cluster's fault tests: a Redis server of the test's own on a free loopback
// port, `lockpick worker`s and `lockpick run`s as real processes, each with its own local cache.
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import { sleep } from '../../../../libs/cluster/src/testing/redis-server.ts';

export { redisMissing, TestRedis } from '../../../../libs/cluster/src/testing/redis-server.ts';

const bin = fileURLToPath(new URL('../../bin/lockpick.mjs', import.meta.url));

/** A lockpick process whose output is collected line by line, so a test can wait for a line. */
export class LockpickProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;

  constructor(args: string[], env: NodeJS.ProcessEnv = {}) {
    this.child = spawn(process.execPath, [bin, ...args], {
      env: { ...process.env, CI: 'true', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.on('data', (chunk: Buffer) => {
      this.stdout += chunk.toString();
    });
    this.child.stderr!.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  async waitFor(pattern: RegExp, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.stdout) && !pattern.test(this.stderr)) {
      if (Date.now() > deadline || this.child.exitCode !== null)
        throw new Error(`no ${pattern} in output:\n${this.stdout}\n${this.stderr}`);
      await sleep(50);
    }
  }

  /** Ends it: SIGKILL as a machine dying would, else SIGTERM (a worker finishes its node first). */
  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}

export function startWorker(
  queue: string,
  store: string,
  cache: string,
  env: NodeJS.ProcessEnv = {},
  extra: string[] = [],
): LockpickProcess {
  return new LockpickProcess(
    ['worker', '--queue', queue, '--store', store, '--cache', cache, '--concurrency', '1', ...extra],
    env,
  );
}

/** Every object file in a store folder whose bytes do not hash to its name (none in a sound store). */
export function damagedObjects(root: string): string[] {
  const dir = path.join(root, 'objects', 'sha256');
  const damaged: string[] = [];
  for (const prefix of readdirSync(dir))
    for (const rest of readdirSync(path.join(dir, prefix))) {
      const hash = createHash('sha256')
        .update(readFileSync(path.join(dir, prefix, rest)))
        .digest('hex');
      if (hash !== prefix + rest) damaged.push(prefix + rest);
    }
  return damaged;
}

/** How often each node was computed, from the fixture stages' LOCKPICK_TEST_LOG. */
export function computations(logFile: string): Record<string, number> {
  const counts: Record<string, number> = {};
  let text = '';
  try {
    text = readFileSync(logFile, 'utf8');
  } catch {
    return counts;
  }
  for (const line of text.split('\n').filter(Boolean)) counts[line] = (counts[line] ?? 0) + 1;
  return counts;
}
