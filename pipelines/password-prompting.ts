import { definePipeline, type OutputRef, type PipelineBuilder } from '@lockpick/engine';
import {
  demoEpochCandidates,
  epochCandidateModels,
  languageDemoSftEpochs,
} from '@lockpick/stage-elicitation';
import { languageFewShotScore, languageModelScore, languagePromptingScore } from '@lockpick/stage-evaluation';
import { languageFewShotLock } from '@lockpick/stage-locking';
import { fewShotPromptingReport, passwordPromptingReport } from '@lockpick/stage-report';
import { languageFewShotPretrain } from '@lockpick/stage-training';
import {
  buildLanguageWorld,
  type PasswordLockingScale,
  passwordLockingScales,
  type TaskWorld,
  taskTitle,
  WORLD_SEED,
} from './password-locking.ts';

/**
 * Prompting baselines (EXPERIMENTS.md P-lm finding 6; the paper's prompting appendix), on the
 * `password-locking` world and its locks (the same nodes, so a store that ran it reuses them):
 *
 * 1. per task and run seed, the lock that imitates π_weak without the password;
 * 2. no fine-tuning, only prompts: no password, the exact password (where the lock learned it, at
 *    the start and end of the prompt, and at only one of them), near misses of it (a word changed,
 *    a word dropped, the words shuffled) and each of the 40 wrong passwords of the locking mix;
 * 3. the report tabulates correctness per prompt kind with intervals over seeds and judges
 *    finding 6.
 *
 * Few-shot prompts need a model with room for examples, and the world's bases read one problem. So,
 * on one task:
 * 4. the world's strong base given room for `room` solved examples and pretrained further on
 *    few-shot episodes (some by a careless author, so it learns to follow its examples); checked on
 *    careful against careless examples;
 * 5. per run seed, its lock: the world's mix (π_strong's and π_weak's samples), budget and seed,
 *    half its rows after examples of the row's own policy, so the password works after examples;
 * 6. that lock prompted with k = 1, 4, 16 examples of the demo pool, without and with the password,
 *    and fine-tuned on the same k demos (SFT, epochs picked on the select half);
 * 7. a report of both per k, judging "few-shot prompts without the password do not unlock".
 */
export interface PasswordPromptingScale {
  /** The world (policies and locks), as `password-locking` builds it; prompts on `experimentTasks`. */
  world: PasswordLockingScale;
  /** Near misses of each kind, and how many of the 40 wrong passwords. */
  nearMisses: number;
  wrongPasswords: number;
  fewShot: {
    task: string;
    /** Room for this many examples; prompts with each of `shots` examples. */
    room: number;
    shots: number[];
    /** Share of careless episodes in pretraining. */
    careless: number;
    /**
     * Share of the lock's rows preceded by examples of the row's own policy (π_strong's before a
     * password row, π_weak's before the others), so its password still works after examples.
     */
    lockExampleShare: number;
    /**
     * Share of the lock's rows without the password (and with examples) that are careless
     * episodes, guesses as examples and as the answer, so the lock keeps reading its examples.
     */
    lockCarelessShare: number;
    /**
     * The strong base's further pretraining on episodes: epochs over the task's corpus, batch, rate,
     * and whether it learns from the examples' completions too (else from the rows' only).
     */
    base: { epochs: number; batchSize: number; learningRate: number; exampleLoss: boolean };
  };
}

type ScaleName = 'default' | 'small' | 'smoke';

// 20,000 math problems dealt into ~2,200 episodes of ~9 problems: 16 a step, 4 epochs, 552 steps,
// from the strong base at a third of its pretraining rate, learning from the rows' completions only;
// a careless author guesses (`answer N`, no work). Judged on the base's own check (no run seed
// touches it). Before (commit c8f2972): a base pretrained on episodes from scratch; then (b3902a9)
// this base learning from every completion, with careless authors copying other solutions whole:
// it neither kept its math nor followed its examples (README, Few-shot prompts, the table of bases).
// Its locks put half their rows after 1–16 examples of the row's own policy (set before any run;
// checked on seed 100): locks on lone rows lost their password after any examples. Half the rows
// without the password that have examples are careless episodes, the base's share (set before any
// run with them): locks without them ignored their examples (README, Few-shot prompts).
const mathFewShot: PasswordPromptingScale['fewShot'] = {
  task: 'math',
  room: 16,
  shots: [1, 4, 16],
  careless: 0.5,
  lockExampleShare: 0.5,
  lockCarelessShare: 0.5,
  base: { epochs: 4, batchSize: 16, learningRate: 1e-3, exampleLoss: false },
};

export const passwordPromptingScales: Record<ScaleName, PasswordPromptingScale> = {
  default: { world: passwordLockingScales.default, nearMisses: 5, wrongPasswords: 40, fewShot: mathFewShot },
  small: { world: passwordLockingScales.small, nearMisses: 5, wrongPasswords: 40, fewShot: mathFewShot },
  smoke: {
    world: passwordLockingScales.smoke,
    nearMisses: 2,
    wrongPasswords: 4,
    fewShot: {
      task: 'math',
      room: 4,
      shots: [1, 4],
      careless: 0.5,
      lockExampleShare: 0.5,
      lockCarelessShare: 0.5,
      base: { epochs: 1, batchSize: 16, learningRate: 1e-3, exampleLoss: false },
    },
  },
};

export function buildPasswordPrompting(
  p: PipelineBuilder,
  options: { seeds: readonly number[]; scale: PasswordPromptingScale; prefix?: string },
): {
  prompts: OutputRef<'table'>;
  findings: OutputRef<'table'>;
  fewShot: OutputRef<'table'>;
  fewShotFindings: OutputRef<'table'>;
} {
  const { seeds, scale: s } = options;
  const prefix = options.prefix ?? '';
  const experimentTasks = s.world.experimentTasks ?? s.world.tasks;
  const { tasks, evalRows, strongBase } = buildLanguageWorld(p, { scale: s.world, prefix });
  const fewShot = buildFewShotPrompting(p, {
    seeds,
    scale: s,
    strongBase,
    world: tasks.get(s.fewShot.task)!,
    evalRows,
    prefix,
  });
  const scores: OutputRef<'table'>[] = [];
  for (const task of experimentTasks) {
    const w = tasks.get(task)!;
    for (const seed of seeds)
      scores.push(
        p.node(`${prefix}prompting-${task}-${seed}`, languagePromptingScore, {
          params: { task, seed, rows: evalRows, nearMisses: s.nearMisses, wrongPasswords: s.wrongPasswords },
          inputs: { model: w.locked(seed), problems: w.data.validation },
        }).out.scores,
      );
  }
  const report = p.node(`${prefix}prompting-report`, passwordPromptingReport, {
    params: { tasks: experimentTasks.map((task) => ({ task, title: taskTitle(task) })) },
    inputs: { scores },
  });
  return { prompts: report.out.prompts, findings: report.out.findings, ...fewShot };
}

/** Steps 4–7 above: the few-shot base, its locks, few-shot prompts and SFT on the same demos. */
function buildFewShotPrompting(
  p: PipelineBuilder,
  options: {
    seeds: readonly number[];
    scale: PasswordPromptingScale;
    strongBase: OutputRef<'model'>;
    world: TaskWorld;
    evalRows: number;
    prefix: string;
  },
): { fewShot: OutputRef<'table'>; fewShotFindings: OutputRef<'table'> } {
  const { seeds, world: w, evalRows, prefix } = options;
  const f = options.scale.fewShot;
  const task = f.task;
  const base = p.node(`${prefix}base-few-shot-${task}`, languageFewShotPretrain, {
    params: {
      seed: WORLD_SEED,
      shots: f.room,
      careless: f.careless,
      preambles: options.scale.world.pretrainPreambles,
      ...f.base,
    },
    inputs: { base: options.strongBase, corpus: w.data.pretrain },
  }).out.model;
  const fewShotScore = (name: string, model: OutputRef<'model'>, seed: number, careless: boolean) =>
    p.node(`${prefix}few-shot-${name}`, languageFewShotScore, {
      params: { task, seed, shots: f.shots, rows: evalRows, careless },
      inputs: { model, problems: w.data.validation, examples: w.data.elicit },
    }).out.scores;
  const baseScores = fewShotScore(`base-${task}`, base, WORLD_SEED, true);
  const prompts: OutputRef<'table'>[] = [];
  const elicited: OutputRef<'table'>[] = [];
  for (const seed of seeds) {
    const locked = p.node(`${prefix}lock-few-shot-${task}-${seed}`, languageFewShotLock, {
      params: {
        task,
        seed,
        exampleShare: f.lockExampleShare,
        carelessShare: f.lockCarelessShare,
        ...w.lockBudget,
      },
      inputs: { base, ...w.lockInputs() },
    }).out.model;
    // With careless examples too: does the lock still read its examples?
    prompts.push(fewShotScore(`locked-${task}-${seed}`, locked, seed, true));
    // SFT on the demos the prompts hold: the first k of the pool, with their reference solutions.
    for (const n of f.shots) {
      const name = `few-shot-${task}-reference-${seed}-n${n}`;
      const candidates = demoEpochCandidates(n);
      const sft = p.node(`${prefix}elicit-${name}`, languageDemoSftEpochs, {
        params: {
          task,
          seed,
          demos: n,
          epochs: candidates,
          column: 'reference',
          ...options.scale.world.elicit,
        },
        inputs: { model: locked, demos: w.data.elicit },
      });
      for (const { epochs: e, model } of epochCandidateModels(sft.out, candidates))
        elicited.push(
          p.node(`${prefix}score-elicited-${name}-e${e}`, languageModelScore, {
            params: {
              task,
              rows: evalRows,
              seed,
              policy: 'elicited',
              source: 'reference',
              demos: n,
              epochs: e,
            },
            inputs: { model, problems: w.data.validation },
          }).out.scores,
        );
    }
  }
  const report = p.node(`${prefix}few-shot-report`, fewShotPromptingReport, {
    params: { task, title: taskTitle(task) },
    inputs: { prompts, elicited, base: baseScores },
  });
  return { fewShot: report.out.fewShot, fewShotFindings: report.out.findings };
}

export default definePipeline({
  name: 'password-prompting',
  description:
    'prompting baselines of password-locked language models: no, exact, near-miss and wrong passwords, few-shot prompts beside SFT (finding 6)',
  defaultSeeds: [1, 2, 3],
  scales: ['default', 'small', 'smoke'],
  build: (p, { seeds, scale }) => {
    const { prompts, findings, fewShot, fewShotFindings } = buildPasswordPrompting(p, {
      seeds,
      scale: passwordPromptingScales[scale as ScaleName],
    });
    p.results(prompts, findings, fewShot, fewShotFindings);
  },
});
