/**
 * What `lockpick results` and `lockpick report` both serve: a pipeline's result tables, read from
 * the cache after a plan proves every node is cached with the given settings (never recomputed).
 * One code path, so the page shows exactly the tables the terminal prints.
 */
import type { ArtifactStore } from '@lockpick/artifacts';
import { type PlanEntry, planPipeline, type ResolvedPipeline } from '@lockpick/engine';
import type * as arrow from 'apache-arrow';

export interface ResultTable {
  node: string;
  output: string;
  /** `node.output`, as `results` titles it. */
  label: string;
  /** The table object's sha256 in the store. */
  hash: string;
  table: arrow.Table;
}

export type PipelineResults =
  | { state: 'complete'; plan: PlanEntry[]; tables: ResultTable[]; findings: ResultTable[] }
  | { state: 'incomplete'; plan: PlanEntry[]; missing: PlanEntry[] }
  | { state: 'damaged'; plan: PlanEntry[]; damaged: string[] };

/** The output a report stage writes its judged findings to (columns finding, verdict, …). */
export const FINDINGS_OUTPUT = 'findings';

/** Lines naming each damaged cached object. */
function damagedLines(plan: readonly PlanEntry[]): string[] {
  const what = {
    missing: 'is missing',
    corrupt: 'is corrupt',
    'wrong-size': 'is not the object its manifest records',
  };
  return plan.flatMap((e) =>
    (e.damaged ?? []).map((d) => `  node "${d.node}", output "${d.output}": ${what[d.state]}: ${d.file}`),
  );
}

/**
 * Plans the pipeline against the store and, when every node is cached, reads its result tables;
 * with `findings`, also each result node's `findings` output that is not itself a result table
 * (the report's findings panel). Damaged objects come first: they make the results unservable.
 */
export async function loadResults(
  pipeline: ResolvedPipeline,
  store: ArtifactStore,
  options: { findings?: boolean; plan?: PlanEntry[] } = {},
): Promise<PipelineResults> {
  const plan = options.plan ?? (await planPipeline(pipeline, store));
  const damaged = damagedLines(plan);
  if (damaged.length > 0) return { state: 'damaged', plan, damaged };
  const missing = plan.filter((e) => e.status !== 'cached');
  if (missing.length > 0) return { state: 'incomplete', plan, missing };
  const entries = new Map(plan.map((e) => [e.node, e]));
  const read = async (node: string, output: string): Promise<ResultTable> => {
    const ref = entries.get(node)!.outputs![output];
    return { node, output, label: `${node}.${output}`, hash: ref.hash, table: await store.readTable(ref) };
  };
  const tables: ResultTable[] = [];
  for (const result of pipeline.results) tables.push(await read(result.node, result.output));
  const findings: ResultTable[] = [];
  if (options.findings) {
    const shown = new Set(tables.map((t) => t.label));
    for (const node of new Set(pipeline.results.map((r) => r.node))) {
      const ref = entries.get(node)?.outputs?.[FINDINGS_OUTPUT];
      if (ref?.kind === 'table' && !shown.has(`${node}.${FINDINGS_OUTPUT}`))
        findings.push(await read(node, FINDINGS_OUTPUT));
    }
    // A findings table that is itself a result (password-locking's) counts too.
    findings.push(...tables.filter((t) => isFindingsTable(t.table)));
  }
  return { state: 'complete', plan, tables, findings };
}

/** A table of judged findings: it has `finding` and `verdict` columns. */
export function isFindingsTable(table: arrow.Table): boolean {
  const names = table.schema.names;
  return names.includes('finding') && names.includes('verdict');
}
