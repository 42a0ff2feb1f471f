/**
 * Builds the report: collects each pipeline's section from the store, then writes index.html with
 * the chart specs and every table's rows beside it. Separate from the command so the benchmark and
 * tests can build a report of pipelines that are not in pipelines/.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { ArtifactStore } from '@lockpick/artifacts';
import type { ResolvedPipeline } from '@lockpick/engine';
import { collectPipeline } from './collect.ts';
import type { PipelineSection, ReportModel } from './model.ts';
import { reportPage } from './page.ts';

/** A pipeline to report on: resolved, or the reason it could not be (bad --scale or --set for it). */
export type ReportEntry =
  | {
      pipeline: ResolvedPipeline;
      /** The `--set` overrides as given, for provenance. */
      overrides: string[];
      /** The exact command that computes what is missing. */
      rerun: string;
    }
  | { name: string; description: string; error: string };

export interface BuildOptions {
  store: ArtifactStore;
  out: string;
  entries: readonly ReportEntry[];
  /** The command that writes the report, as a person would type it (shown in the page). */
  command: string;
  /** The repository the report describes (for the commit and lockpick's version). */
  repoRoot: string;
}

/** The repository's commit and whether tracked files differ from it; nulls when git cannot tell. */
export function gitState(repoRoot: string): ReportModel['git'] {
  // --no-optional-locks: a report must not take the index lock or rewrite the index while someone
  // else works in the same checkout.
  const git = (...args: string[]) =>
    spawnSync('git', ['--no-optional-locks', ...args], { cwd: repoRoot, encoding: 'utf8' });
  const head = git('rev-parse', 'HEAD');
  if (head.status !== 0) return { commit: null, dirty: null };
  const status = git('status', '--porcelain', '--untracked-files=no');
  return {
    commit: head.stdout.trim(),
    dirty: status.status === 0 ? status.stdout.trim().length > 0 : null,
  };
}

async function lockpickVersion(repoRoot: string): Promise<string> {
  try {
    const json = JSON.parse(await fs.readFile(path.join(repoRoot, 'package.json'), 'utf8')) as {
      version?: string;
    };
    return json.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Writes a file whole under a temporary name, then renames it: a reader never sees half a file. */
async function writeWhole(file: string, text: string): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(tmp, text);
  await fs.rename(tmp, file);
}

export interface BuiltReport {
  /** The page's path. */
  index: string;
  model: ReportModel;
  /** Bytes of the page. */
  bytes: number;
}

export async function buildReport(options: BuildOptions): Promise<BuiltReport> {
  const sections: PipelineSection[] = [];
  for (const entry of options.entries) {
    if ('error' in entry) {
      sections.push({
        name: entry.name,
        description: entry.description,
        settings: { seeds: [], scale: '', overrides: [] },
        state: 'error',
        message: entry.error,
        tables: [],
        findings: [],
      });
      continue;
    }
    sections.push(
      await collectPipeline(entry.pipeline, options.store, {
        overrides: entry.overrides,
        rerun: entry.rerun,
      }),
    );
  }
  const model: ReportModel = {
    title:
      sections.length === 1
        ? `lockpick report: ${sections[0].name}`
        : `lockpick report: ${sections.length} pipelines`,
    generatedAt: new Date().toISOString(),
    command: options.command,
    lockpickVersion: await lockpickVersion(options.repoRoot),
    git: gitState(options.repoRoot),
    store: options.store.root,
    pipelines: sections,
  };
  const out = path.resolve(options.out);
  // Beside the page: each chart's bound spec (open it in any Vega-Lite tool) and each table's rows.
  for (const section of sections)
    for (const table of section.tables) {
      if (table.chart)
        await writeWhole(
          path.join(out, table.chart.specFile),
          `${JSON.stringify(table.chart.spec, null, 1)}\n`,
        );
      if (table.dataFile) {
        const names = table.columns.map((c) => c.name);
        const rows = table.rows.map((r) => Object.fromEntries(names.map((n, j) => [n, r[j]])));
        await writeWhole(
          path.join(out, table.dataFile),
          `${JSON.stringify({ label: table.label, hash: table.hash, rows })}\n`,
        );
      }
    }
  const page = reportPage(model);
  const index = path.join(out, 'index.html');
  await writeWhole(index, page);
  return { index, model, bytes: Buffer.byteLength(page) };
}
