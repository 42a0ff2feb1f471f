import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sha256 } from '@lockpick/artifacts';

/**
 * What a stage's code is, for its cache key: the hash of every workspace source file it imports,
 * directly or not, and the version of every external package those files import. Editing a helper
 * library a stage uses changes it; editing a library the stage never reaches does not.
 */
export interface CodeIdentity {
  hash: string;
  /** Workspace-relative path → sha256 of the file's text. */
  files: Record<string, string>;
  /** External package → installed version. */
  packages: Record<string, string>;
}

const BUILTINS = new Set(builtinModules);

// Statements that load code at run time. `import type` / `export type` are skipped: they vanish
// at compile time, so editing a type-only dependency cannot change what a stage computes.
const STATIC_IMPORT = /(?:^|[;}\n])\s*(import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s*)?['"]([^'"\n]+)['"]/g;
const DYNAMIC_IMPORT = /\bimport\s*\(\s*['"]([^'"\n]+)['"]\s*\)/g;

function stripComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"\\])\/\/.*$/gm, '$1');
}

export function importSpecifiers(source: string): string[] {
  const text = stripComments(source);
  const out = new Set<string>();
  for (const m of text.matchAll(STATIC_IMPORT)) if (!m[2]) out.add(m[3]);
  for (const m of text.matchAll(DYNAMIC_IMPORT)) out.add(m[1]);
  return [...out];
}

const workspaceRoots = new Map<string, string>();

/** The folder whose package.json declares npm workspaces, above `file`. */
export function workspaceRootOf(file: string): string {
  let dir = path.dirname(file);
  const cached = workspaceRoots.get(dir);
  if (cached) return cached;
  const start = dir;
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg) && 'workspaces' in (JSON.parse(readFileSync(pkg, 'utf8')) as object)) {
      workspaceRoots.set(start, dir);
      return dir;
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no npm workspace root above ${file}`);
    dir = parent;
  }
}

interface PackageInfo {
  dir: string;
  name: string;
  version: string;
  entry?: string;
  workspace: boolean;
}

const packageCache = new Map<string, PackageInfo | null>();

function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

function findPackage(name: string, fromDir: string, root: string): PackageInfo | undefined {
  const cacheKey = `${fromDir}\0${name}`;
  const cached = packageCache.get(cacheKey);
  if (cached !== undefined) return cached ?? undefined;
  let dir = fromDir;
  let found: PackageInfo | undefined;
  for (;;) {
    const candidate = path.join(dir, 'node_modules', name, 'package.json');
    if (existsSync(candidate)) {
      const real = realpathSync(path.dirname(candidate));
      const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as {
        name: string;
        version?: string;
        exports?: unknown;
        main?: string;
      };
      const workspace = !real.split(path.sep).includes('node_modules') && real.startsWith(root);
      found = { dir: real, name: pkg.name, version: pkg.version ?? '0.0.0', workspace };
      if (workspace) found.entry = path.join(real, exportEntry(pkg.exports) ?? pkg.main ?? 'src/index.ts');
      break;
    }
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  packageCache.set(cacheKey, found ?? null);
  return found;
}

function exportEntry(exports: unknown): string | undefined {
  if (typeof exports === 'string') return exports;
  if (exports && typeof exports === 'object') {
    const dot = (exports as Record<string, unknown>)['.'] ?? exports;
    if (typeof dot === 'string') return dot;
    if (dot && typeof dot === 'object') {
      const conditions = dot as Record<string, unknown>;
      for (const c of ['import', 'default', 'node'])
        if (typeof conditions[c] === 'string') return conditions[c] as string;
    }
  }
  return undefined;
}

function resolveRelative(specifier: string, fromDir: string): string {
  const base = path.resolve(fromDir, specifier);
  for (const candidate of [base, `${base}.ts`, `${base}.mts`, path.join(base, 'index.ts')]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  // `./x.js` written for a `./x.ts` file
  const ts = base.replace(/\.m?js$/, '.ts');
  if (existsSync(ts)) return ts;
  throw new Error(`cannot resolve import "${specifier}" from ${fromDir}`);
}

const identityCache = new Map<string, CodeIdentity>();
const fileHashCache = new Map<string, { hash: string; imports: string[] }>();

/** Code identity of the module at `moduleUrl` (a file: URL, as `import.meta.url` gives). */
export function codeIdentity(moduleUrl: string): CodeIdentity {
  const cached = identityCache.get(moduleUrl);
  if (cached) return cached;
  const entry = fileURLToPath(moduleUrl);
  const root = workspaceRootOf(entry);
  const files: Record<string, string> = {};
  const packages: Record<string, string> = {};
  const queue = [entry];
  const seen = new Set<string>();
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    let info = fileHashCache.get(file);
    if (!info) {
      const text = readFileSync(file, 'utf8');
      info = { hash: sha256(text), imports: importSpecifiers(text) };
      fileHashCache.set(file, info);
    }
    files[path.relative(root, file)] = info.hash;
    const dir = path.dirname(file);
    for (const specifier of info.imports) {
      if (specifier.startsWith('.') || specifier.startsWith('/')) {
        queue.push(resolveRelative(specifier, dir));
        continue;
      }
      if (specifier.startsWith('node:') || BUILTINS.has(specifier)) continue;
      const name = packageName(specifier);
      const pkg = findPackage(name, dir, root);
      if (!pkg)
        throw new Error(`${path.relative(root, file)} imports "${specifier}", which is not installed`);
      if (pkg.workspace) {
        const sub = specifier.slice(name.length);
        queue.push(sub ? resolveRelative(`.${sub}`, pkg.dir) : pkg.entry!);
      } else {
        packages[pkg.name] = pkg.version;
      }
    }
  }
  const sortedFiles = Object.fromEntries(Object.entries(files).sort(([a], [b]) => a.localeCompare(b)));
  const sortedPackages = Object.fromEntries(Object.entries(packages).sort(([a], [b]) => a.localeCompare(b)));
  const identity: CodeIdentity = {
    hash: sha256(JSON.stringify({ files: sortedFiles, packages: sortedPackages })),
    files: sortedFiles,
    packages: sortedPackages,
  };
  identityCache.set(moduleUrl, identity);
  return identity;
}

/** Forgets cached file hashes, for long-lived processes (tests, watch modes) that edit sources. */
export function clearCodeIdentityCache(): void {
  identityCache.clear();
  fileHashCache.clear();
  packageCache.clear();
}
