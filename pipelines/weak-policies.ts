import { definePipeline, type OutputRef, type PipelineBuilder } from '@lockpick/engine';
import {
  demoEpochCandidates,
  epochCandidateModels,
  languageDemoSftEpochs,
} from '@lockpick/stage-elicitation';
import { weakPoliciesReport } from '@lockpick/stage-report';
import {
  buildLanguageWorld,
  type PasswordLockingScale,
  passwordLockingScales,
  taskTitle,
  validationScores,
  type WeakPolicyName,
} from './password-locking.ts';

/**
 * Locks that imitate different weak policies, unlocked by SFT (the paper's Figure 8), on the
 * `password-locking` world (the same nodes, so a store that ran it, or `rl-elicitation`, reuses its
 * world, locks and their scores):
 *
 * 1. per task, weak policy (π_weak from each weak base, and `fixedrdm`) and run seed: the lock that
 *    imitates that policy without the password, scored with and without it;
 * 2. SFT without the password on N reference demos, each App. G.3 epoch candidate a node;
 * 3. the report draws one curve per weak policy and says how much of each lock's gap 4 demos recover.
 */
export interface WeakPoliciesScale {
  world: PasswordLockingScale;
  /** Weak policies, strongest first (the scale's own π_weak among them). */
  weaks: WeakPolicyName[];
  demos: number[];
}

type ScaleName = 'default' | 'small' | 'smoke';

export const weakPoliciesScales: Record<ScaleName, WeakPoliciesScale> = {
  // Math: the task whose world meets the paper's levels, and whose four locks rl-elicitation trains.
  default: {
    world: { ...passwordLockingScales.default, experimentTasks: ['math'] },
    weaks: ['weak-large', 'weak-medium', 'weak-small', 'fixedrdm'],
    demos: [1, 4, 16, 64, 512],
  },
  small: {
    world: { ...passwordLockingScales.small, experimentTasks: ['math'] },
    weaks: ['weak-medium', 'fixedrdm'],
    demos: [4, 64],
  },
  smoke: {
    world: { ...passwordLockingScales.smoke, experimentTasks: ['math'] },
    weaks: ['weak-medium', 'fixedrdm'],
    demos: [4],
  },
};

export function buildWeakPolicies(
  p: PipelineBuilder,
  options: { seeds: readonly number[]; scale: WeakPoliciesScale; prefix?: string },
): { figure: OutputRef<'table'>; summary: OutputRef<'table'> } {
  const { seeds, scale: s } = options;
  const prefix = options.prefix ?? '';
  const experimentTasks = s.world.experimentTasks ?? s.world.tasks;
  const { tasks } = buildLanguageWorld(p, { scale: s.world, prefix });
  // The lock and π_weak scores keep rl-elicitation's names and parameters: the same nodes.
  const { scores, score } = validationScores(p, { tasks, rows: s.world.evalRows, prefix });
  for (const task of experimentTasks) {
    const w = tasks.get(task)!;
    for (const weak of s.weaks) {
      if (weak !== 'fixedrdm')
        score(`rl-weak-${weak}-${task}`, w.weakPolicy(weak), task, { seed: 0, policy: 'weak', source: weak });
      for (const seed of seeds) {
        const locked = w.locked(seed, weak);
        score(`rl-locked-${weak}-${task}-${seed}`, locked, task, {
          seed,
          policy: 'locked',
          source: weak,
          passwords: ['none', 'default'],
        });
        // The task's own π_weak keeps password-locking's SFT node names: the same nodes.
        const tag = w.weakTag(weak);
        for (const n of s.demos) {
          const candidates = demoEpochCandidates(n);
          const sft = p.node(`${prefix}elicit-${task}-reference-${tag}${seed}-n${n}`, languageDemoSftEpochs, {
            params: { task, seed, demos: n, epochs: candidates, column: 'reference', ...s.world.elicit },
            inputs: { model: locked, demos: w.data.elicit },
          });
          for (const { epochs, model } of epochCandidateModels(sft.out, candidates))
            score(`weak-policies-${task}-${weak}-${seed}-n${n}-e${epochs}`, model, task, {
              seed,
              policy: 'elicited',
              source: weak,
              demos: n,
              epochs,
            });
        }
      }
    }
  }
  const report = p.node(`${prefix}weak-policies-report`, weakPoliciesReport, {
    params: { tasks: experimentTasks.map((task) => ({ task, title: taskTitle(task) })), weaks: s.weaks },
    inputs: { scores },
  });
  return { figure: report.out.figure, summary: report.out.summary };
}

export default definePipeline({
  name: 'weak-policies',
  description:
    'SFT elicitation of locks that imitate different weak policies: three weak bases and fixedrdm (Figure 8)',
  defaultSeeds: [1, 2, 3],
  scales: ['default', 'small', 'smoke'],
  build: (p, { seeds, scale }) => {
    const { figure, summary } = buildWeakPolicies(p, {
      seeds,
      scale: weakPoliciesScales[scale as ScaleName],
    });
    p.results(figure, summary);
  },
});
