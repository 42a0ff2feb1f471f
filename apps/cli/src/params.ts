import { canonicalJson, type Json } from '@lockpick/artifacts';
import type { ParamOverride, ResolvedNode } from '@lockpick/engine';

/** One parameter of one node as `lockpick params` shows it. */
export interface ParamRow {
  name: string;
  value: Json;
  /** The stage's default, or undefined when the parameter has none (required, or optional). */
  default?: Json;
  required: boolean;
  /** Where the value comes from: the stage's default, the pipeline's wiring, or a `--set`. */
  from: 'default' | 'pipeline' | '--set';
  description?: string;
}

interface FieldSchema {
  safeParse(value: unknown): { success: boolean; data?: unknown };
  description?: string;
}

/** Each parameter of a resolved node: its value, its default, and where the value comes from. */
export function nodeParams(node: ResolvedNode, overrides: readonly ParamOverride[] = []): ParamRow[] {
  const shape = node.stage.params.shape as Record<string, FieldSchema>;
  const setHere = new Set(
    overrides.filter((o) => o.node === node.name || o.node === node.base).map((o) => o.param),
  );
  return Object.entries(shape).map(([name, field]) => {
    // A field's default is what it parses `undefined` to; a required field does not parse it.
    const empty = field.safeParse(undefined);
    const fallback = empty.success && empty.data !== undefined ? (empty.data as Json) : undefined;
    const value = node.params[name] ?? null;
    const from = setHere.has(name)
      ? '--set'
      : fallback !== undefined && canonicalJson(fallback) === canonicalJson(value)
        ? 'default'
        : 'pipeline';
    return {
      name,
      value,
      ...(fallback !== undefined ? { default: fallback } : {}),
      required: !empty.success,
      from,
      ...(field.description ? { description: field.description } : {}),
    };
  });
}

/** Aligned text for one node's parameters. */
export function formatNodeParams(node: ResolvedNode, rows: readonly ParamRow[]): string {
  const lines = [`${node.name}  (stage ${node.stage.name})`];
  if (rows.length === 0) return `${lines[0]}\n  no parameters`;
  const table = [
    ['parameter', 'value', 'default', 'from'],
    ...rows.map((r) => [
      r.name,
      JSON.stringify(r.value),
      r.default !== undefined ? JSON.stringify(r.default) : r.required ? '(required)' : '(none)',
      r.from,
    ]),
  ];
  const widths = table[0].map((_, c) => Math.max(...table.map((row) => row[c].length)));
  for (const [i, row] of table.entries()) {
    const text = row.map((cell, c) => (c === row.length - 1 ? cell : cell.padEnd(widths[c]))).join('  ');
    const description = i > 0 ? rows[i - 1].description : undefined;
    lines.push(`  ${text}${description ? `  — ${description}` : ''}`);
  }
  return lines.join('\n');
}
