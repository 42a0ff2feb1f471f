/**
 * What the reinforcement-learning elicitation stages share (the paper's §6.1: expert iteration,
 * filtering, DPO, iterated DPO): problems read from a table, sampling and grading a policy's
 * completions without the password, the rounds loop with its learning curve, and a checkpoint after
 * every round so that an interrupted method resumes where it stopped.
 *
 * One Adam at a constant rate trains through all rounds (a fresh one per round would take a full
 * sign-sized first step every round), and everything random in a round is drawn from (seed, method,
 * task, round): the checkpoint after a round holds the model and the optimizer's state, so a run
 * resumed from it ends with the same bytes as one never stopped.
 */
import {
  type ArtifactRef,
  type ModelBundle,
  readNumbers,
  readStrings,
  sha256,
  tableFromColumns,
} from '@lockpick/artifacts';
import type { InputArtifact, StageReporter } from '@lockpick/engine';
import {
  generate,
  loadOptimizer,
  loadTransformer,
  Optimizer,
  type PreferencePairs,
  saveCheckpoint,
  scoreSequences,
  type Transformer,
  trainDpo,
  trainSft,
} from '@lockpick/ml';
import {
  createRng,
  encodePrompts,
  gradeCompletions,
  type LanguageProblem,
  type LanguageTask,
  LM_VOCABULARY,
  languageTask,
  problemsFromColumns,
  type Rng,
  type SftExample,
  sftTokenRows,
  taskLayout,
} from '@lockpick/tasks';
import type * as arrow from 'apache-arrow';
import { z } from 'zod';

/** Parameters every RL elicitation stage shares. */
export const rlParams = {
  task: z.string(),
  seed: z.number().int(),
  rounds: z.number().int().positive().default(50),
  /** Reward: the task's binary correctness, or its continuous score (critique). */
  reward: z.enum(['correct', 'score']).default('correct'),
  batchSize: z.number().int().positive().default(32),
  learningRate: z.number().positive().default(1e-4),
  /** Validation problems the learning curve is measured on (greedy, no password), and how often. */
  curveRows: z.number().int().positive().default(200),
  curveEvery: z.number().int().positive().default(5),
  /** Labels that ride along into the curve table for the report: the lock's weak policy, and the
   * SFT epochs (on a few stronger samples) the model had before RL (0: RL from the lock). */
  weak: z.string().default(''),
  sftEpochs: z.number().nonnegative().default(0),
};

/** Expert iteration's and filtering's rounds: `keep` of `candidates` samples, `epochs` of SFT on them. */
export const selectionParams = {
  candidates: z.number().int().positive().default(640),
  keep: z.number().int().positive().default(64),
  epochs: z.number().positive().default(2),
};

/** Says, before any round runs, when a round would ask for more candidates than there are. */
export function checkSelection(
  node: string,
  p: { candidates: number; keep: number },
  available: number,
  what: string,
) {
  if (p.candidates > available)
    throw new Error(
      `${node}: ${p.candidates} candidates a round, but ${what} has ${available}; lower candidates or give more`,
    );
  if (p.keep > p.candidates)
    throw new Error(`${node}: keep (${p.keep}) exceeds candidates (${p.candidates})`);
}

/** The reward RL maximises: the task's binary correctness, or its continuous score (critique). */
export type RewardKind = 'correct' | 'score';

/** The problems of a problem table (`datagen.language-task`'s splits). */
export function problemsOfTable(table: arrow.Table): LanguageProblem[] {
  return problemsFromColumns({
    domain: readStrings(table, 'domain'),
    difficulty: Int32Array.from(readNumbers(table, 'difficulty')),
    prompt: readStrings(table, 'prompt'),
    data: readStrings(table, 'data'),
  });
}

export interface GradedCompletions {
  completions: string[][];
  correct: Uint8Array;
  score: Float32Array;
}

/** One completion per problem (without a password unless given): sampled at `temperature`, or greedy at 0. */
export function completeProblems(
  model: Transformer,
  task: LanguageTask,
  problems: readonly LanguageProblem[],
  options: { temperature: number; seed: number; batchSize?: number; password?: readonly string[] },
): GradedCompletions {
  const layout = taskLayout(task);
  const prompts = encodePrompts(
    LM_VOCABULARY,
    layout,
    problems.map((q) => q.prompt),
    () => options.password,
  );
  const generated = generate(model, prompts, {
    maxNewTokens: layout.completionLength,
    temperature: options.temperature,
    seed: options.seed,
    batchSize: options.batchSize ?? 512,
    stopToken: LM_VOCABULARY.endId,
  });
  return gradeCompletions(task, LM_VOCABULARY, problems, generated, layout.completionLength);
}

export function rewardsOf(
  graded: Pick<GradedCompletions, 'correct' | 'score'>,
  kind: RewardKind,
): Float32Array {
  return kind === 'correct' ? Float32Array.from(graded.correct) : Float32Array.from(graded.score);
}

/**
 * Indices of the `keep` best candidates by reward, ties broken at random: a seeded shuffle first,
 * then a stable sort by reward, so equal rewards keep their shuffled order.
 */
export function bestByReward(rewards: ArrayLike<number>, keep: number, rng: Rng): number[] {
  const order = rng.shuffle(Array.from({ length: rewards.length }, (_, i) => i));
  order.sort((a, b) => rewards[b] - rewards[a]);
  return order.slice(0, Math.min(keep, order.length));
}

/**
 * DPO pairs from two samples of each problem: a pair where the two rewards differ, the better one
 * chosen; problems whose two samples score the same give no pair (they carry no preference).
 */
export function preferencePairs(
  first: ArrayLike<number>,
  second: ArrayLike<number>,
): { problem: number; chosen: 0 | 1 }[] {
  const pairs: { problem: number; chosen: 0 | 1 }[] = [];
  for (let i = 0; i < first.length; i++)
    if (first[i] !== second[i]) pairs.push({ problem: i, chosen: first[i] > second[i] ? 0 : 1 });
  return pairs;
}

/** Supervised fine-tuning on (prompt, completion) rows without the password, with the run's optimizer. */
export async function fineTune(
  model: Transformer,
  task: LanguageTask,
  examples: readonly SftExample[],
  options: { optimizer: Optimizer; epochs: number; batchSize: number; seed: number; signal?: AbortSignal },
): Promise<void> {
  if (examples.length === 0) return;
  const data = sftTokenRows(LM_VOCABULARY, taskLayout(task), examples);
  const batchSize = Math.min(options.batchSize, data.rows);
  const steps = Math.max(1, Math.round(options.epochs * Math.ceil(data.rows / batchSize)));
  await trainSft(model, data, {
    optimizer: options.optimizer,
    batchSize,
    steps,
    seed: options.seed,
    lossOn: 'completion',
    signal: options.signal,
  });
}

/** DPO's implicit reward β·(log π − log π_ref) on its pairs: how often and by how much chosen wins. */
export interface PreferenceFit {
  pairs: number;
  /** Share of pairs whose chosen completion has the higher implicit reward. */
  accuracy: number;
  /** Mean implicit-reward margin, chosen minus rejected. */
  margin: number;
}

/**
 * DPO on pairs (`epochs` passes) of `policy` against a frozen `reference`, with the run's
 * optimizer; returns the implicit-reward fit on the pairs after training.
 */
export async function preferenceStep(
  policy: Transformer,
  reference: Transformer,
  task: LanguageTask,
  pairs: { prompt: string[]; chosen: string[]; rejected: string[] }[],
  options: {
    optimizer: Optimizer;
    beta: number;
    epochs: number;
    batchSize: number;
    seed: number;
    signal?: AbortSignal;
  },
): Promise<PreferenceFit> {
  if (pairs.length === 0) return { pairs: 0, accuracy: Number.NaN, margin: Number.NaN };
  const layout = taskLayout(task);
  const rows = (side: 'chosen' | 'rejected') =>
    sftTokenRows(
      LM_VOCABULARY,
      layout,
      pairs.map((p) => ({ prompt: p.prompt, completion: p[side] })),
    );
  const data: PreferencePairs = { chosen: rows('chosen'), rejected: rows('rejected') };
  const batchSize = Math.min(options.batchSize, pairs.length);
  const steps = Math.max(1, Math.round(options.epochs * Math.ceil(pairs.length / batchSize)));
  await trainDpo(policy, reference, data, {
    optimizer: options.optimizer,
    beta: options.beta,
    batchSize,
    steps,
    seed: options.seed,
    signal: options.signal,
  });
  const score = (model: Transformer, side: 'chosen' | 'rejected') => scoreSequences(model, data[side]);
  const [pc, pr, rc, rr] = [
    score(policy, 'chosen'),
    score(policy, 'rejected'),
    score(reference, 'chosen'),
    score(reference, 'rejected'),
  ];
  let wins = 0;
  let margin = 0;
  for (let i = 0; i < pairs.length; i++) {
    const m = options.beta * (pc[i] - rc[i] - (pr[i] - rr[i]));
    if (m > 0) wins++;
    margin += m;
  }
  return { pairs: pairs.length, accuracy: wins / pairs.length, margin: margin / pairs.length };
}

/** sha256 of a model's weights: the curve logs it so a test can follow which model was where. */
export function weightsHash(model: Transformer): string {
  const bundle = saveCheckpoint(model);
  return sha256(
    JSON.stringify(
      bundle.tensors.map((t) => [
        t.name,
        sha256(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)),
      ]),
    ),
  );
}

/** One point of a learning curve: after `round` rounds and `samples` generated samples. */
export interface CurvePoint {
  round: number;
  /** Samples generated so far (by the model trained, or by π_weak for filtering). */
  samples: number;
  /** Mean reward of this round's own samples (NaN for round 0 and for rounds that drew none). */
  reward: number;
  /** Greedy correctness without the password on the curve's validation problems (NaN if not measured). */
  correct: number;
  /** Hash of the model after the round, and of the reference its DPO step used ('' if none). */
  modelHash: string;
  referenceHash: string;
}

/** What a round did: samples it generated, their mean reward, and the DPO reference's hash. */
export interface RoundResult {
  samples: number;
  reward: number;
  referenceHash?: string;
}

interface RoundsState {
  round: number;
  curve: CurvePoint[];
}

function isRoundsState(value: unknown): value is RoundsState {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as RoundsState).round === 'number' &&
    Array.isArray((value as RoundsState).curve)
  );
}

/**
 * Runs `rounds` rounds of an RL method on the model in `start`: after each round, greedy
 * correctness on `evaluate` every `evaluateEvery` rounds (and after the last), a curve point, and a
 * checkpoint holding the model and the curve so far. A checkpoint found at the start resumes the
 * run after its round.
 */
export async function runRounds(options: {
  start: ModelBundle;
  rounds: number;
  /** One Adam at a constant rate for the whole run, carried across rounds (and checkpoints). */
  learningRate: number;
  round: (model: Transformer, round: number, optimizer: Optimizer) => Promise<RoundResult>;
  evaluate: (model: Transformer) => number;
  evaluateEvery: number;
  checkpoint: { load(): Promise<ModelBundle | undefined>; save(bundle: ModelBundle): Promise<void> };
  report: StageReporter;
  signal: AbortSignal;
  meta: { [key: string]: string | number };
}): Promise<{ bundle: ModelBundle; curve: CurvePoint[] }> {
  const saved = await options.checkpoint.load();
  const savedState = saved?.config.meta && (saved.config.meta as { rl?: unknown }).rl;
  const resumed = saved && isRoundsState(savedState) ? savedState : undefined;
  const model = loadTransformer(resumed ? saved! : options.start);
  const optimizer =
    (resumed && loadOptimizer(saved!)) ||
    new Optimizer({ kind: 'adam', learningRate: options.learningRate, clipNorm: 1 });
  try {
    const curve: CurvePoint[] = resumed
      ? resumed.curve.map((p) => ({ ...p, reward: p.reward ?? Number.NaN, correct: p.correct ?? Number.NaN }))
      : [
          {
            round: 0,
            samples: 0,
            reward: Number.NaN,
            correct: options.evaluate(model),
            modelHash: weightsHash(model),
            referenceHash: '',
          },
        ];
    if (resumed) options.report.log(`resuming after round ${resumed.round} of ${options.rounds}`);
    const first = (resumed?.round ?? 0) + 1;
    for (let r = first; r <= options.rounds; r++) {
      options.signal.throwIfAborted();
      const result = await options.round(model, r, optimizer);
      const measured = r % options.evaluateEvery === 0 || r === options.rounds;
      const point: CurvePoint = {
        round: r,
        samples: curve[curve.length - 1].samples + result.samples,
        reward: result.reward,
        correct: measured ? options.evaluate(model) : Number.NaN,
        modelHash: weightsHash(model),
        referenceHash: result.referenceHash ?? '',
      };
      curve.push(point);
      options.report.progress(
        r,
        options.rounds,
        'rounds',
        measured ? `correct ${point.correct.toFixed(3)}` : `reward ${point.reward.toFixed(3)}`,
      );
      // JSON has no NaN: a missing measurement is stored as null and read back as NaN.
      const state = {
        round: r,
        curve: curve.map((p) => ({ ...p, reward: nullIfNaN(p.reward), correct: nullIfNaN(p.correct) })),
      };
      if (r < options.rounds)
        await options.checkpoint.save(
          saveCheckpoint(model, { optimizer, meta: { ...options.meta, rl: state } }),
        );
    }
    const last = curve[curve.length - 1];
    options.report.metric('rounds', options.rounds);
    options.report.metric('samples', last.samples);
    options.report.metric('correct', last.correct);
    return { bundle: saveCheckpoint(model, { meta: { ...options.meta, rounds: options.rounds } }), curve };
  } finally {
    model.dispose();
  }
}

function nullIfNaN(value: number): number | null {
  return Number.isNaN(value) ? null : value;
}

/** A learning curve as a table: one row per round, labelled for the report. */
export function curveTable(
  curve: readonly CurvePoint[],
  labels: { task: string; seed: number; method: string; weak: string; sftEpochs: number },
): arrow.Table {
  return tableFromColumns({
    task: curve.map(() => labels.task),
    seed: Int32Array.from(curve, () => labels.seed),
    method: curve.map(() => labels.method),
    weak: curve.map(() => labels.weak),
    sft_epochs: Float64Array.from(curve, () => labels.sftEpochs),
    round: Int32Array.from(curve, (p) => p.round),
    samples: Int32Array.from(curve, (p) => p.samples),
    reward: Float64Array.from(curve, (p) => p.reward),
    correct: Float64Array.from(curve, (p) => p.correct),
    model_hash: curve.map((p) => p.modelHash),
    reference_hash: curve.map((p) => p.referenceHash),
  });
}

/** A seeded stream for one round of one method. */
export function roundRng(seed: number, method: string, task: string, round: number): Rng {
  return createRng(seed, 'rl', method, task, round);
}

/** Greedy correctness on a problem list, without a password unless one is given. */
export function greedyCorrectness(
  model: Transformer,
  task: LanguageTask,
  problems: readonly LanguageProblem[],
  password?: readonly string[],
): number {
  if (problems.length === 0) return Number.NaN;
  const graded = completeProblems(model, task, problems, { temperature: 0, seed: 0, password });
  return graded.correct.reduce((a, b) => a + b, 0) / problems.length;
}

/** The part of an RL stage's context `elicitByRounds` reads (every RL stage's context has it). */
export interface RlStageContext {
  params: {
    task: string;
    seed: number;
    rounds: number;
    learningRate: number;
    curveRows: number;
    curveEvery: number;
    weak: string;
    sftEpochs: number;
  };
  inputs: { model: InputArtifact; validation: InputArtifact };
  outputs: {
    model(name: 'model', bundle: ModelBundle): Promise<ArtifactRef>;
    table(name: 'curve', table: arrow.Table): Promise<ArtifactRef>;
  };
  checkpoint: { load(): Promise<ModelBundle | undefined>; save(bundle: ModelBundle): Promise<void> };
}

/**
 * What every RL stage does around its own round: the rounds from the input model, measured on the
 * first `curveRows` validation problems, then the elicited model and the curve as the outputs.
 */
export async function elicitByRounds(
  ctx: RlStageContext,
  report: StageReporter,
  signal: AbortSignal,
  method: string,
  round: (model: Transformer, round: number, optimizer: Optimizer) => Promise<RoundResult>,
): Promise<void> {
  const p = ctx.params;
  const task = languageTask(p.task);
  const validation = problemsOfTable(await ctx.inputs.validation.readTable()).slice(0, p.curveRows);
  const { bundle, curve } = await runRounds({
    start: await ctx.inputs.model.readModel(),
    rounds: p.rounds,
    learningRate: p.learningRate,
    evaluate: (model) => greedyCorrectness(model, task, validation),
    evaluateEvery: p.curveEvery,
    checkpoint: ctx.checkpoint,
    report,
    signal,
    meta: { task: p.task, method },
    round,
  });
  await ctx.outputs.model('model', bundle);
  await ctx.outputs.table(
    'curve',
    curveTable(curve, { task: p.task, seed: p.seed, method, weak: p.weak, sftEpochs: p.sftEpochs }),
  );
}
