// app.js — the shell: session check, navigation, time-zone selector,
// date-range picker, error banner, and a hash router over the views.
import { session, logout } from './api.js';
import { disposeAll } from './charts.js';
import { h, state, isAdmin, dayIn, showError, clearError } from './ui.js';
import { initScope, ensureScope } from './scope.js';
import * as loginView from './views/login.js';
import * as overview from './views/overview.js';
import * as rules from './views/rules.js';
import * as endpoint from './views/endpoint.js';
import * as versions from './views/versions.js';
import * as ci from './views/ci.js';
import * as capacity from './views/capacity.js';
import * as counters from './views/counters.js';
import * as exporter from './views/export.js';
import * as compare from './views/compare.js';

const views = {
  overview: { title: 'Overview', mod: overview },
  rules: { title: 'Rules', mod: rules },
  versions: { title: 'Versions', mod: versions },
  compare: { title: 'Compare', mod: compare },
  ci: { title: 'CI', mod: ci },
  capacity: { title: 'Capacity', mod: capacity },
  counters: { title: 'Counters', mod: counters },
  export: { title: 'Export', mod: exporter, admin: true },
};

const ZONES = ['UTC', 'Europe/London', 'Europe/Amsterdam', 'Europe/Berlin', 'America/New_York', 'America/Chicago', 'America/Los_Angeles', 'Asia/Tokyo', 'Asia/Kolkata', 'Australia/Sydney'];

const main = () => document.getElementById('main');
let generation = 0;

function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function nav() {
  const n = document.getElementById('nav');
  const cur = location.hash.split('/')[1] || 'overview';
  n.replaceChildren(
    ...Object.entries(views)
      .filter(([, v]) => !v.admin || isAdmin())
      .map(([k, v]) => h('a', { href: '#/' + k, class: cur === k ? 'active' : null, 'data-view': k }, v.title)),
  );
  const who = document.getElementById('who');
  who.replaceChildren();
  if (state.user)
    who.append(
      h('span', { 'data-role': state.user.role }, `${state.user.username} (${state.user.role})`),
      h(
        'button',
        {
          type: 'button',
          id: 'logout',
          onclick: async () => {
            try {
              await logout();
            } catch (e) {
              showError(e.message);
            }
            state.user = null;
            go('#/login');
          },
        },
        'Log out',
      ),
    );
}

function controls() {
  const tz = document.getElementById('tz');
  const zones = ZONES.includes(state.tz) ? ZONES : [state.tz, ...ZONES];
  tz.replaceChildren(...zones.map((z) => h('option', { value: z, selected: z === state.tz }, z)));
  tz.onchange = () => {
    state.tz = tz.value;
    localStorage.setItem('evd.tz', state.tz);
    route();
  };
  const from = document.getElementById('from');
  const to = document.getElementById('to');
  const preset = document.getElementById('preset');
  from.value = state.from;
  to.value = state.to;
  preset.value = state.from || state.to ? 'custom' : '';
  // Days are typed (or picked) as YYYY-MM-DD, whatever the browser's
  // locale: the native date input would show mm/dd/yyyy beside the ISO
  // times of the views.  The calendar button opens a native picker.
  const isDay = (v) => {
    const t = /^\d{4}-\d{2}-\d{2}$/.test(v) ? Date.parse(v + 'T00:00:00Z') : NaN;
    return !Number.isNaN(t) && new Date(t).toISOString().slice(0, 10) === v;
  };
  const apply = () => {
    for (const [el, what] of [
      [from, 'from'],
      [to, 'to'],
    ]) {
      el.value = el.value.trim();
      const bad = el.value !== '' && !isDay(el.value);
      if (bad) el.setAttribute('aria-invalid', 'true');
      else el.removeAttribute('aria-invalid');
      if (bad) {
        showError(`${what}: expected a day as YYYY-MM-DD, got '${el.value}'.`);
        return;
      }
    }
    if (from.value && to.value && from.value > to.value) {
      showError('The range starts after it ends.');
      return;
    }
    state.from = from.value;
    state.to = to.value;
    preset.value = state.from || state.to ? 'custom' : '';
    route();
  };
  from.onchange = apply;
  to.onchange = apply;
  for (const b of document.querySelectorAll('button.cal')) {
    const text = document.getElementById(b.dataset.cal);
    const pick = b.nextElementSibling;
    pick.onchange = () => {
      text.value = pick.value;
      apply();
    };
    b.onclick = () => {
      pick.value = isDay(text.value) ? text.value : dayIn(state.tz);
      try {
        pick.showPicker();
      } catch {
        text.focus(); /* no native picker: type the day */
      }
    };
  }
  preset.onchange = () => {
    const days = Number(preset.value);
    state.to = '';
    if (!preset.value) state.from = ''; /* each view's own default */
    else if (days) state.from = dayIn(state.tz, days - 1); /* today and the days before, in the zone */
    else state.from = '1970-01-01'; /* all: from the epoch */
    from.value = state.from;
    to.value = '';
    route();
  };
}

async function route() {
  const gen = ++generation;
  clearError();
  disposeAll();
  const root = main();
  root.replaceChildren();
  const parts = location.hash.replace(/^#\/?/, '').split('/');
  const name = parts[0] || 'overview';
  document.body.dataset.view = name;
  if (!state.user && name !== 'login') {
    sessionStorage.setItem('evd.after', location.hash || '#/overview');
    return go('#/login');
  }
  document.body.classList.toggle('anon', !state.user);
  nav();
  let mod;
  let arg;
  if (name === 'login') mod = loginView;
  else if (name === 'endpoint' && /^\d+$/.test(parts[1] || '')) (mod = endpoint), (arg = parts[1]);
  else if (name === 'compare') (mod = compare), (arg = parts.slice(1));
  else if (views[name] && (!views[name].admin || isAdmin())) mod = views[name].mod;
  else {
    root.append(h('p.note', null, `No such page: ${location.hash}`));
    return;
  }
  root.dataset.state = 'loading';
  try {
    if (mod !== loginView) await ensureScope(); /* the service and instances it shows */
    if (gen !== generation) return;
    await mod.render(root, go, arg);
    if (gen === generation) root.dataset.state = 'ready';
  } catch (e) {
    if (gen !== generation) return;
    root.dataset.state = 'error';
    if (e.status === 401) {
      state.user = null;
      return go('#/login');
    }
    showError(e.message);
  }
}

async function start() {
  document.getElementById('banner').querySelector('button').onclick = clearError;
  controls();
  initScope(route);
  try {
    state.user = await session();
  } catch (e) {
    showError(e.message);
  }
  window.addEventListener('hashchange', route);
  await route();
}

start();
