// api.js — the dashboard's JSON API client. Every call goes through api(),
// which turns a non-2xx answer into an ApiError carrying the server's
// message, so views can show it in the error banner, and which narrows
// every view to the service and instances picked in the header
// (scopeParams, ui.js).
import { scopeParams } from './ui.js';

// The app is served at /<CUSTOM_LINK>/; API paths are relative to it.
export const base = location.pathname.replace(/[^/]*$/, '');

let csrf = null;

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {}))
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? '?' + s : '';
}

// Paths that are not views of the data: never narrowed (a stale service
// name must not stop the session check or the list of services).
const UNSCOPED = /^(?:login|logout|api\/session|api\/services)$/;

// The view's service= and instance=, unless the caller sets them itself
// (instance: '' asks for every instance of the service).
const scoped = (path, params) => (UNSCOPED.test(path) ? params : { ...scopeParams(), ...params });

export async function api(path, params, opts = {}) {
  params = scoped(path, params);
  const headers = {};
  let body;
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }
  if (opts.method && opts.method !== 'GET' && csrf) headers['X-CSRF-Token'] = csrf;
  let r;
  try {
    r = await fetch(base + path + query(params), {
      method: opts.method || 'GET',
      headers,
      body,
      credentials: 'same-origin',
    });
  } catch (e) {
    throw new ApiError(0, `${path}: the server cannot be reached (${e.message})`);
  }
  let doc = null;
  try {
    doc = await r.json();
  } catch {
    doc = null;
  }
  if (!r.ok) {
    const msg = doc && doc.error ? doc.error : `HTTP ${r.status}`;
    throw new ApiError(r.status, `${path}: ${msg}`);
  }
  return doc;
}

// Every page of a paginated list, concatenated; the first page's other
// fields (days, hours, tz...) are kept.
export async function all(path, params) {
  const first = await api(path, { ...params, per_page: 1000, page: 1 });
  const items = first.items.slice();
  const pages = Math.ceil(first.total / 1000);
  for (let p = 2; p <= pages; p++) {
    const next = await api(path, { ...params, per_page: 1000, page: p });
    items.push(...next.items);
  }
  return { ...first, items };
}

export async function session() {
  try {
    const s = await api('api/session');
    csrf = s.csrf_token;
    return s;
  } catch (e) {
    if (e.status === 401) return null;
    throw e;
  }
}

export async function login(username, password) {
  const s = await api('login', null, { method: 'POST', body: { username, password } });
  csrf = s.csrf_token;
  return s;
}

export async function logout() {
  await api('logout', null, { method: 'POST', body: {} });
  csrf = null;
}

export function setLevel(id, level) {
  return api(`api/rules/${id}/level`, null, { method: 'POST', body: { level } });
}

export function exportUrl(params) {
  return base + 'api/export' + query(scoped('api/export', params));
}
