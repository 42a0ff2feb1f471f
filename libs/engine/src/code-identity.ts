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
 * What a stage's code is, for its cache key: the hash of every workspace source file it uses,
 * directly or not, and the version of every external package those files import. Editing a helper
 * library a stage uses changes it; editing a library the stage never reaches does not.
 *
 * "Uses" follows names through a library's index: a stage that imports `defineStage` from the
 * engine's index counts the file that defines it, not the runner the index also exports, so editing
 * the runner, the CLI or the artifact store leaves cached results cached. A file the stage loads
 * without using still counts when loading it does something (a top-level call such as registering
 * a kernel or a gradient), since that can change what the stage computes.
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

/** What a file takes from one module: some of its exports by name, or all of it. */
export interface ModuleImport {
  specifier: string;
  /** The exports used at run time; `all` for a namespace, default or side-effect import. */
  names: string[] | 'all';
}

/** What code identity needs to know of a source file, read once from its syntax tree. */
export interface ModuleFacts {
  /** sha256 of the normalised source (of the text when it does not parse). */
  hash: string;
  /** Its run-time imports and re-exports; type-only ones are left out. */
  imports: ModuleImport[];
  /**
   * Present when the file only re-exports (a library's index): each exported name → the module
   * and name it comes from, or null for a type-only export; `stars` are its `export * from`s.
   */
  barrel?: { named: Record<string, { specifier: string; name: string } | null>; stars: string[] };
  /** Whether loading it does more than declare things: a top-level call, assignment or loop. */
  sideEffects: boolean;
}

/**
 * The facts of a file. A file that does not parse gets its text hashed, every import taken whole
 * and side effects assumed: the safe direction (its edits always count).
 */
export function moduleFacts(text: string, fileName: string): ModuleFacts {
  const normal = normalisedSource(text, fileName);
  if (normal === undefined)
    return {
      hash: sha256(text),
      imports: importSpecifiers(text).map((specifier) => ({ specifier, names: 'all' })),
      sideEffects: true,
    };
  const ts = typescript();
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false);
  const imports: ModuleImport[] = [];
  const named: Record<string, { specifier: string; name: string } | null> = {};
  const stars: string[] = [];
  let onlyReExports = source.statements.length > 0;
  let sideEffects = false;
  const specifierOf = (node: TypeScript.Expression | undefined) =>
    node && ts.isStringLiteral(node) ? node.text : undefined;
  for (const statement of source.statements) {
    if (ts.isImportDeclaration(statement)) {
      onlyReExports = false;
      const specifier = specifierOf(statement.moduleSpecifier);
      const clause = statement.importClause;
      if (!specifier || clause?.isTypeOnly) continue;
      if (!clause) {
        sideEffects = true; // `import 'x'`: loaded for what loading it does
        imports.push({ specifier, names: 'all' });
      } else if (clause.name || (clause.namedBindings && ts.isNamespaceImport(clause.namedBindings))) {
        imports.push({ specifier, names: 'all' });
      } else {
        const elements = clause.namedBindings?.elements ?? [];
        const names = elements.filter((e) => !e.isTypeOnly).map((e) => (e.propertyName ?? e.name).text);
        imports.push({ specifier, names });
      }
    } else if (ts.isExportDeclaration(statement) && statement.moduleSpecifier) {
      const specifier = specifierOf(statement.moduleSpecifier);
      if (!specifier) {
        onlyReExports = false;
        continue;
      }
      const clause = statement.exportClause;
      if (!clause) {
        // `export * from 'x'` (a type-only one loads nothing)
        if (statement.isTypeOnly) continue;
        stars.push(specifier);
        imports.push({ specifier, names: 'all' });
      } else if (ts.isNamespaceExport(clause)) {
        if (statement.isTypeOnly) continue;
        named[clause.name.text] = { specifier, name: '*' };
        imports.push({ specifier, names: 'all' });
      } else {
        const names: string[] = [];
        for (const e of clause.elements) {
          const typeOnly = statement.isTypeOnly || e.isTypeOnly;
          const from = (e.propertyName ?? e.name).text;
          named[e.name.text] = typeOnly ? null : { specifier, name: from };
          if (!typeOnly) names.push(from);
        }
        if (names.length > 0) imports.push({ specifier, names });
      }
    } else {
      onlyReExports = false;
      if (!sideEffects && !declaresOnly(ts, statement)) sideEffects = true;
    }
  }
  // Dynamic imports, anywhere in the file: taken whole.
  for (const m of stripComments(text).matchAll(DYNAMIC_IMPORT))
    imports.push({ specifier: m[1], names: 'all' });
  const facts: ModuleFacts = { hash: sha256(normal), imports, sideEffects };
  if (onlyReExports) facts.barrel = { named, stars };
  return facts;
}

/**
 * Whether a top-level statement only declares: functions, classes, types, enums, and constants
 * whose initialisers call nothing at load time (calls inside function bodies do not run then).
 * Anything else — a call, an assignment, a loop, `new` of anything but a plain container or URL —
 * counts as a side effect. Conservative: a pure helper called at load time counts too, which only
 * means the file is counted whenever it is loaded.
 */
function declaresOnly(ts: typeof TypeScript, statement: TypeScript.Statement): boolean {
  if (
    ts.isFunctionDeclaration(statement) ||
    ts.isInterfaceDeclaration(statement) ||
    ts.isTypeAliasDeclaration(statement) ||
    ts.isEnumDeclaration(statement) ||
    ts.isModuleDeclaration(statement) ||
    ts.isEmptyStatement(statement)
  )
    return true;
  if (ts.isVariableStatement(statement))
    return statement.declarationList.declarations.every((d) => !d.initializer || !acts(ts, d.initializer));
  if (ts.isClassDeclaration(statement))
    return statement.members.every(
      (m) =>
        !ts.isClassStaticBlockDeclaration(m) &&
        !(
          ts.isPropertyDeclaration(m) &&
          m.modifiers?.some((x) => x.kind === ts.SyntaxKind.StaticKeyword) &&
          m.initializer &&
          acts(ts, m.initializer)
        ),
    );
  if (ts.isExportAssignment(statement)) return !acts(ts, statement.expression);
  return false;
}

const PURE_CONSTRUCTORS = new Set([
  'Map',
  'Set',
  'WeakMap',
  'WeakSet',
  'URL',
  'RegExp',
  'TextEncoder',
  'TextDecoder',
]);

/** Whether evaluating an expression may do something: a call, `new`, an assignment, `await`. */
function acts(ts: typeof TypeScript, node: TypeScript.Node): boolean {
  if (ts.isFunctionLike(node)) return false; // its body runs later, if ever
  // A fresh Map, Set, URL…: it builds a value and touches nothing else (its arguments may).
  if (
    ts.isNewExpression(node) &&
    ts.isIdentifier(node.expression) &&
    PURE_CONSTRUCTORS.has(node.expression.text)
  )
    return (node.arguments ?? []).some((a) => acts(ts, a));
  if (
    ts.isCallExpression(node) ||
    ts.isNewExpression(node) ||
    ts.isTaggedTemplateExpression(node) ||
    ts.isAwaitExpression(node) ||
    ts.isDeleteExpression(node) ||
    (ts.isBinaryExpression(node) &&
      node.operatorToken.kind >= ts.SyntaxKind.FirstAssignment &&
      node.operatorToken.kind <= ts.SyntaxKind.LastAssignment) ||
    ((ts.isPrefixUnaryExpression(node) || ts.isPostfixUnaryExpression(node)) &&
      (node.operator === ts.SyntaxKind.PlusPlusToken || node.operator === ts.SyntaxKind.MinusMinusToken))
  )
    return true;
  return ts.forEachChild(node, (child) => (acts(ts, child) ? true : undefined)) ?? false;
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

// ---- module facts, kept between processes ------------------------------------------------------

/**
 * Reading a file's facts costs a parse, and loading TypeScript half a second: too much for every
 * `plan`. So each file's facts are remembered by the hash of its text, in
 * node_modules/.cache/lockpick/ of the workspace, under the normal form's version, the facts' and
 * TypeScript's: a run where no source changed loads no parser. A cache only: when it is unreadable
 * or unwritable, facts are read again.
 */
interface FactsMemo {
  file: string;
  /** sha256 of a file's text → its facts, oldest first. */
  facts: Map<string, ModuleFacts>;
  changed: boolean;
}

/** Bumped whenever what ModuleFacts holds, or how it is read, changes. */
const FACTS_FORM = 'facts-1';
const MEMO_ENTRIES = 20_000;
const HEX64 = /^[0-9a-f]{64}$/;
const memos = new Map<string, FactsMemo>();

function memoOf(root: string): FactsMemo {
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
    `module-facts.${NORMAL_FORM}.${FACTS_FORM}.typescript-${version}.json`,
  );
  const facts = new Map<string, ModuleFacts>();
  try {
    const pairs: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (Array.isArray(pairs))
      for (const pair of pairs)
        if (Array.isArray(pair) && HEX64.test(String(pair[0])) && isModuleFacts(pair[1]))
          facts.set(pair[0], pair[1]);
  } catch {
    // none yet, or unreadable: start afresh
  }
  memo = { file, facts, changed: false };
  memos.set(root, memo);
  return memo;
}

/** A shape check of a remembered entry, so a damaged memo file costs a parse, never a wrong key. */
function isModuleFacts(value: unknown): value is ModuleFacts {
  const v = value as ModuleFacts;
  return (
    typeof v === 'object' &&
    v !== null &&
    HEX64.test(String(v.hash)) &&
    typeof v.sideEffects === 'boolean' &&
    Array.isArray(v.imports) &&
    v.imports.every(
      (i) =>
        typeof i?.specifier === 'string' &&
        (i.names === 'all' || (Array.isArray(i.names) && i.names.every((n) => typeof n === 'string'))),
    ) &&
    (v.barrel === undefined ||
      (typeof v.barrel?.named === 'object' && v.barrel.named !== null && Array.isArray(v.barrel.stars)))
  );
}

function rememberedFacts(text: string, file: string, root: string): ModuleFacts {
  const memo = memoOf(root);
  const textHash = sha256(text);
  const known = memo.facts.get(textHash);
  if (known) return known;
  const facts = moduleFacts(text, file);
  memo.facts.set(textHash, facts);
  memo.changed = true;
  return facts;
}

function saveMemo(memo: FactsMemo): void {
  if (!memo.changed) return;
  memo.changed = false;
  try {
    mkdirSync(path.dirname(memo.file), { recursive: true });
    const tmp = `${memo.file}.${process.pid}.${randomBytes(4).toString('hex')}`;
    writeFileSync(tmp, JSON.stringify([...memo.facts].slice(-MEMO_ENTRIES)));
    renameSync(tmp, memo.file); // whole or not at all, for a process reading it at the same time
  } catch {
    // read-only checkout: facts are read again next time
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
const factsCache = new Map<string, ModuleFacts>();

type Resolved = { file: string } | { package: string; version: string } | undefined;

/** Where an import of `specifier` from `file` leads: a workspace file, an external package, or a builtin. */
function resolveImport(specifier: string, file: string, root: string): Resolved {
  const dir = path.dirname(file);
  if (specifier.startsWith('.') || specifier.startsWith('/'))
    return { file: resolveRelative(specifier, dir) };
  if (specifier.startsWith('node:') || BUILTINS.has(specifier)) return undefined;
  const name = packageName(specifier);
  const pkg = findPackage(name, dir, root);
  if (!pkg) throw new Error(`${path.relative(root, file)} imports "${specifier}", which is not installed`);
  if (!pkg.workspace) return { package: pkg.name, version: pkg.version };
  const sub = specifier.slice(name.length);
  return { file: sub ? resolveRelative(`.${sub}`, pkg.dir) : pkg.entry! };
}

/** Code identity of the module at `moduleUrl` (a file: URL, as `import.meta.url` gives). */
export function codeIdentity(moduleUrl: string): CodeIdentity {
  const cached = identityCache.get(moduleUrl);
  if (cached) return cached;
  const entry = fileURLToPath(moduleUrl);
  const root = workspaceRootOf(entry);
  const factsOf = (file: string) => {
    let facts = factsCache.get(file);
    if (!facts) {
      facts = rememberedFacts(readFileSync(file, 'utf8'), file, root);
      factsCache.set(file, facts);
    }
    return facts;
  };
  const files: Record<string, string> = {};
  const packages: Record<string, string> = {};
  // Two walks over the import graph. `count` follows what the stage uses, name by name through
  // re-exporting index files, and records each file it reaches whole. `load` visits everything the
  // stage loads at run time, as Node does, and counts the files whose loading has side effects.
  const counted = new Set<string>();
  const countedNames = new Set<string>();
  const loaded = new Set<string>();
  const work: (() => void)[] = [];
  const countWhole = (file: string) => {
    if (counted.has(file)) return;
    counted.add(file);
    const facts = factsOf(file);
    files[path.relative(root, file)] = facts.hash;
    for (const { specifier, names } of facts.imports) {
      const to = resolveImport(specifier, file, root);
      if (to && 'package' in to) packages[to.package] = to.version;
      else if (to) work.push(() => count(to.file, names));
    }
  };
  const count = (file: string, names: string[] | 'all') => {
    // Only types taken (`import { type T }`): nothing used; loading it is the load walk's business.
    if (names !== 'all' && names.length === 0) return;
    const facts = factsOf(file);
    if (!facts.barrel || names === 'all') return countWhole(file);
    for (const name of names) {
      const key = `${file}\0${name}`;
      if (countedNames.has(key)) continue;
      countedNames.add(key);
      const from = facts.barrel.named[name];
      if (from === null) continue; // a type: nothing of it exists at run time
      if (from) {
        const to = resolveImport(from.specifier, file, root);
        if (to && 'package' in to) packages[to.package] = to.version;
        else if (to) work.push(() => count(to.file, from.name === '*' ? 'all' : [from.name]));
      } else if (facts.barrel.stars.length > 0) {
        // Not named here, so one of the `export *` modules has it: count each for that name.
        for (const specifier of facts.barrel.stars) {
          const to = resolveImport(specifier, file, root);
          if (to && 'package' in to) packages[to.package] = to.version;
          else if (to) work.push(() => count(to.file, [name]));
        }
      } else return countWhole(file); // a name it does not export: fail safe, count it all
    }
  };
  const load = (file: string) => {
    if (loaded.has(file)) return;
    loaded.add(file);
    const facts = factsOf(file);
    if (facts.sideEffects) work.push(() => countWhole(file));
    for (const { specifier } of facts.imports) {
      const to = resolveImport(specifier, file, root);
      if (to && 'file' in to) work.push(() => load(to.file));
    }
  };
  work.push(
    () => load(entry),
    () => countWhole(entry),
  );
  while (work.length > 0) work.pop()!();
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
  factsCache.clear();
  packageCache.clear();
  memos.clear();
}
