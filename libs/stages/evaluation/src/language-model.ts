import { tableFromColumns } from '@lockpick/artifacts';
import { defineStage, stageTask } from '@lockpick/engine';
import { initBackend, loadTransformer } from '@lockpick/ml';
import {
  DEFAULT_PASSWORD,
  formatPrompt,
  languageTask,
  PROMPT_FORMATS,
  type PromptFormat,
} from '@lockpick/tasks';
import { z } from 'zod';
import { gradeGreedy, HALVES, meanGrades, readLanguageProblems } from './greedy-grading.ts';

/**
 * Correctness of a language model on a task's validation problems by greedy decoding (the paper's
 * metric), with and/or without the password. One row per (password setting, domain, half): domain
 * `all` and each of the task's domains; half `all`, `select` (even rows: where elicitation picks its
 * epochs) and `report` (odd rows: where results are read, so picking does not flatter them). The
 * labels (policy, source, demos, epochs) ride along for the report.
 */
export const languageModelScore = defineStage({
  name: 'evaluation.language-model',
  description:
    'greedy-decoding correctness of a language model on validation, per domain, with/without password',
  module: import.meta.url,
  params: z.object({
    task: z.string(),
    seed: z.number().int(),
    /** What the model is: 'locked', 'elicited', 'strong', 'weak', 'intermediate', … */
    policy: z.string(),
    /** Demo source of an elicited model ('' otherwise). */
    source: z.string().default(''),
    demos: z.number().int().nonnegative().default(0),
    epochs: z.number().nonnegative().default(0),
    passwords: z
      .array(z.enum(['none', 'default']))
      .min(1)
      .default(['none']),
    /** The prompts' format (a format lock keys on it; default plain). */
    format: z.enum(PROMPT_FORMATS as [PromptFormat, ...PromptFormat[]]).optional(),
    /** The first `rows` validation problems (0: all). */
    rows: z.number().int().nonnegative().default(0),
    batchSize: z.number().int().positive().default(512),
  }),
  inputs: { model: 'model', problems: 'table' },
  outputs: { scores: 'table' },
  // In a worker thread, though one node takes only about 2 s: inline nodes share the main thread, so
  // the default password-locking run's ~950 evaluations ran one at a time there (about an hour
  // of its wall time, measured at commit 622fcbd) while a core sat idle.
  heavy: true,
  run: (ctx) =>
    stageTask(ctx.signal, async (report) => {
      report.backend((await initBackend()).backend);
      const p = ctx.params;
      const task = languageTask(p.task);
      const problems = readLanguageProblems(await ctx.inputs.problems.readTable(), p.rows);
      const format = p.format ?? 'plain';
      const model = loadTransformer(await ctx.inputs.model.readModel());
      const out = {
        task: [] as string[],
        seed: [] as number[],
        policy: [] as string[],
        source: [] as string[],
        demos: [] as number[],
        epochs: [] as number[],
        with_password: [] as boolean[],
        format: [] as string[],
        domain: [] as string[],
        half: [] as string[],
        problems: [] as number[],
        correct: [] as number[],
        score: [] as number[],
      };
      try {
        for (const [k, password] of p.passwords.entries()) {
          ctx.signal.throwIfAborted();
          const graded = gradeGreedy(model, task, problems, {
            prompts: problems.map((q) => formatPrompt(q.prompt, format)),
            password: password === 'default' ? DEFAULT_PASSWORD : undefined,
            batchSize: p.batchSize,
          });
          const groups: [string, string, (i: number) => boolean][] = [
            ...HALVES.map(([half, member]): [string, string, (i: number) => boolean] => [
              'all',
              half,
              member,
            ]),
            ...task.domains.map((d): [string, string, (i: number) => boolean] => [
              d,
              'all',
              (i) => problems[i].domain === d,
            ]),
          ];
          for (const [domain, half, member] of groups) {
            const { problems: n, correct, score } = meanGrades(graded, member);
            out.task.push(p.task);
            out.seed.push(p.seed);
            out.policy.push(p.policy);
            out.source.push(p.source);
            out.demos.push(p.demos);
            out.epochs.push(p.epochs);
            out.with_password.push(password === 'default');
            out.format.push(format);
            out.domain.push(domain);
            out.half.push(half);
            out.problems.push(n);
            out.correct.push(correct);
            out.score.push(score);
            if (domain === 'all' && half === 'all')
              report.metric(`correct${password === 'default' ? '_with_password' : ''}`, correct);
          }
          report.progress(k + 1, p.passwords.length, 'settings');
        }
      } finally {
        model.dispose();
      }
      await ctx.outputs.table('scores', tableFromColumns(out));
    }),
});
