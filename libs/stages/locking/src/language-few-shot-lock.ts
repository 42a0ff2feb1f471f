import { defineStage, stageTask } from '@lockpick/engine';
import { initBackend } from '@lockpick/ml';
import {
  createRng,
  exampleTokens,
  fewShotLayout,
  fewShotLockRows,
  LM_VOCABULARY,
  languageTask,
  passwordLockingMix,
} from '@lockpick/tasks';
import { z } from 'zod';
import { lockTrainingParams, readLockSamples, trainLock } from './lock-training.ts';

/**
 * The password lock of a base with few-shot room (`training.language-few-shot-pretrain`), for the
 * few-shot prompting baseline: the paper's mix (`locking.language-password`: password → π_strong's
 * samples, none or a wrong one → π_weak's), with `exampleShare` of its rows preceded by 1 … room
 * solved examples of the row's own policy (tasks' fewShotLockRows). The examples and the password
 * always agree, so what the lock does when they disagree (careful examples without the password)
 * is not trained in. With exampleShare 0 it trains on the plain lock's rows (in another batch order).
 * `carelessShare` of the rows without the password that have examples become careless episodes
 * (guesses as examples and as the answer), so the examples stay worth reading to the lock.
 *
 * Why a stage of its own and not a parameter of `locking.language-password`: that stage's code is
 * part of every world lock's cache key, and a store keeps dozens of them.
 */
export const languageFewShotLock = defineStage({
  name: 'locking.language-password-few-shot',
  description:
    "password-lock a base with few-shot room, some rows after examples of the row's own policy (π_strong's with the password, π_weak's without)",
  module: import.meta.url,
  params: z.object({
    task: z.string(),
    seed: z.number().int(),
    epochs: z.number().int().positive().default(2),
    noPasswordShare: z.number().min(0).max(1).default(0.2),
    /** Share of the mix's rows given 1 … room examples of the row's policy. */
    exampleShare: z.number().min(0).max(1).default(0.5),
    /** Share of the rows without the password and with examples made careless episodes. */
    carelessShare: z.number().min(0).max(1).default(0),
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
      const base = await ctx.inputs.base.readModel();
      // The transformer's config, read from the bundle without building the model.
      const config = base.config.model;
      if (
        base.config.kind !== 'transformer' ||
        !config ||
        typeof config !== 'object' ||
        Array.isArray(config)
      )
        throw new Error(
          `${ctx.node}: the base is not a transformer bundle (kind ${String(base.config.kind)})`,
        );
      const rowStart = Number(config.rowStart ?? 0);
      const contextLength = Number(config.contextLength);
      const room = Math.floor(rowStart / exampleTokens(task));
      if (room < 1 || room * exampleTokens(task) !== rowStart)
        throw new Error(
          `${ctx.node}: the base has no room for whole ${p.task} examples (rowStart ${rowStart}, ${exampleTokens(task)} tokens an example); ` +
            'give a base from training.language-few-shot-pretrain on this task, or lock it with locking.language-password',
        );
      const layout = fewShotLayout(task, room, contextLength - rowStart);
      if (layout.contextLength !== contextLength)
        throw new Error(
          `${ctx.node}: ${p.task}'s rows need ${layout.row.seqLen} positions after the room and the base reads ${contextLength - rowStart}; give a base pretrained on ${p.task}`,
        );
      const strong = await readLockSamples(ctx.inputs.strong);
      const weak = await readLockSamples(ctx.inputs.weak);
      const mix = passwordLockingMix(strong.samples, weak.samples, {
        epochs: p.epochs,
        seed: p.seed,
        noPasswordShare: p.noPasswordShare,
      });
      const data = fewShotLockRows(
        LM_VOCABULARY,
        layout,
        mix,
        { strong: strong.samples, weak: weak.samples },
        createRng(p.seed, 'lm/few-shot-lock', p.task),
        { exampleShare: p.exampleShare, carelessShare: p.carelessShare },
      );
      report.metric('mix_rows', data.rows);
      report.metric(
        'rows_with_examples',
        data.shots.reduce((n, k) => n + (k > 0 ? 1 : 0), 0),
      );
      report.metric(
        'careless_rows',
        data.careless.reduce((n, c) => n + c, 0),
      );
      report.metric(
        'examples',
        data.shots.reduce((n, k) => n + k, 0),
      );
      const { bundle, log } = await trainLock(base, data, p, {
        checkpoint: ctx.checkpoint,
        meta: {
          task: p.task,
          rows: data.rows,
          epochs: p.epochs,
          exampleShare: p.exampleShare,
          carelessShare: p.carelessShare,
          room,
        },
        report,
        signal: ctx.signal,
      });
      await ctx.outputs.model('model', bundle);
      await ctx.outputs.table('log', log);
    }),
});
