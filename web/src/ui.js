// ui.js — shared state (user, time zone, date range) and small DOM helpers.

export const state = {
  user: null, // {username, role, csrf_token}
  tz: localStorage.getItem('evd.tz') || Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC',
  from: '', // YYYY-MM-DD, inclusive; '' = the view's default
  to: '', // YYYY-MM-DD, inclusive; '' = now
  service: '', // a service's name (its id when unnamed or all digits); '' = all services
  instances: [], // instance ids the views are narrowed to; [] = every instance
};

// A link may carry the range and zone: /dashboard/?from=2026-10-01&to=2026-10-31&tz=UTC
{
  const q = new URLSearchParams(location.search);
  const day = /^\d{4}-\d{2}-\d{2}$/;
  if (day.test(q.get('from') || '')) state.from = q.get('from');
  if (day.test(q.get('to') || '')) state.to = q.get('to');
  if (q.get('tz')) state.tz = q.get('tz');
  // ?service=NAME (present and empty: all services), else the last choice;
  // ?instance=ID,ID (scope.js checks both against the store)
  state.service = q.has('service') ? q.get('service') : localStorage.getItem('evd.service') || '';
  state.instances = [...new Set((q.get('instance') || '').split(',').filter((x) => /^\d+$/.test(x)).map(Number))];
}

// The service and instances every view is narrowed to, as API parameters.
export function scopeParams() {
  const p = {};
  if (state.service) p.service = state.service;
  if (state.instances.length) p.instance = state.instances.join(',');
  return p;
}

export const isAdmin = () => state.user && state.user.role === 'admin';

// h('div.card', {onclick}, child...) — a tiny element builder.
export function h(tag, attrs, ...kids) {
  const [name, ...cls] = tag.split('.');
  const e = document.createElement(name || 'div');
  if (cls.length) e.className = cls.join(' ');
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'style' && typeof v === 'object') Object.assign(e.style, v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const k of kids.flat()) {
    if (k === undefined || k === null || k === false) continue;
    e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  }
  return e;
}

function nextDay(d) {
  const t = new Date(d + 'T00:00:00Z');
  t.setUTCDate(t.getUTCDate() + 1);
  return t.toISOString().slice(0, 10);
}

// The range as API parameters: `to` is exclusive on the server, so an
// inclusive end day becomes the next local midnight.
export function rangeParams(defaultDays) {
  const p = { tz: state.tz };
  if (state.to) p.to = nextDay(state.to);
  if (state.from) p.from = state.from;
  else if (defaultDays === 0) p.from = 0;
  return p;
}

// Today's date (YYYY-MM-DD) in the dashboard's zone, `back` days ago.
export function dayIn(tz, back = 0) {
  const today = new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
  if (!back) return today;
  const t = new Date(today + 'T00:00:00Z');
  t.setUTCDate(t.getUTCDate() - back);
  return t.toISOString().slice(0, 10);
}

// Epoch ms + the zone's UTC offset at that instant: a chart drawn in UTC
// (useUTC) then shows wall-clock times of the zone.
export function zoneShift(ms, tz) {
  const f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
  const p = Object.fromEntries(f.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  const wall = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second);
  return wall + (ms % 1000);
}

// Number of days the range covers, for the heat maps' `days` parameter.
export function rangeDays() {
  if (!state.from) return 30;
  const today = dayIn(state.tz);
  const end = new Date((state.to || today) + 'T00:00:00Z');
  const days = Math.round((end - new Date(state.from + 'T00:00:00Z')) / 86400000) + 1;
  return Math.max(1, Math.min(366, days));
}

// What a chart covers, for its caption: the picked range, else the view's
// default (`def`: days back from now, 0 = all time, or a phrase).  When the
// server says which range it read (`range: {from, to}`), that wins.
export function spanText(def, range) {
  if (range && (range.from || range.to)) return `${range.from ? fmtTime(range.from) : 'the first request'} → ${range.to ? fmtTime(range.to) : 'now'}`;
  if (state.from || state.to) return `${state.from || 'the first request'} → ${state.to || 'today'} (${state.tz})`;
  if (def === 0) return 'all time';
  if (typeof def === 'number') return `last ${def} days`;
  return def || '';
}

// Version labels: a git id is shown as its first 7 characters, with its tag
// when there is one (`v1.4.0 · 3f2a9c1`); other names (APP_VERSION) as they
// are.  `v` is a name, or an object with version|name and optionally
// tag / label.  Every axis, legend, tooltip and table goes through this.
const HASH = /\b[0-9a-f]{40}(?:[0-9a-f]{24})?\b/gi;
export const shortHashes = (s) => String(s).replace(HASH, (m) => m.slice(0, 7));
export function fmtVersion(v) {
  if (v === null || v === undefined || v === '') return 'unknown version';
  if (typeof v !== 'object') return shortHashes(v);
  if (v.label) return shortHashes(v.label);
  const id = v.version ?? v.name ?? '';
  const short = fmtVersion(id);
  return v.tag && v.tag !== id && v.tag !== short ? `${v.tag} · ${short}` : short;
}

export function fmtUs(us) {
  if (us === null || us === undefined || Number.isNaN(us)) return '–';
  if (us >= 1e6) return (us / 1e6).toFixed(2) + ' s';
  if (us >= 1e3) return (us / 1e3).toFixed(1) + ' ms';
  return Math.round(us) + ' µs';
}

export function fmtInt(n) {
  return n === null || n === undefined ? '–' : Number(n).toLocaleString('en-US');
}

export function fmtBytes(n) {
  if (n === null || n === undefined || Number.isNaN(Number(n))) return '–';
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = Number(n),
    i = 0;
  while (v >= 1024 && i < units.length - 1) (v /= 1024), i++;
  return i ? `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${units[i]}` : `${fmtInt(v)} bytes`;
}

// A live / stale marker: a filled or hollow dot and the word, never colour alone.
export function liveMark(live, title) {
  return h('span', { class: live ? 'live on' : 'live off', 'data-live': live ? 'live' : 'stale', title: title || null }, h('span.ldot', { 'aria-hidden': 'true' }), live ? 'live' : 'stale');
}

export function fmtTime(iso) {
  return iso ? iso.replace('T', ' ').replace(/(:\d\d)(\.\d+)?([+-]\d\d:\d\d|Z)$/, '$1 $3') : 'never';
}

export function fmtSpan(fromIso, toIso) {
  if (!fromIso || !toIso) return '';
  const s = (Date.parse(toIso) - Date.parse(fromIso)) / 1000;
  if (s < 3600) return Math.round(s / 60) + ' min';
  if (s < 172800) return Math.round(s / 3600) + ' h';
  return Math.round(s / 86400) + ' d';
}

// The global error banner: every failed API call ends up here.
export function showError(msg) {
  const b = document.getElementById('banner');
  if (!b) return;
  b.hidden = false;
  b.querySelector('.msg').textContent = msg;
}

export function clearError() {
  const b = document.getElementById('banner');
  if (b) b.hidden = true;
}

export const LEVELS = ['0 off', '1 performance', '2 outliers', '3 profiler'];

// Sortable, filterable table. cols: [{key, label, value(row), render(row), num}]
export function table(cols, rows, opts = {}) {
  let sortKey = opts.sort || null;
  let desc = opts.desc !== undefined ? opts.desc : true;
  let filter = '';
  const body = h('tbody');
  const head = h(
    'tr',
    null,
    cols.map((c) =>
      h(
        'th',
        {
          class: c.num ? 'num sortable' : 'sortable',
          'data-key': c.key,
          onclick: () => {
            if (sortKey === c.key) desc = !desc;
            else (sortKey = c.key), (desc = !!c.num);
            fill();
          },
        },
        c.label,
      ),
    ),
  );
  function val(c, r) {
    return c.value ? c.value(r) : r[c.key];
  }
  function fill() {
    let rs = rows;
    if (filter) {
      const f = filter.toLowerCase();
      rs = rs.filter((r) => cols.some((c) => String(val(c, r) ?? '').toLowerCase().includes(f)));
    }
    if (sortKey) {
      const c = cols.find((x) => x.key === sortKey);
      rs = rs.slice().sort((a, b) => {
        const x = val(c, a),
          y = val(c, b);
        const cmp = typeof x === 'number' && typeof y === 'number' ? x - y : String(x ?? '').localeCompare(String(y ?? ''));
        return desc ? -cmp : cmp;
      });
    }
    head.querySelectorAll('th').forEach((th) => {
      th.classList.toggle('sorted', th.dataset.key === sortKey);
      th.classList.toggle('desc', th.dataset.key === sortKey && desc);
    });
    body.replaceChildren(
      ...rs.map((r) =>
        h(
          'tr',
          opts.rowAttrs ? opts.rowAttrs(r) : null,
          cols.map((c) => h('td', { class: c.num ? 'num' : null }, c.render ? c.render(r) : val(c, r) ?? '–')),
        ),
      ),
    );
    if (!rs.length) body.append(h('tr', null, h('td.empty', { colspan: cols.length }, 'Nothing to show.')));
  }
  fill();
  const wrap = h('div.tablewrap');
  if (opts.filter !== false)
    wrap.append(
      h('input.filter', {
        type: 'search',
        placeholder: 'Filter…',
        'aria-label': 'Filter the table',
        oninput: (e) => {
          filter = e.target.value;
          fill();
        },
      }),
    );
  wrap.append(h('div.scroll', null, h('table', { class: opts.cls || null }, h('thead', null, head), body)));
  return wrap;
}

// A table of a long server-side list, one page at a time: the page's rows,
// a pager ("1–25 of 16,032") and, when opts.sorts is given, the server's
// sort orders.  load(path, params) returns one page ({items, total}).
// The box's data-state follows loading -> drawn | empty | error.
export function pagedTable(box, load, cols, opts = {}) {
  const per = opts.perPage || 25;
  let page = 1;
  let sort = opts.sorts ? opts.sorts[0][0] : null;
  const info = h('span.pageinfo');
  const prev = h('button', { type: 'button', 'data-page': 'prev', onclick: () => go(page - 1) }, '‹ Prev');
  const next = h('button', { type: 'button', 'data-page': 'next', onclick: () => go(page + 1) }, 'Next ›');
  const tools = h('div.pager', null, info, prev, next);
  if (opts.sorts)
    tools.prepend(
      h(
        'select',
        { 'aria-label': 'order', 'data-sort': '', onchange: (e) => ((sort = e.target.value), go(1)) },
        opts.sorts.map(([v, label]) => h('option', { value: v }, label)),
      ),
    );
  const slot = h('div');
  box.replaceChildren(tools, slot);
  async function go(p) {
    box.dataset.state = 'loading';
    let d;
    try {
      d = await load({ page: p, per_page: per, ...(sort ? { sort } : {}) });
    } catch (e) {
      box.dataset.state = 'error';
      slot.replaceChildren(h('p.note', null, 'Could not load: ' + e.message));
      throw e;
    }
    page = p;
    const last = Math.max(1, Math.ceil(d.total / per));
    const first = d.total ? (p - 1) * per + 1 : 0;
    info.textContent = `${fmtInt(first)}–${fmtInt(Math.min(d.total, p * per))} of ${fmtInt(d.total)}`;
    prev.disabled = p <= 1;
    next.disabled = p >= last;
    slot.replaceChildren(table(cols, d.items, { filter: false, rowAttrs: opts.rowAttrs }));
    box.dataset.state = d.items.length ? 'drawn' : 'empty';
    return d;
  }
  return go(1);
}
