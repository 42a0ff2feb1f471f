import { readNumbers, readStrings } from '@lockpick/artifacts';
import { defineStage, stageTask } from '@lockpick/engine';
import { generate, initBackend, loadTransformer } from '@lockpick/ml';
import {
  DEFAULT_PASSWORD,
  encodePrompts,
  gradeCompletions,
  LM_VOCABULARY,
  languageTask,
  problemsFromColumns,
  taskLayout,
} from '@lockpick/tasks';
import { z } from 'zod';
import { sampleTable } from './language-tables.ts';

/**
 * Completions of a policy (a trained model) for a table of problems: `samples` per problem at
 * `temperature` (1: the policy's own distribution, 0: greedy), each graded by the task's checker.
 * These tables are what locking trains on (π_strong's and π_weak's samples, a fresh one per epoch)
 * and the demo sources of elicitation (π_strong, π_intermediate, π_weak).
 */
export const languageSamples = defineStage({
  name: 'datagen.language-samples',
  description: "a policy's graded completions for a table of problems (temperature 1 by default)",
  module: import.meta.url,
  params: z.object({
    task: z.string(),
    seed: z.number().int(),
    /** A label for the table, e.g. 'strong', 'weak', 'intermediate'. */
    policy: z.string(),
    samples: z.number().int().positive().default(1),
    temperature: z.number().nonnegative().default(1),
    /** Whether the prompts carry the (default) password. */
    password: z.enum(['none', 'default']).default('none'),
    /** The first `rows` problems of the table (0: all). */
    rows: z.number().int().nonnegative().default(0),
    batchSize: z.number().int().positive().default(512),
  }),
  inputs: { model: 'model', problems: 'table' },
  outputs: { samples: 'table' },
  heavy: true,
  run: (ctx) =>
    stageTask(ctx.signal, async (report) => {
      report.backend((await initBackend()).backend);
      const p = ctx.params;
      const task = languageTask(p.task);
      const layout = taskLayout(task);
      const table = await ctx.inputs.problems.readTable();
      const count = p.rows === 0 ? table.numRows : Math.min(p.rows, table.numRows);
      if (p.rows > table.numRows) report.warn(`asked for ${p.rows} problems, the table has ${table.numRows}`);
      // The problem columns are read once: the samples table carries them along.
      const domains = readStrings(table, 'domain').slice(0, count);
      const prompts = readStrings(table, 'prompt').slice(0, count);
      const difficulty = Int32Array.from(readNumbers(table, 'difficulty').slice(0, count));
      const data = readStrings(table, 'data').slice(0, count);
      const problems = problemsFromColumns({ domain: domains, difficulty, prompt: prompts, data });
      const encoded = encodePrompts(
        LM_VOCABULARY,
        layout,
        problems.map((q) => q.prompt),
        () => (p.password === 'default' ? DEFAULT_PASSWORD : undefined),
      );
      const model = loadTransformer(await ctx.inputs.model.readModel());
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
      const difficultyOut = new Int32Array(rows);
      const dataOut: string[] = [];
      try {
        for (let s = 0; s < p.samples; s++) {
          ctx.signal.throwIfAborted();
          const generated = generate(model, encoded, {
            maxNewTokens: layout.completionLength,
            temperature: p.temperature,
            seed: p.seed * 1_000_003 + s,
            batchSize: p.batchSize,
            stopToken: LM_VOCABULARY.endId,
          });
          const graded = gradeCompletions(task, LM_VOCABULARY, problems, generated, layout.completionLength);
          // Sample-major: rows s·count … (s+1)·count − 1 hold sample s of every problem.
          for (let i = 0; i < count; i++) {
            const r = s * count + i;
            out.problem[r] = i;
            out.sample[r] = s;
            out.domain.push(domains[i]);
            out.prompt.push(prompts[i]);
            out.completion.push(graded.completions[i].join(' '));
            out.correct[r] = graded.correct[i];
            out.score[r] = graded.score[i];
            difficultyOut[r] = difficulty[i];
            dataOut.push(data[i]);
          }
          report.progress(s + 1, p.samples, 'samples');
        }
      } finally {
        model.dispose();
      }
      const correct = out.correct.reduce((a, b) => a + b, 0) / Math.max(1, rows);
      report.metric('correct', correct);
      await ctx.outputs.table(
        'samples',
        sampleTable(task, p.policy, out, { difficulty: difficultyOut, data: dataOut }),
      );
    }),
});
