// scope.js — what every view is narrowed to: the service picker in the
// header (shown only when the store holds more than one service), the
// instances (picked in the instance tables), the bar under the header that
// says a view is narrowed, and the URL and localStorage that keep both.
// api.js adds service= and instance= to every call (scopeParams, ui.js).
import { api, all } from './api.js';
import { h, state, fmtInt, fmtTime, fmtVersion, liveMark, showError, table } from './ui.js';

let services = []; // /api/services items
let instances = []; // every instance of the picked service (or of all)
let loaded = null; // the first load, awaited by the first route
let lastLoad = 0;
let retry = false; // the list of services could not be read
let onChange = () => {};

// The value of a service in state, the URL and API calls: its name, or its
// id when it has none ("(unnamed)") or one the server would read as an id.
const keyOf = (s) => (s.name === '(unnamed)' || /^\d+$/.test(s.name) ? String(s.id) : s.name);
const findService = (v) => services.find((s) => keyOf(s) === v || s.name === v || String(s.id) === v);

export const multiService = () => services.length > 1;
export const scopeInstances = () => instances;

export function initScope(changed) {
  onChange = changed;
  const sel = document.getElementById('service');
  sel.onchange = () => setService(sel.value);
  document.getElementById('scope').querySelector('button').onclick = () => setInstances([]);
}

// The services and instances of the store; a link's or the last session's
// choice that the store does not hold is dropped, and the banner says so.
export function loadScope() {
  loaded = (async () => {
    let known = true;
    try {
      services = (await api('api/services')).items;
    } catch (e) {
      if (e.status === 401) throw e;
      // the store is down, or an older server: no picker; the choice is
      // kept as it is (the views say what went wrong)
      services = [];
      known = false;
    }
    lastLoad = Date.now();
    const why = [];
    retry = !known; /* ask again before the next view */
    if (!known) {
      await loadInstances();
      draw();
      return;
    }
    if (!multiService()) state.service = '';
    else if (state.service) {
      const s = findService(state.service);
      if (!s) why.push(`The store has no service '${state.service}': showing all services.`);
      state.service = s ? keyOf(s) : '';
    }
    why.push(...(await loadInstances()));
    writeUrl();
    draw();
    if (why.length) showError(why.join(' '));
  })();
  loaded.catch(() => (loaded = null)); /* logged out: load again after login */
  return loaded;
}

// Before a view renders: the first load, later a refresh of the live
// markers that does not hold the view up.
export function ensureScope() {
  if (!loaded || retry) return loadScope();
  if (Date.now() - lastLoad > 15000) {
    lastLoad = Date.now();
    api('api/services')
      .then((d) => {
        services = d.items;
        draw();
      })
      .catch(() => {});
  }
  return loaded;
}

// Every instance of the picked service (instance: '' — not only the
// picked ones); picked ids that are not among them are dropped.
async function loadInstances() {
  try {
    instances = (await all('api/instances', { instance: '', tz: state.tz })).items;
  } catch (e) {
    if (e.status === 401) throw e;
    instances = [];
    return [];
  }
  const ids = new Set(instances.map((i) => i.id));
  const gone = state.instances.filter((i) => !ids.has(i));
  state.instances = state.instances.filter((i) => ids.has(i));
  return gone.length ? [`No instance ${gone.join(', ')} in this view: ${state.instances.length ? 'narrowed to the others' : 'showing every instance'}.`] : [];
}

export async function setService(key) {
  state.service = key;
  localStorage.setItem('evd.service', key);
  await loadInstances(); // instances of another service are dropped
  writeUrl();
  draw();
  // an endpoint belongs to one service: another one starts at its overview
  if (key && /^#\/endpoint\//.test(location.hash)) location.hash = '#/overview';
  else onChange();
}

// What the views are narrowed to, in words ('' when they show everything).
export function scopeText() {
  const s = findService(state.service);
  const parts = [];
  if (s) parts.push(`service ${s.name}`);
  if (state.instances.length) parts.push(`${state.instances.length} of ${instances.length} instances`);
  return parts.join(', ');
}

export function setInstances(ids) {
  state.instances = [...new Set(ids.map(Number))].sort((a, b) => a - b);
  writeUrl();
  draw();
  onChange();
}

// ?service= is written only when there is a choice to make (present and
// empty: all services, so that a link shows all whatever the reader's last
// choice); ?instance= when the views are narrowed.
function writeUrl() {
  const q = new URLSearchParams(location.search);
  if (multiService()) q.set('service', state.service);
  else q.delete('service');
  if (state.instances.length) q.set('instance', state.instances.join(','));
  else q.delete('instance');
  const qs = q.toString().replace(/%2C/gi, ',');
  const url = location.pathname + (qs ? '?' + qs : '') + location.hash;
  if (url !== location.pathname + location.search + location.hash) history.replaceState(history.state, '', url);
}

function draw() {
  const pick = document.getElementById('svc-pick');
  const sel = document.getElementById('service');
  pick.hidden = !multiService();
  if (multiService()) {
    const live = services.filter((s) => s.live).length;
    sel.replaceChildren(
      h('option', { value: '', selected: !state.service, title: `${live} of ${services.length} services live` }, 'All services'),
      ...services.map((s) =>
        h(
          'option',
          {
            value: keyOf(s),
            selected: keyOf(s) === state.service,
            class: s.live ? 'live' : 'stale',
            'data-live': s.live ? 'live' : 'stale',
            title: `${fmtInt(s.endpoints)} endpoints, ${fmtInt(s.instances)} instances, last seen ${fmtTime(s.last_seen)}`,
          },
          `${s.live ? '●' : '○'} ${s.name} (${s.live ? 'live' : 'stale'})`,
        ),
      ),
    );
    const cur = findService(state.service);
    sel.dataset.live = cur ? (cur.live ? 'live' : 'stale') : '';
  }
  // The bar under the header: the views are narrowed to some instances.
  const bar = document.getElementById('scope');
  const picked = instances.filter((i) => state.instances.includes(i.id));
  bar.hidden = !picked.length;
  bar.querySelector('.what').replaceChildren(
    'Every view is narrowed to ',
    h('b', null, `${picked.length} of ${instances.length} instance${instances.length === 1 ? '' : 's'}`),
    ': ',
    picked.map((i) => i.name).join(', '),
    ' · ',
    h('a', { href: '#/counters' }, 'pick others'),
  );
}

// A table of instances: the live marker, where and what each runs, and
// (with pick) a box per row that narrows every view to the ticked ones.
// `extra`: more columns (the counters).
export function instanceTable(rows, { extra = [], pick = true, sort = 'last_seen' } = {}) {
  const picked = new Set(state.instances);
  const cols = [];
  if (pick)
    cols.push({
      key: 'pick',
      label: 'Show',
      value: (r) => (picked.has(r.id) ? 1 : 0),
      render: (r) =>
        h('input', {
          type: 'checkbox',
          'data-instance': r.id,
          'aria-label': `narrow the views to ${r.name}`,
          checked: picked.has(r.id),
          onchange: (e) => setInstances(e.target.checked ? [...picked, r.id] : [...picked].filter((x) => x !== r.id)),
        }),
    });
  cols.push(
    { key: 'live', label: 'Status', value: (r) => (r.live ? 1 : 0), render: (r) => liveMark(r.live, r.live ? 'synced with the store within the last minute' : `silent since ${fmtTime(r.last_seen)}`) },
    { key: 'name', label: 'Instance' },
  );
  if (multiService() && !state.service) cols.push({ key: 'service', label: 'Service', value: (r) => r.service || '(unnamed)' });
  cols.push(
    { key: 'host', label: 'Host' },
    { key: 'version', label: 'Version', value: (r) => (r.version ? fmtVersion(r.version_label ? { label: r.version_label } : r.version) : '–') },
    { key: 'pid', label: 'PID', num: true },
    { key: 'started', label: 'Started', render: (r) => fmtTime(r.started) },
    { key: 'last_seen', label: 'Last seen', render: (r) => fmtTime(r.last_seen) },
    ...extra,
  );
  return table(cols, rows, { sort, cls: 'instances', rowAttrs: (r) => ({ 'data-instance-row': r.id, class: picked.has(r.id) ? 'picked' : null }) });
}

// Above an instance table: which instances the views show, and a way back.
export function pickNote(rows) {
  const n = state.instances.length;
  return h(
    'p.picknote',
    { 'data-picked': n },
    n
      ? [h('b', null, `Every view shows ${n} of ${rows.length} instances.`), ' ', h('button', { type: 'button', 'data-clear-instances': '', onclick: () => setInstances([]) }, 'Show all instances')]
      : `Every view shows all ${rows.length} instance${rows.length === 1 ? '' : 's'}${state.service ? ' of this service' : ''}; tick instances to narrow the views to them.`,
  );
}
