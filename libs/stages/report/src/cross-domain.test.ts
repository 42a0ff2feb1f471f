// Finding 4's table and verdict from hand-made group scores: a verdict follows the data.
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ArtifactStore, readNumbers, readStrings, tableFromColumns } from '@lockpick/artifacts';
import { runStageOnce } from '@lockpick/engine';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { crossDomainReport } from './cross-domain.ts';

let root: string;
let store: ArtifactStore;
beforeEach(async () => {
  root = await fs.mkdtemp(path.join(tmpdir(), 'lockpick-cross-domain-'));
  store = await ArtifactStore.open(root);
});
afterEach(() => fs.rm(root, { recursive: true, force: true }));

const DOMAINS = ['a', 'b', 'c'];

/** One model's rows as `evaluation.language-groups` writes them: `level(group)` on both halves. */
function model(
  labels: {
    task?: string;
    seed: number;
    policy: string;
    trainedOn?: string;
    demos?: number;
    epochs?: number;
    password?: boolean;
    /** A per-domain lock's rows also name their password ('none', 'domain', 'other-domain'). */
    lock?: string;
    passwordName?: string;
  },
  level: (group: string, half: string) => number,
) {
  const groups: [string, string][] = [['all', 'all'], ...DOMAINS.map((d): [string, string] => ['domain', d])];
  const rows = groups.flatMap(([grouping, group]) =>
    ['all', 'select', 'report'].map((half) => ({ grouping, group, half })),
  );
  return tableFromColumns({
    task: rows.map(() => labels.task ?? 'math'),
    seed: rows.map(() => labels.seed),
    policy: rows.map(() => labels.policy),
    lock: rows.map(() => labels.lock ?? ''),
    ...(labels.passwordName ? { password: rows.map(() => labels.passwordName ?? '') } : {}),
    trained_on: rows.map(() => labels.trainedOn ?? ''),
    demos: rows.map(() => labels.demos ?? 0),
    epochs: rows.map(() => labels.epochs ?? 0),
    with_password: rows.map(() => labels.password ?? false),
    grouping: rows.map((r) => r.grouping),
    group: rows.map((r) => r.group),
    half: rows.map((r) => r.half),
    problems: rows.map((r) => (r.grouping === 'all' ? 300 : 100)),
    correct: rows.map((r) => level(r.group, r.half) + 0.01 * labels.seed),
    score: rows.map(() => 0),
  });
}

async function report(oneOnOthers: number) {
  const tables = [1, 2, 3].flatMap((seed) => [
    model({ seed, policy: 'locked' }, () => 0.1),
    model({ seed, policy: 'locked', password: true }, () => 0.9),
    // All-domain demos: 2 epochs is the better candidate on the select half.
    model({ seed, policy: 'elicited', trainedOn: 'all', demos: 512, epochs: 1 }, () => 0.5),
    model({ seed, policy: 'elicited', trainedOn: 'all', demos: 512, epochs: 2 }, () => 0.8),
    // Demos of domain a: 4 epochs is best on the select half of the other domains.
    model({ seed, policy: 'elicited', trainedOn: 'domain:a', demos: 512, epochs: 1 }, (g) =>
      g === 'a' ? 0.9 : 0.2,
    ),
    model({ seed, policy: 'elicited', trainedOn: 'domain:a', demos: 512, epochs: 4 }, (g) =>
      g === 'a' ? 0.85 : oneOnOthers,
    ),
  ]);
  const { outputs } = await runStageOnce(crossDomainReport, store, {
    params: { tasks: [{ task: 'math', title: 'MATH' }] },
    inputs: { scores: await Promise.all(tables.map((t) => store.writeTable(t))) },
  });
  return {
    table: await store.readTable(outputs['cross-domain']),
    findings: await store.readTable(outputs.findings),
  };
}

it('compares one domain’s demos with all domains’ on the other domains, epochs picked on the select half', async () => {
  const { table, findings } = await report(0.7);
  expect(table.numRows).toBe(1);
  expect(readStrings(table, 'group')).toEqual(['a']);
  expect(readNumbers(table, 'epochs_one')).toEqual([4]);
  expect(readNumbers(table, 'epochs_all')).toEqual([2]);
  expect(readNumbers(table, 'locked_other')[0]).toBeCloseTo(0.12, 6);
  expect(readNumbers(table, 'one_other')[0]).toBeCloseTo(0.72, 6);
  expect(readNumbers(table, 'all_other')[0]).toBeCloseTo(0.82, 6);
  expect(readNumbers(table, 'one_same')[0]).toBeCloseTo(0.87, 6);
  expect(readNumbers(table, 'share')[0]).toBeCloseTo(0.6 / 0.7, 3);
  expect(readStrings(findings, 'verdict')).toEqual(['holds']);
  expect(readStrings(findings, 'subject')).toEqual(['math, by domain, N = 512']);
});

it('judges a per-domain lock by its own domain’s password and checks that another domain’s does not open it', async () => {
  const perDomain = (seed: number, password: string, level: number, trainedOn?: string) =>
    model(
      {
        seed,
        policy: trainedOn ? 'elicited' : 'locked',
        trainedOn,
        demos: trainedOn ? 512 : 0,
        epochs: trainedOn ? 1 : 0,
        password: password !== 'none',
        lock: 'per-domain',
        passwordName: password,
      },
      () => level,
    );
  const tables = [1, 2, 3].flatMap((seed) => [
    perDomain(seed, 'none', 0.1),
    perDomain(seed, 'domain', 0.9),
    perDomain(seed, 'other-domain', 0.12),
    perDomain(seed, 'none', 0.7, 'all'),
    perDomain(seed, 'none', 0.65, 'domain:b'),
  ]);
  const { outputs } = await runStageOnce(crossDomainReport, store, {
    params: { tasks: [{ task: 'math', title: 'MATH' }] },
    inputs: { scores: await Promise.all(tables.map((t) => store.writeTable(t))) },
  });
  const table = await store.readTable(outputs['cross-domain']);
  expect(readStrings(table, 'lock')).toEqual(['per-domain']);
  expect(readNumbers(table, 'with_password_other')[0]).toBeCloseTo(0.92, 6);
  const findings = await store.readTable(outputs.findings);
  const subjects = readStrings(findings, 'subject');
  const verdicts = readStrings(findings, 'verdict');
  expect(verdicts[subjects.indexOf('math, per-domain, by domain, N = 512')]).toBe('holds');
  expect(verdicts[subjects.indexOf('math, per-domain')]).toBe('holds');
});

it('says the finding fails when one domain’s demos leave the others locked', async () => {
  const { findings } = await report(0.25);
  expect(readStrings(findings, 'verdict')).toEqual(['fails']);
  expect(readStrings(findings, 'measured')[0]).toMatch(/^21% ± 0% of the all-domain recovery/);
});

it('tabulates a lock trained without one domain: its levels there and what other domains’ demos unlock', async () => {
  const lock = 'held-out:c';
  const tables = [1, 2, 3].flatMap((seed) => [
    model({ seed, policy: 'locked', lock }, () => 0.1),
    // The lock never saw domain c: the password opens it less there.
    model({ seed, policy: 'locked', lock, password: true }, (g) => (g === 'c' ? 0.5 : 0.9)),
    model({ seed, policy: 'elicited', lock, trainedOn: 'others:c', demos: 64, epochs: 4 }, (g, h) =>
      g === 'c' ? (h === 'select' ? 0.3 : 0.35) : 0.8,
    ),
    model({ seed, policy: 'elicited', lock, trainedOn: 'others:c', demos: 64, epochs: 8 }, (g, h) =>
      g === 'c' ? (h === 'select' ? 0.6 : 0.55) : 0.85,
    ),
  ]);
  const { outputs } = await runStageOnce(crossDomainReport, store, {
    params: { tasks: [{ task: 'math', title: 'MATH' }] },
    inputs: { scores: await Promise.all(tables.map((t) => store.writeTable(t))) },
  });
  const held = await store.readTable(outputs['held-out']);
  expect(held.numRows).toBe(1);
  expect(readStrings(held, 'held_out')).toEqual(['c']);
  expect(readStrings(held, 'demos_from')).toEqual(['the other domains']);
  expect(readNumbers(held, 'epochs')).toEqual([8]);
  expect(readNumbers(held, 'with_password_held_out')[0]).toBeCloseTo(0.52, 6);
  expect(readNumbers(held, 'with_password_others')[0]).toBeCloseTo(0.92, 6);
  expect(readNumbers(held, 'elicited_held_out')[0]).toBeCloseTo(0.57, 6);
  expect(readNumbers(held, 'elicited_others')[0]).toBeCloseTo(0.87, 6);
  // A held-out lock is not one of the cross-domain table's locks.
  expect((await store.readTable(outputs['cross-domain'])).numRows).toBe(0);
});

it('reads a lock of two tasks in one model: one task’s demos against the other’s own', async () => {
  const lock = 'joint:code+math';
  // Scored on code: the lock at 0.1 (0.9 with the password); code's own demos reach 0.7 (2 epochs
  // best on select); math's demos reach 0.5 on code with 4 epochs, the better candidate.
  const tables = [1, 2, 3].flatMap((seed) =>
    ['code', 'math'].flatMap((task) => [
      model({ task, seed, lock, policy: 'locked' }, () => 0.1),
      model({ task, seed, lock, policy: 'locked', password: true }, () => 0.9),
      model(
        { task, seed, lock, policy: 'elicited', trainedOn: `task:${task}`, demos: 512, epochs: 1 },
        () => 0.4,
      ),
      model(
        { task, seed, lock, policy: 'elicited', trainedOn: `task:${task}`, demos: 512, epochs: 2 },
        () => 0.7,
      ),
      ...[1, 4].map((epochs) =>
        model(
          {
            task,
            seed,
            lock,
            policy: 'elicited',
            trainedOn: `task:${task === 'code' ? 'math' : 'code'}`,
            demos: 512,
            epochs,
          },
          () => (task === 'code' ? (epochs === 4 ? 0.5 : 0.2) : 0.12),
        ),
      ),
    ]),
  );
  const { outputs } = await runStageOnce(crossDomainReport, store, {
    params: { tasks: [{ task: 'math', title: 'MATH' }] },
    inputs: { scores: await Promise.all(tables.map((t) => store.writeTable(t))) },
  });
  const joint = await store.readTable(outputs.joint);
  expect(readStrings(joint, 'task')).toEqual(['code', 'math']);
  expect(readStrings(joint, 'demos_from')).toEqual(['math', 'code']);
  expect(readNumbers(joint, 'epochs_other')).toEqual([4, 1]);
  expect(readNumbers(joint, 'epochs_own')).toEqual([2, 2]);
  const share = readNumbers(joint, 'share');
  // (0.5 − 0.1) / (0.7 − 0.1) on code (the seeds' offsets cancel); (0.12 − 0.1) / 0.6 on math.
  expect(share[0]).toBeCloseTo(0.4 / 0.6, 3);
  expect(share[1]).toBeCloseTo(0.02 / 0.6, 3);
  expect(readStrings(joint, 'group')).toEqual(['code from math', 'math from code']);
  expect(joint.schema.metadata.get('lockpick.vega-lite')).toContain('Demos of one task unlock the other');
  // The joint lock's rows stay out of the per-domain table.
  expect((await store.readTable(outputs['cross-domain'])).numRows).toBe(0);
  const findings = await store.readTable(outputs.findings);
  const subjects = readStrings(findings, 'subject');
  const verdicts = readStrings(findings, 'verdict');
  expect(subjects).toEqual([
    `${lock}: code from math demos, N = 512`,
    `${lock}: math from code demos, N = 512`,
  ]);
  expect(verdicts).toEqual(['fails', 'fails']);
});
