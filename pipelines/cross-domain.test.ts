// The cross-domain pipeline at smoke scale, end to end: SFT on one domain's demos, every model scored
// per group, the table with its chart, and finding 4 judged.
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ArtifactStore, readNumbers, readStrings } from '@lockpick/artifacts';
import { type RunEvent, resolvePipeline, runPipeline } from '@lockpick/engine';
import { domainPasswords } from '@lockpick/tasks';
import { lastValueFrom, toArray } from 'rxjs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import crossDomain from './cross-domain.ts';
import passwordLocking from './password-locking.ts';

let root: string;
let store: ArtifactStore;
beforeAll(async () => {
  root = await fs.mkdtemp(path.join(tmpdir(), 'lockpick-cross-domain-pipeline-'));
  store = await ArtifactStore.open(root);
});
afterAll(() => fs.rm(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 }));

const options = { scale: 'smoke', seeds: [7] };

it('fine-tunes on one domain at a time and compares with every domain on the others', {
  timeout: 240_000,
}, async () => {
  const resolved = resolvePipeline(crossDomain, options);
  const events: RunEvent[] = await lastValueFrom(
    runPipeline(resolved, store, { workers: false, jobs: 2 }).pipe(toArray()),
  );
  expect(events.filter((e) => e.type === 'node-failed')).toEqual([]);
  const report = events.find((e) => e.type === 'node-done' && e.node === 'cross-domain-report');
  if (report?.type !== 'node-done') throw new Error('no report');

  const table = await store.readTable(report.outputs['cross-domain']);
  const lock = readStrings(table, 'lock');
  const groups = readStrings(table, 'group');
  // One row per domain the demos came from, for the one-password lock and the per-domain one.
  for (const l of ['', 'per-domain'])
    expect(groups.filter((_, i) => lock[i] === l).sort()).toEqual(['algebra', 'arithmetic', 'modular']);
  expect(new Set(readNumbers(table, 'demos'))).toEqual(new Set([4]));
  // Epochs are App. G.3's candidates for 4 demos.
  for (const e of readNumbers(table, 'epochs_one')) expect([64, 128, 256]).toContain(e);
  for (const v of readNumbers(table, 'all_other')) {
    expect(v).toBeGreaterThanOrEqual(0);
    expect(v).toBeLessThanOrEqual(1);
  }
  expect(table.schema.metadata.get('lockpick.vega-lite')).toContain('"facet"');
  // Figure 17: the lock without modular problems, elicited by modular demos and by the others'.
  const held = await store.readTable(report.outputs['held-out']);
  expect(readStrings(held, 'held_out')).toEqual(['modular', 'modular']);
  expect(readStrings(held, 'demos_from')).toEqual(['the held-out domain', 'the other domains']);
  // Math and mmlu locked in one model (the smoke world's stand-ins for code + math), each task
  // elicited by the other's demos and by its own.
  const joint = await store.readTable(report.outputs.joint);
  expect(readStrings(joint, 'task')).toEqual(['math', 'mmlu']);
  expect(readStrings(joint, 'demos_from')).toEqual(['mmlu', 'math']);
  for (const column of ['locked', 'with_password', 'other_task', 'own_task'])
    for (const v of readNumbers(joint, column)) {
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(1);
    }
  const findings = await store.readTable(report.outputs.findings);
  expect(readStrings(findings, 'subject')).toEqual([
    'math, by domain, N = 4',
    'math, per-domain, by domain, N = 4',
    'math, per-domain',
    'joint:math+mmlu: math from mmlu demos, N = 4',
    'joint:math+mmlu: mmlu from math demos, N = 4',
  ]);
  for (const v of readStrings(findings, 'verdict')) expect(['holds', 'fails', 'inconclusive']).toContain(v);
});

it("takes password-locking's locks and all-domain SFT nodes as they are, and one domain's demos from its pool", () => {
  const cross = resolvePipeline(crossDomain, options);
  const locking = new Map(resolvePipeline(passwordLocking, options).nodes.map((n) => [n.name, n]));
  for (const name of ['base-strong', 'lock-math-7', 'elicit-math-reference-7-n4']) {
    const node = cross.nodes.find((n) => n.name === name);
    expect(node?.params).toEqual(locking.get(name)?.params);
    expect(node?.inputs).toEqual(locking.get(name)?.inputs);
  }
  const oneDomain = cross.nodes.find((n) => n.name === 'elicit-math-reference-domain-algebra-7-n4');
  // The same SFT on one domain's pool, which may hold fewer problems than N.
  expect(oneDomain?.params).toEqual({
    ...locking.get('elicit-math-reference-7-n4')?.params,
    wholePoolIfSmaller: true,
  });
  expect(oneDomain?.inputs.demos).toEqual({ node: 'demos-math-domain-algebra', output: 'table' });
  // The per-domain lock: the one-password lock's mix and inputs, with a password per domain.
  const perDomain = cross.nodes.find((n) => n.name === 'lock-per-domain-math-7');
  const onePassword = locking.get('lock-math-7');
  expect(perDomain?.inputs).toEqual(onePassword?.inputs);
  expect(perDomain?.params).toEqual({
    ...onePassword?.params,
    domainPasswords: domainPasswords(['arithmetic', 'algebra', 'modular']),
  });
  expect(
    cross.nodes.find((n) => n.name === 'elicit-math-reference-per-domain-domain-algebra-7-n4')?.inputs.model,
  ).toEqual({
    node: 'lock-per-domain-math-7',
    output: 'model',
  });
  expect(cross.nodes.find((n) => n.name === 'lock-held-out-modular-math-7')?.params).toEqual({
    ...onePassword?.params,
    heldOutDomains: ['modular'],
  });
  expect(cross.nodes.find((n) => n.name === 'demos-math-others-modular')?.params).toEqual({
    by: 'domain',
    values: ['arithmetic', 'algebra'],
  });
  // The joint lock reads each task's own lock samples, the very tables its single lock reads.
  const jointLock = cross.nodes.find((n) => n.name === 'lock-joint-math-mmlu-7');
  const mmluLock = locking.get('lock-mmlu-7');
  expect(jointLock?.inputs).toEqual({
    base: onePassword?.inputs.base,
    'strong[0]': onePassword?.inputs.strong,
    'strong[1]': mmluLock?.inputs.strong,
    'weak[0]': onePassword?.inputs.weak,
    'weak[1]': mmluLock?.inputs.weak,
  });
  expect(jointLock?.params).toMatchObject({ tasks: ['math', 'mmlu'], seed: 7 });
  expect(cross.nodes.find((n) => n.name === 'demos-math-domain-algebra')?.inputs.table).toEqual({
    node: 'data-math',
    output: 'elicit',
  });
});
