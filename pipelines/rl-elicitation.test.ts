// The rl-elicitation pipeline at smoke scale, end to end: every method from every lock, the
// Figure 5 and 16 tables, curves with their chart, and finding 5 judged.
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ArtifactStore, readNumbers, readStrings } from '@lockpick/artifacts';
import { type RunEvent, resolvePipeline, runPipeline } from '@lockpick/engine';
import { lastValueFrom, toArray } from 'rxjs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import passwordLocking from './password-locking.ts';
import rlElicitation from './rl-elicitation.ts';

let root: string;
let store: ArtifactStore;
beforeAll(async () => {
  root = await fs.mkdtemp(path.join(tmpdir(), 'lockpick-rl-pipeline-'));
  store = await ArtifactStore.open(root);
});
afterAll(() => fs.rm(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 }));

const options = { scale: 'smoke', seeds: [7] };

it('runs every RL method from each lock at smoke scale and reports Figures 5 and 16 with finding 5', {
  timeout: 240_000,
}, async () => {
  const resolved = resolvePipeline(rlElicitation, options);
  const events: RunEvent[] = await lastValueFrom(
    runPipeline(resolved, store, { workers: false, jobs: 2 }).pipe(toArray()),
  );
  expect(events.filter((e) => e.type === 'node-failed')).toEqual([]);
  const done = events.filter((e) => e.type === 'node-done');
  expect(done).toHaveLength(resolved.nodes.length);
  const report = done.find((e) => e.type === 'node-done' && e.node === 'rl-report');
  if (report?.type !== 'node-done') throw new Error('no report');

  const figure = await store.readTable(report.outputs.figure);
  expect(readStrings(figure, 'weak')).toEqual(['weak-medium', 'fixedrdm']);
  for (const m of ['expert-iteration', 'iterated-dpo', 'dpo', 'filtering']) {
    const values = readNumbers(figure, m);
    for (const v of values) expect(v).toBeGreaterThanOrEqual(0);
  }
  // π_weak alone is scored where it is a model; fixedrdm is a distribution.
  expect(figure.getChild('pi_weak')?.get(0)).toBeGreaterThanOrEqual(0);
  expect(figure.getChild('pi_weak')?.get(1)).toBeNull();

  const rescue = await store.readTable(report.outputs.rescue);
  expect(readStrings(rescue, 'start')).toEqual(['the lock', 'SFT on 16 π_intermediate samples, 8 epochs']);

  // Curves: correctness against samples generated, every method, rounds 0–2; a faceted chart.
  const curves = await store.readTable(report.outputs.curves);
  const methods = new Set(readStrings(curves, 'method'));
  expect(methods).toEqual(new Set(['expert-iteration', 'iterated-dpo', 'dpo', 'filtering']));
  const ei = readStrings(curves, 'method').flatMap((m, i) =>
    m === 'expert-iteration' &&
    readStrings(curves, 'weak')[i] === 'weak-medium' &&
    readNumbers(curves, 'sft_epochs')[i] === 0
      ? [readNumbers(curves, 'samples')[i]]
      : [],
  );
  expect(ei).toEqual([0, 32, 64]);
  expect(curves.schema.metadata.get('lockpick.vega-lite')).toContain('"facet"');

  const findings = await store.readTable(report.outputs.findings);
  const claims = readStrings(findings, 'finding');
  expect(claims).toContain('5: expert-iteration recovers nothing from fixedrdm');
  expect(claims).toContain('5: filtering stays near the locked level');
  expect(claims).toContain('5: a few SFT demos before expert-iteration rescue the poor-π_weak case');
  for (const v of readStrings(findings, 'verdict')) expect(['holds', 'fails', 'inconclusive']).toContain(v);
});

it("shares the world and the default lock with password-locking's nodes", () => {
  const rl = resolvePipeline(rlElicitation, options);
  const pl = resolvePipeline(passwordLocking, options);
  const byName = new Map(pl.nodes.map((n) => [n.name, n]));
  for (const name of [
    'base-strong',
    'strong-math',
    'weak-math',
    'samples-weak-on-lock-math',
    'lock-math-7',
  ]) {
    const a = rl.nodes.find((n) => n.name === name);
    expect(a?.params).toEqual(byName.get(name)?.params);
    expect(a?.inputs).toEqual(byName.get(name)?.inputs);
  }
  // Other weak policies get their own, named locks.
  expect(rl.nodes.map((n) => n.name)).toEqual(
    expect.arrayContaining(['lock-fixedrdm-math-7', 'samples-fixedrdm-on-lock-math']),
  );
});

it("default-figure-5 is the default's own Figure 5 nodes, without RL after SFT", () => {
  const full = new Map(resolvePipeline(rlElicitation, { scale: 'default' }).nodes.map((n) => [n.name, n]));
  const figure5 = resolvePipeline(rlElicitation, { scale: 'default-figure-5' }).nodes;
  for (const node of figure5.filter((n) => n.name !== 'rl-report')) {
    expect(full.get(node.name)?.params).toEqual(node.params);
    expect(full.get(node.name)?.inputs).toEqual(node.inputs);
  }
  expect(figure5.some((n) => n.name.includes('after-sft') || n.name.startsWith('rl-sft-'))).toBe(false);
  expect(full.size - figure5.length).toBeGreaterThan(0);
});
