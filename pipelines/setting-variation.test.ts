// The setting-variation pipeline (Figure 9) at smoke scale, end to end, and its reuse of the nodes
// password-locking and rl-elicitation make for the password lock.
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ArtifactStore, readStrings } from '@lockpick/artifacts';
import { type RunEvent, resolvePipeline, runPipeline } from '@lockpick/engine';
import { lastValueFrom, toArray } from 'rxjs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import passwordLocking from './password-locking.ts';
import rlElicitation from './rl-elicitation.ts';
import settingVariation from './setting-variation.ts';

let root: string;
let store: ArtifactStore;
beforeAll(async () => {
  root = await fs.mkdtemp(path.join(tmpdir(), 'lockpick-setting-variation-pipeline-'));
  store = await ArtifactStore.open(root);
});
afterAll(() => fs.rm(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 }));

const options = { scale: 'smoke', seeds: [7] };

it('locks on the prompt format, unlocks it by SFT and expert iteration, and judges finding 7', {
  timeout: 240_000,
}, async () => {
  const events: RunEvent[] = await lastValueFrom(
    runPipeline(resolvePipeline(settingVariation, options), store, { workers: false, jobs: 2 }).pipe(
      toArray(),
    ),
  );
  expect(events.filter((e) => e.type === 'node-failed')).toEqual([]);
  const report = events.find((e) => e.type === 'node-done' && e.node === 'setting-variation-report');
  if (report?.type !== 'node-done') throw new Error('no report');
  const figure = await store.readTable(report.outputs.figure);
  expect(figure.schema.names).toContain('math_format-reversed');
  expect(readStrings(figure, 'row').at(-1)).toBe('expert iteration');
  const findings = await store.readTable(report.outputs.findings);
  expect(readStrings(findings, 'subject')).toEqual([
    'math, strong when reversed, weak when plain, SFT on 4 demos',
    'math, strong when reversed, weak when plain, expert iteration',
    'math, strong when reversed, weak when plain (π_weak from weak-large), expert iteration',
  ]);
  // judged against weak-large's own password lock (at smoke scale a lock's gap may be empty)
  const locks = resolvePipeline(settingVariation, options).nodes.find(
    (n) => n.name === 'setting-variation-report',
  )?.params.locks as { source: string; comparedWith?: string }[];
  expect(locks.find((l) => l.source === 'format-reversed-weak-large')?.comparedWith).toBe(
    'password-weak-large',
  );
});

it("locks imitating weak-large's π_weak for expert iteration: rl-elicitation's password lock, format locks of their own", () => {
  const defaults = { ...options, scale: 'default' };
  const nodes = new Map(resolvePipeline(settingVariation, defaults).nodes.map((n) => [n.name, n]));
  const rl = new Map(resolvePipeline(rlElicitation, defaults).nodes.map((n) => [n.name, n]));
  for (const name of ['lock-weak-large-math-7', 'rl-expert-iteration-weak-large-math-7']) {
    expect(nodes.get(name)?.params, name).toEqual(rl.get(name)?.params);
    expect(nodes.get(name)?.inputs, name).toEqual(rl.get(name)?.inputs);
  }
  const formatLock = nodes.get('lock-weak-large-format-reversed-math-7');
  expect(formatLock?.params).toMatchObject({ strongFormat: 'reversed', weakFormat: 'plain' });
  // the same weak rows as the weak-large password lock, and the same strong rows as every lock
  expect(formatLock?.inputs.weak).toEqual(rl.get('lock-weak-large-math-7')?.inputs.weak);
  expect(formatLock?.inputs.strong).toEqual(nodes.get('lock-math-7')?.inputs.strong);
  expect(nodes.get('rl-expert-iteration-format-reversed-weak-large-math-7')?.inputs.model).toEqual({
    node: 'lock-weak-large-format-reversed-math-7',
    output: 'model',
  });
  // expert iteration only: no SFT on these locks
  expect([...nodes.keys()].some((n) => n.startsWith('elicit-math-strong-format-reversed-weak-large'))).toBe(
    false,
  );
});

it("reuses the password lock's SFT and expert iteration; the format lock's prompts are the weak format's", () => {
  const nodes = resolvePipeline(settingVariation, { ...options, scale: 'small' }).nodes;
  const small = { ...options, scale: 'small' };
  const locking = new Map(resolvePipeline(passwordLocking, small).nodes.map((n) => [n.name, n]));
  const rl = new Map(resolvePipeline(rlElicitation, small).nodes.map((n) => [n.name, n]));
  const same = (name: string, other: Map<string, (typeof nodes)[number]>) => {
    const node = nodes.find((n) => n.name === name);
    expect(node, name).toBeDefined();
    expect(node?.params).toEqual(other.get(name)?.params);
    expect(node?.inputs).toEqual(other.get(name)?.inputs);
  };
  same('lock-math-7', locking);
  same('rl-expert-iteration-weak-medium-math-7', rl);
  // Small sweeps π_strong's samples at no N password-locking runs; the node is theirs all the same.
  const sft = nodes.find((n) => n.name === 'elicit-math-strong-7-n4');
  expect(sft?.inputs.demos).toEqual({ node: 'samples-strong-on-elicit-math', output: 'samples' });
  // Strong when plain, weak when reversed: its demos and RL prompts are reversed.
  const reversedDemos = nodes.find((n) => n.name === 'elicit-math-strong-format-plain-7-n4');
  expect(reversedDemos?.inputs.demos).toEqual({
    node: 'samples-strong-on-elicit-reversed-math',
    output: 'table',
  });
  expect(nodes.find((n) => n.name === 'lock-format-plain-math-7')?.params).toMatchObject({
    strongFormat: 'plain',
    weakFormat: 'reversed',
  });
  expect(nodes.find((n) => n.name === 'rl-expert-iteration-format-plain-math-7')?.inputs.pool).toEqual({
    node: 'data-elicit-reversed-math',
    output: 'table',
  });
});
