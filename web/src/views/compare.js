// compare.js — two versions (or two time ranges) side by side: per endpoint
// requests, median and p95 of each side, the ratio with its 95% CI, the
// test's p-value and the 5xx share; the endpoints that appeared or
// vanished; per user group; and, for one endpoint, a differential flame
// graph of its profiles.
//   #/compare/A/B[/ENDPOINT]          versions (ids)
//   #/compare/range/F1/T1/F2/T2       days, YYYY-MM-DD (inclusive)
import { all, api } from '../api.js';
import { card, esc } from '../charts.js';
import { h, state, fmtUs, fmtInt, fmtVersion, table } from '../ui.js';

const fmtP = (p) => (p === null || p === undefined ? '–' : p < 0.001 ? p.toExponential(0) : p.toFixed(3));
const pct = (k, n) => (n ? ((100 * k) / n).toFixed(1) + ' %' : '–');

function dayToS(d, end) {
  const t = Date.parse(d + 'T00:00:00Z') / 1000;
  return end ? t + 86400 : t;
}

export async function render(root, go, args = []) {
  root.append(h('h2', null, 'Compare versions'));
  const vs = (await all('api/versions', { tz: state.tz })).items.slice().sort((a, b) => Date.parse(a.first_seen) - Date.parse(b.first_seen));
  const ranges = args[0] === 'range';
  let [ia, ib, ep] = ranges ? [] : args;
  if (!ranges && (!ia || !ib) && vs.length >= 2) {
    const imp = vs.filter((v) => v.important);
    ib = String(vs[vs.length - 1].id);
    const prevImp = imp.filter((v) => String(v.id) !== ib).pop();
    ia = String((prevImp || vs[vs.length - 2]).id);
  }
  const pick = (id, sel) => h('select', { 'aria-label': id, 'data-side': id }, vs.map((v) => h('option', { value: v.id, selected: String(v.id) === sel }, fmtVersion(v) + (v.important ? ' ★' : ''))));
  const selA = pick('a', ia);
  const selB = pick('b', ib);
  const day = (name, v) => h('input', { type: 'date', 'aria-label': name, 'data-day': name, value: v || '' });
  const days = ranges ? args.slice(1) : [];
  const rA0 = day('a from', days[0]);
  const rA1 = day('a to', days[1]);
  const rB0 = day('b from', days[2]);
  const rB1 = day('b to', days[3]);
  const mode = h('select', { 'aria-label': 'compare what', 'data-mode': '' }, h('option', { value: 'v', selected: !ranges }, 'two versions'), h('option', { value: 'r', selected: ranges }, 'two time ranges'));
  const vPart = h('span.side', null, 'A ', selA, ' → B ', selB);
  const rPart = h('span.side', null, 'A ', rA0, '–', rA1, ' → B ', rB0, '–', rB1);
  const paintMode = () => {
    vPart.hidden = mode.value !== 'v';
    rPart.hidden = mode.value === 'v';
  };
  mode.onchange = paintMode;
  paintMode();
  const goBtn = h(
    'button',
    {
      type: 'submit',
      'data-compare': '',
    },
    'Compare',
  );
  const form = h('form.compareform', { onsubmit: (e) => (e.preventDefault(), submit()) }, mode, vPart, rPart, goBtn);
  function submit() {
    if (mode.value === 'v') go(`#/compare/${selA.value}/${selB.value}`);
    else if (rA0.value && rA1.value && rB0.value && rB1.value) go(`#/compare/range/${rA0.value}/${rA1.value}/${rB0.value}/${rB1.value}`);
  }
  root.append(form);
  const out = h('div.tablecard.wide.compare', { 'data-state': 'loading' }, h('div.note', null, 'Comparing…'));
  const groups = h('div.tablecard.wide.groupsbox', { 'data-state': 'loading' });
  const grid = h('div.grid');
  // the grouping the groups table shows, when the service names several
  const gsel = h('select', { 'aria-label': 'grouping', 'data-grouping': 'compare', hidden: true });
  const gtitle = h('span', null, 'Per user group');
  root.append(out, h('h3.groupshead', null, gtitle, ' ', gsel), groups, grid);
  if (!ranges && (!ia || !ib)) {
    out.dataset.state = 'empty';
    out.replaceChildren(h('p.note', null, 'Two versions are needed to compare.'));
    groups.dataset.state = 'empty';
    return;
  }
  const params = ranges
    ? { a_from: dayToS(days[0]), a_to: dayToS(days[1], 1), b_from: dayToS(days[2]), b_to: dayToS(days[3], 1), tz: state.tz }
    : { a: ia, b: ib, tz: state.tz };
  let d;
  try {
    d = await api('api/compare', params);
  } catch (e) {
    out.dataset.state = 'error';
    out.replaceChildren(h('p.note', null, 'Could not compare: ' + e.message));
    groups.dataset.state = 'error';
    throw e;
  }
  const side = (s) => (s.kind === 'version' ? fmtVersion(s) : `${s.from.slice(0, 10)} – ${s.to.slice(0, 10)}`);
  const slower = d.endpoints.filter((r) => r.change === 'slower').length;
  const faster = d.endpoints.filter((r) => r.change === 'faster').length;
  const cols = [
    { key: 'endpoint', label: 'Endpoint', render: (r) => h('a', { href: `#/endpoint/${r.endpoint_id}` }, r.endpoint) },
    { key: 'a_n', label: 'A requests', num: true, value: (r) => r.a.requests, render: (r) => fmtInt(r.a.requests) },
    { key: 'a_med', label: 'A median', num: true, value: (r) => r.a.median_us, render: (r) => fmtUs(r.a.median_us) },
    { key: 'a_p95', label: 'A p95', num: true, value: (r) => r.a.p95_us, render: (r) => fmtUs(r.a.p95_us) },
    { key: 'b_n', label: 'B requests', num: true, value: (r) => r.b.requests, render: (r) => fmtInt(r.b.requests) },
    { key: 'b_med', label: 'B median', num: true, value: (r) => r.b.median_us, render: (r) => fmtUs(r.b.median_us) },
    { key: 'b_p95', label: 'B p95', num: true, value: (r) => r.b.p95_us, render: (r) => fmtUs(r.b.p95_us) },
    {
      key: 'ratio',
      label: 'B / A median (95% CI)',
      num: true,
      value: (r) => r.ratio ?? 0,
      render: (r) => (r.ratio ? `${r.ratio.toFixed(2)}×` + (r.ratio_ci95 ? ` [${r.ratio_ci95[0].toFixed(2)}–${r.ratio_ci95[1].toFixed(2)}]` : '') : '–'),
    },
    { key: 'p', label: 'p (Holm)', num: true, value: (r) => r.p_holm ?? 2, render: (r) => h('span', { title: `unadjusted ${fmtP(r.p_value)}; ${r.method || ''}` }, fmtP(r.p_holm)) },
    {
      key: 'err',
      label: '5xx A → B',
      num: true,
      value: (r) => (r.b.requests ? (r.b.status ? r.b.status['5xx'] : 0) / r.b.requests : 0),
      render: (r) => `${r.a.status ? pct(r.a.status['5xx'], r.a.requests) : '–'} → ${r.b.status ? pct(r.b.status['5xx'], r.b.requests) : '–'}`,
    },
    { key: 'change', label: 'Change', render: (r) => h('span', { class: 'change ch-' + r.change }, r.change) },
  ];
  out.replaceChildren(
    h(
      'p.comparehead',
      null,
      h('b', null, `A: ${side(d.a)}`),
      ' → ',
      h('b', null, `B: ${side(d.b)}`),
      ` · ${d.endpoints.length} endpoints · ${slower} slower · ${faster} faster`,
      d.appeared.length ? h('span.appeared', null, ` · appeared: ${d.appeared.join(', ')}`) : null,
      d.vanished.length ? h('span.vanished', null, ` · vanished: ${d.vanished.join(', ')}`) : null,
    ),
    table(cols, d.endpoints, { sort: 'ratio', cls: 'comparetable', rowAttrs: (r) => ({ 'data-endpoint': r.endpoint_id, class: String(r.endpoint_id) === String(ep) ? 'picked' : null }) }),
    h('p.hint', null, 'Medians and p95 from the rollup sketches (every request, within 1%); the ratio, its interval (Hodges–Lehmann with Moses’ bounds) and the U test from the newest 5,000 raw requests of each side where they are kept, else from the sketches.'),
  );
  out.dataset.state = 'drawn';
  const paintGroups = (doc) => {
    const gs = doc.groupings || [];
    gsel.replaceChildren(...gs.map((g) => h('option', { value: g, selected: g === doc.grouping }, g === 'group' ? '(unnamed)' : g)));
    gsel.hidden = gs.length < 2;
    const named = doc.grouping && doc.grouping !== 'group';
    gtitle.textContent = named ? `Per ${doc.grouping}` : 'Per user group';
    groups.replaceChildren(
      table(
        [
          { key: 'group', label: named ? doc.grouping.charAt(0).toUpperCase() + doc.grouping.slice(1) : 'User group' },
          { key: 'a_n', label: 'A requests', num: true, value: (g) => g.a.requests, render: (g) => fmtInt(g.a.requests) },
          { key: 'a_med', label: 'A median', num: true, value: (g) => g.a.median_us, render: (g) => fmtUs(g.a.requests ? g.a.median_us : null) },
          { key: 'b_n', label: 'B requests', num: true, value: (g) => g.b.requests, render: (g) => fmtInt(g.b.requests) },
          { key: 'b_med', label: 'B median', num: true, value: (g) => g.b.median_us, render: (g) => fmtUs(g.b.requests ? g.b.median_us : null) },
          { key: 'ratio', label: 'B / A', num: true, value: (g) => g.ratio ?? 0, render: (g) => (g.ratio ? g.ratio.toFixed(2) + '×' : '–') },
        ],
        doc.groups,
        { sort: 'b_n', cls: 'groups' },
      ),
    );
    groups.dataset.state = doc.groups.length ? 'drawn' : 'empty';
  };
  paintGroups(d);
  gsel.addEventListener('change', async () => {
    groups.dataset.state = 'loading';
    try {
      paintGroups(await api('api/compare', { ...params, grouping: gsel.value }));
    } catch (e) {
      groups.dataset.state = 'error';
      groups.replaceChildren(h('p.note', null, 'Could not load: ' + e.message));
    }
  });
  if (ranges) return;

  // the profile diff of one endpoint (profiled at level 3 in both versions)
  const flame = card(grid, 'profile-diff', 'Profile difference: each function’s share of the time, B against A', { wide: true, height: 300 });
  const epSel = h('select', { 'aria-label': 'endpoint', 'data-flame-endpoint': '' }, d.endpoints.filter((r) => r.a.requests && r.b.requests).map((r) => h('option', { value: r.endpoint_id, selected: String(r.endpoint_id) === String(ep) }, r.endpoint)));
  flame.tools.append(epSel);
  const draw = async () => {
    flame.loading();
    try {
      const p = await api(`api/endpoints/${epSel.value}/profile_diff`, { a: ia, b: ib, from: 0 });
      const opt = flameOption(p, flame);
      if (typeof opt === 'string') flame.empty(opt);
      else flame.draw(opt);
    } catch (e) {
      flame.fail(e);
    }
  };
  epSel.onchange = () => {
    go(`#/compare/${ia}/${ib}/${epSel.value}`);
  };
  if (epSel.value) await draw();
  else flame.empty('No endpoint has requests in both versions.');
}

// Diverging classes of the change in share (percentage points).
const DELTA_PIECES = [
  { lt: -10, color: '#2166ac', label: 'shrank > 10 pts' },
  { gte: -10, lt: -2, color: '#92c5de', label: 'shrank 2–10 pts' },
  { gte: -2, lte: 2, color: '#e0e0e0', label: 'within 2 pts' },
  { gt: 2, lte: 10, color: '#f4a582', label: 'grew 2–10 pts' },
  { gt: 10, color: '#b2182b', label: 'grew > 10 pts' },
];

// An icicle of B's merged call tree: width = share of B's time, colour =
// the change of that share from A, the function that grew most (self
// time) named in the title.
export function flameOption(p, c) {
  if (!p.b.requests || !p.a.requests) return `No level-3 profiles of this endpoint in ${p.a.requests ? 'B' : 'A'} (${fmtInt(p.a.requests)} in A, ${fmtInt(p.b.requests)} in B).`;
  const rows = [];
  let depth = 0;
  const walk = (n, x0, dpt) => {
    rows.push([x0, x0 + n.b_share, dpt, 100 * n.delta, n.function, n.file, n.a_share, n.b_share]);
    depth = Math.max(depth, dpt);
    let x = x0;
    for (const k of n.children.slice().sort((u, v) => v.b_share - u.b_share)) {
      if (k.b_share > 0) walk(k, x, dpt + 1);
      x += k.b_share;
    }
  };
  walk(p.tree, 0, 0);
  const g = p.grew_most;
  const width = c.body.clientWidth || 800;
  const narrow = width < 600;
  c.body.style.height = Math.max(220, (depth + 1) * 30 + 130) + 'px';
  c.what(`${fmtInt(p.a.requests)} profiled requests in A, ${fmtInt(p.b.requests)} in B`);
  const grew = g && g.delta > 0 ? `${g.function} grew most: ${(100 * g.a_self_share).toFixed(1)} → ${(100 * g.b_self_share).toFixed(1)} % of the time${narrow ? '' : ' (self time, B against A)'}` : 'No function’s share of the time grew';
  return {
    // the function that grew most, named above the graph (below the toolbox)
    title: { text: grew, left: 'center', top: 20, textStyle: { fontSize: 13, width: width - 16, overflow: 'truncate' } },
    toolbox: { right: 8, top: 0, padding: 2, itemSize: 12, feature: { saveAsImage: {} } },
    tooltip: {
      formatter: (q) => `${esc(q.value[4])} <span style="color:#888">${esc(q.value[5])}</span><br>A ${(100 * q.value[6]).toFixed(1)} % → B ${(100 * q.value[7]).toFixed(1)} % of the time (${q.value[3] >= 0 ? '+' : ''}${q.value[3].toFixed(1)} pts)`,
    },
    visualMap: {
      type: 'piecewise',
      dimension: 3,
      pieces: narrow ? DELTA_PIECES.map((q, i) => ({ ...q, label: ['< −10', '−10…−2', '±2', '2…10', '> 10'][i] })) : DELTA_PIECES,
      orient: 'horizontal',
      left: 'center',
      bottom: 0,
      itemWidth: narrow ? 10 : 14,
      itemHeight: 10,
      itemGap: narrow ? 4 : 10,
      textGap: 3,
      textStyle: { fontSize: 11 },
    },
    grid: { left: 8, right: 8, top: 46, bottom: 40 },
    xAxis: { type: 'value', min: 0, max: 1, show: false },
    yAxis: { type: 'value', min: 0, max: depth + 1, inverse: true, show: false },
    series: [
      {
        type: 'custom',
        name: 'profile',
        encode: { x: [0, 1], y: 2 },
        data: rows,
        renderItem: (params, apiR) => {
          const a = apiR.coord([apiR.value(0), apiR.value(2)]);
          const b = apiR.coord([apiR.value(1), apiR.value(2) + 1]);
          const w = b[0] - a[0];
          const label = String(apiR.value(4));
          return {
            type: 'rect',
            shape: { x: a[0], y: a[1] + 1, width: Math.max(0.5, w - 1), height: b[1] - a[1] - 2 },
            style: { fill: apiR.visual('color'), stroke: '#fff', lineWidth: 0.5 },
            textContent: w > 7 * label.length + 8 ? { style: { text: label, fill: '#1d2330', fontSize: 11 } } : undefined,
            textConfig: { position: 'inside' },
          };
        },
      },
    ],
  };
}
