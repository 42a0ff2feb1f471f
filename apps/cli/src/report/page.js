// The report page's script: renders the report model embedded in the page (#report-data) — the
// findings, sortable and paginated tables with the published values' differences coloured, the
// charts (vega-embed, inlined with Vega and Vega-Lite), and the provenance. It runs from file://
// with no network: everything it needs is in the page.
(() => {
  performance.mark('report-script');
  const model = JSON.parse(document.getElementById('report-data').textContent);
  performance.mark('report-parsed');
  const PAGE = 50;

  /** Creates an element with attributes and children (strings become text nodes). */
  const h = (tag, attrs, ...children) => {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs ?? {}))
      if (v !== undefined && v !== null && v !== false) el.setAttribute(k, v === true ? '' : String(v));
    for (const c of children.flat())
      if (c !== undefined && c !== null && c !== false)
        el.append(typeof c === 'string' || typeof c === 'number' ? String(c) : c);
    return el;
  };

  /** The same number format as the terminal's tables (apps/cli/src/render.ts formatNumber). */
  const formatNumber = (value) => {
    if (Number.isInteger(value)) return String(value);
    const abs = Math.abs(value);
    if (abs !== 0 && (abs < 1e-3 || abs >= 1e6)) return value.toExponential(3);
    return value.toFixed(abs < 1 ? 4 : 3);
  };
  const cellText = (v) => {
    if (v === null || v === undefined) return '';
    if (typeof v === 'number') return Number.isFinite(v) ? formatNumber(v) : String(v);
    if (Array.isArray(v)) return `[${v.map(cellText).join(', ')}]`;
    if (typeof v === 'object') return JSON.stringify(v);
    return String(v);
  };
  const verdictClass = (v) => v.replace(/\s+/g, '-');
  const slug = (s) => s.replace(/[^\w-]+/g, '_');

  /** A column list with a Δ column after each published column, and a row accessor for it. */
  const withDiffs = (section) => {
    const index = new Map(section.columns.map((c, i) => [c.name, i]));
    const columns = [];
    for (const [i, c] of section.columns.entries()) {
      columns.push({ ...c, get: (row) => row[i] });
      const d = section.diffs.find((x) => x.paper === c.name);
      if (!d) continue;
      const ours = index.get(d.ours);
      const paper = index.get(d.paper);
      const ci = d.ci === undefined ? undefined : index.get(d.ci);
      columns.push({
        name: `Δ ${d.ours}`,
        kind: 'number',
        role: 'diff',
        title: `${d.ours} − ${d.paper}: green within max(95% interval, 0.05), amber within 0.15, red beyond`,
        get: (row) =>
          typeof row[ours] === 'number' && typeof row[paper] === 'number' ? row[ours] - row[paper] : null,
        tone: (row) => {
          const delta =
            typeof row[ours] === 'number' && typeof row[paper] === 'number' ? row[ours] - row[paper] : null;
          if (delta === null) return '';
          const half = ci !== undefined && typeof row[ci] === 'number' ? row[ci] : 0;
          const a = Math.abs(delta);
          return a <= Math.max(half, 0.05) ? 'close' : a <= 0.15 ? 'off' : 'far';
        },
      });
    }
    return columns;
  };

  const compare = (a, b) => {
    if (a === null || a === undefined) return b === null || b === undefined ? 0 : 1;
    if (b === null || b === undefined) return -1;
    if (typeof a === 'number' && typeof b === 'number') return a - b;
    return String(a).localeCompare(String(b), undefined, { numeric: true });
  };

  /** A sortable table that shows PAGE rows at a time (a long table never floods the page). */
  const dataTable = (section, title) => {
    const columns = withDiffs(section);
    let order = section.rows.map((_, i) => i);
    let page = 0;
    let sorted = { column: -1, dir: 1 };
    const thead = h('thead');
    const tbody = h('tbody');
    const pager = h('div', { class: 'pager' });
    const table = h('table', { class: 'data' }, thead, tbody);
    const wrap = h(
      'div',
      {
        class: 'table-wrap',
        id: section.id,
        'data-label': section.label,
        'data-rows': section.rows.length,
      },
      title,
      table,
      pager,
    );
    const headRow = h('tr');
    for (const [j, c] of columns.entries()) {
      const th = h('th', { class: c.role ?? '', title: c.title ?? c.name, 'data-col': j }, c.name);
      th.addEventListener('click', () => {
        sorted = { column: j, dir: sorted.column === j ? -sorted.dir : 1 };
        order = section.rows
          .map((_, i) => i)
          .sort((a, b) => {
            const x = columns[j].get(section.rows[a]);
            const y = columns[j].get(section.rows[b]);
            // Empty cells stay last whichever way the column is sorted.
            if (x === null || x === undefined || y === null || y === undefined) return compare(x, y);
            return sorted.dir * compare(x, y) || a - b;
          });
        for (const other of headRow.children) other.removeAttribute('aria-sort');
        th.setAttribute('aria-sort', sorted.dir > 0 ? 'ascending' : 'descending');
        page = 0;
        draw();
      });
      headRow.append(th);
    }
    thead.append(headRow);
    const pages = Math.max(1, Math.ceil(section.rows.length / PAGE));
    const draw = () => {
      const from = page * PAGE;
      const to = Math.min(section.rows.length, from + PAGE);
      const body = document.createDocumentFragment();
      for (let k = from; k < to; k++) {
        const row = section.rows[order[k]];
        const tr = h('tr');
        for (const c of columns) {
          const v = c.get(row);
          const classes = [c.kind === 'number' ? 'num' : '', c.role ?? '', c.tone ? c.tone(row) : '']
            .filter(Boolean)
            .join(' ');
          tr.append(h('td', { class: classes || undefined }, cellText(v)));
        }
        body.append(tr);
      }
      tbody.replaceChildren(body);
      pager.replaceChildren();
      if (section.rows.length === 0) pager.append('no rows');
      else if (pages === 1) pager.append(`${section.rows.length} rows`);
      else {
        const prev = h('button', { type: 'button', class: 'prev', disabled: page === 0 }, '‹ previous');
        const next = h('button', { type: 'button', class: 'next', disabled: page === pages - 1 }, 'next ›');
        prev.addEventListener('click', () => {
          page = Math.max(0, page - 1);
          draw();
        });
        next.addEventListener('click', () => {
          page = Math.min(pages - 1, page + 1);
          draw();
        });
        pager.append(
          prev,
          next,
          `rows ${from + 1}–${to} of ${section.rows.length} (page ${page + 1} of ${pages})`,
        );
      }
    };
    draw();
    return wrap;
  };

  const findingsPanel = (findings) => {
    if (findings.length === 0)
      return h('p', { class: 'meta' }, 'The report stages of this pipeline judge no findings.');
    const counts = {};
    for (const f of findings) counts[f.verdict] = (counts[f.verdict] ?? 0) + 1;
    const summary = h(
      'p',
      { class: 'meta' },
      Object.entries(counts)
        .map(([v, n]) => `${n} ${v}`)
        .join(' · '),
      ' — each verdict is computed by the pipeline’s report stage from the numbers below.',
    );
    const list = h('ul', { class: 'findings' });
    for (const f of findings)
      list.append(
        h(
          'li',
          { class: 'finding', 'data-verdict': f.verdict, 'data-table': f.table },
          h('span', { class: `badge ${verdictClass(f.verdict)}` }, f.verdict),
          ' ',
          h('span', { class: 'claim' }, f.finding),
          f.subject ? h('span', { class: 'subject' }, ` — ${f.subject}`) : null,
          h(
            'div',
            { class: 'evidence' },
            f.paper ? `published: ${f.paper}. ` : '',
            `ours: ${f.measured || '—'}`,
            h('br'),
            `from ${f.table} (`,
            h('code', {}, f.hash.slice(0, 16)),
            `), the stage says “${f.rawVerdict}”`,
          ),
        ),
      );
    return h('div', {}, summary, list);
  };

  // Charts are drawn after the page's text and tables, one at a time with a pause between, so a
  // report of many pipelines is readable (and scrollable) while its charts are still being drawn.
  const queue = [];
  const chartFigure = (section) => {
    const target = h('div', { class: 'vega' });
    const fig = h(
      'figure',
      { class: 'chart', 'data-label': section.label, 'data-rendered': 'pending' },
      target,
      h(
        'figcaption',
        {},
        `${section.label} — spec: `,
        h('code', {}, section.chart.specFile),
        section.chart.note ? ` — ${section.chart.note}` : '',
      ),
    );
    queue.push(() =>
      window
        // SVG, not canvas: marks stay in the page (countable, selectable, sharp when printed);
        // no editor or source links: they would leave the page for the network.
        .vegaEmbed(target, section.chart.spec, {
          renderer: 'svg',
          actions: { export: true, source: false, compiled: false, editor: false },
        })
        .then(() => fig.setAttribute('data-rendered', 'true'))
        .catch((error) => {
          fig.setAttribute('data-rendered', 'error');
          console.error(`chart ${section.label}: ${error}`);
        }),
    );
    return fig;
  };

  const kv = (pairs) => {
    const dl = h('dl', { class: 'kv' });
    for (const [k, v] of pairs)
      if (v !== undefined && v !== null && v !== '') dl.append(h('dt', {}, k), h('dd', {}, v));
    return dl;
  };

  const settingsText = (s) =>
    `scale ${s.scale}; seeds ${s.seeds.join(', ')}; ${s.overrides.length ? `--set ${s.overrides.join(' --set ')}` : 'no --set overrides'}`;

  const provenanceBlock = (p, settings) => {
    const backends = Object.entries(p.provenance.backends)
      .map(([b, n]) => `${b}: ${n} node${n === 1 ? '' : 's'}`)
      .join('; ');
    const record = p.provenance.runRecord;
    const recordText = record
      ? `${record.id ? `run ${record.id}, ` : ''}updated ${record.updatedAt}; ${record.matching} of ${record.total} nodes recorded with exactly these keys${record.settings ? `; recorded settings: ${settingsText(record.settings)}` : ''}`
      : 'none in this store';
    const versions = Object.entries(p.provenance.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    const hashes = h('ul', {});
    for (const t of p.provenance.tables) hashes.append(h('li', {}, `${t.label}: `, h('code', {}, t.hash)));
    return h(
      'details',
      { class: 'provenance' },
      h('summary', {}, 'Provenance'),
      kv([
        ['settings', settingsText(settings)],
        [
          'commit',
          `${model.git.commit ?? 'unknown'}${model.git.dirty === null ? '' : model.git.dirty ? ' (tracked files had uncommitted changes)' : ' (clean)'}`,
        ],
        ['lockpick', model.lockpickVersion],
        ['run record', recordText],
        ['backends', backends],
        [
          'node time',
          `${p.provenance.nodeSeconds} node-seconds over ${p.provenance.nodes.rows.length} nodes; first start ${p.provenance.firstStart ?? '?'}, last finish ${p.provenance.lastFinish ?? '?'}`,
        ],
        ['versions', versions],
      ]),
      h('div', { class: 'meta' }, 'Store hashes (sha256) of every table shown:'),
      hashes,
      dataTable(
        p.provenance.nodes,
        h('div', { class: 'table-title' }, 'Per node: backend, duration and metrics'),
      ),
    );
  };

  const pipelineSection = (p) => {
    const section = h(
      'section',
      { class: 'pipeline', id: `p-${slug(p.name)}`, 'data-pipeline': p.name, 'data-state': p.state },
      h('h2', {}, p.name, ' ', h('span', { class: `badge ${p.state}` }, p.state)),
      h('div', { class: 'meta' }, p.description),
      h('div', { class: 'meta' }, settingsText(p.settings)),
    );
    if (p.state !== 'complete') {
      const notice = h('div', { class: 'notice' }, p.message ?? '');
      if (p.missing?.nodes.length)
        notice.append(
          h('br'),
          `Not yet run: ${p.missing.nodes.join(', ')}${p.missing.count > p.missing.nodes.length ? `, and ${p.missing.count - p.missing.nodes.length} more` : ''}.`,
        );
      if (p.rerun) notice.append(h('br'), 'To finish it: ', h('code', { class: 'rerun' }, p.rerun));
      section.append(notice);
      return section;
    }
    section.append(h('h3', {}, 'Findings'), findingsPanel(p.findings));
    const charted = p.tables.filter((t) => t.chart);
    if (charted.length > 0)
      section.append(h('h3', {}, 'Charts'), h('div', { class: 'charts' }, charted.map(chartFigure)));
    section.append(h('h3', {}, 'Result tables'));
    for (const t of p.tables)
      section.append(
        dataTable(
          t,
          h(
            'div',
            { class: 'table-title' },
            t.label,
            ' ',
            h(
              'span',
              { class: 'hash meta' },
              'sha256 ',
              h('code', {}, t.hash.slice(0, 16)),
              t.dataFile ? ` — data: ${t.dataFile}` : '',
            ),
          ),
        ),
      );
    section.append(provenanceBlock(p, p.settings));
    return section;
  };

  const main = document.querySelector('main');
  const toc = h('ul');
  for (const p of model.pipelines) {
    const counts = {};
    for (const f of p.findings) counts[f.verdict] = (counts[f.verdict] ?? 0) + 1;
    toc.append(
      h(
        'li',
        {},
        h('a', { href: `#p-${slug(p.name)}` }, p.name),
        ' ',
        h('span', { class: `badge ${p.state}` }, p.state),
        Object.keys(counts).length
          ? ` ${Object.entries(counts)
              .map(([v, n]) => `${n} ${v}`)
              .join(', ')}`
          : '',
      ),
    );
  }
  main.append(h('nav', { class: 'toc' }, toc));
  for (const p of model.pipelines) main.append(pipelineSection(p));
  performance.mark('report-built');
  const drawCharts = async () => {
    for (const draw of queue) {
      await draw();
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    // The page is ready when every chart has settled: tests and screenshots wait for this.
    document.body.setAttribute('data-ready', 'true');
  };
  setTimeout(drawCharts, 0);
})();
