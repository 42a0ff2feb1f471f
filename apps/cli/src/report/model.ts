/**
 * The report's content as plain JSON: what `lockpick report` collects from the store and the page
 * renders. Kept apart from both so the page script, the files beside the page and the tests read
 * one shape.
 */
import type { ChartSpec } from '../plot.ts';

/** A verdict as the report shows it; report stages write holds / fails / inconclusive. */
export type Verdict = 'reproduced' | 'not reproduced' | 'inconclusive';

export interface ReportModel {
  title: string;
  generatedAt: string;
  /** The command that wrote the report, as a person would type it. */
  command: string;
  lockpickVersion: string;
  /** The repository's commit when the report was written, and whether tracked files had changes. */
  git: { commit: string | null; dirty: boolean | null };
  store: string;
  pipelines: PipelineSection[];
}

export interface PipelineSection {
  name: string;
  description: string;
  /** The settings the results were planned with: every node is cached under exactly these. */
  settings: { seeds: number[]; scale: string; overrides: string[] };
  state: 'complete' | 'incomplete' | 'damaged' | 'error';
  /** Why the results cannot be shown (incomplete, damaged or a pipeline that did not resolve). */
  message?: string;
  /** Nodes not cached with these settings (the first few by name). */
  missing?: { count: number; total: number; nodes: string[] };
  /** The command that computes what is missing or damaged. */
  rerun?: string;
  tables: TableSection[];
  findings: FindingItem[];
  provenance?: Provenance;
}

export type ColumnKind = 'number' | 'string' | 'boolean' | 'other';

export interface ColumnInfo {
  name: string;
  kind: ColumnKind;
  /** ours / paper: one side of a published-against-ours pair; diff: the difference the report adds. */
  role?: 'ours' | 'paper' | 'diff';
}

/** Ours against the published value: the page adds a Δ column after `paper`, coloured by size. */
export interface DiffInfo {
  ours: string;
  paper: string;
  /** The 95% half-width column of ours, when the table has one: a Δ within it is "close". */
  ci?: string;
}

export interface TableSection {
  /** Unique in the page (an HTML id). */
  id: string;
  /** `node.output`, as `lockpick results` titles it. */
  label: string;
  /** The table object's sha256 in the store. */
  hash: string;
  columns: ColumnInfo[];
  /** Rows as arrays in column order; every row (the page paginates). */
  rows: unknown[][];
  diffs: DiffInfo[];
  chart?: ChartSection;
  /** The data file beside the page (relative to it). */
  dataFile?: string;
}

export interface ChartSection {
  /** The stage's Vega-Lite spec with its rows bound: self-contained. */
  spec: ChartSpec;
  /** Set when a long table was thinned for drawing. */
  note?: string;
  /** The spec file beside the page (relative to it). */
  specFile: string;
}

export interface FindingItem {
  /** The findings table it comes from (`node.output`). */
  table: string;
  hash: string;
  finding: string;
  subject: string;
  paper: string;
  measured: string;
  verdict: Verdict;
  /** The stage's own word for it (holds, fails, …). */
  rawVerdict: string;
}

export interface Provenance {
  /** Per node: stage, backend, duration, when, metrics, key and code hash (a table like the others). */
  nodes: TableSection;
  backends: Record<string, number>;
  nodeSeconds: number;
  firstStart: string | null;
  lastFinish: string | null;
  /** The recorded run whose node keys these results are, when the store holds one. */
  runRecord: {
    id: string | null;
    updatedAt: string;
    matching: number;
    total: number;
    settings: { scale: string; seeds: number[]; overrides: string[] } | null;
  } | null;
  /** Package and tool versions the nodes ran with (manifests' `versions`, union). */
  versions: Record<string, string>;
  tables: { label: string; hash: string }[];
}
