import type { ModelBundle } from '@lockpick/artifacts';
import { initBackend, Optimizer, saveCheckpoint, Transformer, trainSft } from '@lockpick/ml';
import { type LanguageTask, LM_VOCABULARY, type SftExample, sftTokenRows, taskLayout } from '@lockpick/tasks';

/**
 * For the evaluation tests: a one-layer model trained on `examples` until it knows them by heart, as
 * a bundle. Tests build fixture locks with it (right answers under one prompt, a fixed wrong one
 * under another), so a scoring stage that ignored a setting would be caught.
 */
export async function fixtureModel(
  task: LanguageTask,
  examples: SftExample[],
  o: { width: number; steps: number; batchSize: number; seed: number },
): Promise<ModelBundle> {
  await initBackend();
  const model = new Transformer(
    {
      vocabSize: LM_VOCABULARY.size,
      contextLength: taskLayout(task).seqLen,
      layers: 1,
      width: o.width,
      heads: 2,
      mlpRatio: 4,
      bias: false,
    },
    o.seed + 2,
  );
  await trainSft(model, sftTokenRows(LM_VOCABULARY, taskLayout(task), examples), {
    optimizer: new Optimizer({ kind: 'adam', learningRate: 1e-2, totalSteps: o.steps }),
    batchSize: o.batchSize,
    steps: o.steps,
    seed: o.seed,
    lossOn: 'completion',
  });
  const bundle = saveCheckpoint(model);
  model.dispose();
  return bundle;
}
