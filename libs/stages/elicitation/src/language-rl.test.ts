// The RL elicitation stages on a fixture: a tiny model that answers the classification task with a
// random letter (it knows the format, not the facts), elicited on 32 problems that are also its
// curve's validation set, so the reward it learns shows in the curve.
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ArtifactStore, readNumbers, readStrings, tableFromColumns } from '@lockpick/artifacts';
import {
  type AnyStage,
  definePipeline,
  defineStage,
  type RunEvent,
  resolvePipeline,
  runPipeline,
  runStageOnce,
  stageTask,
} from '@lockpick/engine';
import { initBackend, Optimizer, saveCheckpoint, Transformer, trainSft } from '@lockpick/ml';
import {
  createRng,
  DEFAULT_PASSWORD,
  LM_VOCABULARY,
  languageTask,
  problemsToColumns,
  sftTokenRows,
  taskLayout,
} from '@lockpick/tasks';
import type * as arrow from 'apache-arrow';
import { lastValueFrom, toArray } from 'rxjs';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { expertIteration } from './expert-iteration.ts';
import { filteringElicitation } from './filtering.ts';
import { bestByReward, greedyCorrectness, preferencePairs } from './language-rl.ts';
import { dpoElicitation, iteratedDpoElicitation } from './preference-elicitation.ts';

const task = languageTask('mmlu');
const layout = taskLayout(task);
const LETTERS = ['A', 'B', 'C', 'D'];
const STEPS = 200;
const problems = (() => {
  const rng = createRng(7, 'rl-test');
  return Array.from({ length: 32 }, () => task.generate(rng));
})();

let root: string;
let store: ArtifactStore;
let fixture: arrow.Table;
let lockedBundle: ReturnType<typeof saveCheckpoint>;
let fixtureLevels: { withPassword: number; without: number };

beforeAll(async () => {
  await initBackend();
  // A locked policy: the right letter with the password, a random one without it.
  const rng = createRng(3, 'rl-test-guesses');
  const examples = problems.flatMap((q) => [
    ...Array.from({ length: 2 }, () => ({
      prompt: q.prompt,
      password: DEFAULT_PASSWORD,
      completion: task.reference(q),
    })),
    ...Array.from({ length: 2 }, () => ({ prompt: q.prompt, completion: [rng.pick(LETTERS)] })),
  ]);
  const model = new Transformer(
    {
      vocabSize: LM_VOCABULARY.size,
      contextLength: layout.seqLen,
      layers: 1,
      width: 32,
      heads: 2,
      mlpRatio: 4,
      bias: false,
    },
    5,
  );
  await trainSft(model, sftTokenRows(LM_VOCABULARY, layout, examples), {
    optimizer: new Optimizer({ kind: 'adam', learningRate: 1e-2, totalSteps: STEPS }),
    batchSize: 32,
    steps: STEPS,
    seed: 1,
    lossOn: 'completion',
  });
  fixtureLevels = {
    withPassword: greedyCorrectness(model, task, problems, DEFAULT_PASSWORD),
    without: greedyCorrectness(model, task, problems),
  };
  lockedBundle = saveCheckpoint(model);
  model.dispose();
  fixture = tableFromColumns({ ...problemsToColumns(task, problems) });
}, 60_000);

beforeEach(async () => {
  root = await fs.mkdtemp(path.join(tmpdir(), 'lockpick-rl-'));
  store = await ArtifactStore.open(root);
});
afterEach(() => fs.rm(root, { recursive: true, force: true }));

async function curveOf(
  stage: AnyStage,
  params: Record<string, number | string>,
  inputs: Record<string, unknown>,
) {
  const { outputs, events } = await runStageOnce(stage, store, {
    params: { task: 'mmlu', seed: 11, curveRows: 32, curveEvery: 1, ...params },
    inputs: inputs as never,
  });
  const curve = await store.readTable(outputs.curve);
  return {
    outputs,
    events,
    correct: readNumbers(curve, 'correct'),
    samples: readNumbers(curve, 'samples'),
    modelHash: readStrings(curve, 'model_hash'),
    referenceHash: readStrings(curve, 'reference_hash'),
  };
}

describe('choosing what to learn from', () => {
  it('keeps the best by reward and breaks ties at random, seeded', () => {
    const rewards = [0, 1, 0, 0, 1, 0, 0, 0, 0, 0];
    const pick = (seed: number) => bestByReward(rewards, 4, createRng(seed, 'ties'));
    expect(pick(1).slice(0, 2).sort()).toEqual([1, 4]);
    expect(pick(1)).toEqual(pick(1));
    const tied = new Set(Array.from({ length: 8 }, (_, s) => pick(s).slice(2).join(',')));
    expect(tied.size).toBeGreaterThan(1);
  });

  it('pairs only samples whose rewards differ, the better one chosen', () => {
    expect(preferencePairs([1, 0, 1, 0.5], [0, 0, 1, 0.75])).toEqual([
      { problem: 0, chosen: 0 },
      { problem: 3, chosen: 1 },
    ]);
  });
});

describe('RL elicitation on the fixture', () => {
  it('starts from a locked fixture: right with the password, guessing without', () => {
    expect(fixtureLevels.withPassword).toBeGreaterThan(0.9);
    expect(fixtureLevels.without).toBeLessThan(0.35);
  });

  const ref = async () => ({
    model: await store.writeModel(lockedBundle),
    pool: await store.writeTable(fixture),
    validation: await store.writeTable(fixture),
  });

  it('expert iteration raises correctness', async () => {
    const { model, pool, validation } = await ref();
    // At 3e-3 the curve rose only to 0.38–0.44 on 32 problems, too close to the bar; at 1e-2 it ends
    // 0.41–0.63 over seeds 11–14.
    const run = await curveOf(
      expertIteration,
      { rounds: 8, candidates: 32, keep: 8, epochs: 8, learningRate: 1e-2 },
      { model, pool, validation },
    );
    expect(run.samples[run.samples.length - 1]).toBe(8 * 32);
    expect(run.correct[run.correct.length - 1]).toBeGreaterThan(run.correct[0] + 0.15);
  }, 60_000);

  it("filtering on π_weak's graded samples raises correctness", async () => {
    const { model, validation } = await ref();
    // π_weak: every letter once per problem, graded by the checker.
    const rows = problems.flatMap((q) => LETTERS.map((letter) => ({ q, letter })));
    const candidates = await store.writeTable(
      tableFromColumns({
        prompt: rows.map((r) => r.q.prompt.join(' ')),
        completion: rows.map((r) => r.letter),
        correct: Uint8Array.from(rows, (r) => (task.check(r.q, [r.letter]).correct ? 1 : 0)),
        score: Float32Array.from(rows, (r) => task.check(r.q, [r.letter]).score),
      }),
    );
    const run = await curveOf(
      filteringElicitation,
      { rounds: 4, candidates: 32, keep: 8, epochs: 8, learningRate: 3e-3 },
      { model, candidates, validation },
    );
    expect(run.correct[run.correct.length - 1]).toBeGreaterThan(run.correct[0] + 0.15);
  }, 60_000);

  it('DPO prefers the better-rewarded samples over the frozen locked model', async () => {
    const { model, pool, validation } = await ref();
    const run = await curveOf(dpoElicitation, { rounds: 4, learningRate: 1e-3 }, { model, pool, validation });
    const last = (name: string) =>
      run.events.filter((e) => e.type === 'metric' && e.name === name).at(-1) as
        | { value: number }
        | undefined;
    expect(last('pairs')?.value).toBeGreaterThanOrEqual(3);
    // DPO's implicit reward β·(log π − log π_ref) ranks chosen over rejected on its pairs.
    expect(last('reward_accuracy')?.value).toBeGreaterThanOrEqual(0.75);
    expect(last('reward_margin')?.value).toBeGreaterThan(0);
    // The reference never moves: every round's is the locked model.
    for (const h of run.referenceHash.slice(1)) expect(h).toBe(run.modelHash[0]);
  }, 60_000);

  it('iterated DPO raises correctness and resets its reference every round', async () => {
    const { model, pool, validation } = await ref();
    const run = await curveOf(
      iteratedDpoElicitation,
      { rounds: 20, problems: 32, learningRate: 1e-3 },
      { model, pool, validation },
    );
    expect(run.correct[run.correct.length - 1]).toBeGreaterThan(run.correct[0] + 0.15);
    for (let r = 1; r < run.referenceHash.length; r++)
      expect(run.referenceHash[r]).toBe(run.modelHash[r - 1]);
    expect(new Set(run.referenceHash.slice(1)).size).toBe(run.referenceHash.length - 1);
  }, 60_000);

  it('resumes mid-method from its round checkpoint and ends with the same model bytes', async () => {
    // A fixture stage hands the locked model and the problems to an expert-iteration node.
    const world = defineStage({
      name: 'test.rl-world',
      description: 'the locked fixture and its problems',
      module: import.meta.url,
      params: z.object({}),
      inputs: {},
      outputs: { model: 'model', problems: 'table' },
      run: (ctx) =>
        stageTask(ctx.signal, async () => {
          await ctx.outputs.model('model', lockedBundle);
          await ctx.outputs.table('problems', fixture);
        }),
    });
    const pipeline = definePipeline({
      name: 'rl-resume',
      description: '',
      defaultSeeds: [11],
      scales: ['default'],
      build: (p) => {
        const w = p.node('world', world, { inputs: {} }).out;
        p.node('ei', expertIteration, {
          params: { task: 'mmlu', seed: 11, rounds: 5, candidates: 16, keep: 4, epochs: 4, curveRows: 16 },
          inputs: { model: w.model, pool: w.problems, validation: w.problems },
        });
      },
    });
    const outputsOf = (events: RunEvent[]) => {
      const done = events.find((e) => e.type === 'node-done' && e.node === 'ei');
      if (done?.type !== 'node-done') throw new Error('ei did not finish');
      return { model: done.outputs.model.hash, curve: done.outputs.curve.hash };
    };
    const other = await ArtifactStore.open(path.join(root, 'whole'));
    const whole = outputsOf(
      await lastValueFrom(runPipeline(resolvePipeline(pipeline), other, { workers: false }).pipe(toArray())),
    );
    const abort = new AbortController();
    await new Promise<void>((resolve) => {
      runPipeline(resolvePipeline(pipeline), store, { workers: false, signal: abort.signal }).subscribe({
        next: (e) => {
          if (e.type === 'node-event' && e.event.type === 'progress' && e.event.done === 3) abort.abort();
        },
        complete: resolve,
      });
    });
    expect(await fs.readdir(path.join(store.root, 'checkpoints'))).toHaveLength(1);
    const events = await lastValueFrom(
      runPipeline(resolvePipeline(pipeline), store, { workers: false }).pipe(toArray()),
    );
    const logs = events.flatMap((e) =>
      e.type === 'node-event' && e.event.type === 'log' ? [e.event.message] : [],
    );
    expect(logs.join('\n')).toMatch(/resuming after round [23] of 5/);
    expect(outputsOf(events)).toEqual(whole);
  }, 60_000);
});
