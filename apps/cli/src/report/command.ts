/**
 * `lockpick report [pipeline…]`: one offline HTML page of every named pipeline's results (every
 * registered pipeline when none is named), ours beside the published values. main.ts hands over the
 * few things it owns (pipeline lookup, the store, the rerun command's wording) through the context.
 */
import { constants } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { ArtifactStore } from '@lockpick/artifacts';
import {
  type ParamOverride,
  type PipelineDefinition,
  PipelineError,
  type ResolveOptions,
  resolvePipeline,
} from '@lockpick/engine';
import { buildReport, type ReportEntry } from './build.ts';

export interface ReportContext {
  /** Pipeline names in pipelines/. */
  pipelineNames(): string[];
  /** A pipeline by name (throws a usage error naming the available ones). */
  loadPipeline(name: string): Promise<PipelineDefinition>;
  /** The settings of --seeds, --scale and --set. */
  resolveOptions: ResolveOptions & { overrides: ParamOverride[] };
  /** The --set texts as given. */
  overrideTexts: string[];
  /** The store, opened read-only (reports never change it). */
  openStore(pipeline?: string): Promise<ArtifactStore>;
  /** `npx lockpick run <name> …` with the options this command was given. */
  rerunCommand(name: string): string;
  /** This command as typed, for the page. */
  command: string;
  /** --out, if given. */
  out: string | undefined;
  repoRoot: string;
  usageError(message: string): Error;
  print(text: string): void;
}

/** Where the page goes: --out DIR, else report/ in the store when the store is writable. */
async function outFolder(ctx: ReportContext, store: ArtifactStore): Promise<string> {
  if (ctx.out !== undefined) {
    if (ctx.out.trim() === '') throw ctx.usageError('--out: empty path; give a folder for the report');
    return path.resolve(ctx.out);
  }
  try {
    await fs.access(store.root, constants.W_OK);
  } catch {
    throw ctx.usageError(
      `the store ${store.root} is not writable: give a folder for the report with --out DIR`,
    );
  }
  return path.join(store.root, 'report');
}

export async function commandReport(names: string[], ctx: ReportContext): Promise<number> {
  const asked = names.length > 0;
  const chosen = asked ? [...new Set(names)] : ctx.pipelineNames();
  // Load every named pipeline first, so a mistyped name fails before any work.
  const definitions: PipelineDefinition[] = [];
  for (const name of chosen) definitions.push(await ctx.loadPipeline(name));
  const store = await ctx.openStore(chosen[0]);
  const entries: ReportEntry[] = [];
  for (const [i, definition] of definitions.entries()) {
    try {
      entries.push({
        pipeline: resolvePipeline(definition, ctx.resolveOptions),
        overrides: ctx.overrideTexts,
        rerun: ctx.rerunCommand(chosen[i]),
      });
    } catch (error) {
      // A named pipeline that does not take these options is the user's mistake; in the report of
      // every pipeline, one that lacks the scale or a --set node is listed with the reason instead.
      if (!(error instanceof PipelineError) || asked) throw error;
      entries.push({ name: definition.name, description: definition.description, error: error.message });
    }
  }
  const out = await outFolder(ctx, store);
  const started = performance.now();
  const built = await buildReport({ store, out, entries, command: ctx.command, repoRoot: ctx.repoRoot });
  for (const p of built.model.pipelines) {
    const verdicts = p.findings.reduce<Record<string, number>>(
      (acc, f) => Object.assign(acc, { [f.verdict]: (acc[f.verdict] ?? 0) + 1 }),
      {},
    );
    const detail =
      p.state === 'complete'
        ? `${p.tables.length} tables, ${p.findings.length} findings${
            p.findings.length
              ? ` (${Object.entries(verdicts)
                  .map(([v, n]) => `${n} ${v}`)
                  .join(', ')})`
              : ''
          }`
        : `${p.message?.split('\n')[0] ?? ''}${p.rerun ? `; to finish it: ${p.rerun}` : ''}`;
    ctx.print(`  ${p.name.padEnd(22)} ${p.state.padEnd(10)} ${detail}\n`);
  }
  const relative = path.relative(process.cwd(), built.index);
  const shown = relative.startsWith('..') || path.isAbsolute(relative) ? built.index : relative;
  ctx.print(
    `report: ${shown} (${(built.bytes / 1e6).toFixed(1)} MB, written in ${((performance.now() - started) / 1000).toFixed(1)} s)\n`,
  );
  return 0;
}
