import { definePipeline, type OutputRef, type PipelineBuilder } from '@lockpick/engine';
import { languagePromptingScore } from '@lockpick/stage-evaluation';
import { passwordPromptingReport } from '@lockpick/stage-report';
import {
  buildLanguageWorld,
  type PasswordLockingScale,
  passwordLockingScales,
  taskTitle,
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
 * Few-shot prompts are not here: our models read one problem (their context is one prompt and one
 * completion long), so there is no room for examples in the prompt (README).
 */
export interface PasswordPromptingScale {
  /** The world (policies and locks), as `password-locking` builds it; prompts on `experimentTasks`. */
  world: PasswordLockingScale;
  /** Near misses of each kind, and how many of the 40 wrong passwords. */
  nearMisses: number;
  wrongPasswords: number;
}

type ScaleName = 'default' | 'small' | 'smoke';

export const passwordPromptingScales: Record<ScaleName, PasswordPromptingScale> = {
  default: { world: passwordLockingScales.default, nearMisses: 5, wrongPasswords: 40 },
  small: { world: passwordLockingScales.small, nearMisses: 5, wrongPasswords: 40 },
  smoke: { world: passwordLockingScales.smoke, nearMisses: 2, wrongPasswords: 4 },
};

export function buildPasswordPrompting(
  p: PipelineBuilder,
  options: { seeds: readonly number[]; scale: PasswordPromptingScale; prefix?: string },
): { prompts: OutputRef<'table'>; findings: OutputRef<'table'> } {
  const { seeds, scale: s } = options;
  const prefix = options.prefix ?? '';
  const experimentTasks = s.world.experimentTasks ?? s.world.tasks;
  const { tasks, evalRows } = buildLanguageWorld(p, { scale: s.world, prefix });
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
  return { prompts: report.out.prompts, findings: report.out.findings };
}

export default definePipeline({
  name: 'password-prompting',
  description:
    'prompting baselines of password-locked language models: no, exact, near-miss and wrong passwords (finding 6)',
  defaultSeeds: [1, 2, 3],
  scales: ['default', 'small', 'smoke'],
  build: (p, { seeds, scale }) => {
    const { prompts, findings } = buildPasswordPrompting(p, {
      seeds,
      scale: passwordPromptingScales[scale as ScaleName],
    });
    p.results(prompts, findings);
  },
});
