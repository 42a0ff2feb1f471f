// Small real stages for the engine's own tests and benchmark: they write real Parquet tables and,
// when LOCKPICK_TEST_LOG is set, append one line per computation so tests can count them.
import { appendFileSync } from 'node:fs';
import { threadId } from 'node:worker_threads';
import * as arrow from 'apache-arrow';
import { z } from 'zod';
import { defineStage, stageTask } from '../stage.ts';

function logComputation(node: string): void {
  const file = process.env.LOCKPICK_TEST_LOG;
  if (file) appendFileSync(file, `${node}\n`);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal.reason);
    };
    // Removed when the timer fires: a long loop sleeps many times on one signal.
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Writes the integers 0..n-1 (times `scale`), slowly if asked. */
export const numbers = defineStage({
  name: 'test.numbers',
  description: 'the integers 0..n-1 times scale',
  module: import.meta.url,
  params: z.object({
    n: z.number().int().positive().default(10),
    scale: z.number().default(1),
    delayMs: z.number().int().nonnegative().default(0),
  }),
  inputs: {},
  outputs: { table: 'table' },
  run: (ctx) =>
    stageTask(ctx.signal, async (report, signal) => {
      logComputation(ctx.node);
      const steps = 10;
      for (let i = 0; i < steps && ctx.params.delayMs > 0; i++) {
        await sleep(ctx.params.delayMs / steps, signal);
        report.progress(i + 1, steps, 'steps');
      }
      const values = Float64Array.from({ length: ctx.params.n }, (_, i) => i * ctx.params.scale);
      await ctx.outputs.table('table', arrow.tableFromArrays({ value: values }));
    }),
});

/**
 * Sums a table's `value` column; `rounding` changes nothing for integer input (early cut-off tests).
 * Heavy, so it runs in a worker thread; it reports that thread's id (worker-pool tests).
 */
export const sum = defineStage({
  name: 'test.sum',
  description: 'sum of the value column',
  module: import.meta.url,
  params: z.object({
    rounding: z.enum(['none', 'floor']).default('none'),
    delayMs: z.number().int().nonnegative().default(0),
    fail: z.boolean().default(false),
  }),
  inputs: { table: 'table' },
  outputs: { table: 'table' },
  heavy: true,
  run: (ctx) =>
    stageTask(ctx.signal, async (report, signal) => {
      logComputation(ctx.node);
      report.metric('thread', threadId);
      if (ctx.params.delayMs > 0) await sleep(ctx.params.delayMs, signal);
      if (ctx.params.fail) throw new Error(`deliberate failure in ${ctx.node}`);
      const table = await ctx.inputs.table.readTable();
      let total = 0;
      for (const v of table.getChild('value') ?? []) total += Number(v);
      if (ctx.params.rounding === 'floor') total = Math.floor(total);
      report.metric('sum', total);
      await ctx.outputs.table('table', arrow.tableFromArrays({ sum: Float64Array.of(total) }));
    }),
});

/** Adds two single-row sum tables, keeping both parts. */
export const join = defineStage({
  name: 'test.join',
  description: 'two sums side by side',
  module: import.meta.url,
  params: z.object({}),
  inputs: { left: 'table', right: 'table' },
  outputs: { table: 'table' },
  run: (ctx) =>
    stageTask(ctx.signal, async () => {
      logComputation(ctx.node);
      const left = Number((await ctx.inputs.left.readTable()).getChild('sum')?.get(0));
      const right = Number((await ctx.inputs.right.readTable()).getChild('sum')?.get(0));
      const columns = {
        left: Float64Array.of(left),
        right: Float64Array.of(right),
        sum: Float64Array.of(left + right),
      };
      await ctx.outputs.table('table', arrow.tableFromArrays(columns));
    }),
});

/** Always fails, for fail-fast and keep-going tests. */
export const broken = defineStage({
  name: 'test.broken',
  description: 'fails',
  module: import.meta.url,
  params: z.object({}),
  inputs: { table: 'table' },
  outputs: { table: 'table' },
  run: (ctx) =>
    stageTask(ctx.signal, async () => {
      throw new Error(`deliberate failure in ${ctx.node}`);
    }),
});

/** A stage that never writes its declared output. */
export const forgetful = defineStage({
  name: 'test.forgetful',
  description: 'forgets its output',
  module: import.meta.url,
  params: z.object({}),
  inputs: {},
  outputs: { table: 'table' },
  run: (ctx) => stageTask(ctx.signal, async () => undefined),
});

/** Gathers any number of single-row sum tables into one table (a report over a sweep). */
export const gather = defineStage({
  name: 'test.gather',
  description: 'one row per input sum',
  module: import.meta.url,
  params: z.object({}),
  inputs: { parts: 'table[]' },
  outputs: { table: 'table' },
  run: (ctx) =>
    stageTask(ctx.signal, async () => {
      const sums: number[] = [];
      for (const part of ctx.inputs.parts)
        sums.push(Number((await part.readTable()).getChild('sum')?.get(0)));
      await ctx.outputs.table('table', arrow.tableFromArrays({ sum: Float64Array.from(sums) }));
    }),
});

/** Counts to `steps`, checkpointing each step; reports where it resumed from. */
export const counter = defineStage({
  name: 'test.counter',
  description: 'a resumable loop',
  module: import.meta.url,
  params: z.object({
    steps: z.number().int().positive(),
    delayMs: z.number().int().nonnegative().default(30),
  }),
  inputs: {},
  outputs: { table: 'table' },
  run: (ctx) =>
    stageTask(ctx.signal, async (report, signal) => {
      const saved = await ctx.checkpoint.load();
      const resumedFrom = saved ? (saved.tensors[0].data as Int32Array)[0] : 0;
      for (let step = resumedFrom + 1; step <= ctx.params.steps; step++) {
        await sleep(ctx.params.delayMs, signal);
        await ctx.checkpoint.save({
          config: {},
          tensors: [{ name: 'step', shape: [1], dtype: 'int32', data: Int32Array.of(step) }],
        });
        report.progress(step, ctx.params.steps, 'steps');
      }
      await ctx.outputs.table('table', arrow.tableFromArrays({ resumedFrom: Int32Array.of(resumedFrom) }));
    }),
});
