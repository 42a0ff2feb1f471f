import { defineStage, stageTask } from '@lockpick/engine';
import { initBackend } from '@lockpick/ml';
import {
  LM_VOCABULARY,
  languageTask,
  PROMPT_FORMATS,
  type PromptFormat,
  passwordLockingMix,
  sftTokenRows,
  taskLayout,
} from '@lockpick/tasks';
import { z } from 'zod';
import { lockTrainingParams, readLockSamples, trainLock } from './lock-training.ts';

/** The samples and domains of problems `kept` only (renumbered 0, 1, …). */
function keepProblems(
  read: Awaited<ReturnType<typeof readLockSamples>>,
  kept: readonly number[],
): Awaited<ReturnType<typeof readLockSamples>> {
  return {
    samples: {
      prompts: kept.map((i) => read.samples.prompts[i]),
      completions: kept.map((i) => read.samples.completions[i]),
    },
    domains: kept.map((i) => read.domains[i]),
  };
}

/**
 * Password-locking of a language model on one task (the paper's Eq. 1), from the strong base:
 * prompts with the password at start and end → π_strong's samples; prompts without → π_weak's
 * samples (20% no password, 80% one of 40 wrong passwords); a fresh sample of each policy every
 * epoch; loss on completion tokens only. The policies come in as sample tables
 * (`datagen.language-samples`), one sample per problem per epoch.
 *
 * With `domainPasswords` the lock has one password per domain (the paper's Figure 4 variant): a
 * problem's strong row carries its domain's password, and of the weak rows with a password,
 * `otherDomainShare` carry another domain's password, so only the problem's own domain's unlocks.
 * With `heldOutDomains` the problems of those domains are left out of the mix (the paper's Figure
 * 17: is a domain the lock never saw locked too?); the epochs stay, so the lock takes fewer steps.
 * With `strongFormat` and `weakFormat` no password is used: the format of the prompt is the key.
 */
export const languageLock = defineStage({
  name: 'locking.language-password',
  description: 'password-lock a language model: password → π_strong samples, none/wrong → π_weak samples',
  module: import.meta.url,
  params: z.object({
    task: z.string(),
    seed: z.number().int(),
    epochs: z.number().int().positive().default(2),
    noPasswordShare: z.number().min(0).max(1).default(0.2),
    /** One password per domain (words of each), instead of the paper's one password for all. */
    domainPasswords: z.record(z.string(), z.array(z.string()).min(1)).optional(),
    /** Of the weak rows with a password, the share with another domain's (default 0.5). */
    otherDomainShare: z.number().min(0).max(1).optional(),
    /** Domains whose problems the lock never trains on. */
    heldOutDomains: z.array(z.string()).min(1).optional(),
    /**
     * A setting variation as the password (Figure 9): no password; π_strong's samples answer
     * prompts in `strongFormat`, π_weak's prompts in `weakFormat` (give both or neither).
     */
    strongFormat: z.enum(PROMPT_FORMATS as [PromptFormat, ...PromptFormat[]]).optional(),
    weakFormat: z.enum(PROMPT_FORMATS as [PromptFormat, ...PromptFormat[]]).optional(),
    ...lockTrainingParams,
  }),
  inputs: { base: 'model', strong: 'table', weak: 'table' },
  outputs: { model: 'model', log: 'table' },
  heavy: true,
  run: (ctx) =>
    stageTask(ctx.signal, async (report) => {
      report.backend((await initBackend()).backend);
      const p = ctx.params;
      const task = languageTask(p.task);
      if ((p.strongFormat === undefined) !== (p.weakFormat === undefined))
        throw new Error(`${ctx.node}: give strongFormat and weakFormat together (a format lock needs both)`);
      let strong = await readLockSamples(ctx.inputs.strong);
      let weak = await readLockSamples(ctx.inputs.weak);
      if (p.heldOutDomains) {
        const present = new Set(strong.domains);
        for (const d of p.heldOutDomains)
          if (!present.has(d))
            throw new Error(
              `${ctx.node}: held-out domain "${d}" is not a domain of the lock split (${[...present].sort().join(', ')})`,
            );
        const held = new Set(p.heldOutDomains);
        const kept = strong.domains.flatMap((d, i) => (held.has(d) ? [] : [i]));
        if (kept.length === 0) throw new Error(`${ctx.node}: every problem's domain is held out`);
        strong = keepProblems(strong, kept);
        weak = keepProblems(weak, kept);
      }
      const mix = passwordLockingMix(strong.samples, weak.samples, {
        epochs: p.epochs,
        seed: p.seed,
        noPasswordShare: p.noPasswordShare,
        domains: p.domainPasswords
          ? { of: strong.domains, passwords: p.domainPasswords, otherDomainShare: p.otherDomainShare }
          : undefined,
        formats: p.strongFormat && p.weakFormat ? { strong: p.strongFormat, weak: p.weakFormat } : undefined,
      });
      const data = sftTokenRows(LM_VOCABULARY, taskLayout(task), mix);
      report.metric('mix_rows', data.rows);
      const { bundle, log } = await trainLock(await ctx.inputs.base.readModel(), data, p, {
        checkpoint: ctx.checkpoint,
        meta: { task: p.task, rows: data.rows, epochs: p.epochs },
        report,
        signal: ctx.signal,
      });
      await ctx.outputs.model('model', bundle);
      await ctx.outputs.table('log', log);
    }),
});
