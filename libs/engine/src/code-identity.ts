import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sha256 } from '@lockpick/artifacts';
import type * as TypeScript from 'typescript';

/**
 * What a stage's code is, for its cache key: the hash of every workspace source file it imports,
 * directly or not, and the version of every external package those files import. Editing a helper
 * library a stage uses changes it; editing a library the stage never reaches does not.
 */
export interface CodeIdentity {
  hash: string;
  /**
   * Workspace-relative path → sha256 of the file's normalised source (see `normalisedSource`):
   * comments and formatting do not count, so reformatting a file leaves cached nodes cached.
   */
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

// ---- normalised source -------------------------------------------------------------------------

// Loaded on first use: TypeScript is large (half a second to load) and only code identity needs it.
// Through require on purpose, so the import scan above does not list it among every stage's
// packages: the parser's version changes no stage's results. (A version whose normal form differed
// would change the file hashes, so cached nodes recompute: the safe direction.)
let typescriptModule: typeof TypeScript | undefined;
function typescript(): typeof TypeScript {
  typescriptModule ??= createRequire(import.meta.url)('typescript') as typeof TypeScript;
  return typescriptModule;
}

/** Bumped whenever the normal form changes, so no hash of an older form is ever mistaken for one. */
const NORMAL_FORM = 'lockpick-normal-form-1';
// Where a syntax node or a list of them begins and ends; no token of source text starts with \x02.
const OPEN_NODE = '\x02(';
const CLOSE_NODE = '\x02)';
const OPEN_LIST = '\x02[';
const CLOSE_LIST = '\x02]';

/**
 * A file's source with comments and formatting taken out and its syntax tree kept: the tokens in
 * order (string literals by value, so quote style does not count), each syntax node bracketed with
 * its kind, and the punctuation a formatter adds or removes at will dropped — statement-ending
 * semicolons, trailing commas, the parentheses around an arrow function's parameters. Line breaks
 * are not tokens, yet the cases where one changes meaning (`return` then a line break) parse to a
 * different tree, so they still count. Undefined if the file does not parse cleanly: the caller then
 * hashes its text as it is.
 */
export function normalisedSource(text: string, fileName: string): string | undefined {
  const ts = typescript();
  const scriptKind = /\.[cm]?tsx$|\.jsx$/.test(fileName)
    ? ts.ScriptKind.TSX
    : /\.[cm]?js$/.test(fileName)
      ? ts.ScriptKind.JS
      : ts.ScriptKind.TS;
  const source = ts.createSourceFile(
    fileName,
    text,
    { languageVersion: ts.ScriptTarget.Latest, jsDocParsingMode: ts.JSDocParsingMode.ParseNone },
    false,
    scriptKind,
  );
  if ((source as { parseDiagnostics?: readonly unknown[] }).parseDiagnostics?.length) return undefined;
  const scanner = ts.createScanner(
    ts.ScriptTarget.Latest,
    true,
    scriptKind === ts.ScriptKind.TSX ? ts.LanguageVariant.JSX : ts.LanguageVariant.Standard,
    text,
  );
  const parts: (string | undefined)[] = [];
  let lastToken = -1;
  // Children come in source order, so gaps lie between them; if a node ever gave them otherwise,
  // tokens could go unseen: then the file is hashed as it is instead.
  let inOrder = true;
  /** Adds a token; `keep` false drops it but still lets a closing bracket end a trailing comma. */
  const token = (t: string, keep = true) => {
    // A comma right before a closing bracket is a trailing comma: formatting, not code.
    if ((t === ')' || t === ']' || t === '}' || t === '>') && parts[lastToken] === ',')
      parts[lastToken] = undefined;
    if (keep) lastToken = parts.push(t) - 1;
  };
  // Tokens between a node's children (keywords, punctuation, operators): regular expressions and
  // template parts are nodes of their own, so plain scanning reads these right.
  const gap = (owner: TypeScript.Node, from: number, to: number) => {
    scanner.resetTokenState(from);
    for (;;) {
      const kind = scanner.scan();
      if (kind === ts.SyntaxKind.EndOfFileToken || scanner.getTokenStart() >= to) break;
      if (kind === ts.SyntaxKind.SemicolonToken && owner.kind !== ts.SyntaxKind.ForStatement) continue;
      if (
        owner.kind === ts.SyntaxKind.ArrowFunction &&
        (kind === ts.SyntaxKind.OpenParenToken || kind === ts.SyntaxKind.CloseParenToken)
      ) {
        token(scanner.getTokenText(), false);
        continue;
      }
      if (kind === ts.SyntaxKind.GreaterThanToken) {
        // The scanner reads `>=`, `>>` and the like as `>` unless asked again, as the parser does
        // for operators; the closing `>>` of nested type arguments stays two tokens (two gaps).
        const start = scanner.getTokenStart();
        scanner.reScanGreaterToken();
        if (scanner.getTokenEnd() > to) {
          scanner.resetTokenState(start + 1);
          token('>');
          continue;
        }
      }
      token(scanner.getTokenText());
    }
  };
  const visit = (node: TypeScript.Node) => {
    const children: (TypeScript.Node | TypeScript.NodeArray<TypeScript.Node>)[] = [];
    ts.forEachChild(
      node,
      (child) => {
        children.push(child);
      },
      (array) => {
        children.push(array);
      },
    );
    if (children.length === 0) {
      if (ts.isStringLiteral(node)) token(JSON.stringify(node.text));
      else if (ts.isIdentifier(node) || ts.isPrivateIdentifier(node) || isLiteralToken(ts, node.kind))
        token(node.getText(source) || `<${ts.SyntaxKind[node.kind]}>`);
      else {
        parts.push(`${OPEN_NODE}${ts.SyntaxKind[node.kind]}`);
        gap(node, node.pos, node.end);
        parts.push(CLOSE_NODE);
      }
      return;
    }
    parts.push(`${OPEN_NODE}${ts.SyntaxKind[node.kind]}`);
    let pos = node.pos;
    for (const child of children) {
      if (child.pos < pos) inOrder = false;
      if ('kind' in child) {
        gap(node, pos, child.pos);
        visit(child);
        pos = child.end;
      } else {
        parts.push(OPEN_LIST);
        for (const element of child) {
          if (element.pos < pos) inOrder = false;
          gap(node, pos, element.pos);
          visit(element);
          pos = element.end;
        }
        parts.push(CLOSE_LIST);
      }
    }
    gap(node, pos, node.end);
    parts.push(CLOSE_NODE);
  };
  visit(source);
  if (!inOrder) return undefined;
  return `${NORMAL_FORM}\0${parts.filter((p) => p !== undefined).join('\0')}`;
}

/** Numbers, strings, regular expressions, template parts, JSX text: tokens whose text is their value. */
function isLiteralToken(ts: typeof TypeScript, kind: TypeScript.SyntaxKind): boolean {
  return (
    (kind >= ts.SyntaxKind.FirstLiteralToken && kind <= ts.SyntaxKind.LastLiteralToken) ||
    (kind >= ts.SyntaxKind.FirstTemplateToken && kind <= ts.SyntaxKind.LastTemplateToken) ||
    kind === ts.SyntaxKind.JsxText
  );
}

/** The hash a file counts with in code identity: of its normalised source, else of its text. */
export function sourceHash(text: string, fileName: string): string {
  return sha256(normalisedSource(text, fileName) ?? text);
}

// ---- hashes of normalised sources, kept between processes ------------------------------------------

/**
 * Normalising costs a parse per file, and loading TypeScript half a second: too much for every
 * `plan`. So the hash of each file's normalised source is remembered by the hash of its text, in
 * node_modules/.cache/lockpick/ of the workspace, under the normal form's version and TypeScript's:
 * a run where no source changed loads no parser. A cache only: when it is unreadable or unwritable,
 * hashes are computed again.
 */
interface SourceHashMemo {
  file: string;
  /** sha256 of a file's text → sha256 of its normalised source, oldest first. */
  hashes: Map<string, string>;
  changed: boolean;
}

const MEMO_ENTRIES = 20_000;
const HEX64 = /^[0-9a-f]{64}$/;
const memos = new Map<string, SourceHashMemo>();

function memoOf(root: string): SourceHashMemo {
  let memo = memos.get(root);
  if (memo) return memo;
  let version = 'unknown';
  try {
    version = (createRequire(import.meta.url)('typescript/package.json') as { version: string }).version;
  } catch {
    // not installed: normalising fails too, and says so
  }
  const file = path.join(
    root,
    'node_modules',
    '.cache',
    'lockpick',
    `source-hashes.${NORMAL_FORM}.typescript-${version}.json`,
  );
  const hashes = new Map<string, string>();
  try {
    const pairs: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (Array.isArray(pairs))
      for (const pair of pairs)
        if (Array.isArray(pair) && HEX64.test(String(pair[0])) && HEX64.test(String(pair[1])))
          hashes.set(pair[0], pair[1]);
  } catch {
    // none yet, or unreadable: start afresh
  }
  memo = { file, hashes, changed: false };
  memos.set(root, memo);
  return memo;
}

function rememberedSourceHash(text: string, file: string, root: string): string {
  const memo = memoOf(root);
  const textHash = sha256(text);
  const known = memo.hashes.get(textHash);
  if (known) return known;
  const hash = sourceHash(text, file);
  memo.hashes.set(textHash, hash);
  memo.changed = true;
  return hash;
}

function saveMemo(memo: SourceHashMemo): void {
  if (!memo.changed) return;
  memo.changed = false;
  try {
    mkdirSync(path.dirname(memo.file), { recursive: true });
    const tmp = `${memo.file}.${process.pid}.${randomBytes(4).toString('hex')}`;
    writeFileSync(tmp, JSON.stringify([...memo.hashes].slice(-MEMO_ENTRIES)));
    renameSync(tmp, memo.file); // whole or not at all, for a process reading it at the same time
  } catch {
    // read-only checkout: hashes are computed again next time
  }
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
      info = { hash: rememberedSourceHash(text, file, root), imports: importSpecifiers(text) };
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
  saveMemo(memoOf(root));
  return identity;
}

/** Forgets cached file hashes, for long-lived processes (tests, watch modes) that edit sources. */
export function clearCodeIdentityCache(): void {
  identityCache.clear();
  fileHashCache.clear();
  packageCache.clear();
  memos.clear();
}
