import {
  definePipeline,
  type OutputRef,
  type PipelineBuilder,
  type PipelineDefinition,
} from '@lockpick/engine';
import { compositionAnswers, compositionData } from '@lockpick/stage-datagen';
import { compositionDemoSft } from '@lockpick/stage-elicitation';
import { compositionModelScore } from '@lockpick/stage-evaluation';
import { compositionLock } from '@lockpick/stage-locking';
import { compositionUnlockTable } from '@lockpick/stage-report';
import { compositionInit, compositionSft } from '@lockpick/stage-training';

/**
 * Password-locked function composition (EXPERIMENTS.md, P-toy; the paper's §7 and Figure 6). Per
 * seed: the task's data; the strong and weak policies' answers (programmatic here, as tables the
 * locking stage reads); a random-init model; a lock *from scratch* (the random-init model trained on
 * the mix) and locks *via SFT* (the random-init model pretrained on strong data, then trained on a
 * mix of a given size); for each lock and each N, SFT on N strong demos without password; every
 * model scored by greedy decoding on 4,096 held-out no-password prompts with a locked function.
 */

export interface FunctionCompositionScale {
  model: { layers: number; width: number; heads: number };
  evalRows: number;
  batchSize: number;
  /** Adam's peak learning rate for pretraining and both kinds of lock. */
  learningRate: number;
  /**
   * Adam's second-moment decay for pretraining and locks. With PyTorch's 0.999 some seeds had not
   * converged at the end of the budget (README: "Why 8 heads and β2 = 0.98").
   */
  adamBeta2: number;
  /** Locking from scratch: mix rows × epochs (the paper: 200k × 5); null: no lock from scratch. */
  scratch: { rows: number; epochs: number } | null;
  /** Pretraining on strong data before locking via SFT (the paper: 200k × 4). */
  pretrain: { rows: number; epochs: number };
  /**
   * Locks via SFT: mix size and epochs (the paper: 200k, 50k or 12.5k, one epoch each). Our small
   * model needs about 900 steps to lock at all, so every mix is trained for at least that many
   * steps; the small mix gets more (1,264), as at 948 one seed's lock had not converged.
   */
  sftLocks: { rows: number; epochs: number; paper: 'sft-200k' | 'sft-12.5k' | null }[];
  demos: number[];
}

/** N = 2, 4, …, 1024, as the paper. */
const ALL_DEMOS = [2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

export const functionCompositionScales: Record<'default' | 'smoke', FunctionCompositionScale> = {
  default: {
    model: { layers: 2, width: 64, heads: 8 },
    evalRows: 4096,
    batchSize: 128,
    learningRate: 5e-3,
    adamBeta2: 0.98,
    scratch: { rows: 80_000, epochs: 5 },
    pretrain: { rows: 60_000, epochs: 4 },
    sftLocks: [
      { rows: 40_000, epochs: 3, paper: 'sft-200k' },
      { rows: 10_000, epochs: 16, paper: 'sft-12.5k' },
    ],
    demos: ALL_DEMOS,
  },
  smoke: {
    model: { layers: 1, width: 16, heads: 2 },
    evalRows: 128,
    batchSize: 64,
    learningRate: 2e-3,
    adamBeta2: 0.98,
    scratch: { rows: 256, epochs: 1 },
    pretrain: { rows: 128, epochs: 1 },
    sftLocks: [{ rows: 128, epochs: 1, paper: 'sft-12.5k' }],
    demos: [2, 16],
  },
};

/** The paper's Figure 6 (correctness without password after N demos), read off its plot. */
const PAPER = {
  scratch: [
    { demos: 2, value: 0.19 },
    { demos: 16, value: 0.56 },
    { demos: 64, value: 0.86 },
    { demos: 256, value: 0.99 },
  ],
  'sft-200k': [
    { demos: 2, value: 0.26 },
    { demos: 16, value: 0.71 },
    { demos: 64, value: 0.9 },
    { demos: 256, value: 0.99 },
  ],
  'sft-12.5k': [
    { demos: 2, value: 0.32 },
    { demos: 16, value: 0.72 },
    { demos: 64, value: 0.895 },
    { demos: 256, value: 0.99 },
  ],
};

/**
 * Adds the experiment's nodes to `p` (names start with `prefix`, so another pipeline can include
 * it, as quickstart does) and returns the Figure 6 table.
 */
export function buildFunctionComposition(
  p: PipelineBuilder,
  options: { seeds: readonly number[]; scale: FunctionCompositionScale; prefix?: string },
): OutputRef<'table'> {
  const { seeds, scale: s } = options;
  const prefix = options.prefix ?? '';
  const demoCounts = s.demos;
  const { scratch } = s;
  const half = Math.max(scratch?.rows ?? 0, ...s.sftLocks.map((l) => l.rows)) / 2;
  const locks = [
    ...(scratch
      ? [
          {
            lock: 'scratch',
            title: `from scratch (${scratch.rows} rows × ${scratch.epochs} epochs)`,
            paper: 'scratch' as const,
          },
        ]
      : []),
    ...s.sftLocks.map((l) => ({
      lock: `sft-${l.rows}`,
      title: `via SFT (${l.rows}-row mix × ${l.epochs} epochs)`,
      paper: l.paper,
    })),
  ];
  const scores = [];
  for (const seed of seeds) {
    const data = p.node(`${prefix}data-${seed}`, compositionData, {
      params: {
        seed,
        lockingRows: 2 * Math.ceil(half),
        pretrainRows: s.pretrain.rows,
        demoRows: Math.max(...demoCounts),
        evalRows: s.evalRows,
      },
      inputs: {},
    });
    // The two policies answer disjoint halves of the locking prompts.
    const strong = p.node(`${prefix}strong-${seed}`, compositionAnswers, {
      params: { seed, policy: 'strong', withPassword: true, offset: 0, rows: Math.ceil(half) },
      inputs: { prompts: data.out.mix },
    });
    const weak = p.node(`${prefix}weak-${seed}`, compositionAnswers, {
      params: {
        seed,
        policy: 'weak',
        withPassword: false,
        offset: Math.ceil(half),
        rows: Math.ceil(half),
      },
      inputs: { prompts: data.out.mix },
    });
    const init = p.node(`${prefix}init-${seed}`, compositionInit, {
      params: { seed, ...s.model },
      inputs: {},
    });
    const lockInputs = { strong: strong.out.answers, weak: weak.out.answers };
    const locked = [];
    if (scratch)
      locked.push(
        p.node(`${prefix}lock-scratch-${seed}`, compositionLock, {
          params: {
            seed,
            rows: scratch.rows,
            epochs: scratch.epochs,
            batchSize: s.batchSize,
            learningRate: s.learningRate,
            adamBeta2: s.adamBeta2,
          },
          inputs: { base: init.out.model, ...lockInputs },
        }),
      );
    if (s.sftLocks.length > 0) {
      const pretrained = p.node(`${prefix}pretrain-${seed}`, compositionSft, {
        params: {
          seed,
          rows: s.pretrain.rows,
          epochs: s.pretrain.epochs,
          batchSize: s.batchSize,
          learningRate: s.learningRate,
          adamBeta2: s.adamBeta2,
        },
        inputs: { base: init.out.model, data: data.out.pretrain },
      });
      for (const l of s.sftLocks)
        locked.push(
          p.node(`${prefix}lock-sft-${l.rows}-${seed}`, compositionLock, {
            params: {
              seed,
              rows: l.rows,
              epochs: l.epochs,
              batchSize: s.batchSize,
              learningRate: s.learningRate,
              adamBeta2: s.adamBeta2,
            },
            inputs: { base: pretrained.out.model, ...lockInputs },
          }),
        );
    }
    for (const [i, lockNode] of locked.entries()) {
      const lock = locks[i].lock;
      scores.push(
        p.node(`${prefix}score-${lock}-${seed}`, compositionModelScore, {
          params: { seed, lock, demos: 0, withPassword: true },
          inputs: { model: lockNode.out.model, eval: data.out.eval },
        }).out.scores,
      );
      const unlocked = p.sweep(
        `${prefix}unlock-${lock}`,
        compositionDemoSft,
        { seed: [seed], demos: demoCounts },
        (pt) => ({ params: pt, inputs: { model: lockNode.out.model, demos: data.out.demos } }),
      );
      for (const u of unlocked)
        scores.push(
          p.node(`${prefix}score-${lock}-${seed}-n${u.point.demos}`, compositionModelScore, {
            params: { seed, lock, demos: u.point.demos },
            inputs: { model: u.out.model, eval: data.out.eval },
          }).out.scores,
        );
    }
  }
  const report = p.node(`${prefix}report`, compositionUnlockTable, {
    params: {
      locks: locks.map(({ lock, title, paper }) => ({
        lock,
        title,
        published: paper ? PAPER[paper] : [],
        publishedWithPassword: 1,
        publishedWithoutPassword: 0.18,
      })),
    },
    inputs: { scores },
  });
  return report.out.table;
}

/** The pipeline, with the list of N it sweeps replaceable (tests change only that list). */
export function functionCompositionPipeline(options: { demos?: number[] } = {}): PipelineDefinition {
  return definePipeline({
    name: 'function-composition',
    description: 'password-locked function composition: lock from scratch / via SFT, unlock with N demos',
    defaultSeeds: [1, 2, 3],
    scales: ['default', 'smoke'],
    build: (p, { seeds, scale }) => {
      const s = functionCompositionScales[scale as 'default' | 'smoke'];
      p.results(buildFunctionComposition(p, { seeds, scale: { ...s, demos: options.demos ?? s.demos } }));
    },
  });
}

export default functionCompositionPipeline();
