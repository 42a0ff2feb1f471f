/**
 * Collects one pipeline's part of the report from the store: its result tables (through the same
 * plan-then-read path as `lockpick results`), their charts, the findings its report stages judged,
 * and the provenance its manifests record. Reads the store only.
 */
import type { ArtifactStore, Manifest } from '@lockpick/artifacts';
import type { PlanEntry, ResolvedPipeline } from '@lockpick/engine';
import type * as arrow from 'apache-arrow';
import { boundSpec, chartRows, chartSpecOf, tableRows } from '../plot.ts';
import { loadResults, type ResultTable } from '../results-data.ts';
import { plain } from '../table-format.ts';
import type {
  ColumnInfo,
  ColumnKind,
  DiffInfo,
  FindingItem,
  PipelineSection,
  Provenance,
  TableSection,
  Verdict,
} from './model.ts';

/** Nodes named in an incomplete pipeline's message; the count says how many more. */
const MISSING_SHOWN = 12;

/** A file-name-safe form of a label (node names hold brackets, commas and `=`). */
export function fileSafe(name: string): string {
  return name.replace(/[^\w.-]+/g, '_');
}

function columnKind(type: arrow.DataType): ColumnKind {
  const id = String(type);
  if (/^(Float|Int|Uint|Decimal)/i.test(id)) return 'number';
  if (/^(Utf8|LargeUtf8|Dictionary)/i.test(id)) return 'string';
  if (/^Bool/i.test(id)) return 'boolean';
  return 'other';
}

/**
 * Published-against-ours pairs by the report stages' naming: `X_paper` beside `X`, and
 * `published_X` beside `X`; `X_ci95` is X's interval when present. Only numeric pairs count.
 */
export function diffsOf(columns: readonly ColumnInfo[]): DiffInfo[] {
  const numeric = new Set(columns.filter((c) => c.kind === 'number').map((c) => c.name));
  const diffs: DiffInfo[] = [];
  for (const c of columns) {
    if (!numeric.has(c.name)) continue;
    const ours = c.name.endsWith('_paper')
      ? c.name.slice(0, -'_paper'.length)
      : c.name.startsWith('published_')
        ? c.name.slice('published_'.length)
        : undefined;
    if (ours === undefined || !numeric.has(ours)) continue;
    diffs.push({ ours, paper: c.name, ...(numeric.has(`${ours}_ci95`) ? { ci: `${ours}_ci95` } : {}) });
  }
  return diffs;
}

/** A table as the page shows it: columns with kinds and roles, every row, paper pairs. */
export function tableSection(id: string, label: string, hash: string, table: arrow.Table): TableSection {
  const columns: ColumnInfo[] = table.schema.fields.map((f) => ({ name: f.name, kind: columnKind(f.type) }));
  const diffs = diffsOf(columns);
  for (const d of diffs) {
    const ours = columns.find((c) => c.name === d.ours);
    const paper = columns.find((c) => c.name === d.paper);
    if (ours) ours.role = 'ours';
    if (paper) paper.role = 'paper';
  }
  const vectors = columns.map((c) => table.getChild(c.name));
  const rows: unknown[][] = new Array(table.numRows);
  for (let i = 0; i < table.numRows; i++) rows[i] = vectors.map((v) => plain(v?.get(i)) ?? null);
  return { id, label, hash, columns, rows, diffs };
}

/** holds → reproduced, fails → not reproduced, anything else (null, inconclusive) → inconclusive. */
export function verdictOf(raw: unknown): Verdict {
  const text = typeof raw === 'string' ? raw.trim().toLowerCase() : '';
  if (text.startsWith('holds') || text === 'reproduced') return 'reproduced';
  if (text.startsWith('fails') || text === 'not reproduced') return 'not reproduced';
  return 'inconclusive';
}

/**
 * The findings a table judges, one per row with a claim. Tables written with the report stages'
 * findings helper have subject / paper / measured columns; others (password-locking's) spread the
 * evidence over columns, which then read as `name = value`.
 */
export function findingsOf(result: ResultTable): FindingItem[] {
  const t = result.table;
  const names = t.schema.fields.map((f) => f.name);
  const known = new Set(['finding', 'verdict', 'subject', 'paper', 'measured']);
  const text = (v: unknown) => (v === null || v === undefined ? '' : String(plain(v)));
  const number = (v: unknown) =>
    typeof v === 'number' ? String(Math.round(v * 1e4) / 1e4) : typeof v === 'bigint' ? String(v) : text(v);
  const items: FindingItem[] = [];
  for (let i = 0; i < t.numRows; i++) {
    const get = (name: string) => (names.includes(name) ? t.getChild(name)?.get(i) : undefined);
    const finding = text(get('finding'));
    if (!finding) continue;
    const others = names.filter((n) => !known.has(n));
    const stringOthers = others.filter((n) => typeof get(n) === 'string');
    const subject = names.includes('subject')
      ? text(get('subject'))
      : stringOthers.map((n) => `${n} ${text(get(n))}`).join(', ');
    const measured = names.includes('measured')
      ? text(get('measured'))
      : others
          .filter((n) => !stringOthers.includes(n) && get(n) !== null && get(n) !== undefined)
          .map((n) => `${n} = ${number(get(n))}`)
          .join(', ');
    items.push({
      table: result.label,
      hash: result.hash,
      finding,
      subject,
      paper: text(get('paper')),
      measured,
      verdict: verdictOf(get('verdict')),
      rawVerdict: text(get('verdict')) || '(none)',
    });
  }
  return items;
}

/** The shape of a run record this report reads; settings and ids exist only in newer stores. */
interface RunRecordLike {
  id?: string;
  updatedAt: string;
  settings?: { scale: string; seeds: number[]; overrides: string[] };
  nodes: Record<string, { key: string }>;
}

/** Every recorded run of the pipeline the store knows (one record in stores from before run ids). */
async function runRecordsOf(store: ArtifactStore, pipeline: string): Promise<RunRecordLike[]> {
  const lister = store as ArtifactStore & { listRunRecords?: (p: string) => Promise<RunRecordLike[]> };
  if (typeof lister.listRunRecords === 'function') return lister.listRunRecords(pipeline);
  const one = (await store.readRunRecord(pipeline)) as RunRecordLike | undefined;
  return one ? [one] : [];
}

const compactMetrics = (metrics: Record<string, number>) =>
  Object.entries(metrics)
    .map(([k, v]) => `${k}=${Number.isInteger(v) ? v : Number(v.toPrecision(4))}`)
    .join(', ');

/** Provenance from the manifests of the planned (all cached) nodes. */
async function provenanceOf(
  pipeline: ResolvedPipeline,
  store: ArtifactStore,
  plan: readonly PlanEntry[],
  tables: readonly { label: string; hash: string }[],
): Promise<Provenance> {
  const manifests: (Manifest | undefined)[] = await Promise.all(
    plan.map((e) => (e.key ? store.readManifest(e.key) : Promise.resolve(undefined))),
  );
  const columns: Record<string, (string | number | null)[]> = {
    node: [],
    stage: [],
    backend: [],
    duration_s: [],
    started: [],
    finished: [],
    metrics: [],
    key: [],
    code: [],
  };
  const backends: Record<string, number> = {};
  const versions: Record<string, string> = {};
  let nodeSeconds = 0;
  let firstStart: string | null = null;
  let lastFinish: string | null = null;
  for (const [i, entry] of plan.entries()) {
    const m = manifests[i];
    // A node that is not heavy runs inline and never picks a TensorFlow.js backend.
    const backend = m?.backend ?? 'none (no model code)';
    backends[backend] = (backends[backend] ?? 0) + 1;
    Object.assign(versions, m?.versions ?? {});
    const seconds = m ? m.timings.durationMs / 1000 : null;
    if (seconds !== null) nodeSeconds += seconds;
    if (m && (firstStart === null || m.timings.startedAt < firstStart)) firstStart = m.timings.startedAt;
    if (m && (lastFinish === null || m.timings.finishedAt > lastFinish)) lastFinish = m.timings.finishedAt;
    columns.node.push(entry.node);
    columns.stage.push(entry.stage);
    columns.backend.push(backend);
    columns.duration_s.push(seconds === null ? null : Math.round(seconds * 1000) / 1000);
    columns.started.push(m?.timings.startedAt ?? null);
    columns.finished.push(m?.timings.finishedAt ?? null);
    columns.metrics.push(m ? compactMetrics(m.metrics) : null);
    columns.key.push(entry.key?.slice(0, 12) ?? null);
    columns.code.push(m?.components.code.hash.slice(0, 12) ?? null);
  }
  const nodeTable: TableSection = {
    id: `${fileSafe(pipeline.name)}--nodes`,
    label: 'nodes',
    hash: '',
    columns: Object.keys(columns).map((name) => ({
      name,
      kind: name === 'duration_s' ? 'number' : 'string',
    })),
    rows: plan.map((_, i) => Object.keys(columns).map((name) => columns[name][i])),
    diffs: [],
  };
  // The recorded run whose keys are these results: the one matching most nodes, newest first.
  const keys = new Map(plan.map((e) => [e.node, e.key]));
  let best: { record: RunRecordLike; matching: number } | undefined;
  for (const record of await runRecordsOf(store, pipeline.name)) {
    const matching = Object.entries(record.nodes).filter(([node, n]) => keys.get(node) === n.key).length;
    if (!best || matching > best.matching) best = { record, matching };
  }
  return {
    nodes: nodeTable,
    backends,
    nodeSeconds: Math.round(nodeSeconds * 10) / 10,
    firstStart,
    lastFinish,
    runRecord: best
      ? {
          id: best.record.id ?? null,
          updatedAt: best.record.updatedAt,
          matching: best.matching,
          total: plan.length,
          settings: best.record.settings ?? null,
        }
      : null,
    versions,
    tables: [...tables],
  };
}

/** Canonical `node.param=<JSON>` strings of the overrides, as given on the command line. */
export type OverrideTexts = string[];

/**
 * One pipeline's section. `rerun` is the exact command that computes what is missing; `files`
 * names the spec and data files beside the page (relative paths), which the caller writes.
 */
export async function collectPipeline(
  pipeline: ResolvedPipeline,
  store: ArtifactStore,
  options: { overrides: OverrideTexts; rerun: string },
): Promise<PipelineSection> {
  const base: PipelineSection = {
    name: pipeline.name,
    description: pipeline.description,
    settings: {
      seeds: [...pipeline.options.seeds],
      scale: pipeline.options.scale,
      overrides: options.overrides,
    },
    state: 'complete',
    tables: [],
    findings: [],
  };
  if (pipeline.results.length === 0)
    return { ...base, state: 'error', message: `pipeline ${pipeline.name} declares no result table` };
  const loaded = await loadResults(pipeline, store, { findings: true });
  if (loaded.state === 'damaged')
    return {
      ...base,
      state: 'damaged',
      message: `cached objects are damaged:\n${loaded.damaged.join('\n')}`,
      rerun: options.rerun,
    };
  if (loaded.state === 'incomplete')
    return {
      ...base,
      state: 'incomplete',
      message: `${loaded.missing.length} of ${loaded.plan.length} nodes have not run with these settings`,
      missing: {
        count: loaded.missing.length,
        total: loaded.plan.length,
        nodes: loaded.missing.slice(0, MISSING_SHOWN).map((e) => e.node),
      },
      rerun: options.rerun,
    };
  const dir = fileSafe(pipeline.name);
  const tables: TableSection[] = [];
  for (const result of loaded.tables) {
    const section = tableSection(
      `${dir}--${fileSafe(result.label)}`,
      result.label,
      result.hash,
      result.table,
    );
    section.dataFile = `data/${dir}/${fileSafe(result.label)}.json`;
    const spec = chartSpecOf(result.table, result.label);
    if (spec) {
      const drawn = chartRows(tableRows(result.table), spec);
      section.chart = {
        spec: boundSpec(spec, drawn.rows),
        specFile: `specs/${dir}/${fileSafe(result.label)}.vl.json`,
        ...(drawn.note ? { note: drawn.note } : {}),
      };
    }
    tables.push(section);
  }
  const findings = loaded.findings.flatMap(findingsOf);
  const shown = [...loaded.tables, ...loaded.findings.filter((f) => !loaded.tables.includes(f))];
  return {
    ...base,
    tables,
    findings,
    provenance: await provenanceOf(
      pipeline,
      store,
      loaded.plan,
      shown.map((t) => ({ label: t.label, hash: t.hash })),
    ),
  };
}
