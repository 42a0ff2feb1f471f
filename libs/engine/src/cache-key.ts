import { canonicalJson, type Manifest, sha256 } from '@lockpick/artifacts';
import { codeIdentity } from './code-identity.ts';
import type { ResolvedNode } from './pipeline.ts';

export interface NodeKey {
  key: string;
  components: Manifest['components'];
}

/**
 * Cache key of a node = sha256 over its stage name, the stage's code identity, the canonical JSON of
 * its resolved parameters and the hashes of its input artifacts. The node's own name is left out on
 * purpose: two nodes computing the same thing share one result.
 */
export function nodeKey(node: ResolvedNode, inputHashes: Record<string, string>): NodeKey {
  const code = codeIdentity(node.stage.module);
  const components: Manifest['components'] = {
    stage: node.stage.name,
    code: { hash: code.hash, files: code.files, packages: code.packages },
    params: node.params,
    inputs: inputHashes,
  };
  const key = sha256(
    canonicalJson({
      stage: components.stage,
      code: code.hash,
      params: components.params,
      inputs: components.inputs,
    }),
  );
  return { key, components };
}

/** What differs between two sets of key components, in words a person can act on. */
export function describeKeyChange(
  before: Manifest['components'],
  after: Partial<Manifest['components']>,
): string[] {
  const changes: string[] = [];
  if (after.stage !== undefined && before.stage !== after.stage)
    changes.push(`stage changed: ${before.stage} → ${after.stage}`);
  if (after.params) {
    const keys = new Set([...Object.keys(before.params), ...Object.keys(after.params)]);
    for (const k of [...keys].sort()) {
      const a = canonicalJson(before.params[k] ?? null);
      const b = canonicalJson(after.params[k] ?? null);
      if (a !== b) changes.push(`parameter ${k}: ${a} → ${b}`);
    }
  }
  if (after.code && after.code.hash !== before.code.hash) {
    const files = new Set([...Object.keys(before.code.files), ...Object.keys(after.code.files)]);
    for (const f of [...files].sort()) {
      const a = before.code.files[f];
      const b = after.code.files[f];
      if (a === b) continue;
      changes.push(
        a === undefined
          ? `code: ${f} now used`
          : b === undefined
            ? `code: ${f} no longer used`
            : `code: ${f} edited`,
      );
    }
    const pkgs = new Set([...Object.keys(before.code.packages), ...Object.keys(after.code.packages)]);
    for (const p of [...pkgs].sort()) {
      const a = before.code.packages[p];
      const b = after.code.packages[p];
      if (a !== b) changes.push(`package ${p}: ${a ?? 'not used'} → ${b ?? 'not used'}`);
    }
  }
  if (after.inputs) {
    for (const [name, hash] of Object.entries(after.inputs))
      if (before.inputs[name] !== hash)
        changes.push(`input ${name}: ${short(before.inputs[name])} → ${short(hash)}`);
  }
  return changes;
}

function short(hash: string | undefined): string {
  return hash === undefined ? 'none' : hash.slice(0, 12);
}
