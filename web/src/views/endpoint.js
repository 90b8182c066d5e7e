// endpoint.js — every chart of one endpoint, the outliers table with its
// detail panel, and the grouped profiler as a tree and a sunburst.
import { all, api } from '../api.js';
import { card, fill, heatmapOption, boxOption, bubbleOption, zoomX, durAxis } from '../charts.js';
import { h, state, rangeParams, rangeDays, spanText, fmtUs, fmtInt, fmtTime, fmtSpan, fmtVersion, pagedTable, showError } from '../ui.js';
import { dot } from './overview.js';
import { findingsPanel } from './findings.js';

const SHORT_LIVED_MS = 24 * 3600 * 1000;

// A request that names no value of the grouping (or no IP) is "".
const none = (v) => (v === '' ? '(none)' : v);

// The grouping a group view shows (the API's ?grouping=): a picker, shown
// only when the range has more than one.  `changed` reloads the card.
function groupingPicker(c, name, changed) {
  const sel = h('select', { 'aria-label': 'grouping', 'data-grouping': name, hidden: true });
  sel.addEventListener('change', changed);
  c.tools.prepend(sel);
  return {
    params: () => (sel.value ? { grouping: sel.value } : {}),
    // what the card groups by, for its title: "user" for the unnamed one
    what: () => (!sel.value || sel.value === 'group' ? 'user' : sel.value),
    update(d) {
      const gs = d.groupings || [];
      sel.replaceChildren(...gs.map((g) => h('option', { value: g, selected: g === d.grouping }, g === 'group' ? '(unnamed)' : g)));
      sel.hidden = gs.length < 2;
      if (d.grouping && gs.includes(d.grouping)) sel.value = d.grouping;
    },
  };
}

// Box plots of the top N rows (by count), plus any the user picks;
// `title(what)` names the card after what it groups by.
function topBoxes(grid, name, title, path, key, rp, grouped) {
  const c = card(grid, name, title('user'), { height: 340 });
  const n = h('select', { 'aria-label': 'how many', 'data-top': name }, [5, 10, 20, 50].map((v) => h('option', { value: v, selected: v === 10 }, `top ${v}`)));
  const list = h('datalist', { id: name + '-list' });
  const pick = h('input', { list: name + '-list', placeholder: 'add…', size: 10, 'aria-label': 'add another' });
  c.tools.append(n, pick, list);
  const pinned = new Set();
  let items = null;
  const paint = () => {
    const top = items.slice(0, Number(n.value));
    for (const p of pinned) if (!top.some((i) => i[key] === p)) top.push(...items.filter((i) => i[key] === p));
    const opt = boxOption(top, (i) => none(i[key]), null, c.body.clientWidth);
    if (opt) c.draw(opt);
    else c.empty();
  };
  n.addEventListener('change', paint);
  pick.addEventListener('change', () => {
    const v = pick.value === '(none)' ? '' : pick.value;
    if (items && items.some((i) => i[key] === v)) {
      pinned.add(v);
      pick.value = '';
      paint();
    }
  });
  const draw = (d) => {
    items = d.items.slice().sort((a, b) => b.box.count - a.box.count);
    list.replaceChildren(...items.map((i) => h('option', { value: none(i[key]) })));
    if (!items.length) return null;
    return boxOption(items.slice(0, Number(n.value)), (i) => none(i[key]), null, c.body.clientWidth);
  };
  const gp = grouped
    ? groupingPicker(c, name, () => {
        pinned.clear();
        load();
      })
    : null;
  const load = () =>
    fill(
      c,
      async () => {
        const d = await all(path, { ...rp, ...(gp ? gp.params() : {}) });
        if (gp) {
          gp.update(d);
          c.title(title(gp.what()));
        }
        return d;
      },
      draw,
      30,
    );
  return load();
}

// Bubbles of the busiest rows (`by`: group or ip) × versions, top N by
// requests: the card grows with N, so that no zoom is needed.
// `title(what)` and `what(what)` name the card and its rows after what
// they group by (for groups, the grouping picked).
function topBubbles(grid, name, title, by, what, id, rp, versP) {
  const c = card(grid, name, title('user'), { height: 390 });
  const n = h('select', { 'aria-label': 'how many', 'data-top': name }, [5, 10, 20, 50].map((v) => h('option', { value: v, selected: v === 10 }, `top ${v}`)));
  c.tools.append(n);
  const gp = by === 'group' ? groupingPicker(c, name, () => load()) : null;
  let items = null;
  let order = [];
  const option = () => {
    const all = new Set(items.map((i) => i[by])).size;
    const k = Math.min(Number(n.value), all);
    const height = Math.max(240, 30 * k + 110);
    c.body.style.height = height + 'px';
    c.what(`top ${k} of ${fmtInt(all)} ${what(gp ? gp.what() : '')} by requests`);
    return bubbleOption(items, by, { top: k, order, box: { width: c.body.clientWidth || 600, height } });
  };
  n.addEventListener('change', () => {
    if (items && items.length) c.draw(option());
  });
  const load = () =>
    fill(
      c,
      async () => {
        const [d, v] = await Promise.all([all(`api/endpoints/${id}/bubbles`, { ...rp, by, ...(gp ? gp.params() : {}) }), versP.catch(() => null)]);
        // versions in deployment order
        if (v) order = v.items.slice().sort((a, b) => Date.parse(a.first_seen) - Date.parse(b.first_seen)).map((x) => x.version);
        if (gp) {
          gp.update(d);
          c.title(title(gp.what()));
        }
        return d;
      },
      (d) => {
        items = d.items.map((i) => ({ ...i, [by]: none(i[by]) }));
        return items.length ? option() : null;
      },
      30,
    );
  return load();
}

// Bring a detail panel that opens below a long table into view: when it
// opens, and again once drawn (the page may have been too short to scroll
// it up while it held only "Loading…").
function reveal(panel) {
  panel.scrollIntoView({ block: 'start' });
}

function kvTable(obj) {
  const rows = Object.entries(obj || {});
  if (!rows.length) return h('p.note', null, 'none');
  return h('table.kv', null, h('tbody', null, rows.map(([k, v]) => h('tr', null, h('th', null, k), h('td', null, typeof v === 'string' ? v : JSON.stringify(v))))));
}

// Nested profile nodes → rows of an indented tree table.
function treeRows(nodes, depth, out) {
  for (const n of nodes) {
    out.push(
      h(
        'tr',
        null,
        h('td', { style: { paddingLeft: 8 + depth * 16 + 'px' } }, n.function),
        h('td', null, `${n.file}:${n.line}`),
        h('td.num', null, fmtUs(n.duration_us)),
        h('td.num', null, fmtInt(n.samples)),
      ),
    );
    treeRows(n.children || [], depth + 1, out);
  }
  return out;
}

function treeTable(nodes) {
  return h(
    'div.scroll',
    null,
    h('table.tree', null, h('thead', null, h('tr', null, h('th', null, 'Function'), h('th', null, 'Line'), h('th.num', null, 'Time'), h('th.num', null, 'Samples'))), h('tbody', null, treeRows(nodes, 0, []))),
  );
}

// The grouped profile lists lines in call order with their depth; rebuild
// the nesting from the indents.
export function nest(lines) {
  const root = [];
  const stack = [];
  for (const l of lines) {
    const node = { ...l, children: [] };
    while (stack.length > l.indent) stack.pop();
    (stack.length ? stack[stack.length - 1].children : root).push(node);
    stack.push(node);
  }
  return root;
}

// Flame graph rows: [depth, x0, x1, function, duration]; a child's share
// of its parent is its duration over the children's total when they
// overlap (sampled durations of children can sum past the parent's).
function flameRows(nodes, depth, x0, width, out) {
  const total = nodes.reduce((a, n) => a + n.duration_us, 0);
  const scale = total > width ? width / total : 1;
  let x = x0;
  for (const n of nodes) {
    const w = n.duration_us * scale;
    out.push([depth, x, x + w, n.function, n.duration_us]);
    flameRows(n.children, depth + 1, x, w, out);
    x += w;
  }
  return out;
}

function flameOption(tree) {
  const total = tree.reduce((a, n) => a + n.duration_us, 0);
  const rows = flameRows(tree, 0, 0, total, []);
  const depth = Math.max(...rows.map((r) => r[0])) + 1;
  const hue = (s) => [...s].reduce((a, c) => (a * 31 + c.charCodeAt(0)) % 360, 7);
  return {
    grid: { left: 10, right: 10, top: 26, bottom: 10 },
    tooltip: { formatter: (p) => `${p.value[3]}<br>${fmtUs(p.value[4])}` },
    xAxis: { type: 'value', min: 0, max: total, show: false },
    yAxis: { type: 'value', min: 0, max: Math.max(depth, 10), inverse: true, show: false },
    dataZoom: [{ type: 'inside', xAxisIndex: 0, filterMode: 'weakFilter' }],
    series: [
      {
        name: 'flame',
        type: 'custom',
        encode: { x: [1, 2], y: 0 },
        data: rows,
        renderItem: (params, api) => {
          const a = api.coord([api.value(1), api.value(0)]);
          const b = api.coord([api.value(2), api.value(0) + 1]);
          const w = Math.max(0, b[0] - a[0] - 1);
          return {
            type: 'rect',
            shape: { x: a[0], y: a[1], width: w, height: b[1] - a[1] - 1 },
            style: { fill: `hsl(${hue(String(api.value(3)))}, 70%, 55%)` },
            textContent: { style: { text: w > 30 ? String(api.value(3)) : '', fill: '#fff', width: w - 4, overflow: 'truncate', fontSize: 11 } },
            textConfig: { position: 'insideLeft' },
          };
        },
      },
    ],
  };
}

const toSun = (nodes) => nodes.map((n) => ({ name: n.function, value: n.duration_us, children: toSun(n.children) }));

// Frames, outermost first, as a monospace list.
const stackList = (frames) =>
  h(
    'ol.stack',
    null,
    frames.map((f) => h('li', null, h('code', null, f.function), ' ', h('span.file', null, f.file ? `${f.file}:${f.line ?? '?'}` : ''))),
  );

// The other threads' stacks, one collapsed block each: the summary says
// how deep it is and where it is (its innermost frame).
function otherThreads(threads) {
  if (!threads) return null;
  const box = h('div.threads', { 'data-threads': threads.length });
  box.append(h('h4', null, `Other threads (${threads.length})`));
  if (!threads.length) box.append(h('p.note', null, 'No other thread was running.'));
  for (const t of threads) {
    const last = t.stack[t.stack.length - 1];
    box.append(
      h(
        'details.thread',
        { 'data-thread': t.thread },
        h(
          'summary',
          null,
          h('code', null, `thread ${t.thread}`),
          h('span.sub', null, t.stack.length ? ` ${t.stack.length} frame${t.stack.length === 1 ? '' : 's'} · in ` : ' no frames'),
          last ? h('code', null, last.function) : null,
        ),
        t.stack.length ? stackList(t.stack) : h('p.threadnote', null, 'No frames: the thread ran no code the adapter could read.'),
      ),
    );
  }
  return box;
}

async function outlierDetail(panel, id) {
  panel.replaceChildren(h('p.note', null, 'Loading outlier…'));
  panel.hidden = false;
  panel.dataset.state = 'loading';
  reveal(panel);
  try {
    const o = await api(`api/outliers/${id}`, { tz: state.tz });
    const stack = stackList(o.stack || []);
    const cpuBox = h('div.cardrow');
    const prof = h('div');
    panel.replaceChildren(
      h('div.panelhead', null, h('h3', null, `Outlier #${o.id}: ${fmtUs(o.duration_us)} at ${fmtTime(o.time)}`), h('button', { type: 'button', onclick: () => (panel.hidden = true) }, 'Close')),
      h('p', null, h('code', null, o.url || '')),
      h('h4', null, 'Stack trace'),
      stack,
      otherThreads(o.threads),
      cpuBox,
      h('h4', null, 'Headers'),
      kvTable(o.headers),
      h('h4', null, 'Environment'),
      kvTable(o.environ),
      h('h4', null, 'Values'),
      kvTable(o.values),
      prof,
    );
    const cpu = card(cpuBox, 'outlier-cpu', 'CPU per core', { height: 200 });
    const cores = o.cpu_per_core || [];
    if (cores.length)
      cpu.draw({
        grid: { left: 50, right: 10, top: 30, bottom: 30 },
        xAxis: { type: 'category', data: cores.map((c) => 'core ' + c.core) },
        yAxis: { type: 'value', max: 100, axisLabel: { formatter: '{value} %' } },
        series: [{ name: 'CPU', type: 'bar', data: cores.map((c) => c.percent), itemStyle: { color: '#d7191c' } }],
      });
    else cpu.empty('No CPU sample.');
    const m = o.memory || {};
    const mem = card(cpuBox, 'outlier-memory', 'Memory', { height: 200 });
    if (m.total_bytes)
      mem.draw({
        series: [
          {
            name: 'memory',
            type: 'pie',
            radius: ['40%', '70%'],
            label: { formatter: (p) => `${p.name}\n${(p.value / 1073741824).toFixed(2)} GiB` }, // two lines: they fit a phone
            data: [
              { name: 'used', value: m.used_bytes, itemStyle: { color: '#d7191c' } },
              { name: 'free', value: Math.max(0, m.total_bytes - m.used_bytes), itemStyle: { color: '#abd9e9' } },
            ],
          },
        ],
      });
    else mem.empty('No memory sample.');
    try {
      const p = await api(`api/requests/${o.request_id}/profile`);
      prof.append(h('h4', null, 'Profiler call tree of this request'), treeTable(p.tree));
    } catch (e) {
      if (e.status !== 404) throw e;
    }
    panel.dataset.state = 'drawn';
    reveal(panel);
  } catch (e) {
    panel.dataset.state = 'error';
    panel.replaceChildren(h('p.note', null, 'Could not load: ' + e.message));
    showError(e.message);
  }
}

// One request's call tree: a flame graph over its wall time and the tree.
async function requestProfile(panel, r) {
  panel.hidden = false;
  panel.dataset.state = 'loading';
  panel.replaceChildren(h('p.note', null, 'Loading the call tree…'));
  reveal(panel);
  try {
    const p = await api(`api/requests/${r.request_id}/profile`);
    const box = h('div');
    panel.replaceChildren(
      h('div.panelhead', null, h('h3', null, `Request #${r.request_id}: ${fmtUs(p.duration_us)} at ${fmtTime(r.time)} (${fmtVersion(r)})`), h('button', { type: 'button', onclick: () => (panel.hidden = true) }, 'Close')),
      box,
      treeTable(p.tree),
    );
    const c = card(box, 'request-flame', 'Call tree (flame graph)', { wide: true, height: 260 });
    if (p.tree.length) c.draw(flameOption(p.tree));
    else c.empty('The profiler took no sample of this request.');
    panel.dataset.state = 'drawn';
    reveal(panel);
  } catch (e) {
    panel.dataset.state = 'error';
    panel.replaceChildren(h('p.note', null, 'Could not load: ' + e.message));
    showError(e.message);
  }
}

export async function render(root, go, id) {
  const rp = rangeParams();
  const title = h('h2', null, 'Endpoint #' + id);
  root.append(title);
  const findings = findingsPanel({ endpoint: id, reload: () => go(location.hash) });
  root.append(findings.el);
  const grid = h('div.grid');
  root.append(grid);
  // The title from the rules list: cheap, unlike the overview's counts.
  all('api/rules', { tz: state.tz })
    .then((d) => {
      const e = d.items.find((x) => String(x.id) === String(id));
      if (e) title.replaceChildren(dot(e.colour), e.endpoint, h('span.sub', null, ` ${e.rule} · ${e.methods}`));
      else showError(`No endpoint with id ${id}.`);
    })
    .catch((e) => showError(e.message));

  // Each card says which range it covers: the views of raw rows (status,
  // users, IPs, bubbles, profiles) read the last 30 days unless a range is
  // picked, the per-version rollups and outliers all time.
  const heat = card(grid, 'ep-heatmap', 'Requests per hour', { height: 340 });
  const last = card(grid, 'ep-lastdays', 'Last 2 days: min, average and max duration per hour', { height: 340 });
  const perHour = card(grid, 'ep-perhour', 'Last 2 days: requests per hour', { height: 280 });
  const status = card(grid, 'ep-status', 'Status codes', { height: 280 });
  const vers = card(grid, 'ep-versions', 'Duration per version', { wide: true, height: 360 });
  const jobs = [findings.done];
  jobs.push(fill(heat, () => api(`api/endpoints/${id}/heatmap`, { tz: state.tz, to: rp.to, days: rangeDays() }), heatmapOption, 30));
  const hours = state.to ? `the 48 hours to the end of ${state.to}` : 'last 48 hours';
  last.span(hours);
  perHour.span(hours);
  const hourly = all('api/hourly', { tz: state.tz, to: rp.to });
  const mine = async () => {
    const d = await hourly;
    const it = d.items.find((x) => String(x.endpoint_id) === String(id));
    return { d, it };
  };
  const hoursAxis = (d) => ({ type: 'category', data: d.hours.map((t) => t.slice(5, 13).replace('T', ' ') + 'h') });
  jobs.push(
    fill(last, mine, ({ d, it }) =>
      it && it.count.some((n) => n)
        ? {
            grid: { left: 70, right: 20, top: 30, bottom: 60 },
            legend: { top: 0, left: 60 },
            tooltip: { trigger: 'axis', valueFormatter: fmtUs },
            xAxis: hoursAxis(d),
            // no axis name: the title says what it is, the legend sits there
            yAxis: { ...durAxis(), name: null },
            dataZoom: zoomX,
            series: [
              { name: 'min', type: 'bar', data: it.min_us, itemStyle: { color: '#abd9e9' } },
              { name: 'avg', type: 'bar', data: it.avg_us, itemStyle: { color: it.colour } },
              { name: 'max', type: 'bar', data: it.max_us, itemStyle: { color: '#d7191c' } },
            ],
          }
        : null,
    ),
  );
  jobs.push(
    fill(perHour, mine, ({ d, it }) =>
      it && it.count.some((n) => n)
        ? {
            grid: { left: 60, right: 20, top: 30, bottom: 60 },
            tooltip: { trigger: 'axis' },
            xAxis: hoursAxis(d),
            yAxis: { type: 'value', name: 'requests' },
            dataZoom: zoomX,
            series: [{ name: 'requests', type: 'bar', data: it.count, itemStyle: { color: it.colour } }],
          }
        : null,
    ),
  );
  jobs.push(
    fill(
      status,
      () => api(`api/endpoints/${id}/status`, rp),
      (d) => {
        const codes = d.codes.filter((c) => c.count > 0);
        if (!codes.length) return null;
        const col = (s) => (s >= 500 ? '#d7191c' : s >= 400 ? '#fdae61' : s >= 300 ? '#abd9e9' : '#1a9641');
        // The donut's slices are named in a legend with their shares, not
        // by labels that small slices would pile on top of each other.
        const classes = Object.entries(d.classes).filter(([, v]) => v > 0);
        const total = classes.reduce((a, [, v]) => a + v, 0);
        const pct = (v) => (100 * v / total).toFixed(v / total < 0.1 ? 1 : 0) + ' %';
        const narrow = (status.body.clientWidth || 600) < 560;
        return {
          grid: { left: 50, right: narrow ? '48%' : '45%', top: 36, bottom: 30 },
          tooltip: { trigger: 'item', formatter: (p) => (p.seriesType === 'pie' ? `${p.name}: ${fmtInt(p.value)} (${pct(p.value)})` : `${p.name}: ${fmtInt(p.value)}`) },
          legend: {
            orient: 'vertical',
            right: 4,
            top: narrow ? undefined : 'middle',
            bottom: narrow ? 4 : undefined,
            itemWidth: 12,
            itemHeight: 10,
            data: classes.map(([k]) => k),
            formatter: (k) => `${k}  ${pct(d.classes[k])}`,
          },
          xAxis: { type: 'category', data: codes.map((c) => String(c.status)) },
          yAxis: { type: 'value', name: 'requests' },
          series: [
            { name: 'status code', type: 'bar', data: codes.map((c) => ({ value: c.count, itemStyle: { color: col(c.status) } })) },
            {
              name: 'status class',
              type: 'pie',
              center: narrow ? ['76%', '38%'] : ['68%', '55%'],
              radius: narrow ? ['16%', '30%'] : ['25%', '50%'],
              label: { show: false },
              data: classes.map(([k, v]) => ({ name: k, value: v, itemStyle: { color: col(k === 'other' ? 0 : Number(k[0]) * 100) } })),
            },
          ],
        };
      },
      30,
    ),
  );
  const versP = all(`api/endpoints/${id}/versions`, rp);
  jobs.push(
    fill(
      vers,
      () => versP,
      (d) => {
        const items = d.items.filter((v) => v.box && v.box.count > 0);
        return boxOption(
          items,
          (v) => {
            const live = Date.parse(v.last_seen) - Date.parse(v.first_seen);
            return `${fmtVersion(v)}${live < SHORT_LIVED_MS ? ' ⚠ short-lived' : ''}\n${(v.first_seen || '').slice(0, 10)} · ${fmtSpan(v.first_seen, v.last_seen)}`;
          },
          (v) => (Date.parse(v.last_seen) - Date.parse(v.first_seen) < SHORT_LIVED_MS ? '#d7191c' : '#5470c6'),
          vers.body.clientWidth,
        );
      },
      0,
    ),
  );
  // per user: of the grouping picked when the service names several
  const cap = (w) => w.charAt(0).toUpperCase() + w.slice(1);
  const plural = (w) => (w === 'user' ? 'users' : `${w} values`);
  jobs.push(topBoxes(grid, 'ep-users', (w) => `Duration per ${w}`, `api/endpoints/${id}/groups`, 'group', rp, true));
  jobs.push(topBoxes(grid, 'ep-ips', () => 'Duration per IP', `api/endpoints/${id}/ips`, 'ip', rp, false));
  jobs.push(topBubbles(grid, 'ep-bubbles-users', (w) => `${cap(w === 'user' ? 'users' : w)} × versions (size and colour: average duration)`, 'group', plural, id, rp, versP));
  jobs.push(topBubbles(grid, 'ep-bubbles-ips', () => 'IPs × versions (size and colour: average duration)', 'ip', () => 'IPs', id, rp, versP));

  // Outliers: a server-paged table (a busy endpoint has thousands); a
  // click opens the detail panel.
  const obox = h('div.tablecard.wide.outliers', { 'data-state': 'loading' }, h('div.note', null, 'Loading outliers…'));
  const panel = h('div.panel', { hidden: true, 'data-panel': 'outlier' });
  root.append(h('h3', null, 'Outliers ', h('span.sub', null, spanText(0))), obox, panel);
  jobs.push(
    pagedTable(
      obox,
      (pg) => api(`api/endpoints/${id}/outliers`, { ...rp, ...pg }),
      [
        { key: 'id', label: '#', num: true },
        { key: 'time', label: 'Time', render: (r) => fmtTime(r.time) },
        { key: 'duration_us', label: 'Duration', num: true, render: (r) => fmtUs(r.duration_us) },
        { key: 'request_id', label: 'Request', num: true },
      ],
      {
        sorts: [
          ['time', 'newest first'],
          ['duration', 'slowest first'],
        ],
        rowAttrs: (r) => ({ class: 'clickable', 'data-outlier': r.id, onclick: () => outlierDetail(panel, r.id) }),
      },
    ),
  );

  // Grouped profiler of one version: tree table and sunburst.
  const pgrid = h('div.grid');
  root.append(h('h3', null, 'Profiler'), pgrid);
  const sun = card(pgrid, 'ep-profile', 'Grouped profile (by time)', { height: 420 });
  const tbox = h('div.tablecard', { 'data-state': 'loading' }, h('div.note', null, 'Loading profile…'));
  pgrid.append(tbox);
  const vsel = h('select', { 'aria-label': 'version' });
  const kind = h('select', { 'aria-label': 'chart kind', 'data-profile-kind': '' }, h('option', { value: 'sunburst' }, 'sunburst'), h('option', { value: 'flame' }, 'flame graph'));
  sun.tools.append(kind, vsel);
  let plines = [];
  const paintProfile = () => {
    const tree = nest(plines.filter((l) => l.version === vsel.value));
    if (!tree.length) {
      sun.empty('No profiled request in this range (level 3 records the profiler).');
      tbox.replaceChildren(h('p.note', null, 'No profiled request.'));
      tbox.dataset.state = 'empty';
      return null;
    }
    tbox.replaceChildren(treeTable(tree));
    tbox.dataset.state = 'drawn';
    if (kind.value === 'flame') return flameOption(tree);
    return {
      tooltip: { formatter: (p) => `${p.name}<br>${fmtUs(p.value)}` },
      series: [{ name: 'profile', type: 'sunburst', data: toSun(tree), radius: [0, '95%'], label: { rotate: 'radial', minAngle: 8 } }],
    };
  };
  const repaint = () => {
    const o = paintProfile();
    if (o) sun.draw(o);
  };
  vsel.addEventListener('change', repaint);
  kind.addEventListener('change', repaint);
  jobs.push(
    fill(
      sun,
      () => all(`api/endpoints/${id}/profile`, rp),
      (d) => {
        plines = d.items;
        const vs = [...new Set(plines.map((l) => l.version))];
        vsel.replaceChildren(...vs.map((v) => h('option', { value: v }, fmtVersion(plines.find((l) => l.version === v)))));
        if (vs.length) vsel.value = vs[vs.length - 1];
        if (!vs.length) {
          tbox.replaceChildren(h('p.note', null, 'No profiled request.'));
          tbox.dataset.state = 'empty';
          return null;
        }
        return paintProfile();
      },
      30,
    ),
  );
  // Profiled requests, one page at a time; a click draws that request's
  // own call tree as a flame graph and a tree table.
  const rbox = h('div.tablecard.wide.profiled', { 'data-state': 'loading' }, h('div.note', null, 'Loading profiled requests…'));
  const rpanel = h('div.panel', { hidden: true, 'data-panel': 'request-profile' });
  root.append(h('h3', null, 'Profiled requests ', h('span.sub', null, spanText(30))), rbox, rpanel);
  jobs.push(
    pagedTable(
      rbox,
      (pg) => api(`api/endpoints/${id}/profiled`, { ...rp, ...pg }),
      [
        { key: 'request_id', label: 'Request', num: true },
        { key: 'time', label: 'Time', render: (r) => fmtTime(r.time) },
        { key: 'version', label: 'Version', render: (r) => fmtVersion(r) },
        { key: 'duration_us', label: 'Duration', num: true, render: (r) => fmtUs(r.duration_us) },
      ],
      { rowAttrs: (r) => ({ class: 'clickable', 'data-request': r.request_id, onclick: () => requestProfile(rpanel, r) }) },
    ),
  );
  const results = await Promise.allSettled(jobs);
  if (tbox.dataset.state === 'loading') {
    tbox.dataset.state = 'error';
    tbox.replaceChildren(h('p.note', null, 'The profile could not be loaded.'));
  }
  const bad = results.find((r) => r.status === 'rejected');
  if (bad) throw bad.reason;
}
