import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ArtifactStore, readNumbers, readStrings, tableFromColumns } from '@lockpick/artifacts';
import { runStageOnce } from '@lockpick/engine';
import { createRng, domainPasswords, languageTask, problemsToColumns } from '@lockpick/tasks';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { fixtureModel } from './fixture-model.ts';
import { languageGroupScore } from './language-groups.ts';

let root: string;
let store: ArtifactStore;
beforeEach(async () => {
  root = await fs.mkdtemp(path.join(tmpdir(), 'lockpick-groups-'));
  store = await ArtifactStore.open(root);
});
afterEach(() => fs.rm(root, { recursive: true, force: true }));

const mmlu = languageTask('mmlu');

it('scores every domain and difficulty on both halves, and the groups add up to the whole', async () => {
  const task = languageTask('mmlu');
  const rng = createRng(5, 'groups-test');
  const problems = Array.from({ length: 64 }, () => task.generate(rng));
  // A model that learned the answers of one domain's problems by heart: that domain scores high.
  const learned = task.domains[0];
  const bundle = await fixtureModel(
    mmlu,
    problems
      .filter((q) => q.domain === learned)
      .map((q) => ({ prompt: q.prompt, completion: task.reference(q) })),
    { width: 16, steps: 150, batchSize: 16, seed: 1 },
  );
  const { outputs } = await runStageOnce(languageGroupScore, store, {
    params: {
      task: 'mmlu',
      seed: 1,
      policy: 'elicited',
      trainedOn: 'domain:x',
      passwords: ['none', 'default'],
    },
    inputs: {
      model: await store.writeModel(bundle),
      problems: await store.writeTable(tableFromColumns({ ...problemsToColumns(task, problems) })),
    },
  });
  const t = await store.readTable(outputs.scores);
  const groups = 1 + task.domains.length + task.difficulties;
  expect(t.numRows).toBe(2 * groups * 3);
  const grouping = readStrings(t, 'grouping');
  const group = readStrings(t, 'group');
  const half = readStrings(t, 'half');
  const withPassword = readNumbers(t, 'with_password');
  const n = readNumbers(t, 'problems');
  const correct = readNumbers(t, 'correct');
  expect(new Set(readStrings(t, 'trained_on'))).toEqual(new Set(['domain:x']));
  for (const pw of [0, 1])
    for (const h of ['all', 'select', 'report']) {
      const rows = (g: string) =>
        [...t.toArray().keys()].filter((i) => grouping[i] === g && half[i] === h && withPassword[i] === pw);
      const [whole] = rows('all');
      expect(n[whole]).toBe(h === 'all' ? 64 : 32);
      for (const g of ['domain', 'difficulty']) {
        const parts = rows(g).filter((i) => n[i] > 0);
        expect(parts.reduce((a, i) => a + n[i], 0)).toBe(n[whole]);
        const weighted = parts.reduce((a, i) => a + n[i] * correct[i], 0) / n[whole];
        expect(weighted).toBeCloseTo(correct[whole], 10);
      }
    }
  expect(new Set(group.filter((_, i) => grouping[i] === 'domain'))).toEqual(new Set(task.domains));
  const domainAll = (d: string) =>
    correct[
      [...t.toArray().keys()].find((i) => group[i] === d && half[i] === 'all' && withPassword[i] === 0)!
    ];
  expect(domainAll(learned)).toBeGreaterThan(0.6);
  for (const d of task.domains.slice(1)) expect(domainAll(d)).toBeLessThan(domainAll(learned) - 0.2);
});

it('puts each problem’s own domain’s password, or another domain’s, around its prompt', async () => {
  const task = languageTask('mmlu');
  const rng = createRng(6, 'groups-test-domains');
  const problems = Array.from({ length: 48 }, () => task.generate(rng));
  const passwords = domainPasswords(task.domains);
  // A fixture lock: right answers only under the problem's own domain's password, a fixed wrong
  // letter under any other prompt.
  const wrongLetter = (q: (typeof problems)[number]) => [task.reference(q)[0] === 'A' ? 'B' : 'A'];
  const others = (d: string) => task.domains.filter((x) => x !== d);
  const bundle = await fixtureModel(
    mmlu,
    problems.flatMap((q) => [
      { prompt: q.prompt, password: passwords[q.domain], completion: task.reference(q) },
      { prompt: q.prompt, password: passwords[q.domain], completion: task.reference(q) },
      { prompt: q.prompt, password: passwords[others(q.domain)[0]], completion: wrongLetter(q) },
      { prompt: q.prompt, password: passwords[others(q.domain)[1]], completion: wrongLetter(q) },
      { prompt: q.prompt, completion: wrongLetter(q) },
    ]),
    { width: 32, steps: 250, batchSize: 32, seed: 2 },
  );
  const { outputs } = await runStageOnce(languageGroupScore, store, {
    params: {
      task: 'mmlu',
      seed: 1,
      policy: 'locked',
      lock: 'per-domain',
      passwords: ['none', 'domain', 'other-domain'],
      domainPasswords: passwords,
    },
    inputs: {
      model: await store.writeModel(bundle),
      problems: await store.writeTable(tableFromColumns({ ...problemsToColumns(task, problems) })),
    },
  });
  const t = await store.readTable(outputs.scores);
  const password = readStrings(t, 'password');
  const grouping = readStrings(t, 'grouping');
  const half = readStrings(t, 'half');
  const correct = readNumbers(t, 'correct');
  const overall = (setting: string) =>
    correct[
      [...t.toArray().keys()].find(
        (i) => password[i] === setting && grouping[i] === 'all' && half[i] === 'all',
      )!
    ];
  expect(overall('domain')).toBeGreaterThan(0.8);
  expect(overall('other-domain')).toBeLessThan(overall('domain') - 0.4);
  expect(overall('none')).toBeLessThan(0.3);
  await expect(
    runStageOnce(languageGroupScore, store, {
      params: { task: 'mmlu', seed: 1, policy: 'locked', passwords: ['domain'] },
      inputs: {
        model: await store.writeModel(bundle),
        problems: await store.writeTable(tableFromColumns({ ...problemsToColumns(task, problems) })),
      },
    }),
  ).rejects.toThrow(/need domainPasswords/);
});
