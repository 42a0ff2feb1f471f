import { definePipeline, type OutputRef, type PipelineBuilder } from '@lockpick/engine';
import {
  dpoElicitation,
  expertIteration,
  filteringElicitation,
  iteratedDpoElicitation,
  languageDemoSft,
} from '@lockpick/stage-elicitation';
import { rlElicitationReport } from '@lockpick/stage-report';
import {
  buildLanguageWorld,
  elicitationPoolSize,
  type PasswordLockingScale,
  passwordLockingScales,
  taskTitle,
  validationScores,
  type WeakPolicyName,
} from './password-locking.ts';

/**
 * Elicitation by reinforcement learning (EXPERIMENTS.md P-lm finding 5; the paper's §6.1, Figure 5
 * and Figure 16), on the `password-locking` world (the same nodes, so a store that ran it reuses
 * its world and locks):
 *
 * 1. per task, weak policy (π_weak from each weak base, and `fixedrdm`) and run seed: the lock that
 *    imitates that weak policy without the password;
 * 2. from each lock, with the task's correctness as the reward and never the password: expert
 *    iteration, filtering (π_weak's candidates), DPO and iterated DPO, each logging correctness
 *    against samples generated;
 * 3. RL after a little SFT (Figure 16): for the poorest weak policies, the lock fine-tuned on 16
 *    π_intermediate samples for a few and for many epochs, then expert iteration and iterated DPO;
 * 4. every final model scored by greedy decoding on validation; the report judges finding 5.
 */

export type RlMethod = 'expert-iteration' | 'filtering' | 'dpo' | 'iterated-dpo';

export interface RlElicitationScale {
  /** The world (policies and locks), as `password-locking` builds it; RL runs on `experimentTasks`. */
  world: PasswordLockingScale;
  /** The weak policies whose locks RL elicits, strongest first; `fixedrdm` last if present. */
  weaks: WeakPolicyName[];
  methods: RlMethod[];
  /** Figure 16: SFT on `demos` π_intermediate samples for each of `sftEpochs`, then `methods`. */
  rescue: { weaks: WeakPolicyName[]; demos: number; sftEpochs: number[]; methods: RlMethod[] };
  /** Expert iteration and filtering: rounds of `candidates` samples, the `keep` best fine-tuned on. */
  expertIteration: {
    rounds: number;
    candidates: number;
    keep: number;
    epochs: number;
    learningRate: number;
    batchSize: number;
  };
  /** DPO: `rounds` epochs over the pairs of `problems` pool problems (0: all) sampled twice. */
  dpo: { rounds: number; problems: number; beta: number; learningRate: number; batchSize: number };
  /** Iterated DPO: `rounds` of `problems` problems sampled twice and one DPO epoch. */
  iteratedDpo: { rounds: number; problems: number; beta: number; learningRate: number; batchSize: number };
  /** Validation problems each learning curve is measured on, and every how many rounds. */
  curveRows: number;
  curveEvery: number;
}

type ScaleName = 'default' | 'default-figure-5' | 'small' | 'smoke';

const ALL_METHODS: RlMethod[] = ['expert-iteration', 'iterated-dpo', 'dpo', 'filtering'];

// The paper's settings (50 rounds of 640 candidates, 64 kept; 2 samples a problem for DPO),
// on math: the one task whose world meets the paper's levels on every seed measured so far.
// Learning rate 1e-4 for every method, from a sweep on tuning seed 100 (weak-large and
// weak-medium locks; greedy correctness after 50 rounds, README): at 1e-3 expert iteration and
// iterated DPO degraded the weak-large lock (0.45 → 0.41, 0.18); at 1e-4 each method did best or
// within 0.06 of its best rate.
const defaultRl: RlElicitationScale = {
  world: { ...passwordLockingScales.default, experimentTasks: ['math'] },
  weaks: ['weak-large', 'weak-medium', 'weak-small', 'fixedrdm'],
  methods: ALL_METHODS,
  rescue: {
    weaks: ['weak-small', 'fixedrdm'],
    demos: 16,
    sftEpochs: [8, 64],
    methods: ['expert-iteration', 'iterated-dpo'],
  },
  expertIteration: { rounds: 50, candidates: 640, keep: 64, epochs: 2, learningRate: 1e-4, batchSize: 32 },
  dpo: { rounds: 4, problems: 0, beta: 0.1, learningRate: 1e-4, batchSize: 32 },
  iteratedDpo: { rounds: 50, problems: 320, beta: 0.1, learningRate: 1e-4, batchSize: 32 },
  curveRows: 200,
  curveEvery: 5,
};

export const rlElicitationScales: Record<ScaleName, RlElicitationScale> = {
  default: defaultRl,
  // The default's Figure 5 alone (every method from every lock; no RL after SFT): the same nodes,
  // so its results are the default's, in about two thirds of the time.
  'default-figure-5': { ...defaultRl, rescue: { ...defaultRl.rescue, weaks: [] } },
  small: {
    world: { ...passwordLockingScales.small, experimentTasks: ['math'] },
    weaks: ['weak-medium', 'fixedrdm'],
    methods: ALL_METHODS,
    rescue: { weaks: ['fixedrdm'], demos: 16, sftEpochs: [8], methods: ['expert-iteration'] },
    expertIteration: { rounds: 10, candidates: 320, keep: 32, epochs: 2, learningRate: 1e-4, batchSize: 32 },
    dpo: { rounds: 2, problems: 300, beta: 0.1, learningRate: 1e-4, batchSize: 32 },
    iteratedDpo: { rounds: 10, problems: 160, beta: 0.1, learningRate: 1e-4, batchSize: 32 },
    curveRows: 100,
    curveEvery: 2,
  },
  smoke: {
    world: { ...passwordLockingScales.smoke, experimentTasks: ['math'] },
    weaks: ['weak-medium', 'fixedrdm'],
    methods: ALL_METHODS,
    rescue: { weaks: ['fixedrdm'], demos: 4, sftEpochs: [8], methods: ['expert-iteration'] },
    expertIteration: { rounds: 2, candidates: 32, keep: 8, epochs: 1, learningRate: 1e-3, batchSize: 16 },
    dpo: { rounds: 1, problems: 32, beta: 0.1, learningRate: 3e-4, batchSize: 16 },
    iteratedDpo: { rounds: 2, problems: 16, beta: 0.1, learningRate: 3e-4, batchSize: 16 },
    curveRows: 20,
    curveEvery: 1,
  },
};

export function buildRlElicitation(
  p: PipelineBuilder,
  options: { seeds: readonly number[]; scale: RlElicitationScale; prefix?: string },
): {
  figure: OutputRef<'table'>;
  rescue: OutputRef<'table'>;
  findings: OutputRef<'table'>;
  curves: OutputRef<'table'>;
} {
  const { seeds, scale: s } = options;
  const prefix = options.prefix ?? '';
  const experimentTasks = s.world.experimentTasks ?? s.world.tasks;
  // Say now, not mid-run, when a round asks for more problems than the pool holds.
  for (const task of experimentTasks) {
    const pool = elicitationPoolSize(s.world, task);
    const most = Math.max(
      s.expertIteration.candidates,
      s.iteratedDpo.problems,
      s.dpo.problems,
      s.rescue.demos,
    );
    if (most > pool)
      throw new Error(
        `rl-elicitation: a round of ${most} problems for ${task}, but its elicitation pool has ${pool} (30% of the split); ask for fewer candidates or more problems`,
      );
  }
  const { tasks } = buildLanguageWorld(p, { scale: s.world, prefix });
  const curves: OutputRef<'table'>[] = [];
  const { scores, score } = validationScores(p, { tasks, rows: s.world.evalRows, prefix });
  for (const task of experimentTasks) {
    const w = tasks.get(task)!;
    const pool = elicitationPoolSize(s.world, task);
    for (const weak of s.weaks)
      if (weak !== 'fixedrdm')
        score(`rl-weak-${weak}-${task}`, w.weakPolicy(weak), task, { seed: 0, policy: 'weak', source: weak });
    const intermediateSamples = () =>
      w.samples('intermediate-on-elicit', w.intermediate, w.data.elicit, 'intermediate', 1);
    for (const weak of s.weaks)
      for (const seed of seeds) {
        const locked = w.locked(seed, weak);
        score(`rl-locked-${weak}-${task}-${seed}`, locked, task, {
          seed,
          policy: 'locked',
          source: weak,
          passwords: ['none', 'default'],
        });
        const rl = (method: RlMethod, start: OutputRef<'model'>, sftEpochs: number) => {
          const name = `${method}-${weak}-${task}-${seed}${sftEpochs ? `-after-sft${sftEpochs}` : ''}`;
          const common = {
            task,
            seed,
            weak,
            sftEpochs,
            curveRows: s.curveRows,
            curveEvery: s.curveEvery,
          };
          const inputs = { model: start, pool: w.data.elicit, validation: w.data.validation };
          const node =
            method === 'expert-iteration'
              ? p.node(`${prefix}rl-${name}`, expertIteration, {
                  params: { ...common, ...s.expertIteration },
                  inputs,
                })
              : method === 'filtering'
                ? p.node(`${prefix}rl-${name}`, filteringElicitation, {
                    params: { ...common, ...s.expertIteration },
                    inputs: {
                      model: start,
                      // Enough of π_weak's samples on the pool for every round's candidates.
                      candidates: w.weakSamples(
                        weak,
                        'elicit',
                        Math.ceil((s.expertIteration.rounds * s.expertIteration.candidates) / pool),
                      ),
                      validation: w.data.validation,
                    },
                  })
                : method === 'dpo'
                  ? p.node(`${prefix}rl-${name}`, dpoElicitation, { params: { ...common, ...s.dpo }, inputs })
                  : p.node(`${prefix}rl-${name}`, iteratedDpoElicitation, {
                      params: { ...common, ...s.iteratedDpo },
                      inputs,
                    });
          curves.push(node.out.curve);
          score(`rl-${name}`, node.out.model, task, {
            seed,
            policy: method,
            source: weak,
            demos: sftEpochs ? s.rescue.demos : 0,
            epochs: sftEpochs,
          });
        };
        for (const method of s.methods) rl(method, locked, 0);
        if (!s.rescue.weaks.includes(weak)) continue;
        for (const epochs of s.rescue.sftEpochs) {
          const start = p.node(`${prefix}rl-sft-${weak}-${task}-${seed}-e${epochs}`, languageDemoSft, {
            params: { task, seed, demos: s.rescue.demos, epochs, column: 'completion', ...s.world.elicit },
            inputs: { model: locked, demos: intermediateSamples() },
          }).out.model;
          score(`rl-sft-${weak}-${task}-${seed}-e${epochs}`, start, task, {
            seed,
            policy: 'sft-intermediate',
            source: weak,
            demos: s.rescue.demos,
            epochs,
          });
          for (const method of s.rescue.methods) rl(method, start, epochs);
        }
      }
  }
  const report = p.node(`${prefix}rl-report`, rlElicitationReport, {
    params: {
      tasks: experimentTasks.map((task) => ({ task, title: taskTitle(task) })),
      weaks: s.weaks,
      methods: s.methods,
    },
    inputs: { scores, curves },
  });
  return {
    figure: report.out.figure,
    rescue: report.out.rescue,
    findings: report.out.findings,
    curves: report.out.curves,
  };
}

export default definePipeline({
  name: 'rl-elicitation',
  description:
    'RL elicitation of password-locked language models: expert iteration, filtering, DPO, iterated DPO (Figures 5, 16)',
  defaultSeeds: [1, 2, 3],
  scales: ['default', 'default-figure-5', 'small', 'smoke'],
  build: (p, { seeds, scale }) => {
    const { figure, rescue, findings, curves } = buildRlElicitation(p, {
      seeds,
      scale: rlElicitationScales[scale as ScaleName],
    });
    p.results(figure, rescue, findings, curves);
  },
});
