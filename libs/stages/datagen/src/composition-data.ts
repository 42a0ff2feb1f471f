import { defineStage, stageTask } from '@lockpick/engine';
import { demoPool, evalPrompts, generateFunctions, lockingMix, strongData } from '@lockpick/tasks';
import * as arrow from 'apache-arrow';
import { z } from 'zod';
import { compositionTableToArrow } from './composition-tables.ts';

/**
 * Data of the function-composition task (paper §7) for one seed: the 32 functions, the locking mix
 * (half password + strong answer, half no password + weak answer), strong pretraining data, the
 * pool of strong no-password demos, and the held-out evaluation prompts.
 */
export const compositionData = defineStage({
  name: 'datagen.composition',
  description: 'function-composition functions and datasets for one seed',
  module: import.meta.url,
  params: z.object({
    seed: z.number().int(),
    lockingRows: z.number().int().positive().default(200_000),
    pretrainRows: z.number().int().nonnegative().default(200_000),
    demoRows: z.number().int().positive().default(1024),
    evalRows: z.number().int().positive().default(4096),
  }),
  inputs: {},
  outputs: { functions: 'table', mix: 'table', pretrain: 'table', demos: 'table', eval: 'table' },
  run: (ctx) =>
    stageTask(ctx.signal, async (report) => {
      const { seed, lockingRows, pretrainRows, demoRows, evalRows } = ctx.params;
      const functions = generateFunctions(seed);
      await ctx.outputs.table(
        'functions',
        new arrow.Table({
          name: arrow.vectorFromArray(
            functions.map((_, k) => `fn${k}`),
            new arrow.Utf8(),
          ),
          kind: arrow.vectorFromArray(
            functions.map((f) => f.kind),
            new arrow.Utf8(),
          ),
          locked: arrow.vectorFromArray(functions.map((f) => f.locked)),
          mapping: arrow.vectorFromArray(
            functions.map((f) => (f.kind === 'reorder' ? f.order : f.mapping).join(' ')),
            new arrow.Utf8(),
          ),
        }),
      );
      const tables = [
        ['mix', () => lockingMix(seed, lockingRows)],
        ['pretrain', () => strongData(seed, pretrainRows)],
        ['demos', () => demoPool(seed, demoRows)],
        ['eval', () => evalPrompts(seed, evalRows)],
      ] as const;
      for (const [i, [name, make]] of tables.entries()) {
        ctx.signal.throwIfAborted();
        const table = make();
        await ctx.outputs.table(name, compositionTableToArrow(table));
        report.progress(i + 1, tables.length, 'tables', `${name}: ${table.rows} rows`);
      }
    }),
});
