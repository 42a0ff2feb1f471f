import type { Json } from '@lockpick/artifacts';
import type { z } from 'zod';
import type { AnyStage, ArtifactKind, InputKind } from './stage.ts';

/** A typed pointer to one output of one node, used to wire it into another node's input. */
export interface OutputRef<K extends ArtifactKind = ArtifactKind> {
  node: string;
  output: string;
  kind: K;
}

export interface NodeSpec<S extends AnyStage> {
  params?: Partial<z.input<S['params']>>;
  inputs: { [K in keyof S['inputs']]: InputWiring<S['inputs'][K]> };
}

/** A single input takes one output; a list input (`'table[]'`) takes an array of them. */
export type InputWiring<K extends InputKind> = K extends `${infer B extends ArtifactKind}[]`
  ? OutputRef<B>[]
  : OutputRef<K & ArtifactKind>;

type Wire = { node: string; output: string; kind?: ArtifactKind };

export interface NodeHandle<S extends AnyStage> {
  name: string;
  out: { [K in keyof S['outputs']]: OutputRef<S['outputs'][K]> };
}

export type SweepGrid = Record<string, readonly (string | number | boolean)[]>;
export type SweepPoint<G extends SweepGrid> = { [K in keyof G]: G[K][number] };

/** A node as the builder recorded it, before overrides and validation. */
export interface DraftNode {
  name: string;
  /** The node's name without its sweep point: `--set base.param=…` reaches every point. */
  base: string;
  stage: AnyStage;
  params: Record<string, unknown>;
  inputs: Record<string, Wire | Wire[]>;
}

export interface PipelineOptions {
  seeds: number[];
  scale: string;
}

export interface PipelineDefinition {
  name: string;
  description: string;
  defaultSeeds: number[];
  /** Named budgets; the first is the default. `smoke` is the tiny one tests use. */
  scales: string[];
  build(builder: PipelineBuilder, options: PipelineOptions): void;
}

export function definePipeline(definition: PipelineDefinition): PipelineDefinition {
  if (definition.scales.length === 0) throw new Error(`pipeline "${definition.name}" declares no scale`);
  return definition;
}

const NODE_NAME = /^[A-Za-z][\w-]*$/;

export class PipelineBuilder {
  readonly nodes: DraftNode[] = [];
  private readonly names = new Set<string>();
  resultsRefs: OutputRef<'table'>[] = [];

  /** Adds one node running `stage` with `params` (defaults fill the rest) on wired `inputs`. */
  node<S extends AnyStage>(name: string, stage: S, spec: NodeSpec<S>): NodeHandle<S> {
    if (!NODE_NAME.test(name))
      throw new PipelineError([`node name "${name}": use letters, digits, "_" and "-"`]);
    return this.add(name, name, stage, spec);
  }

  /**
   * Adds one node per point of the grid (the cartesian product of its value lists), named
   * `name[key=value,…]`; each point is cached on its own.
   */
  sweep<S extends AnyStage, const G extends SweepGrid>(
    name: string,
    stage: S,
    grid: G,
    spec: (point: SweepPoint<G>) => NodeSpec<S>,
  ): (NodeHandle<S> & { point: SweepPoint<G> })[] {
    if (!NODE_NAME.test(name))
      throw new PipelineError([`sweep name "${name}": use letters, digits, "_" and "-"`]);
    const keys = Object.keys(grid);
    const handles: (NodeHandle<S> & { point: SweepPoint<G> })[] = [];
    for (const point of cartesian(grid)) {
      const label = keys.map((k) => `${k}=${String(point[k])}`).join(',');
      const handle = this.add(`${name}[${label}]`, name, stage, spec(point as SweepPoint<G>));
      handles.push({ ...handle, point: point as SweepPoint<G> });
    }
    return handles;
  }

  /** Declares the table(s) `lockpick results` prints, in order. */
  results(...refs: OutputRef<'table'>[]): void {
    this.resultsRefs = refs;
  }

  private add<S extends AnyStage>(name: string, base: string, stage: S, spec: NodeSpec<S>): NodeHandle<S> {
    if (this.names.has(name)) throw new PipelineError([`node "${name}" is defined twice`]);
    this.names.add(name);
    const inputs: DraftNode['inputs'] = {};
    for (const [input, ref] of Object.entries(spec.inputs as Record<string, OutputRef | OutputRef[]>))
      inputs[input] = Array.isArray(ref)
        ? ref.map((r) => ({ node: r.node, output: r.output, kind: r.kind }))
        : { node: ref.node, output: ref.output, kind: ref.kind };
    this.nodes.push({ name, base, stage, params: { ...(spec.params ?? {}) }, inputs });
    const out = {} as Record<string, OutputRef>;
    for (const [output, kind] of Object.entries(stage.outputs)) out[output] = { node: name, output, kind };
    return { name, out: out as NodeHandle<S>['out'] };
  }
}

function cartesian(grid: SweepGrid): Record<string, string | number | boolean>[] {
  let points: Record<string, string | number | boolean>[] = [{}];
  for (const [key, values] of Object.entries(grid)) {
    if (values.length === 0) throw new PipelineError([`sweep key "${key}" has no values`]);
    points = points.flatMap((p) => values.map((v) => ({ ...p, [key]: v })));
  }
  return points;
}

/** Invalid pipeline: every problem found, each naming its node and field. */
export class PipelineError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.length === 1 ? problems[0] : `invalid pipeline:\n  - ${problems.join('\n  - ')}`);
  }
}

/**
 * A validated node: parameters resolved through the stage's schema, inputs checked. A list input
 * `xs` wired to three outputs appears here as `xs[0]`, `xs[1]`, `xs[2]`.
 */
export interface ResolvedNode {
  name: string;
  base: string;
  stage: AnyStage;
  params: Record<string, Json>;
  inputs: Record<string, { node: string; output: string }>;
}

export interface ResolvedPipeline {
  name: string;
  description: string;
  options: PipelineOptions;
  /** The `--set` overrides it was resolved with, in the order given (part of its run id). */
  overrides: ParamOverride[];
  /** Topological order: every node after the nodes it reads from. */
  nodes: ResolvedNode[];
  /** The tables `lockpick results` prints (none: the pipeline has no result table). */
  results: OutputRef<'table'>[];
}

/** One `--set node.param=value`: `node` is a node name or a sweep's base name. */
export interface ParamOverride {
  node: string;
  param: string;
  value: Json;
  /** The text as the user wrote it, for error messages. */
  source: string;
}

/** Parses `node.param=value` (value as JSON when it parses, else a string). */
export function parseOverride(text: string): ParamOverride {
  const bracket = text.indexOf('[');
  const searchFrom = bracket >= 0 && bracket < text.indexOf('.') ? text.indexOf(']') : 0;
  const dot = text.indexOf('.', Math.max(searchFrom, 0));
  const eq = text.indexOf('=', dot);
  if (dot <= 0 || eq <= dot + 1) throw new PipelineError([`--set ${text}: expected node.param=value`]);
  const raw = text.slice(eq + 1);
  let value: Json;
  try {
    value = JSON.parse(raw) as Json;
  } catch {
    value = raw;
  }
  return { node: text.slice(0, dot), param: text.slice(dot + 1, eq), value, source: text };
}

export interface ResolveOptions {
  seeds?: number[];
  scale?: string;
  overrides?: ParamOverride[];
}

/**
 * Builds the pipeline for the given options and validates it completely before anything runs:
 * unknown or mistyped inputs, parameters that fail the stage's schema, unknown parameters, `--set`
 * on unknown nodes, and cycles. Throws a PipelineError listing every problem.
 */
export function resolvePipeline(
  definition: PipelineDefinition,
  options: ResolveOptions = {},
): ResolvedPipeline {
  const scale = options.scale ?? definition.scales[0];
  const problems: string[] = [];
  if (!definition.scales.includes(scale))
    throw new PipelineError([
      `--scale ${scale}: pipeline "${definition.name}" has scales ${definition.scales.join(', ')}`,
    ]);
  const seeds = options.seeds ?? definition.defaultSeeds;
  if (seeds.length === 0 || seeds.some((s) => !Number.isInteger(s)))
    throw new PipelineError([
      `--seeds: expected a comma-separated list of integers, got "${seeds.join(',')}"`,
    ]);
  const builder = new PipelineBuilder();
  definition.build(builder, { seeds, scale });
  const drafts = builder.nodes;
  const byName = new Map(drafts.map((n) => [n.name, n]));

  const overrides = options.overrides ?? [];
  for (const o of overrides) {
    if (!drafts.some((n) => n.name === o.node || n.base === o.node)) {
      const names = [...new Set(drafts.map((n) => n.base))].join(', ');
      problems.push(
        `--set ${o.source}: no node named "${o.node}" in pipeline "${definition.name}" (nodes: ${names})`,
      );
    }
  }

  const resolved: ResolvedNode[] = [];
  for (const draft of drafts) {
    const params: Record<string, unknown> = { ...draft.params };
    // Base-name overrides first, then exact-name ones, so the more specific wins.
    for (const o of overrides.filter((x) => x.node === draft.base && x.node !== draft.name))
      params[o.param] = o.value;
    for (const o of overrides.filter((x) => x.node === draft.name)) params[o.param] = o.value;
    const known = Object.keys(draft.stage.params.shape as object);
    for (const key of Object.keys(params))
      if (!known.includes(key))
        problems.push(
          `node "${draft.name}": unknown parameter "${key}" for stage ${draft.stage.name} (parameters: ${known.join(', ') || 'none'})`,
        );
    const parsed = draft.stage.params.safeParse(params);
    if (!parsed.success) {
      for (const issue of parsed.error.issues)
        problems.push(
          `node "${draft.name}": parameter "${issue.path.join('.') || '(all)'}": ${issue.message}`,
        );
    }
    const inputs: ResolvedNode['inputs'] = {};
    for (const [input, declared] of Object.entries(draft.stage.inputs)) {
      const wiring = draft.inputs[input];
      const isList = declared.endsWith('[]');
      const kind = declared.replace('[]', '') as ArtifactKind;
      if (!wiring) {
        problems.push(`node "${draft.name}": input "${input}" (${declared}) is not wired`);
        continue;
      }
      if (isList !== Array.isArray(wiring)) {
        problems.push(
          `node "${draft.name}": input "${input}" is ${isList ? 'a list (give an array of outputs)' : 'a single artifact (give one output, not an array)'}`,
        );
        continue;
      }
      const wires = Array.isArray(wiring) ? wiring : [wiring];
      wires.forEach((wire, i) => {
        const label = isList ? `${input}[${i}]` : input;
        const upstream = byName.get(wire.node);
        if (!upstream) {
          problems.push(
            `node "${draft.name}": input "${label}" reads from node "${wire.node}", which does not exist`,
          );
          return;
        }
        const upstreamKind = upstream.stage.outputs[wire.output];
        if (!upstreamKind)
          problems.push(
            `node "${draft.name}": input "${label}" reads "${wire.node}.${wire.output}", but stage ${upstream.stage.name} has outputs ${Object.keys(upstream.stage.outputs).join(', ')}`,
          );
        else if (upstreamKind !== kind)
          problems.push(
            `node "${draft.name}": input "${label}" expects a ${kind} but "${wire.node}.${wire.output}" is a ${upstreamKind}`,
          );
        inputs[label] = { node: wire.node, output: wire.output };
      });
    }
    for (const input of Object.keys(draft.inputs))
      if (!(input in draft.stage.inputs))
        problems.push(`node "${draft.name}": stage ${draft.stage.name} has no input "${input}"`);
    resolved.push({
      name: draft.name,
      base: draft.base,
      stage: draft.stage,
      params: (parsed.success ? parsed.data : {}) as Record<string, Json>,
      inputs,
    });
  }
  for (const ref of builder.resultsRefs)
    if (!byName.has(ref.node)) problems.push(`results: node "${ref.node}" does not exist`);
  if (problems.length > 0) throw new PipelineError(problems);
  return {
    name: definition.name,
    description: definition.description,
    options: { seeds, scale },
    overrides,
    nodes: topologicalOrder(resolved),
    results: builder.resultsRefs,
  };
}

/** Orders nodes so that each comes after its inputs; a cycle is an error naming its nodes. */
export function topologicalOrder(nodes: ResolvedNode[]): ResolvedNode[] {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const state = new Map<string, 'visiting' | 'done'>();
  const order: ResolvedNode[] = [];
  const visit = (node: ResolvedNode, trail: string[]) => {
    const s = state.get(node.name);
    if (s === 'done') return;
    if (s === 'visiting') {
      const cycle = [...trail.slice(trail.indexOf(node.name)), node.name];
      throw new PipelineError([`cycle: ${cycle.join(' → ')}`]);
    }
    state.set(node.name, 'visiting');
    for (const wire of Object.values(node.inputs)) {
      const upstream = byName.get(wire.node);
      if (upstream) visit(upstream, [...trail, node.name]);
    }
    state.set(node.name, 'done');
    order.push(node);
  };
  for (const node of nodes) visit(node, []);
  return order;
}

/**
 * The part of a pipeline that `--only` asks for: the nodes whose name (or sweep name) matches one
 * of `patterns` (`*` matches any run of characters: `lock-*-100`), with everything they read from,
 * so a researcher can run the locks of one seed without its 600 elicitation nodes. Result tables
 * whose node is left out are dropped. A pattern that matches no node is an error naming it.
 */
export function selectNodes(pipeline: ResolvedPipeline, patterns: readonly string[]): ResolvedPipeline {
  const matchers = patterns.map((p) => {
    const source = p
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*');
    return { pattern: p, regex: new RegExp(`^${source}$`) };
  });
  const unmatched = matchers.filter(
    (m) => !pipeline.nodes.some((n) => m.regex.test(n.name) || m.regex.test(n.base)),
  );
  if (unmatched.length > 0)
    throw new PipelineError(
      unmatched.map(
        (m) =>
          `--only ${m.pattern}: no node of pipeline "${pipeline.name}" matches (see \`npx lockpick plan ${pipeline.name}\`)`,
      ),
    );
  const byName = new Map(pipeline.nodes.map((n) => [n.name, n]));
  const keep = new Set<string>();
  const visit = (node: ResolvedNode) => {
    if (keep.has(node.name)) return;
    keep.add(node.name);
    for (const wire of Object.values(node.inputs)) {
      const upstream = byName.get(wire.node);
      if (upstream) visit(upstream);
    }
  };
  for (const node of pipeline.nodes)
    if (matchers.some((m) => m.regex.test(node.name) || m.regex.test(node.base))) visit(node);
  return {
    ...pipeline,
    nodes: pipeline.nodes.filter((n) => keep.has(n.name)),
    results: pipeline.results.filter((r) => keep.has(r.node)),
  };
}
