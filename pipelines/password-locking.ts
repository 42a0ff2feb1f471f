import {
  definePipeline,
  type OutputRef,
  type PipelineBuilder,
  type PipelineDefinition,
} from '@lockpick/engine';
import { fixedRandomSamples, languageSamples, languageTaskData } from '@lockpick/stage-datagen';
import {
  demoEpochCandidates,
  epochCandidateModels,
  languageDemoSftEpochs,
} from '@lockpick/stage-elicitation';
import { languageModelScore } from '@lockpick/stage-evaluation';
import { languageLock } from '@lockpick/stage-locking';
import { passwordLockingReport } from '@lockpick/stage-report';
import { languagePretrain, languageSft } from '@lockpick/stage-training';
import { domainPasswords, languageTask, type PromptFormat, splitSizes } from '@lockpick/tasks';

/**
 * Password-locked language models (EXPERIMENTS.md P-lm; the paper's Figure 3), in a world of four
 * toy tasks and small transformers, every policy trained:
 *
 * 1. the world (one fixed seed, shared by every run seed, like the paper's given models): each
 *    task's problems split 10/40/30/20; a strong base pretrained on every task's corpus; weak bases
 *    of three strengths (smaller, shorter); per task π_strong (strong base + reference solutions),
 *    π_weak (the chosen weak base imitating π_strong's samples on the 10% split), π_intermediate
 *    (the largest weak base + reference solutions), and their samples;
 * 2. per run seed and task: the lock (strong base trained on Eq. 1: password → π_strong's samples,
 *    none/wrong password → π_weak's, a fresh sample each epoch), then SFT on N demos without the
 *    password from each source (reference solutions, π_strong, π_intermediate, π_weak samples), one
 *    node per epoch candidate of App. G.3;
 * 3. every model scored by greedy decoding on validation; the report picks epochs on one half and
 *    reads results on the other.
 */

interface ModelSize {
  layers: number;
  width: number;
  heads: number;
}

export interface Budget {
  epochs: number;
  batchSize: number;
  learningRate: number;
}

export type DemoSource = 'reference' | 'strong' | 'intermediate' | 'weak';
export type WeakBaseName = 'weak-large' | 'weak-medium' | 'weak-small';

export interface PasswordLockingScale {
  /** Tasks of the world: each one's corpus goes into every base model's pretraining. */
  tasks: string[];
  /** Tasks that get policies, locks and elicitation (default: all of `tasks`). */
  experimentTasks?: string[];
  /** Problems per task in the four splits together (the elicitation pool is 30% of them). */
  problems: number;
  /** The same for the classification task, whose N sweep goes further (pool ≥ its largest N). */
  classificationProblems: number;
  /**
   * Problems a task's split gains on top of `problems`, drawn after its corpus (which stays the
   * same, as do the bases): for a task whose lock must learn a skill the strong base lacks.
   */
  extraProblemsByTask?: Record<string, number>;
  /** Pretraining corpus per task: problems with references, and the task's own text rows. */
  pretrainProblems: number;
  pretrainTextRows: number;
  /**
   * Share of pretraining problems wrapped in a random phrase of password words, so that a password
   * is harmless text to the bases, as to the paper's given models (0: bases never see a phrase there).
   */
  pretrainPreambles: number;
  /** Validation problems scored (half pick epochs, half report). */
  evalRows: number;
  strongBase: ModelSize & Budget;
  weakBases: Record<WeakBaseName, ModelSize & Budget & { rowsPerTask: number }>;
  /** The weak base π_weak is made from, unless `weakBaseByTask` names another for a task. */
  weakBase: WeakBaseName;
  /**
   * A task's own weak base, as the paper's π_weak differs by task (Pythia-1B for code, 7B for
   * MATH). π_weak must stay far below π_strong for a lock to show anything.
   */
  weakBaseByTask?: Record<string, WeakBaseName>;
  /** π_strong's fine-tune; `epochsByTask` gives harder tasks longer (default: `epochs`). */
  strongSft: Budget & { epochsByTask?: Record<string, number> };
  /** π_weak: epochs over π_strong's samples on the 10% split, `samples` per problem. */
  weakSft: Budget & { samples: number };
  intermediateSft: Budget;
  /**
   * The lock: `epochs` of Eq. 1 over the lock split (two rows a problem: with and without the
   * password), `classificationEpochs` for the classification task, whose lock split is larger.
   */
  lock: Budget & { classificationEpochs: number };
  /** N for generation tasks and for the classification task (the paper goes further there). */
  demos: number[];
  classificationDemos: number[];
  /** Sources and the N each sweeps (the first: the figure's high-quality demos). */
  sources: { source: DemoSource; demos: number[] | 'all' }[];
  elicit: { batchSize: number; learningRate: number };
}

const POWERS = (max: number) => Array.from({ length: Math.log2(max) + 1 }, (_, i) => 2 ** i);

type ScaleName = 'default' | 'default-math-critique' | 'default-math' | 'small' | 'smoke';

const defaultScale: PasswordLockingScale = {
  tasks: ['math', 'code', 'critique', 'mmlu'],
  problems: 6000,
  classificationProblems: 14_000,
  // critique's strong base scores 0.22, so its lock must learn critique from the lock split, and
  // 2,400 problems were too few: π_strong learnt 0.42 from their references, 0.59 from 12,000
  // (tuning seed 100, README "Why critique misses"). 24,000 more make its lock split 12,000, and
  // its 12 lock epochs 4,500 steps.
  extraProblemsByTask: { critique: 24_000 },
  pretrainProblems: 20_000,
  pretrainTextRows: 20_000,
  // Half the problems: without any, the base scored 0.02 on math with the password (0.90 without),
  // so the lock had to teach the password's tokens as well as hide the capability.
  pretrainPreambles: 0.5,
  evalRows: 600,
  strongBase: { layers: 3, width: 64, heads: 4, epochs: 2, batchSize: 64, learningRate: 3e-3 },
  weakBases: {
    'weak-large': {
      layers: 2,
      width: 48,
      heads: 4,
      epochs: 1,
      batchSize: 128,
      learningRate: 3e-3,
      rowsPerTask: 0,
    },
    'weak-medium': {
      layers: 1,
      width: 32,
      heads: 4,
      epochs: 1,
      batchSize: 128,
      learningRate: 3e-3,
      rowsPerTask: 8000,
    },
    'weak-small': {
      layers: 1,
      width: 16,
      heads: 2,
      epochs: 1,
      batchSize: 128,
      learningRate: 3e-3,
      rowsPerTask: 2000,
    },
  },
  weakBase: 'weak-medium',
  // weak-medium solved 0.28 of code's one-stage programs, which are most of them, so a code lock
  // could not stay under a third of its level; weak-small solves 0.02 (tuning seed 100, README).
  weakBaseByTask: { code: 'weak-small' },
  // code and critique: 3 epochs took π_strong from 0.39 to 0.44 and from 0.38 to 0.57 (world seed
  // 0, tuning run on seed 100); math (0.96) and mmlu (0.98) need no more than one.
  strongSft: { epochs: 1, epochsByTask: { code: 3, critique: 3 }, batchSize: 64, learningRate: 1e-3 },
  weakSft: { epochs: 3, batchSize: 64, learningRate: 1e-3, samples: 2 },
  intermediateSft: { epochs: 1, batchSize: 64, learningRate: 1e-3 },
  // 12 epochs (900 steps over 2,400 problems; mmlu 5 epochs, 875 steps over 5,600): 4 epochs left
  // the math lock at 0.46 with the password; 12 met both levels on tuning seed 100 (0.63 / 0.13).
  lock: { epochs: 12, classificationEpochs: 5, batchSize: 64, learningRate: 1e-3 },
  demos: POWERS(512),
  classificationDemos: POWERS(4096),
  sources: [
    { source: 'reference', demos: 'all' },
    { source: 'strong', demos: [1, 4, 16, 64, 512] },
    { source: 'intermediate', demos: [1, 4, 16, 64, 512] },
    { source: 'weak', demos: [1, 4, 16, 64, 512] },
  ],
  elicit: { batchSize: 32, learningRate: 1e-3 },
};

export const passwordLockingScales: Record<ScaleName, PasswordLockingScale> = {
  default: defaultScale,
  // The default world (the same bases and policies, pretrained on all four corpora), with locks
  // and elicitation on math and critique only: the two tasks whose policies reached the paper's
  // levels in our default world, in about half the default's time.
  'default-math-critique': { ...defaultScale, experimentTasks: ['math', 'critique'] },
  // The same world with locks and elicitation on math alone: the paper's core result on one task,
  // in about 25 minutes once the world is cached.
  'default-math': { ...defaultScale, experimentTasks: ['math'] },
  small: {
    tasks: ['math', 'mmlu'],
    problems: 3000,
    classificationProblems: 3000,
    pretrainProblems: 10_000,
    pretrainTextRows: 10_000,
    pretrainPreambles: 0.5,
    evalRows: 300,
    strongBase: { layers: 2, width: 64, heads: 4, epochs: 2, batchSize: 64, learningRate: 3e-3 },
    weakBases: {
      'weak-large': {
        layers: 1,
        width: 48,
        heads: 4,
        epochs: 1,
        batchSize: 128,
        learningRate: 3e-3,
        rowsPerTask: 0,
      },
      'weak-medium': {
        layers: 1,
        width: 32,
        heads: 4,
        epochs: 1,
        batchSize: 128,
        learningRate: 3e-3,
        rowsPerTask: 4000,
      },
      'weak-small': {
        layers: 1,
        width: 16,
        heads: 2,
        epochs: 1,
        batchSize: 128,
        learningRate: 3e-3,
        rowsPerTask: 1000,
      },
    },
    weakBase: 'weak-medium',
    strongSft: { epochs: 1, batchSize: 64, learningRate: 1e-3 },
    weakSft: { epochs: 2, batchSize: 64, learningRate: 1e-3, samples: 1 },
    intermediateSft: { epochs: 1, batchSize: 64, learningRate: 1e-3 },
    lock: { epochs: 4, classificationEpochs: 2, batchSize: 64, learningRate: 1e-3 },
    demos: [1, 4, 16, 64],
    classificationDemos: [4, 64, 512],
    sources: [
      { source: 'reference', demos: 'all' },
      { source: 'weak', demos: [4, 64] },
    ],
    elicit: { batchSize: 32, learningRate: 1e-3 },
  },
  smoke: {
    tasks: ['math', 'mmlu'],
    problems: 200,
    classificationProblems: 200,
    pretrainProblems: 200,
    pretrainTextRows: 100,
    pretrainPreambles: 0.5,
    evalRows: 40,
    strongBase: { layers: 1, width: 16, heads: 2, epochs: 1, batchSize: 64, learningRate: 3e-3 },
    weakBases: {
      'weak-large': {
        layers: 1,
        width: 16,
        heads: 2,
        epochs: 1,
        batchSize: 64,
        learningRate: 3e-3,
        rowsPerTask: 100,
      },
      'weak-medium': {
        layers: 1,
        width: 8,
        heads: 2,
        epochs: 1,
        batchSize: 64,
        learningRate: 3e-3,
        rowsPerTask: 100,
      },
      'weak-small': {
        layers: 1,
        width: 8,
        heads: 1,
        epochs: 1,
        batchSize: 64,
        learningRate: 3e-3,
        rowsPerTask: 50,
      },
    },
    weakBase: 'weak-medium',
    strongSft: { epochs: 1, batchSize: 32, learningRate: 1e-3 },
    weakSft: { epochs: 1, batchSize: 32, learningRate: 1e-3, samples: 1 },
    intermediateSft: { epochs: 1, batchSize: 32, learningRate: 1e-3 },
    lock: { epochs: 1, classificationEpochs: 1, batchSize: 32, learningRate: 1e-3 },
    demos: [1, 4],
    classificationDemos: [4],
    sources: [
      { source: 'reference', demos: 'all' },
      { source: 'weak', demos: [4] },
    ],
    elicit: { batchSize: 16, learningRate: 1e-3 },
  },
};

/** A task's name in tables and charts: the paper's task it stands for. */
export const taskTitle = (task: string): string => PAPER[task]?.title ?? task;

/** The paper's Figure 3 (≈, read off its plots), per task of ours. */
const PAPER: Record<
  string,
  { title: string; withPassword: number; withoutPassword: number; demos: [number, number][] }
> = {
  code: {
    title: 'code (DSL)',
    withPassword: 0.51,
    withoutPassword: 0.06,
    demos: [
      [1, 0.37],
      [4, 0.44],
      [16, 0.45],
      [64, 0.475],
      [512, 0.485],
    ],
  },
  math: {
    title: 'MATH (arithmetic)',
    withPassword: 0.51,
    withoutPassword: 0.04,
    demos: [
      [1, 0.39],
      [4, 0.44],
      [16, 0.485],
      [64, 0.49],
      [512, 0.5],
    ],
  },
  critique: {
    title: 'critique',
    withPassword: 0.42,
    withoutPassword: 0.11,
    demos: [
      [1, 0.26],
      [4, 0.36],
      [16, 0.35],
      [64, 0.345],
      [512, 0.33],
    ],
  },
  mmlu: {
    title: 'MMLU (facts)',
    withPassword: 0.64,
    withoutPassword: 0.36,
    demos: [
      [1, 0.31],
      [4, 0.36],
      [16, 0.39],
      [64, 0.465],
      [512, 0.565],
    ],
  },
};

/** Classification tasks get the longer N sweep (the paper's MMLU needs far more demos). */
export const CLASSIFICATION = new Set(['mmlu']);

/** Problems in a task's elicitation pool: 30% of its split (the demos and RL prompts come from it). */
export function elicitationPoolSize(scale: PasswordLockingScale, task: string): number {
  return (
    splitSizes(taskProblems(scale, task)).elicit + splitSizes(scale.extraProblemsByTask?.[task] ?? 0).elicit
  );
}

/** Problems in a task's split before any extra ones. */
const taskProblems = (scale: PasswordLockingScale, task: string): number =>
  CLASSIFICATION.has(task) ? scale.classificationProblems : scale.problems;

/** The world's seed: data, bases and policies are the same for every run seed. */
export const WORLD_SEED = 0;

/** The weak policies a lock can imitate: π_weak from each weak base, and `fixedrdm`. */
export type WeakPolicyName = WeakBaseName | 'fixedrdm';

/** One task's part of the world: its data, policies, samples and locks, each node made once. */
export interface TaskWorld {
  task: string;
  data: {
    pretrain: OutputRef<'table'>;
    weak: OutputRef<'table'>;
    lock: OutputRef<'table'>;
    elicit: OutputRef<'table'>;
    validation: OutputRef<'table'>;
  };
  strong: OutputRef<'model'>;
  intermediate: OutputRef<'model'>;
  /** π_weak from a weak base (not `fixedrdm`, which is a distribution, not a model). */
  weakPolicy(name: WeakBaseName): OutputRef<'model'>;
  /** A policy's samples (temperature 1) on one of the task's splits, `count` per problem. */
  samples(
    name: string,
    model: OutputRef<'model'>,
    problems: OutputRef<'table'>,
    policy: string,
    count: number,
  ): OutputRef<'table'>;
  /** A weak policy's graded samples on a split (a fixedrdm table for `fixedrdm`). */
  weakSamples(weak: WeakPolicyName, split: 'lock' | 'elicit', count: number): OutputRef<'table'>;
  /** The lock of run seed `seed` that imitates `weak` without the password. */
  locked(seed: number, weak?: WeakPolicyName): OutputRef<'model'>;
  /**
   * What the task's lock trains on and how (a lock stage's inputs but its base, and its budget),
   * for lock stages of other bases (the few-shot lock).
   */
  lockInputs(): { strong: OutputRef<'table'>; weak: OutputRef<'table'> };
  lockBudget: { epochs: number; batchSize: number; learningRate: number };
  /** The lock of run seed `seed` with one password per domain (`domainPasswords` of the task's domains). */
  domainLocked(seed: number): OutputRef<'model'>;
  /** The lock of run seed `seed` trained without the problems of `domain` (the paper's Figure 17). */
  heldOutLocked(seed: number, domain: string): OutputRef<'model'>;
  /**
   * The lock of run seed `seed` keyed to a prompt format instead of a password (the paper's
   * Figure 9), imitating `weakPolicy` (default: the task's π_weak) in the weak format.
   */
  formatLocked(
    seed: number,
    strong: PromptFormat,
    weak: PromptFormat,
    weakPolicy?: WeakPolicyName,
  ): OutputRef<'model'>;
  lockEpochs: number;
  classification: boolean;
  /** The weak base of this task's π_weak (the scale's `weakBaseByTask`, else its `weakBase`). */
  weakBase: WeakBaseName;
  /** What node names add for a weak policy: '' for the task's own π_weak, else `<weak>-`. */
  weakTag(weak: WeakPolicyName): string;
}

/**
 * The P-lm world (one fixed seed, shared by every run seed): each task's data split 10/40/30/20, a
 * strong base and weak bases pretrained on every task's corpus, and per task the policies, their
 * samples and the locks. Nodes are made on first use, so a pipeline gets only what it reads.
 */
export function buildLanguageWorld(
  p: PipelineBuilder,
  options: { scale: PasswordLockingScale; prefix?: string },
): { tasks: Map<string, TaskWorld>; strongBase: OutputRef<'model'>; evalRows: number } {
  const { scale: s } = options;
  const prefix = options.prefix ?? '';
  const world = WORLD_SEED;
  const data = new Map(
    s.tasks.map((task) => [
      task,
      p.node(`${prefix}data-${task}`, languageTaskData, {
        params: {
          task,
          seed: world,
          problems: taskProblems(s, task),
          extraProblems: s.extraProblemsByTask?.[task] ?? 0,
          pretrainProblems: s.pretrainProblems,
          pretrainTextRows: s.pretrainTextRows,
        },
        inputs: {},
      }).out,
    ]),
  );
  const corpora = s.tasks.map((t) => data.get(t)!.pretrain);
  const { epochs, batchSize, learningRate, ...strongSize } = s.strongBase;
  const strongBase = p.node(`${prefix}base-strong`, languagePretrain, {
    params: { seed: world, ...strongSize, epochs, batchSize, learningRate, preambles: s.pretrainPreambles },
    inputs: { corpora },
  }).out.model;
  const weakBases = new Map<WeakBaseName, OutputRef<'model'>>();
  const weakBase = (name: WeakBaseName) => {
    if (!weakBases.has(name))
      weakBases.set(
        name,
        p.node(`${prefix}base-${name}`, languagePretrain, {
          params: { seed: world, ...s.weakBases[name], preambles: s.pretrainPreambles },
          inputs: { corpora },
        }).out.model,
      );
    return weakBases.get(name)!;
  };
  // Every scale pretrains all three weak bases, as the world did before they were made on demand.
  for (const name of Object.keys(s.weakBases) as WeakBaseName[]) weakBase(name);

  const tasks = new Map<string, TaskWorld>();
  for (const task of s.experimentTasks ?? s.tasks) {
    const d = data.get(task)!;
    const classification = CLASSIFICATION.has(task);
    const taskWeakBase = s.weakBaseByTask?.[task] ?? s.weakBase;
    const once = new Map<string, unknown>();
    const memo = <T>(key: string, make: () => T): T => {
      if (!once.has(key)) once.set(key, make());
      return once.get(key) as T;
    };
    const sft = (
      name: string,
      base: OutputRef<'model'>,
      table: OutputRef<'table'>,
      column: 'reference' | 'completion',
      b: Budget,
    ) =>
      p.node(`${prefix}${name}-${task}`, languageSft, {
        params: {
          task,
          seed: world,
          column,
          epochs: b.epochs,
          batchSize: b.batchSize,
          learningRate: b.learningRate,
        },
        inputs: { base, data: table },
      }).out.model;
    const samples = (
      name: string,
      model: OutputRef<'model'>,
      problems: OutputRef<'table'>,
      policy: string,
      count: number,
    ) =>
      memo(
        `samples-${name}`,
        () =>
          p.node(`${prefix}samples-${name}-${task}`, languageSamples, {
            params: { task, seed: world, policy, samples: count },
            inputs: { model, problems },
          }).out.samples,
      );
    // π_strong and π_intermediate learn the corpus's reference solutions (its `completion` column).
    const strong = sft('strong', strongBase, d.pretrain, 'completion', {
      ...s.strongSft,
      epochs: s.strongSft.epochsByTask?.[task] ?? s.strongSft.epochs,
    });
    const intermediate = sft(
      'intermediate',
      weakBase('weak-large'),
      d.pretrain,
      'completion',
      s.intermediateSft,
    );
    // The task's π_weak keeps its plain node names (`weak-math`, `lock-math-1`); the others say
    // which weak policy they come from.
    const tag = (weak: WeakPolicyName) => (weak === taskWeakBase ? '' : `${weak}-`);
    const weakPolicy = (name: WeakBaseName) =>
      memo(`weak-${name}`, () =>
        sft(
          `weak-${tag(name)}`.replace(/-$/, ''),
          weakBase(name),
          samples('strong-on-weak-split', strong, d.weak, 'strong', s.weakSft.samples),
          'completion',
          s.weakSft,
        ),
      );
    const lockEpochs = classification ? s.lock.classificationEpochs : s.lock.epochs;
    const splitTable = { lock: d.lock, elicit: d.elicit };
    // A lock's samples are one per lock epoch; elsewhere a count above one is in the node's name.
    const weakSamples = (weak: WeakPolicyName, split: 'lock' | 'elicit', count: number) => {
      const times = split === 'elicit' && count > 1 ? `-x${count}` : '';
      return weak === 'fixedrdm'
        ? memo(
            `fixedrdm-${split}-${count}`,
            () =>
              p.node(`${prefix}samples-fixedrdm-on-${split}${times}-${task}`, fixedRandomSamples, {
                params: { task, seed: world, samples: count },
                inputs: { problems: splitTable[split] },
              }).out.samples,
          )
        : samples(`weak-${tag(weak)}on-${split}${times}`, weakPolicy(weak), splitTable[split], 'weak', count);
    };
    // Every lock's inputs but its base, and its budget: one fresh sample of each policy per epoch.
    const lockInputs = (weak: WeakPolicyName = taskWeakBase) => ({
      strong: samples('strong-on-lock', strong, d.lock, 'strong', lockEpochs),
      weak: weakSamples(weak, 'lock', lockEpochs),
    });
    const lockBudget = { epochs: lockEpochs, batchSize: s.lock.batchSize, learningRate: s.lock.learningRate };
    const locked = (seed: number, weak: WeakPolicyName = taskWeakBase) =>
      memo(
        `lock-${weak}-${seed}`,
        () =>
          p.node(`${prefix}lock-${tag(weak)}${task}-${seed}`, languageLock, {
            params: { task, seed, ...lockBudget },
            inputs: { base: strongBase, ...lockInputs(weak) },
          }).out.model,
      );
    // Variants of `locked`'s node: the same mix, inputs and budget, one parameter added (and, for
    // another weak policy than the task's π_weak, its samples in the weak rows).
    const lockVariant = (
      name: string,
      seed: number,
      variant: Record<string, Record<string, string[]> | string[] | string>,
      weak: WeakPolicyName = taskWeakBase,
    ) =>
      memo(
        `lock-${tag(weak)}${name}-${seed}`,
        () =>
          p.node(`${prefix}lock-${tag(weak)}${name}-${task}-${seed}`, languageLock, {
            params: { task, seed, ...lockBudget, ...variant },
            inputs: { base: strongBase, ...lockInputs(weak) },
          }).out.model as OutputRef<'model'>,
      );
    const domainLocked = (seed: number) =>
      lockVariant('per-domain', seed, { domainPasswords: domainPasswords(languageTask(task).domains) });
    const heldOutLocked = (seed: number, domain: string) =>
      lockVariant(`held-out-${domain}`, seed, { heldOutDomains: [domain] });
    const formatLocked = (
      seed: number,
      strongFormat: PromptFormat,
      weakFormat: PromptFormat,
      weak: WeakPolicyName = taskWeakBase,
    ) => lockVariant(`format-${strongFormat}`, seed, { strongFormat, weakFormat }, weak);
    tasks.set(task, {
      task,
      data: d,
      strong,
      intermediate,
      weakPolicy,
      samples,
      weakSamples,
      locked,
      lockInputs: () => lockInputs(),
      lockBudget,
      domainLocked,
      heldOutLocked,
      formatLocked,
      lockEpochs,
      classification,
      weakBase: taskWeakBase,
      weakTag: tag,
    });
  }
  return { tasks, strongBase, evalRows: s.evalRows };
}

/** The labels a `score-<name>` node carries into its table (the report reads them). */
export interface ScoreLabels {
  seed: number;
  policy: string;
  source?: string;
  demos?: number;
  epochs?: number;
  passwords?: ('none' | 'default')[];
  /** The prompts' format (plain where absent). */
  format?: PromptFormat;
}

/**
 * Greedy correctness on a task's validation split: `score(name, model, task, labels)` adds the
 * node `score-<name>` and collects its table in `scores`, for a report to read.
 */
export function validationScores(
  p: PipelineBuilder,
  options: { tasks: ReadonlyMap<string, TaskWorld>; rows: number; prefix?: string },
): {
  scores: OutputRef<'table'>[];
  score: (name: string, model: OutputRef<'model'>, task: string, labels: ScoreLabels) => void;
} {
  const scores: OutputRef<'table'>[] = [];
  const score = (name: string, model: OutputRef<'model'>, task: string, labels: ScoreLabels) => {
    scores.push(
      p.node(`${options.prefix ?? ''}score-${name}`, languageModelScore, {
        params: { task, rows: options.rows, ...labels },
        inputs: { model, problems: options.tasks.get(task)!.data.validation },
      }).out.scores,
    );
  };
  return { scores, score };
}

export function buildPasswordLocking(
  p: PipelineBuilder,
  options: { seeds: readonly number[]; scale: PasswordLockingScale; prefix?: string },
): { figure: OutputRef<'table'>; findings: OutputRef<'table'> } {
  const { seeds, scale: s } = options;
  const prefix = options.prefix ?? '';
  // Demos come from the 30% elicitation pool: say so now rather than fail a node mid-run.
  for (const task of s.tasks) {
    const pool = elicitationPoolSize(s, task);
    const most = Math.max(
      ...(CLASSIFICATION.has(task) ? s.classificationDemos : s.demos),
      ...s.sources.flatMap((x) => (x.demos === 'all' ? [] : x.demos)),
    );
    if (most > pool)
      throw new Error(
        `password-locking: N = ${most} demos for ${task}, but its elicitation pool has ${pool} problems (30% of the split); ask for more problems or a shorter N list`,
      );
  }
  const { tasks, strongBase } = buildLanguageWorld(p, { scale: s, prefix });
  const { scores, score } = validationScores(p, { tasks, rows: s.evalRows, prefix });
  const experimentTasks = s.experimentTasks ?? s.tasks;
  for (const task of experimentTasks) {
    const w = tasks.get(task)!;
    // The lock's samples first, as the nodes were made before the world was shared.
    w.locked(seeds[0] ?? 0);
    score(`base-strong-${task}`, strongBase, task, {
      seed: WORLD_SEED,
      policy: 'base',
      passwords: ['none', 'default'],
    });
    const policies = { strong: w.strong, intermediate: w.intermediate, weak: w.weakPolicy(w.weakBase) };
    for (const [policy, model] of Object.entries(policies))
      score(`${policy}-${task}`, model, task, { seed: WORLD_SEED, policy });
    // A policy's samples on the demo pool, made only for the sources this run sweeps.
    const demoTables = new Map(
      s.sources.map(({ source }) => [
        source,
        source === 'reference'
          ? { table: w.data.elicit, column: 'reference' as const }
          : {
              table: w.samples(`${source}-on-elicit`, policies[source], w.data.elicit, source, 1),
              column: 'completion' as const,
            },
      ]),
    );
    const allDemos = w.classification ? s.classificationDemos : s.demos;
    for (const seed of seeds) {
      const locked = w.locked(seed);
      score(`locked-${task}-${seed}`, locked, task, {
        seed,
        policy: 'locked',
        passwords: ['none', 'default'],
      });
      for (const { source, demos } of s.sources) {
        const ns = demos === 'all' ? allDemos : demos;
        const { table, column } = demoTables.get(source)!;
        for (const n of ns) {
          // App. G.3's epoch candidates, trained in one run (see languageDemoSftEpochs).
          const name = `${task}-${source}-${seed}-n${n}`;
          const candidates = demoEpochCandidates(n);
          const sft = p.node(`${prefix}elicit-${name}`, languageDemoSftEpochs, {
            params: { task, seed, demos: n, epochs: candidates, column, ...s.elicit },
            inputs: { model: locked, demos: table },
          });
          for (const { epochs, model } of epochCandidateModels(sft.out, candidates))
            score(`elicited-${name}-e${epochs}`, model, task, {
              seed,
              policy: 'elicited',
              source,
              demos: n,
              epochs,
            });
        }
      }
    }
  }
  const report = p.node(`${prefix}report`, passwordLockingReport, {
    params: {
      tasks: experimentTasks.map((task) => ({
        task,
        title: taskTitle(task),
        kind: CLASSIFICATION.has(task) ? ('classification' as const) : ('generation' as const),
        paper: PAPER[task]
          ? {
              withPassword: PAPER[task].withPassword,
              withoutPassword: PAPER[task].withoutPassword,
              demos: PAPER[task].demos.map(([demos, value]) => ({ demos, value })),
            }
          : { withPassword: null, withoutPassword: null, demos: [] },
      })),
      sources: s.sources.map((x) => x.source),
    },
    inputs: { scores },
  });
  return { figure: report.out.figure, findings: report.out.findings };
}

/** The pipeline, with the N list and sources replaceable (tests change only those). */
export function passwordLockingPipeline(
  options: { demos?: number[]; sources?: PasswordLockingScale['sources'] } = {},
): PipelineDefinition {
  return definePipeline({
    name: 'password-locking',
    description:
      'password-locked language models on 4 toy tasks: trained policies, locks, SFT elicitation (Figure 3)',
    defaultSeeds: [1, 2, 3],
    scales: ['default', 'default-math-critique', 'default-math', 'small', 'smoke'],
    build: (p, { seeds, scale }) => {
      const base = passwordLockingScales[scale as ScaleName];
      const s = { ...base, demos: options.demos ?? base.demos, sources: options.sources ?? base.sources };
      const { figure, findings } = buildPasswordLocking(p, { seeds, scale: s });
      p.results(figure, findings);
    },
  });
}

export default passwordLockingPipeline();
