import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ArtifactStore, int32MatrixVector } from '@lockpick/artifacts';
import { runStageOnce } from '@lockpick/engine';
import { evalPrompts } from '@lockpick/tasks';
import * as arrow from 'apache-arrow';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { compositionPolicyScore } from './composition-policy.ts';

let root: string;
let store: ArtifactStore;
beforeEach(async () => {
  root = await fs.mkdtemp(path.join(tmpdir(), 'lockpick-eval-'));
  store = await ArtifactStore.open(root);
});
afterEach(() => fs.rm(root, { recursive: true, force: true }));

async function evalTable(seed: number, rows: number) {
  const t = evalPrompts(seed, rows);
  return store.writeTable(
    new arrow.Table({
      tokens: int32MatrixVector(t.tokens, t.rows, t.seqLen),
      fn_a: arrow.makeVector(t.fnA),
      fn_b: arrow.makeVector(t.fnB),
      locked_count: arrow.makeVector(t.lockedCount),
    }),
  );
}

async function score(policy: 'strong' | 'weak', seed = 2) {
  const { outputs } = await runStageOnce(compositionPolicyScore, store, {
    params: { seed, policy },
    inputs: { eval: await evalTable(2, 1024) },
  });
  return Number((await store.readTable(outputs.scores)).getChild('token_accuracy')?.get(0));
}

it('scores the strong policy 1.0 and the weak policy near the paper’s 0.18', async () => {
  expect(await score('strong')).toBe(1);
  const weak = await score('weak');
  expect(weak).toBeGreaterThan(0.1);
  expect(weak).toBeLessThan(0.3);
});

it('scores a policy built from the wrong seed’s functions poorly', async () => {
  expect(await score('strong', 99)).toBeLessThan(0.5);
});
