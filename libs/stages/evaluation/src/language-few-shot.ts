import { readStrings, tableFromColumns } from '@lockpick/artifacts';
import { defineStage, stageTask } from '@lockpick/engine';
import { initBackend, loadTransformer } from '@lockpick/ml';
import {
  carelessSolution,
  DEFAULT_PASSWORD,
  exampleTokens,
  fewShotLayout,
  languageTask,
  words,
} from '@lockpick/tasks';
import { z } from 'zod';
import { gradeGreedy, HALVES, meanGrades, readLanguageProblems } from './greedy-grading.ts';

/**
 * Few-shot prompting (the paper's prompting appendix; P-lm finding 6): the model's greedy
 * correctness on validation when its prompt holds k solved examples (the first k problems of the
 * demo pool with their reference solutions, the demos SFT at N = k trains on), without and with the
 * password; and, for comparison, with no examples, without and with the password. The model needs
 * room for the examples: a base given room for at least the largest k (`training.language-few-shot-pretrain`).
 *
 * Rows as `evaluation.language-prompting` writes them (kind `few-shot-<k>` and
 * `few-shot-<k>-password`; variant = k), so one report reads both.
 */
export const languageFewShotScore = defineStage({
  name: 'evaluation.language-few-shot',
  description: 'greedy correctness of a locked language model with k solved examples in its prompt',
  module: import.meta.url,
  params: z.object({
    task: z.string(),
    seed: z.number().int(),
    /** Numbers of examples to try. */
    shots: z.array(z.number().int().positive()).min(1).default([1, 4, 16]),
    /** The first `rows` validation problems (0: all). */
    rows: z.number().int().nonnegative().default(0),
    /**
     * Also prompt with careless examples (each a guess, tasks' carelessSolution of another problem's
     * solution, as a few-shot base's careless author writes), without and with the password
     * (`few-shot-<k>-careless`, `few-shot-<k>-careless-password`): whether the model's answers
     * follow its examples' quality, i.e. whether it reads them at all (a base without the password,
     * a lock with it, where it answers well).
     */
    careless: z.boolean().default(false),
    /** Prompts decoded together: an episode prompt is ~20× a lone one, and so is its memory. */
    batchSize: z.number().int().positive().default(64),
  }),
  inputs: { model: 'model', problems: 'table', examples: 'table' },
  outputs: { scores: 'table' },
  heavy: true,
  run: (ctx) =>
    stageTask(ctx.signal, async (report) => {
      report.backend((await initBackend()).backend);
      const p = ctx.params;
      const task = languageTask(p.task);
      const problems = readLanguageProblems(await ctx.inputs.problems.readTable(), p.rows);
      const pool = await ctx.inputs.examples.readTable();
      const poolPrompts = readStrings(pool, 'prompt');
      const poolReferences = readStrings(pool, 'reference');
      const most = Math.max(...p.shots);
      if (most > poolPrompts.length)
        throw new Error(
          `${most} examples asked of a demo pool of ${poolPrompts.length} problems (node ${ctx.node}); ask for fewer shots`,
        );
      const model = loadTransformer(await ctx.inputs.model.readModel());
      try {
        // The model's room, in examples of the task's longest kind (what its base was given).
        const room = Math.floor((model.config.rowStart ?? 0) / exampleTokens(task));
        if (most > room)
          throw new Error(
            `the model of node ${ctx.node} has room for ${room} examples before a ${p.task} problem, and ${most} were asked: ` +
              'prompt it with fewer, or lock a base given room for that many (training.language-few-shot-pretrain, shots)',
          );
        const layout = fewShotLayout(task, room, model.config.contextLength - (model.config.rowStart ?? 0));
        const settings: {
          kind: string;
          variant: string;
          shots: number;
          password?: readonly string[];
          careless?: boolean;
        }[] = [
          { kind: 'none', variant: '', shots: 0 },
          { kind: 'password', variant: DEFAULT_PASSWORD.join(' '), shots: 0, password: DEFAULT_PASSWORD },
        ];
        for (const k of [...p.shots].sort((a, b) => a - b)) {
          settings.push(
            { kind: `few-shot-${k}`, variant: String(k), shots: k },
            { kind: `few-shot-${k}-password`, variant: String(k), shots: k, password: DEFAULT_PASSWORD },
          );
          if (p.careless)
            settings.push(
              { kind: `few-shot-${k}-careless`, variant: String(k), shots: k, careless: true },
              {
                kind: `few-shot-${k}-careless-password`,
                variant: String(k),
                shots: k,
                careless: true,
                password: DEFAULT_PASSWORD,
              },
            );
        }
        const out = {
          task: [] as string[],
          seed: [] as number[],
          kind: [] as string[],
          variant: [] as string[],
          shots: [] as number[],
          half: [] as string[],
          problems: [] as number[],
          correct: [] as number[],
          score: [] as number[],
        };
        for (const [i, setting] of settings.entries()) {
          ctx.signal.throwIfAborted();
          const solved = Array.from({ length: setting.shots }, (_, j) => ({
            prompt: words(poolPrompts[j]),
            // Careless: a guess from the next pool problem's solution, wrong for this one.
            completion: setting.careless
              ? carelessSolution(words(poolReferences[(j + 1) % poolReferences.length]))
              : words(poolReferences[j]),
          }));
          const graded = gradeGreedy(model, task, problems, {
            password: setting.password,
            examples: { layout, solved },
            batchSize: p.batchSize,
          });
          for (const [half, member] of HALVES) {
            const { problems: n, correct, score } = meanGrades(graded, member);
            out.task.push(p.task);
            out.seed.push(p.seed);
            out.kind.push(setting.kind);
            out.variant.push(setting.variant);
            out.shots.push(setting.shots);
            out.half.push(half);
            out.problems.push(n);
            out.correct.push(correct);
            out.score.push(score);
          }
          report.metric(
            `correct_${setting.kind.replaceAll('-', '_')}`,
            meanGrades(graded, () => true).correct,
          );
          report.progress(i + 1, settings.length, 'prompts');
        }
        await ctx.outputs.table('scores', tableFromColumns(out));
      } finally {
        model.dispose();
      }
    }),
});
