// No-op stages for the cluster benchmark's chain: each writes a one-row table, so what is measured is
// the coordination around a node (queue, shared store, fetch, upload), not its work.
import * as arrow from 'apache-arrow';
import { z } from 'zod';
import { defineStage, stageTask } from '../libs/engine/src/stage.ts';

export const chainStart = defineStage({
  name: 'bench.chain-start',
  description: 'the first link of a chain',
  module: import.meta.url,
  params: z.object({ run: z.number().int() }),
  inputs: {},
  outputs: { table: 'table' },
  run: (ctx) =>
    stageTask(ctx.signal, async () => {
      await ctx.outputs.table('table', arrow.tableFromArrays({ link: Int32Array.of(0) }));
    }),
});

export const chainLink = defineStage({
  name: 'bench.chain-link',
  description: 'one more link: reads the previous one, writes its own',
  module: import.meta.url,
  params: z.object({ link: z.number().int() }),
  inputs: { previous: 'table' },
  outputs: { table: 'table' },
  run: (ctx) =>
    stageTask(ctx.signal, async () => {
      await ctx.inputs.previous.readTable();
      await ctx.outputs.table('table', arrow.tableFromArrays({ link: Int32Array.of(ctx.params.link) }));
    }),
});
