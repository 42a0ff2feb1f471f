import { definePipeline, type OutputRef, type PipelineBuilder } from '@lockpick/engine';
import { languageFormat } from '@lockpick/stage-datagen';
import {
  demoEpochCandidates,
  epochCandidateModels,
  expertIteration,
  languageDemoSftEpochs,
} from '@lockpick/stage-elicitation';
import { settingVariationReport } from '@lockpick/stage-report';
import type { PromptFormat } from '@lockpick/tasks';
import {
  buildLanguageWorld,
  type PasswordLockingScale,
  passwordLockingScales,
  taskTitle,
  validationScores,
  type WeakPolicyName,
} from './password-locking.ts';
import { type RlElicitationScale, rlElicitationScales } from './rl-elicitation.ts';

/**
 * A setting variation as the password (EXPERIMENTS.md P-lm finding 7; the paper's Figure 9), on
 * the `password-locking` world (the same nodes, so a store that ran it, or `rl-elicitation`,
 * reuses its world, its lock, its SFT on π_strong's samples and its expert iteration):
 *
 * 1. per task and run seed, the password lock, and locks with no password at all whose strong
 *    behaviour is keyed to the prompt's format (`reversed`: the prompt's words last to first), in
 *    both directions: strong when reversed and weak when plain, and the reverse;
 * 2. each lock elicited in its weak setting: SFT on N π_strong samples translated into it (App. G.3
 *    epochs), and expert iteration with the prompts in it;
 * 3. every model scored in the lock's weak setting (and the locks in their strong one too); the
 *    report compares each format lock with the password lock.
 */
export interface SettingVariationScale {
  world: PasswordLockingScale;
  /** The format locks: the format each answers strongly in, and the one it answers weakly in. */
  formats: { strong: PromptFormat; weak: PromptFormat }[];
  demos: number[];
  /**
   * Other weak policies than the task's π_weak: for each, a password lock and the format locks
   * imitating it, elicited by expert iteration only (no SFT curve). Expert iteration needs a π_weak
   * it can start from: with the task's own (weak-medium on math, 0.15 right) no lock moves, so the
   * comparison says nothing; weak-large's π_weak is right about a third of the time.
   */
  rlWeaks: WeakPolicyName[];
  /** Expert iteration's settings and learning curve, as `rl-elicitation` runs it. */
  rl: Pick<RlElicitationScale, 'expertIteration' | 'curveRows' | 'curveEvery'>;
}

type ScaleName = 'default' | 'small' | 'smoke';

const BOTH_WAYS: SettingVariationScale['formats'] = [
  { strong: 'reversed', weak: 'plain' },
  { strong: 'plain', weak: 'reversed' },
];

export const settingVariationScales: Record<ScaleName, SettingVariationScale> = {
  // Math: the task whose world meets the paper's levels, and where rl-elicitation runs.
  default: {
    world: { ...passwordLockingScales.default, experimentTasks: ['math'] },
    formats: BOTH_WAYS,
    demos: [1, 4, 16, 64, 512],
    rlWeaks: ['weak-large'],
    rl: rlElicitationScales.default,
  },
  small: {
    world: { ...passwordLockingScales.small, experimentTasks: ['math'] },
    formats: BOTH_WAYS,
    demos: [4, 64],
    rlWeaks: [],
    rl: rlElicitationScales.small,
  },
  smoke: {
    world: { ...passwordLockingScales.smoke, experimentTasks: ['math'] },
    formats: [{ strong: 'reversed', weak: 'plain' }],
    demos: [4],
    rlWeaks: ['weak-large'],
    rl: rlElicitationScales.smoke,
  },
};

export function buildSettingVariation(
  p: PipelineBuilder,
  options: { seeds: readonly number[]; scale: SettingVariationScale; prefix?: string },
): { figure: OutputRef<'table'>; findings: OutputRef<'table'> } {
  const { seeds, scale: s } = options;
  const prefix = options.prefix ?? '';
  const experimentTasks = s.world.experimentTasks ?? s.world.tasks;
  const { tasks } = buildLanguageWorld(p, { scale: s.world, prefix });
  const { scores, score } = validationScores(p, { tasks, rows: s.world.evalRows, prefix });
  const locks: {
    source: string;
    title: string;
    strongFormat?: string;
    weakFormat?: string;
    comparedWith?: string;
  }[] = [
    { source: 'password', title: 'the password' },
    ...s.formats.map((f) => ({
      source: `format-${f.strong}`,
      title: `strong when ${f.strong}, weak when ${f.weak}`,
      strongFormat: f.strong,
      weakFormat: f.weak,
    })),
    ...s.rlWeaks.flatMap((weak) => [
      { source: `password-${weak}`, title: `the password (π_weak from ${weak})` },
      ...s.formats.map((f) => ({
        source: `format-${f.strong}-${weak}`,
        title: `strong when ${f.strong}, weak when ${f.weak} (π_weak from ${weak})`,
        strongFormat: f.strong,
        weakFormat: f.weak,
        comparedWith: `password-${weak}`,
      })),
    ]),
  ];
  for (const task of experimentTasks) {
    const w = tasks.get(task)!;
    // π_strong's samples on the demo pool: password-locking's `strong` demo source.
    const strongSamples = w.samples('strong-on-elicit', w.strong, w.data.elicit, 'strong', 1);
    // A table with its prompts in a format: one node per table and format, shared by the seeds.
    const formatted = new Map<string, OutputRef<'table'>>();
    const inFormat = (table: OutputRef<'table'>, name: string, format: PromptFormat) => {
      if (format === 'plain') return table;
      const node = `${prefix}${name}-${format}-${task}`;
      if (!formatted.has(node))
        formatted.set(
          node,
          p.node(node, languageFormat, { params: { format }, inputs: { table } }).out.table,
        );
      return formatted.get(node)!;
    };
    for (const seed of seeds) {
      const variants: {
        source: string;
        locked: OutputRef<'model'>;
        strong?: PromptFormat;
        weak: PromptFormat;
        rlWeak: string;
        sft: boolean;
      }[] = [
        { source: 'password', locked: w.locked(seed), weak: 'plain', rlWeak: w.weakBase, sft: true },
        ...s.formats.map((f) => ({
          source: `format-${f.strong}`,
          locked: w.formatLocked(seed, f.strong, f.weak),
          strong: f.strong,
          weak: f.weak,
          rlWeak: `format-${f.strong}`,
          sft: true,
        })),
        // The password lock of another π_weak is rl-elicitation's node, and so is its expert iteration.
        ...s.rlWeaks.flatMap((weakPolicy) => [
          {
            source: `password-${weakPolicy}`,
            locked: w.locked(seed, weakPolicy),
            weak: 'plain' as PromptFormat,
            rlWeak: weakPolicy as string,
            sft: false,
          },
          ...s.formats.map((f) => ({
            source: `format-${f.strong}-${weakPolicy}`,
            locked: w.formatLocked(seed, f.strong, f.weak, weakPolicy),
            strong: f.strong,
            weak: f.weak,
            rlWeak: `format-${f.strong}-${weakPolicy}`,
            sft: false,
          })),
        ]),
      ];
      for (const v of variants) {
        const tag = v.source === 'password' ? '' : `${v.source}-`;
        const label = { seed, source: v.source };
        if (v.strong) {
          score(`setting-locked-${v.source}-${task}-${seed}-weak`, v.locked, task, {
            ...label,
            policy: 'locked',
            format: v.weak,
          });
          score(`setting-locked-${v.source}-${task}-${seed}-strong`, v.locked, task, {
            ...label,
            policy: 'locked',
            format: v.strong,
          });
        } else
          score(`setting-locked-${v.source}-${task}-${seed}`, v.locked, task, {
            ...label,
            policy: 'locked',
            passwords: ['none', 'default'],
          });
        // SFT on π_strong's samples in the weak setting: the password lock's are password-locking's nodes.
        const demos = inFormat(strongSamples, 'samples-strong-on-elicit', v.weak);
        for (const n of v.sft ? s.demos : []) {
          const candidates = demoEpochCandidates(n);
          const sft = p.node(`${prefix}elicit-${task}-strong-${tag}${seed}-n${n}`, languageDemoSftEpochs, {
            params: { task, seed, demos: n, epochs: candidates, column: 'completion', ...s.world.elicit },
            inputs: { model: v.locked, demos },
          });
          for (const { epochs, model } of epochCandidateModels(sft.out, candidates))
            score(`setting-elicited-${v.source}-${task}-${seed}-n${n}-e${epochs}`, model, task, {
              ...label,
              policy: 'elicited',
              demos: n,
              epochs,
              format: v.weak,
            });
        }
        // Expert iteration with the prompts in the weak setting: the password lock's is rl-elicitation's node.
        const ei = p.node(`${prefix}rl-expert-iteration-${v.rlWeak}-${task}-${seed}`, expertIteration, {
          params: {
            task,
            seed,
            weak: v.rlWeak,
            sftEpochs: 0,
            curveRows: s.rl.curveRows,
            curveEvery: s.rl.curveEvery,
            ...s.rl.expertIteration,
          },
          inputs: {
            model: v.locked,
            pool: inFormat(w.data.elicit, 'data-elicit', v.weak),
            validation: inFormat(w.data.validation, 'data-validation', v.weak),
          },
        }).out.model;
        score(`setting-expert-iteration-${v.source}-${task}-${seed}`, ei, task, {
          ...label,
          policy: 'expert-iteration',
          format: v.weak,
        });
      }
    }
  }
  const report = p.node(`${prefix}setting-variation-report`, settingVariationReport, {
    params: { tasks: experimentTasks.map((task) => ({ task, title: taskTitle(task) })), locks },
    inputs: { scores },
  });
  return { figure: report.out.figure, findings: report.out.findings };
}

export default definePipeline({
  name: 'setting-variation',
  description:
    'locks keyed to a prompt format instead of a password, unlocked by SFT and expert iteration (Figure 9, finding 7)',
  defaultSeeds: [1, 2, 3],
  scales: ['default', 'small', 'smoke'],
  build: (p, { seeds, scale }) => {
    const { figure, findings } = buildSettingVariation(p, {
      seeds,
      scale: settingVariationScales[scale as ScaleName],
    });
    p.results(figure, findings);
  },
});
