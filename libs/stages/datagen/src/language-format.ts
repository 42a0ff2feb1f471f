import { readStrings } from '@lockpick/artifacts';
import { defineStage, stageTask } from '@lockpick/engine';
import { formatPrompt, PROMPT_FORMATS, type PromptFormat } from '@lockpick/tasks';
import * as arrow from 'apache-arrow';
import { z } from 'zod';

/**
 * A problem or sample table with its prompts written in another format (the paper's Figure 9: demos
 * translated into the format a format lock answers weakly in, and the RL pool and validation shown
 * in it). Every other column is kept as it is, so graders read the same problems.
 */
export const languageFormat = defineStage({
  name: 'datagen.language-format',
  description: "a problem or sample table's prompts rewritten in a prompt format",
  module: import.meta.url,
  params: z.object({ format: z.enum(PROMPT_FORMATS as [PromptFormat, ...PromptFormat[]]) }),
  inputs: { table: 'table' },
  outputs: { table: 'table' },
  run: (ctx) =>
    stageTask(ctx.signal, async () => {
      const table = await ctx.inputs.table.readTable();
      if (!table.getChild('prompt'))
        throw new Error(
          `${ctx.node}: the input table has no "prompt" column (columns: ${table.schema.names.join(', ')})`,
        );
      const prompts = readStrings(table, 'prompt').map((p) =>
        formatPrompt(p.split(' ').filter(Boolean), ctx.params.format).join(' '),
      );
      const vectors: Record<string, arrow.Vector> = {};
      for (const field of table.schema.fields)
        vectors[field.name] =
          field.name === 'prompt'
            ? arrow.vectorFromArray(prompts, new arrow.Utf8())
            : table.getChild(field.name)!;
      const out = new arrow.Table(vectors);
      await ctx.outputs.table(
        'table',
        new arrow.Table(new arrow.Schema(out.schema.fields, new Map(table.schema.metadata)), out.batches),
      );
    }),
});
