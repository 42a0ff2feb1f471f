import { readNumbers, readStrings } from '@lockpick/artifacts';
import { defineStage, stageTask } from '@lockpick/engine';
import { createRng, LM_VOCABULARY, languageTask, PAD, SEPARATOR } from '@lockpick/tasks';
import { z } from 'zod';
import { readProblems, sampleTable } from './language-tables.ts';

/**
 * The paper's `fixedrdm` weak policy: completions drawn word by word from one fixed random
 * distribution over the vocabulary, whatever the prompt (a π_weak that knows nothing). Lengths are
 * uniform up to the task's longest completion. Same table shape as `datagen.language-samples`.
 */
export const fixedRandomSamples = defineStage({
  name: 'datagen.fixedrdm-samples',
  description: 'completions from a fixed random token distribution (the fixedrdm weak policy)',
  module: import.meta.url,
  params: z.object({
    task: z.string(),
    seed: z.number().int(),
    samples: z.number().int().positive().default(1),
    /** Seeds the distribution itself (fixed for the project, like a given weak model). */
    distributionSeed: z.number().int().default(0),
    rows: z.number().int().nonnegative().default(0),
  }),
  inputs: { problems: 'table' },
  outputs: { samples: 'table' },
  run: (ctx) =>
    stageTask(ctx.signal, async (report) => {
      const p = ctx.params;
      const task = languageTask(p.task);
      const table = await ctx.inputs.problems.readTable();
      const count = p.rows === 0 ? table.numRows : Math.min(p.rows, table.numRows);
      const problems = readProblems(table).slice(0, count);
      const words = LM_VOCABULARY.words.filter((w) => w !== PAD && w !== SEPARATOR);
      const weightsRng = createRng(p.distributionSeed, 'fixedrdm/weights');
      // Exponential weights give a peaked but full-support distribution.
      const weights = words.map(() => -Math.log(1 - weightsRng.float()));
      const rng = createRng(p.seed, 'fixedrdm', task.name);
      const rows = count * p.samples;
      const out = {
        problem: new Int32Array(rows),
        sample: new Int32Array(rows),
        domain: [] as string[],
        prompt: [] as string[],
        completion: [] as string[],
        correct: new Uint8Array(rows),
        score: new Float32Array(rows),
      };
      const domains = readStrings(table, 'domain');
      const prompts = readStrings(table, 'prompt');
      const difficulty = readNumbers(table, 'difficulty');
      const data = readStrings(table, 'data');
      const difficultyOut = new Int32Array(rows);
      const dataOut: string[] = [];
      for (let s = 0; s < p.samples; s++)
        for (let i = 0; i < count; i++) {
          const r = s * count + i;
          const length = rng.int(1, task.maxCompletionWords + 1);
          const completion: string[] = [];
          for (let k = 0; k < length; k++) {
            const word = words[rng.weightedIndex(weights)];
            if (word === '<eos>') break;
            completion.push(word);
          }
          const result = task.check(problems[i], completion);
          out.problem[r] = i;
          out.sample[r] = s;
          out.domain.push(domains[i]);
          out.prompt.push(prompts[i]);
          out.completion.push(completion.join(' '));
          out.correct[r] = result.correct ? 1 : 0;
          out.score[r] = result.score;
          difficultyOut[r] = difficulty[i];
          dataOut.push(data[i]);
        }
      report.metric('correct', out.correct.reduce((a, b) => a + b, 0) / Math.max(1, rows));
      await ctx.outputs.table(
        'samples',
        sampleTable(task, 'fixedrdm', out, { difficulty: difficultyOut, data: dataOut }),
      );
      report.progress(1, 1, 'tables');
    }),
});
