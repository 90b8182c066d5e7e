// capacity.js — the Capacity page: a model of one service built from what
// evodash recorded (each endpoint's CPU demand from the CPU samples, the
// arrivals, the replicas and workers seen), the recorded traffic simulated
// at a load factor or with other worker and replica counts beside today's
// measured figures, and the load at which a p95 SLO breaks with what
// saturates first.  The simulator's views (response time, utilisation and
// queue over the run) live here, next to the measurements they predict.
import { api } from '../api.js';
import { card } from '../charts.js';
import { h, state, fmtInt, fmtUs, zoneShift, table } from '../ui.js';

const WINDOWS = [
  [0.25, 'last 15 minutes'],
  [1, 'last hour'],
  [6, 'last 6 hours'],
  [24, 'last 24 hours'],
  [168, 'last 7 days'],
];
// measured figures grey, predictions orange: the same two in every chart
const MEASURED = '#6b7280';
const PREDICTED = '#e6550d';
const SLO = '#b2182b';
const TOP = 12; // endpoints in the per-endpoint charts, by requests
const LINES = 6; // endpoints in the response-time-over-the-run chart
const narrowAt = 600;

const ms = (v) => (v === null || v === undefined ? '–' : fmtUs(v * 1000));
const num = (v, d = 2) => (v === null || v === undefined ? '–' : Number(v).toFixed(d));
const pct = (v) => (v === null || v === undefined ? '–' : v > 0 && v < 0.001 ? '< 0.1%' : (100 * v).toFixed(1) + '%');
// a load factor: three significant digits, never an exponent
// Where an endpoint's CPU demand came from (docs/capacity.md): its tag
// in the table and what its tooltip says.
const SOURCES = {
  regression: { tag: 'fit', title: (r) => `± ${ms(r.regression.se_ms)} over ${r.regression.samples} samples` },
  common: {
    tag: 'solo+',
    title: (r) => `too few samples for a fit of its own: its time alone, ${ms(r.solo_ms)}, plus the overhead common to the endpoints, ${ms(r.demand_ms - r.solo_ms)}`,
  },
  calltree: { tag: 'tree', title: (r) => `${r.calltree.requests} profiled requests` },
  duration: { tag: 'dur', title: () => 'no precise estimate: its whole duration counts as CPU' },
};

const times = (k) => `${k >= 100 ? fmtInt(Math.round(k)) : String(Number(Number(k).toPrecision(3)))}×`;

function saved() {
  try {
    return JSON.parse(localStorage.getItem('evd.capacity') || '{}');
  } catch {
    return {};
  }
}

// The inputs: service, window, load factor, workers, replicas, SLO.
function form(services, onRun) {
  const s = saved();
  const field = (label, el) => h('label', null, label, el);
  const svc = h(
    'select',
    { name: 'service', 'aria-label': 'service' },
    services.map((x) => h('option', { value: x.id, selected: String(x.id) === String(s.service) }, x.name || '(unnamed)')),
  );
  const win = h(
    'select',
    { name: 'hours', 'aria-label': 'window' },
    WINDOWS.map(([v, t]) => h('option', { value: v, selected: Number(s.hours || 1) === v }, t)),
  );
  const input = (name, attrs) => h('input', { name, type: 'number', 'aria-label': name, ...attrs });
  const factor = input('factor', { min: 0.1, max: 1000, step: 0.1, value: s.factor || 2, size: 5 });
  const workers = input('workers', { min: 0, max: 100000, step: 1, value: s.workers ?? '', placeholder: 'as seen', size: 6 });
  const replicas = input('replicas', { min: 1, max: 10000, step: 1, value: s.replicas ?? '', placeholder: 'as seen', size: 6 });
  const slo = input('slo_ms', { min: 1, max: 1e7, step: 1, value: s.slo_ms ?? 300, placeholder: 'none', size: 6 });
  const el = h(
    'form.capform',
    {
      'data-capacity-form': '',
      onsubmit: (ev) => {
        ev.preventDefault();
        const p = { service: svc.value, hours: win.value, factor: factor.value, workers: workers.value, replicas: replicas.value, slo_ms: slo.value };
        localStorage.setItem('evd.capacity', JSON.stringify(p));
        onRun(p);
      },
    },
    field('Service', svc),
    field('Recorded', win),
    field('Load', h('span.unit', null, factor, '×')),
    field('Workers per replica', workers),
    field('Replicas', replicas),
    field('SLO p95', h('span.unit', null, slo, 'ms')),
    h('button', { type: 'submit' }, 'Simulate'),
  );
  const params = () => ({ service: svc.value, hours: win.value, factor: factor.value, workers: workers.value, replicas: replicas.value, slo_ms: slo.value });
  return { el, params };
}

// How many simulated runs a prediction is the mean of.
function runsOf(r) {
  return r.replications > 1 ? `the mean of ${r.replications} simulated runs` : 'one simulated run';
}

// The charts over time show one run: say which, when there were several.
function firstRun(r) {
  return r.replications > 1 ? ` (the first of its ${r.replications} runs)` : '';
}

function totals(d) {
  const m = d.model,
    r = d.run,
    obs = m.observed,
    mod = m.model;
  const box = (name, value, what) => h('div.total', { 'data-total': name }, h('b', null, value), h('span', null, what));
  const span = m.span_s >= 5400 ? `${(m.span_s / 3600).toFixed(1)} h` : `${Math.round(m.span_s / 60)} min`;
  return h(
    'div.totals',
    null,
    box('recorded', fmtInt(m.requests), `requests over ${span} (${num(m.requests / m.span_s, 2)}/s)`),
    box('measured', obs.utilisation === null ? '–' : pct(obs.utilisation), `CPU measured, of ${obs.cores} core${obs.cores === 1 ? '' : 's'} × ${obs.hosts} host${obs.hosts === 1 ? '' : 's'}`),
    box('predicted', pct(r.utilisation), `CPU predicted at ${times(r.factor)} (${num(r.rate, 2)} requests/s), ${runsOf(r)}`),
    box('queue', num(r.in_system, 2), `requests in the system, ${num(r.queue, 2)} waiting for a worker (at most ${fmtInt(r.peak_queue)})`),
    box(
      'model',
      `${r.replicas} × ${num(mod.max_cpu / 100, 1)}`,
      `replica${r.replicas === 1 ? '' : 's'} × cores, ${r.workers ? r.workers + ' worker' + (r.workers === 1 ? '' : 's') + ' each' : 'no worker limit'}${mod.steal > 0 ? `; ${pct(mod.steal)} of the CPU lost to steal, as recorded` : ''}`,
    ),
    box(
      'fit',
      m.fit.samples ? num(m.fit.r2, 3) : '–',
      m.fit.samples
        ? `R² of the CPU demand fit, ${fmtInt(m.fit.samples)} samples${m.fit.outliers ? `, ${m.fit.outliers} left out` : ''}${
            m.fit.monitor != null ? `; evodash's own threads ${pct(m.fit.monitor)} of a core per instance, kept out of the demands` : ''
          }${stealText(m.fit.steal)}`
        : 'no CPU samples: demands from durations',
    ),
  );
}

// The host's steal time while recording, for the fit box.
function stealText(st) {
  if (!st) return '';
  const left = st.left_out ? `, ${fmtInt(st.left_out)} noisy samples left out` : st.kept ? ', most samples noisy, all fitted' : '';
  return `; host steal ${pct(st.mean)} (worst ${pct(st.max)})${left}`;
}

// A warning when the recording's host was busy with other machines' work.
function stealWarning(d) {
  const st = d.model.fit.steal;
  if (!st || !st.warn) return null;
  return h(
    'p.caution',
    { 'data-capacity-steal': '' },
    `While this was recorded, the host lost ${pct(st.mean)} of its CPU to other virtual machines (steal time). Requests cost more CPU on a busy host, so the demands and the predictions built on them may run high: record again at a quieter time to check.`,
  );
}

function capacityPanel(d) {
  const c = d.capacity;
  if (!c) return h('p.hint', { 'data-capacity-result': 'none' }, 'Give an SLO to find the load at which it breaks.');
  const head =
    c.factor > 0
      ? `Every endpoint's p95 stays under ${fmtUs(c.slo_ms * 1000)} up to ${times(c.factor)} today's load (${num(c.rate, 2)} requests/s; worst p95 there ${ms(c.p95_ms)}).`
      : `No load keeps every endpoint's p95 under ${fmtUs(c.slo_ms * 1000)}.`;
  return h(
    'div.panel.capresult',
    { 'data-capacity-result': c.factor > 0 ? 'found' : 'none-meets' },
    h('b', null, head),
    h('div', null, 'Bottleneck: ', h('span', { 'data-bottleneck': '' }, c.bottleneck)),
    c.left_out.length ? h('div.hint', null, `Left out of the SLO (slower than it with nothing else running): ${c.left_out.join(', ')}.`) : null,
    c.window_s ? h('div.hint', null, `Searched on the busiest ${c.window_s >= 5400 ? (c.window_s / 3600).toFixed(1) + ' h' : Math.round(c.window_s / 60) + ' min'} of the window, to keep each trial small; the rate is that stretch's.`) : null,
  );
}

function endpointTable(d) {
  const pred = new Map(d.run.endpoints.map((e) => [e.name, e]));
  const rows = d.model.endpoints.map((e) => ({ ...e, p: pred.get(e.name) || {} }));
  const k = times(d.run.factor);
  return table(
    [
      { key: 'name', label: 'Endpoint', render: (r) => h('span', null, h('span.dot', { style: { background: r.colour } }), r.name) },
      { key: 'requests', label: 'Requests', num: true, render: (r) => fmtInt(r.requests) },
      { key: 'm_mean', label: 'Mean now', num: true, value: (r) => r.measured.mean_ms, render: (r) => ms(r.measured.mean_ms) },
      { key: 'm_p95', label: 'p95 now', num: true, value: (r) => r.measured.p95_ms, render: (r) => ms(r.measured.p95_ms) },
      {
        key: 'demand',
        label: 'CPU / request',
        num: true,
        value: (r) => r.demand_ms,
        render: (r) =>
          h(
            'span',
            { title: SOURCES[r.source]?.title(r) ?? SOURCES.duration.title(r) },
            ms(r.demand_ms),
            h('span.src', { 'data-source': r.source }, (SOURCES[r.source] ?? SOURCES.duration).tag),
          ),
      },
      { key: 'wait', label: 'Off CPU', num: true, value: (r) => r.wait_ms, render: (r) => (r.wait_ms ? ms(r.wait_ms) : '–') },
      { key: 'p_mean', label: `Mean at ${k}`, num: true, value: (r) => r.p.mean_ms, render: (r) => ms(r.p.mean_ms) },
      { key: 'p_p50', label: `p50 at ${k}`, num: true, value: (r) => r.p.p50_ms, render: (r) => ms(r.p.p50_ms) },
      { key: 'p_p95', label: `p95 at ${k}`, num: true, value: (r) => r.p.p95_ms, render: (r) => ms(r.p.p95_ms) },
      {
        key: 'slo',
        label: 'p95 vs SLO',
        num: true,
        value: (r) => (d.capacity ? r.p.p95_ms / d.capacity.slo_ms : 0),
        render: (r) => (d.capacity ? h('span', { class: r.p.p95_ms > d.capacity.slo_ms ? 'bad' : null }, r.p.p95_ms > d.capacity.slo_ms ? 'over' : 'under') : '–'),
      },
    ],
    rows,
    { sort: 'requests', cls: 'capacity' },
  );
}

// p95 now and predicted, per endpoint (the busiest TOP), as paired bars.
function p95Option(d, width) {
  const pred = new Map(d.run.endpoints.map((e) => [e.name, e]));
  const eps = d.model.endpoints
    .slice()
    .sort((a, b) => b.requests - a.requests)
    .slice(0, TOP);
  if (!eps.length) return null;
  const narrow = width < narrowAt;
  const names = eps.map((e) => e.name);
  const left = Math.min(Math.max(...names.map((s) => s.length)) * 6.5 + 16, (width || 800) * (narrow ? 0.38 : 0.3));
  const series = [
    { name: 'p95 now (measured)', colour: MEASURED, data: eps.map((e) => e.measured.p95_ms) },
    { name: `p95 at ${times(d.run.factor)} (predicted)`, colour: PREDICTED, data: eps.map((e) => (pred.get(e.name) || {}).p95_ms ?? null) },
  ];
  const slo = d.capacity ? d.capacity.slo_ms : null;
  return {
    grid: { left, right: 24, top: narrow ? 58 : 36, bottom: 44 },
    legend: { top: 0, left: 0, width: Math.max(120, (width || 800) - 110), data: series.map((s) => s.name) },
    tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, valueFormatter: (v) => ms(v) },
    yAxis: { type: 'category', data: names, inverse: true, axisLabel: { width: left - 12, overflow: 'truncate', interval: 0 } },
    xAxis: { type: 'log', name: 'p95', nameLocation: 'middle', nameGap: 26, axisLabel: { formatter: (v) => ms(v), hideOverlap: true } },
    series: series.map((s, i) => ({
      name: s.name,
      type: 'bar',
      itemStyle: { color: s.colour },
      data: s.data.map((v) => (v && v > 0 ? v : null)),
      markLine:
        i === 1 && slo
          ? { symbol: 'none', silent: true, lineStyle: { color: SLO, type: 'dashed' }, label: { formatter: 'SLO', position: 'insideEndTop', color: SLO }, data: [{ xAxis: slo }] }
          : undefined,
    })),
  };
}

// The capacity search's trials: the worst judged p95 at each load factor.
function loadOption(d, width) {
  const c = d.capacity;
  if (!c || !c.trials.length) return null;
  const pts = c.trials
    .map((t) => [t.factor, t.p95_ms])
    .filter(([k, p]) => k > 0 && p > 0)
    .sort((a, b) => a[0] - b[0]);
  if (!pts.length) return null;
  void width;
  return {
    grid: { left: 80, right: 24, top: 28, bottom: 48 },
    tooltip: { trigger: 'axis', formatter: (ps) => `${times(ps[0].value[0])} today's load<br>worst p95 ${ms(ps[0].value[1])}` },
    xAxis: { type: 'log', name: 'load (× today)', nameLocation: 'middle', nameGap: 28, axisLabel: { formatter: (v) => times(v), hideOverlap: true } },
    yAxis: { type: 'log', name: 'worst p95 (predicted)', nameLocation: 'middle', nameGap: 60, axisLabel: { formatter: (v) => ms(v) } },
    series: [
      {
        name: 'worst p95 (predicted)',
        type: 'line',
        symbolSize: 7,
        itemStyle: { color: PREDICTED },
        data: pts,
        markLine: {
          symbol: 'none',
          silent: true,
          data: [
            { yAxis: c.slo_ms, lineStyle: { color: SLO, type: 'dashed' }, label: { formatter: `SLO ${ms(c.slo_ms)}`, position: 'insideStartTop', color: SLO } },
            ...(c.factor > 0 ? [{ xAxis: c.factor, lineStyle: { color: '#1d2330', type: 'dotted' }, label: { formatter: `capacity ${times(c.factor)}`, position: 'insideEndBottom', color: '#1d2330' } }] : []),
          ],
        },
      },
    ],
  };
}

// The run's series over the recorded window, on a time axis in the zone.
function at(d, tNs) {
  return zoneShift(d.model.from_us / 1000 + tNs / 1e6, state.tz);
}

const timeAxis = { type: 'time', axisLabel: { hideOverlap: true, formatter: { day: '{MM}-{dd}', hour: '{HH}:{mm}', minute: '{HH}:{mm}', second: '{HH}:{mm}:{ss}' } } };

// The predicted response time of the busiest endpoints over the run.
function responseOption(d, width) {
  const s = d.run.series && d.run.series.response_time;
  if (!s || !s.t.length) return null;
  const eps = d.model.endpoints
    .map((e, i) => ({ ...e, label: `scenario ${i + 1} interaction 0` }))
    .sort((a, b) => b.requests - a.requests)
    .slice(0, LINES);
  const by = new Map(eps.map((e) => [e.label, []]));
  for (let i = 0; i < s.t.length; i++) {
    const v = by.get(s.identifier[i]);
    if (v) v.push([at(d, s.t[i]), s['response time'][i] * 1000]);
  }
  return {
    useUTC: true,
    grid: { left: 80, right: 24, top: 36, bottom: 40 },
    legend: { type: 'scroll', top: 0, left: 0, width: Math.max(120, (width || 800) - 110), data: eps.map((e) => e.name) },
    tooltip: { trigger: 'axis', valueFormatter: (v) => ms(v) },
    xAxis: timeAxis,
    yAxis: { type: 'value', name: 'mean response time', nameLocation: 'middle', nameGap: 60, axisLabel: { formatter: (v) => ms(v) } },
    series: eps.map((e) => ({ name: e.name, type: 'line', showSymbol: false, itemStyle: { color: e.colour }, data: by.get(e.label) })),
  };
}

// The service's CPU utilisation and the requests waiting for a worker.
function utilOption(d, width) {
  const u = d.run.series && d.run.series.service_util;
  const ev = d.run.series && d.run.series.sim_events;
  if (!u || !u.t.length) return null;
  const id = d.model.service && d.model.service !== 'default' ? d.model.service : 'default';
  const cpu = [],
    queued = [],
    running = [];
  for (let i = 0; i < u.t.length; i++) if (u.identifier[i] === id) cpu.push([at(d, u.t[i]), 100 * u.CPU[i]]);
  for (let i = 0; ev && i < ev.t.length; i++) {
    if (ev.identifier[i] === 'queued') queued.push([at(d, ev.t[i]), ev.active[i]]);
    if (ev.identifier[i] === 'running') running.push([at(d, ev.t[i]), ev.active[i]]);
  }
  return {
    useUTC: true,
    grid: { left: 64, right: 56, top: width < narrowAt ? 58 : 36, bottom: 40 },
    legend: { top: 0, left: 0, width: Math.max(120, (width || 800) - 110), data: ['CPU busy', 'requests running', 'requests queued'] },
    tooltip: { trigger: 'axis' },
    xAxis: timeAxis,
    yAxis: [
      { type: 'value', name: 'CPU busy', nameLocation: 'middle', nameGap: 44, min: 0, max: 100, axisLabel: { formatter: '{value}%' } },
      { type: 'value', name: 'requests', nameLocation: 'middle', nameGap: 36, minInterval: 1, splitLine: { show: false } },
    ],
    series: [
      { name: 'CPU busy', type: 'line', showSymbol: false, areaStyle: { opacity: 0.15 }, itemStyle: { color: PREDICTED }, data: cpu },
      { name: 'requests running', type: 'line', showSymbol: false, yAxisIndex: 1, itemStyle: { color: '#2166ac' }, data: running },
      { name: 'requests queued', type: 'line', showSymbol: false, yAxisIndex: 1, itemStyle: { color: SLO }, data: queued },
    ],
  };
}

export async function render(root) {
  root.append(h('h2', null, 'Capacity', h('span.sub', null, 'a model built from what was recorded, and what it predicts')));
  const svcs = await api('api/services', { tz: state.tz });
  if (!svcs.items.length) {
    root.append(h('p.note', { 'data-capacity-empty': '' }, 'No service has recorded requests yet.'));
    return;
  }
  const out = h('div', { 'data-capacity': '', 'data-state': 'loading' });
  const run = async (p) => {
    out.dataset.state = 'loading';
    out.replaceChildren(h('p.note', null, 'Building the model and simulating…'));
    let d;
    try {
      d = await api('api/capacity', { ...p, tz: state.tz });
    } catch (e) {
      out.dataset.state = 'error';
      out.replaceChildren(h('p.note', null, e.message));
      throw e;
    }
    draw(out, d);
    out.dataset.state = 'drawn';
  };
  const f = form(svcs.items, (p) => run(p).catch(() => {}));
  root.append(
    f.el,
    h(
      'p.hint',
      null,
      "The recorded requests are replayed at the chosen multiple of today's rate on a simulated copy of the service: its endpoints' CPU demands are estimated from the CPU samples, its replicas and workers are those seen unless given. See docs/capacity.md.",
    ),
    out,
  );
  await run(f.params());
}

function draw(out, d) {
  out.replaceChildren(...[totals(d), stealWarning(d), capacityPanel(d)].filter(Boolean));
  const tb = h('div.tablecard.wide', { 'data-capacity-table': '' }, endpointTable(d));
  out.append(h('h3', null, 'Endpoints: measured now, and predicted'), tb);
  const grid = h('div.grid');
  out.append(grid);
  const cards = [
    ['capacity-p95', 'p95 per endpoint, measured now and predicted', p95Option, { height: Math.max(260, 80 + Math.min(TOP, d.model.endpoints.length) * 34) }],
    ['capacity-load', 'Worst p95 by load: where the SLO breaks', loadOption, { height: 300 }],
    ['capacity-response', `Predicted response time over the recorded window, at ${times(d.run.factor)}${firstRun(d.run)}`, responseOption, { height: 300 }],
    ['capacity-util', `Predicted CPU and queue over the recorded window, at ${times(d.run.factor)}${firstRun(d.run)}`, utilOption, { height: 300 }],
  ];
  for (const [name, title, opt, o] of cards) {
    const c = card(grid, name, title, o);
    const option = opt(d, c.body.clientWidth);
    if (!option) c.empty(name === 'capacity-load' ? 'Give an SLO to see where it breaks.' : 'Nothing to draw.');
    else c.draw(option);
  }
}
