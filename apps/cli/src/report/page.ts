/**
 * The report as one self-contained HTML page: Vega, Vega-Lite and vega-embed inlined from
 * node_modules, the report model as embedded JSON, the page's own script and style. It requests
 * nothing: it works from file://, offline, and can be mailed as one file.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ReportModel } from './model.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

/** The three libraries' browser builds (UMD: they define window.vega, vegaLite, vegaEmbed in order). */
const LIBRARIES = [
  ['vega', 'build/vega.min.js'],
  ['vega-lite', 'build/vega-lite.min.js'],
  ['vega-embed', 'build/vega-embed.min.js'],
] as const;

let assets: { libraries: string; script: string; style: string } | undefined;

/**
 * Where a package lives, found the way Node resolves it: from its entry point up to the folder whose
 * package.json names it (vega's `exports` do not list package.json, so it cannot be resolved itself).
 */
function packageDir(name: string): string {
  let dir = path.dirname(require.resolve(name));
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (
      existsSync(manifest) &&
      (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === name
    )
      return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cannot find the folder of package ${name}`);
    dir = parent;
  }
}

/** A script's text made safe inside <script>…</script> (only "</script" could end it early). */
function scriptText(code: string): string {
  return code.replace(/<\/(script)/gi, '<\\/$1');
}

function loadAssets(): { libraries: string; script: string; style: string } {
  if (!assets) {
    const libraries = LIBRARIES.map(([name, file]) => {
      const version = (
        JSON.parse(readFileSync(path.join(packageDir(name), 'package.json'), 'utf8')) as {
          version: string;
        }
      ).version;
      const code = readFileSync(path.join(packageDir(name), file), 'utf8');
      return `<script data-library="${name}@${version}">${scriptText(code)}</script>`;
    }).join('\n');
    assets = {
      libraries,
      script: scriptText(readFileSync(path.join(here, 'page.js'), 'utf8')),
      style: readFileSync(path.join(here, 'page.css'), 'utf8'),
    };
  }
  return assets;
}

export function escapeHtml(text: string): string {
  return text.replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

/**
 * JSON that can sit inside <script type="application/json">: every `<` escaped (so no `</script>`
 * or `<!--` can appear), and the two line separators JavaScript once rejected.
 */
export function embeddedJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

export function reportPage(model: ReportModel): string {
  const { libraries, script, style } = loadAssets();
  const git = model.git.commit
    ? `${model.git.commit.slice(0, 12)}${model.git.dirty ? ' (with uncommitted changes)' : model.git.dirty === false ? ' (clean)' : ''}`
    : 'unknown';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; img-src data: blob:">
<title>${escapeHtml(model.title)}</title>
<style>${style}</style>
</head>
<body>
<header class="top">
<h1>${escapeHtml(model.title)}</h1>
<div class="meta">Written ${escapeHtml(model.generatedAt)} by <code>${escapeHtml(model.command)}</code> · lockpick ${escapeHtml(model.lockpickVersion)} · commit <code>${escapeHtml(git)}</code> · store <code>${escapeHtml(model.store)}</code></div>
<div class="meta">Ours beside the published values (EXPERIMENTS.md); intervals are 95% over seeds (Student's t). Click a column to sort it.</div>
</header>
<main>
<noscript><p>This report draws its tables and charts with JavaScript; the same tables are in the data/ folder beside this page.</p></noscript>
</main>
<script id="report-data" type="application/json">${embeddedJson(model)}</script>
${libraries}
<script>${script}</script>
</body>
</html>
`;
}
