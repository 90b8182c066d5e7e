// versions.js — versions (a deployment timeline), the evolution of the
// busiest endpoints' durations across versions, and instances.
import { all, api } from '../api.js';
import { card, fill, zoomX, durAxis, esc } from '../charts.js';
import { h, state, isAdmin, rangeParams, fmtInt, fmtUs, fmtTime, fmtSpan, fmtVersion, zoneShift, table } from '../ui.js';
import { instanceTable, pickNote } from '../scope.js';
import { renamesSection } from './renames.js';

const TOP = 10;

// Per version (x, in deployment order), the median or p90 of each of the
// TOP busiest endpoints, one line each in the endpoint's colour.
function evolutionOption(d, stat, width) {
  if (!d.items.length) return null;
  const totals = new Map();
  for (const v of d.items) for (const e of v.endpoints) totals.set(e.endpoint_id, (totals.get(e.endpoint_id) || { ...e, n: 0 }));
  for (const v of d.items) for (const e of v.endpoints) totals.get(e.endpoint_id).n += e.count;
  const top = [...totals.values()].sort((a, b) => b.n - a.n).slice(0, TOP);
  return {
    grid: { left: 70, right: 20, top: 60, bottom: 50 },
    // clear of the toolbox (ECharts keeps `left` and drops `right`)
    legend: { type: 'scroll', top: 0, left: 0, width: Math.max(120, (width || 800) - 116) },
    tooltip: { trigger: 'axis', valueFormatter: (v) => (v === null || v === undefined ? '–' : fmtUs(v)) },
    xAxis: { type: 'category', data: d.items.map(fmtVersion) },
    yAxis: durAxis(stat === 'p90_us' ? 'p90' : 'median'),
    dataZoom: zoomX,
    series: top.map((e) => ({
      name: e.name,
      type: 'line',
      connectNulls: false,
      itemStyle: { color: e.colour },
      data: d.items.map((v) => {
        const x = v.endpoints.find((y) => y.endpoint_id === e.endpoint_id);
        return x ? x[stat] : null;
      }),
    })),
  };
}

export async function render(root, go) {
  root.append(h('h2', null, 'Versions and instances'));
  const grid = h('div.grid');
  root.append(grid);
  const life = card(grid, 'versions-life', 'Versions: when each was live, and its requests', { wide: true, height: 300 });
  const evo = card(grid, 'versions-evolution', `Evolution: the ${TOP} busiest endpoints across versions`, { wide: true, height: 360 });
  const stat = h('select', { 'aria-label': 'statistic', 'data-evolution-stat': '' }, h('option', { value: 'median_us' }, 'median'), h('option', { value: 'p90_us' }, 'p90'));
  evo.tools.append(stat);
  const vbox = h('div.tablecard.wide', { 'data-state': 'loading' }, h('div.note', null, 'Loading versions…'));
  const ibox = h('div.tablecard.wide', { 'data-state': 'loading' }, h('div.note', null, 'Loading instances…'));
  const rbox = h('div.tablecard.wide', { 'data-state': 'loading' });
  root.append(h('h3', null, 'Versions'), vbox, h('h3', null, 'Instances'), ibox, h('h3', null, 'Renamed endpoints'), rbox);
  // an admin sees the hidden versions too, to show them again
  const vP = all('api/versions', { tz: state.tz, hidden: isAdmin() ? 1 : undefined });
  const reload = () => go(location.hash || '#/versions');
  const tables = (async () => {
    const [v, i] = await Promise.all([vP, all('api/instances', { tz: state.tz, instance: '' })]);
    vbox.replaceChildren(
      table(
        [
          { key: 'name', label: 'Version', value: (r) => fmtVersion(r), render: (r) => fmtVersion(r) },
          { key: 'first_seen', label: 'First deployed', render: (r) => fmtTime(r.first_seen) },
          { key: 'last_seen', label: 'Last seen', render: (r) => fmtTime(r.last_seen) },
          { key: 'live', label: 'Live for', value: (r) => Date.parse(r.last_seen) - Date.parse(r.first_seen), render: (r) => fmtSpan(r.first_seen, r.last_seen) },
          { key: 'requests', label: 'Requests', num: true, render: (r) => fmtInt(r.requests) },
          { key: 'important', label: 'Release', value: (r) => (r.important ? 1 : 0), render: (r) => markControl(r, 'important', '★ release', 'baselines default to the previous release', reload) },
          { key: 'hidden', label: 'Hidden', value: (r) => (r.hidden ? 1 : 0), render: (r) => markControl(r, 'hidden', 'hidden', 'left out of the version views and of the baselines', reload) },
        ],
        v.items,
        { sort: 'first_seen', desc: false, rowAttrs: (r) => ({ 'data-version': r.id, class: r.hidden ? 'hiddenversion' : null }) },
      ),
    );
    vbox.dataset.state = 'drawn';
    ibox.replaceChildren(
      pickNote(i.items),
      instanceTable(i.items, {
        extra: [
          { key: 'recorded', label: 'Recorded', num: true, render: (r) => fmtInt(r.recorded) },
          { key: 'dropped', label: 'Dropped', num: true, render: (r) => h('span', { class: r.dropped ? 'bad' : null }, fmtInt(r.dropped)) },
        ],
      }),
    );
    ibox.dataset.state = 'drawn';
  })().catch((e) => {
    for (const b of [vbox, ibox])
      if (b.dataset.state === 'loading') {
        b.dataset.state = 'error';
        b.replaceChildren(h('p.note', null, 'Could not load: ' + e.message));
      }
    throw e;
  });
  let evoData = null;
  stat.addEventListener('change', () => {
    const o = evoData && evolutionOption(evoData, stat.value, evo.body.clientWidth);
    if (o) evo.draw(o);
  });
  await Promise.all([
    tables,
    renamesSection(rbox, reload),
    fill(life, async () => ({ ...(await vP), items: (await vP).items.filter((v) => !v.hidden) }), timelineOption, 0),
    fill(
      evo,
      () => all('api/evolution', { ...rangeParams(0) }),
      (d) => {
        evoData = d;
        return evolutionOption(d, stat.value, evo.body.clientWidth);
      },
      0,
    ),
  ]);
}

// A deployment timeline: one bar per version from its first to its last
// request, labelled with its request count.
function timelineOption(v) {
  if (!v.items.length) return null;
  const vs = v.items.slice().sort((a, b) => Date.parse(a.first_seen) - Date.parse(b.first_seen));
  const names = vs.map(fmtVersion);
  // The time axis is drawn in UTC over times shifted by the dashboard
  // zone's offset, so that its ticks and labels read in that zone.
  const at = (iso) => zoneShift(Date.parse(iso), state.tz);
  return {
    grid: { left: 80, right: 30, top: 30, bottom: 50 },
    useUTC: true,
    tooltip: { formatter: (p) => `${esc(names[p.value[0]])}: ${fmtTime(vs[p.value[0]].first_seen)} → ${fmtTime(vs[p.value[0]].last_seen)}<br>${fmtInt(p.value[4])} requests` },
    xAxis: { type: 'time', axisLabel: { hideOverlap: true, formatter: { year: '{yyyy}', month: '{yyyy}-{MM}', day: '{MM}-{dd}', hour: '{HH}:{mm}', minute: '{HH}:{mm}' } } },
    yAxis: { type: 'category', data: names, inverse: true },
    dataZoom: zoomX,
    series: [
      {
        name: 'versions',
        type: 'custom',
        encode: { x: [1, 2], y: 0 },
        data: vs.map((x, i) => [i, at(x.first_seen), Math.max(at(x.last_seen), at(x.first_seen) + 3600000), names[i], x.requests]),
        renderItem: (params, api) => {
          const a = api.coord([api.value(1), api.value(0)]);
          const b = api.coord([api.value(2), api.value(0)]);
          const hgt = api.size([0, 1])[1] * 0.6;
          const w = Math.max(2, b[0] - a[0]);
          return {
            type: 'rect',
            shape: { x: a[0], y: a[1] - hgt / 2, width: w, height: hgt },
            style: { fill: '#5470c6' },
            textContent: { style: { text: fmtInt(api.value(4)), fill: w > 60 ? '#fff' : '#333', fontSize: 11 } },
            textConfig: { position: w > 60 ? 'inside' : 'right' },
          };
        },
      },
    ],
  };
}

// A version's mark: a toggle for an admin, a word for a guest.
function markControl(v, key, label, title, reload) {
  if (!isAdmin()) return v[key] ? label : '';
  const b = h(
    'button',
    {
      type: 'button',
      class: v[key] ? 'mark on' : 'mark',
      'data-mark': key,
      'aria-pressed': v[key] ? 'true' : 'false',
      title: (v[key] ? 'unmark: ' : 'mark: ') + title,
      onclick: async () => {
        b.disabled = true;
        await api(`api/versions/${v.id}/mark`, null, { method: 'POST', body: { [key]: !v[key] } });
        reload();
      },
    },
    label,
  );
  return b;
}
