import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ArtifactStore, int32MatrixVector, readNumbers } from '@lockpick/artifacts';
import { runStageOnce } from '@lockpick/engine';
import { initBackend, saveCheckpoint, Transformer } from '@lockpick/ml';
import { evalPrompts } from '@lockpick/tasks';
import * as arrow from 'apache-arrow';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { compositionModelScore } from './composition-model.ts';

let root: string;
let store: ArtifactStore;
beforeEach(async () => {
  root = await fs.mkdtemp(path.join(tmpdir(), 'lockpick-eval-model-'));
  store = await ArtifactStore.open(root);
});
afterEach(() => fs.rm(root, { recursive: true, force: true }));

it('scores a model by greedy decoding, with and without password, labelled for the report', async () => {
  await initBackend();
  const t = evalPrompts(1, 64);
  const evalTable = await store.writeTable(
    new arrow.Table({
      tokens: int32MatrixVector(t.tokens, t.rows, t.seqLen),
      fn_a: arrow.makeVector(t.fnA),
      fn_b: arrow.makeVector(t.fnB),
      locked_count: arrow.makeVector(t.lockedCount),
    }),
  );
  const model = new Transformer(
    { vocabSize: 45, contextLength: 20, layers: 1, width: 16, heads: 2, mlpRatio: 4, bias: false },
    1,
  );
  const ref = await store.writeModel(saveCheckpoint(model));
  model.dispose();
  const { outputs } = await runStageOnce(compositionModelScore, store, {
    params: { seed: 1, lock: 'scratch', demos: 0, withPassword: true },
    inputs: { model: ref, eval: evalTable },
  });
  const scores = await store.readTable(outputs.scores);
  expect(scores.numRows).toBe(2);
  expect(scores.getChild('with_password')?.toArray()).toEqual([false, true]);
  expect(scores.getChild('lock')?.get(0)).toBe('scratch');
  expect(scores.getChild('prompts')?.get(0)).toBe(64);
  for (const name of ['token_accuracy', 'exact_match'])
    for (const v of readNumbers(scores, name)) {
      expect(v).toBeGreaterThanOrEqual(0);
      // An untrained model guesses: far from right.
      expect(v).toBeLessThan(0.5);
    }
});
