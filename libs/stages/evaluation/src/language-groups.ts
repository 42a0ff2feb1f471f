import { tableFromColumns } from '@lockpick/artifacts';
import { defineStage, stageTask } from '@lockpick/engine';
import { initBackend, loadTransformer } from '@lockpick/ml';
import { DEFAULT_PASSWORD, languageTask } from '@lockpick/tasks';
import { z } from 'zod';
import { gradeGreedy, HALVES, meanGrades, readLanguageProblems } from './greedy-grading.ts';

/**
 * Greedy correctness of a language model on validation, per group of problems: every domain and
 * every difficulty level of the task, each on both halves of validation (`select` picks epochs,
 * `report` gives results). The cross-domain experiments (the paper's Figures 4, 10, 11) read the
 * groups a model was *not* fine-tuned on from it; the report combines groups by their `problems`.
 * `trained_on` and the other labels ride along for the report.
 */
export const languageGroupScore = defineStage({
  name: 'evaluation.language-groups',
  description: 'greedy-decoding correctness of a language model per domain and per difficulty, both halves',
  module: import.meta.url,
  params: z.object({
    task: z.string(),
    seed: z.number().int(),
    /** What the model is: 'locked', 'elicited', … */
    policy: z.string(),
    /** Which lock it is or comes from: 'one-password', 'per-domain', … ('' where there is one kind). */
    lock: z.string().default(''),
    /** The demos' group of an elicited model ('domain:algebra', 'difficulty:3', 'all'; '' otherwise). */
    trainedOn: z.string().default(''),
    demos: z.number().int().nonnegative().default(0),
    epochs: z.number().nonnegative().default(0),
    /**
     * Prompts to score: no password, the paper's password, each problem's own domain's password,
     * or another domain's (the next domain's, in `domainPasswords` order): the last two need
     * `domainPasswords`.
     */
    passwords: z
      .array(z.enum(['none', 'default', 'domain', 'other-domain']))
      .min(1)
      .default(['none']),
    /** One password per domain, for a lock with one (words of each). */
    domainPasswords: z.record(z.string(), z.array(z.string()).min(1)).optional(),
    /** The first `rows` validation problems (0: all). */
    rows: z.number().int().nonnegative().default(0),
    batchSize: z.number().int().positive().default(512),
  }),
  inputs: { model: 'model', problems: 'table' },
  outputs: { scores: 'table' },
  heavy: true,
  run: (ctx) =>
    stageTask(ctx.signal, async (report) => {
      report.backend((await initBackend()).backend);
      const p = ctx.params;
      const task = languageTask(p.task);
      const problems = readLanguageProblems(await ctx.inputs.problems.readTable(), p.rows);
      const groups: [grouping: string, group: string, member: (i: number) => boolean][] = [
        ['all', 'all', () => true],
        ...task.domains.map((d): [string, string, (i: number) => boolean] => [
          'domain',
          d,
          (i) => problems[i].domain === d,
        ]),
        ...Array.from({ length: task.difficulties }, (_, k): [string, string, (i: number) => boolean] => [
          'difficulty',
          String(k + 1),
          (i) => problems[i].difficulty === k + 1,
        ]),
      ];
      const out = {
        task: [] as string[],
        seed: [] as number[],
        policy: [] as string[],
        lock: [] as string[],
        trained_on: [] as string[],
        demos: [] as number[],
        epochs: [] as number[],
        with_password: [] as boolean[],
        password: [] as string[],
        grouping: [] as string[],
        group: [] as string[],
        half: [] as string[],
        problems: [] as number[],
        correct: [] as number[],
        score: [] as number[],
      };
      const perDomain = p.domainPasswords;
      if (!perDomain && p.passwords.some((x) => x === 'domain' || x === 'other-domain'))
        throw new Error(`${ctx.node}: passwords 'domain' and 'other-domain' need domainPasswords`);
      const domainNames = Object.keys(perDomain ?? {});
      const passwordOf = (setting: string) => (i: number) => {
        if (setting === 'none') return undefined;
        if (setting === 'default') return DEFAULT_PASSWORD;
        const own = domainNames.indexOf(problems[i].domain);
        if (own < 0) throw new Error(`${ctx.node}: no password for domain "${problems[i].domain}"`);
        return perDomain![domainNames[setting === 'domain' ? own : (own + 1) % domainNames.length]];
      };
      const model = loadTransformer(await ctx.inputs.model.readModel());
      try {
        for (const [k, password] of p.passwords.entries()) {
          ctx.signal.throwIfAborted();
          const graded = gradeGreedy(model, task, problems, {
            password: passwordOf(password),
            batchSize: p.batchSize,
          });
          for (const [grouping, group, inGroup] of groups)
            for (const [half, inHalf] of HALVES) {
              const { problems: n, correct, score } = meanGrades(graded, (i) => inGroup(i) && inHalf(i));
              out.task.push(p.task);
              out.seed.push(p.seed);
              out.policy.push(p.policy);
              out.lock.push(p.lock);
              out.trained_on.push(p.trainedOn);
              out.demos.push(p.demos);
              out.epochs.push(p.epochs);
              out.with_password.push(password !== 'none');
              out.password.push(password);
              out.grouping.push(grouping);
              out.group.push(group);
              out.half.push(half);
              out.problems.push(n);
              out.correct.push(correct);
              out.score.push(score);
              if (grouping === 'all' && half === 'all')
                report.metric(
                  password === 'none'
                    ? 'correct'
                    : password === 'default'
                      ? 'correct_with_password'
                      : `correct_${password.replace('-', '_')}_password`,
                  correct,
                );
            }
          report.progress(k + 1, p.passwords.length, 'settings');
        }
      } finally {
        model.dispose();
      }
      await ctx.outputs.table('scores', tableFromColumns(out));
    }),
});
