// overview.js — the endpoint table (sortable, filterable, with sparklines
// and level toggles) and the API-wide charts.
import { all, api } from '../api.js';
import { card, fill, heatmapOption, boxOption, zoomX, esc } from '../charts.js';
import { h, state, rangeParams, rangeDays, fmtUs, fmtInt, fmtTime, fmtVersion, table } from '../ui.js';
import { levelControl } from './level.js';
import { multiService } from '../scope.js';
import { findingsPanel } from './findings.js';

function sparkline(counts, colour) {
  const w = 90,
    hgt = 22;
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('width', w);
  svg.setAttribute('height', hgt);
  svg.setAttribute('class', 'spark');
  if (!counts || !counts.length) return svg;
  const max = Math.max(1, ...counts);
  const step = counts.length > 1 ? w / (counts.length - 1) : 0;
  const pts = counts.map((c, i) => `${(i * step).toFixed(1)},${(hgt - 1 - (c / max) * (hgt - 2)).toFixed(1)}`);
  const line = document.createElementNS(ns, 'polyline');
  line.setAttribute('points', pts.join(' '));
  line.setAttribute('fill', 'none');
  line.setAttribute('stroke', colour);
  line.setAttribute('stroke-width', '1.5');
  svg.append(line);
  svg.dataset.points = counts.length;
  return svg;
}

export const dot = (colour) => h('span.dot', { style: { background: colour } });

export async function render(root, go) {
  root.append(h('h2', null, 'Overview'));
  // what stands out, before the numbers it comes from
  const findings = findingsPanel({ reload: () => go(location.hash || '#/overview') });
  root.append(findings.el);
  const tableBox = h('div.tablecard', { 'data-state': 'loading' }, h('div.note', null, 'Loading endpoints…'));
  root.append(tableBox);
  const grid = h('div.grid');
  root.append(grid);
  const rp = rangeParams();
  const heat = card(grid, 'api-heatmap', 'Requests per hour (whole API)', { height: 360 });
  const daily = card(grid, 'api-daily', 'Daily utilisation per endpoint', { height: 360 });
  const perf = card(grid, 'api-performance', 'API performance', { wide: true, height: 380 });
  const matrix = card(grid, 'api-matrix', 'Version utilisation (% of each version’s requests)', { wide: true, height: 420 });

  const dailyP = all('api/daily', rp);
  const tableP = (async () => {
    const [ov, dl] = await Promise.all([all('api/overview', { tz: state.tz, to: rp.to }), dailyP.catch(() => null)]);
    const spark = new Map();
    if (dl) for (const it of dl.items) spark.set(it.endpoint_id, it.counts.slice(-14));
    const cols = [
      {
        key: 'name',
        label: 'Endpoint',
        render: (r) => h('a', { href: `#/endpoint/${r.id}`, title: r.name }, dot(r.colour), r.name),
      },
      ...(multiService() && !state.service ? [{ key: 'service', label: 'Service' }] : []),
      { key: 'today', label: 'Hits today', num: true, value: (r) => r.hits.today, render: (r) => fmtInt(r.hits.today) },
      { key: 'week', label: 'This week', num: true, value: (r) => r.hits.week, render: (r) => fmtInt(r.hits.week) },
      { key: 'overall', label: 'Overall', num: true, value: (r) => r.hits.overall, render: (r) => fmtInt(r.hits.overall) },
      { key: 'spark', label: 'Last 14 days', value: () => '', render: (r) => sparkline(spark.get(r.id), r.colour) },
      {
        key: 'median',
        label: 'Median',
        num: true,
        value: (r) => r.median_us.overall,
        render: (r) => h('span', { title: `today ${fmtUs(r.median_us.today)}, week ${fmtUs(r.median_us.week)}` }, fmtUs(r.median_us.overall)),
      },
      {
        key: 'errors',
        label: 'Errors',
        num: true,
        value: (r) => r.errors.overall,
        render: (r) => h('span', { class: r.errors.today ? 'bad' : null, title: `today ${r.errors.today}, week ${r.errors.week}` }, fmtInt(r.errors.overall)),
      },
      { key: 'last', label: 'Last access', value: (r) => r.last_access || '', render: (r) => fmtTime(r.last_access) },
      { key: 'level', label: 'Level', num: true, value: (r) => r.level, render: (r) => levelControl(r) },
    ];
    tableBox.replaceChildren(table(cols, ov.items, { sort: 'overall', cls: 'overview', rowAttrs: (r) => ({ 'data-endpoint': r.id }) }));
    tableBox.dataset.state = ov.items.length ? 'drawn' : 'empty';
    if (!ov.items.length) tableBox.append(h('p.note', null, 'No endpoint has been recorded yet.'));
  })().catch((e) => {
    tableBox.dataset.state = 'error';
    tableBox.replaceChildren(h('p.note', null, 'Could not load: ' + e.message));
    throw e;
  });

  const jobs = [
    fill(heat, () => api('api/heatmap', { tz: state.tz, to: rp.to, days: rangeDays() }), heatmapOption, 30),
    fill(
      daily,
      () => dailyP,
      (d) =>
        d.items.length && d.items.some((i) => i.counts.some((n) => n > 0))
          ? {
              grid: { left: 60, right: 20, top: 30, bottom: 60 },
              tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, confine: true },
              xAxis: { type: 'category', data: d.days },
              yAxis: { type: 'value', name: 'requests' },
              dataZoom: zoomX,
              series: d.items.map((it) => ({
                name: it.name,
                type: 'bar',
                stack: 'all',
                data: it.counts,
                itemStyle: { color: it.colour },
                emphasis: { focus: 'series' },
              })),
            }
          : null,
      30,
    ),
    fill(
      perf,
      () => all('api/performance', rp),
      (d) => {
        const items = d.items.filter((i) => i.box && i.box.count > 0);
        return boxOption(items, (i) => i.name, (i) => i.colour, perf.body.clientWidth);
      },
      30,
    ),
    fill(matrix, () => all('api/matrix', rp), (d) => matrixOption(d, matrix), 0),
  ];
  await Promise.all([tableP, findings.done, ...jobs]);
}

// Share classes of the version utilisation matrix, in % of a version's
// requests: most endpoints take a few per cent, a handful take tens.
export const SHARE_CLASSES = [0, 0.5, 1, 2, 5, 10, 20, 100];
const SHARE_COLOURS = ['#f7fbff', '#deebf7', '#c6dbef', '#9ecae1', '#6baed6', '#3182bd', '#08519c'];

// Endpoints (rows) × versions (columns); a cell shows, and is coloured by,
// the endpoint's share of the version's requests.
export function matrixOption(d, card) {
  const vers = d.items.filter((v) => v.total > 0);
  if (!vers.length) return null;
  const eps = new Map();
  for (const v of vers) for (const e of v.endpoints) if (!eps.has(e.endpoint_id)) eps.set(e.endpoint_id, e);
  // the busiest endpoint at the top
  const epList = [...eps.values()];
  const row = new Map(epList.map((e, i) => [e.endpoint_id, i]));
  if (card) card.body.style.height = Math.max(300, 18 * epList.length + 110) + 'px';
  const data = [];
  // [version, endpoint, share as shown (%, one decimal: the colour follows it), requests, share]
  vers.forEach((v, x) => v.endpoints.forEach((e) => data.push([x, row.get(e.endpoint_id), +(100 * e.share).toFixed(1), e.count, 100 * e.share])));
  const width = (card && card.body.clientWidth) || 900;
  const narrow = width < 600;
  const pct = narrow ? '' : ' %';
  const pieces = SHARE_CLASSES.slice(0, -1).map((lo, i) => {
    const hi = SHARE_CLASSES[i + 1];
    return { gte: lo, lt: hi === 100 ? 100.01 : hi, label: hi === 100 ? `≥ ${lo}${pct}` : `${lo}–${hi}${pct}`, color: SHARE_COLOURS[i] };
  });
  // Endpoint names in the text colour, each after a dot of its colour.
  const rich = Object.fromEntries(epList.map((e, i) => ['c' + i, { color: e.colour, fontSize: 14 }]));
  const grid = { left: narrow ? 120 : 170, right: narrow ? 8 : 20, top: 36, bottom: 70 };
  // the shares are written in the cells where they fit
  const cellW = (width - grid.left - grid.right) / vers.length;
  const fontSize = cellW < 36 ? 10 : 12;
  return {
    grid,
    tooltip: { formatter: (p) => `${esc(epList[p.value[1]].name)} on ${esc(fmtVersion(vers[p.value[0]]))}<br>${p.value[4].toFixed(2)} % of its requests (${fmtInt(p.value[3])})` },
    xAxis: { type: 'category', data: vers.map(fmtVersion), position: 'bottom' },
    yAxis: { type: 'category', inverse: true, data: epList.map((e) => e.name), axisLabel: { formatter: (name, i) => `{c${i}|●} ${name}`, rich, width: grid.left - 12, overflow: 'truncate' } },
    visualMap: {
      type: 'piecewise',
      dimension: 2,
      pieces,
      orient: 'horizontal',
      left: 'center',
      bottom: 0,
      itemWidth: narrow ? 10 : 18,
      itemHeight: 12,
      itemGap: narrow ? 4 : 6,
      textGap: 3,
      text: narrow ? ['%', ''] : null,
      showLabel: true,
      textStyle: { fontSize: narrow ? 10 : 12 },
    },
    dataZoom: [{ type: 'inside', yAxisIndex: 0 }],
    series: [
      {
        name: 'share',
        type: 'heatmap',
        data,
        itemStyle: { borderColor: '#fff', borderWidth: 1 },
        label: { show: cellW >= 28, fontSize, formatter: (p) => p.value[2].toFixed(1) },
      },
    ],
  };
}
