// harness.mjs — a demo store, `evodash serve` on a loopback port and a
// headless Debian chromium driven by playwright-core, for the UI tests and
// bench-ui.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, mkdirSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(join(ROOT, 'web', 'package.json'));
const { chromium } = require('playwright-core');

export const ADMIN = ['admin', 'admin-pw-4'];
export const GUEST = ['visitor', 'guest-pw-4'];

// With EVODASH_UI_PG set, stores are PostgreSQL databases on the server
// that tests/pg/with_pg.sh started (EVODASH_TEST_PG); else SQLite files.
let pgStores = 0;
function freshPgStore() {
  const name = `evd_ui_${process.pid}_${++pgStores}`;
  const psql = join(process.env.EVODASH_TEST_PG_BIN || '/usr/bin', 'psql');
  execFileSync(psql, [`${process.env.EVODASH_TEST_PG}/postgres`, '-qc', `CREATE DATABASE ${name}`]);
  return `${process.env.EVODASH_TEST_PG}/${name}`;
}

// An empty store for a test to fill: a database on the PostgreSQL server
// of check-pg-ui (EVODASH_UI_PG), else the SQLite file `file` in `dir`.
export function freshStore(dir, file) {
  return process.env.EVODASH_UI_PG ? freshPgStore() : join(dir, file);
}

// A page of `base`, logged in as `who`, that records console errors;
// close() fails the test when there were any.
export async function openPage(chrome, base, who, { width = 1440, height = 900 } = {}) {
  const ctx = await chrome.browser.newContext({ viewport: { width, height }, timezoneId: 'UTC' });
  const page = await ctx.newPage();
  const errors = [];
  let loggedIn = false;
  page.on('console', (m) => {
    if (m.type() === 'error' && !(!loggedIn && /status of 401/.test(m.text()))) errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push('pageerror: ' + e.message));
  await login(page, base, who);
  loggedIn = true;
  return {
    page,
    async close() {
      await ctx.close();
      if (errors.length) throw new Error('console errors: ' + errors.join('; '));
    },
  };
}

// Fill a store (demo_history, or an existing file) and serve it; `extra`
// adds lines to the [dashboard] section of its configuration.
export async function startServer({ requests = 60000, db = null, build = 'build/rel', extra = '' } = {}) {
  const tmp = mkdtempSync(join(tmpdir(), 'evd-ui-'));
  if (!db) {
    db = process.env.EVODASH_UI_PG ? freshPgStore() : join(tmp, 'demo.db');
    execFileSync(join(ROOT, build, 'examples/demo_history'), [db, String(requests)], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const dburl = db.startsWith('postgresql://') ? db : `sqlite:///${db}`;
  const cfg = join(tmp, 'evodash.cfg');
  writeFileSync(
    cfg,
    `[dashboard]\nDATABASE=${dburl}\nTIMEZONE=UTC\n${extra}[authentication]\nUSERNAME=${ADMIN[0]}\nPASSWORD=${ADMIN[1]}\n` +
      `GUEST_USERNAME=${GUEST[0]}\nGUEST_PASSWORD=${GUEST[1]}\n`,
  );
  const proc = spawn(join(ROOT, build, 'evodash'), ['serve', '--config', cfg, '--listen', '127.0.0.1:0'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  const url = await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('evodash serve did not start: ' + log)), 15000);
    proc.stderr.on('data', (d) => {
      log += d;
      const m = log.match(/serving (http:\/\/127\.0\.0\.1:\d+\/\S*?\/?)\s/);
      if (m) {
        clearTimeout(t);
        resolve(m[1].endsWith('/') ? m[1] : m[1] + '/');
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`evodash serve exited with ${code}: ${log}`));
    });
  });
  proc.removeAllListeners('exit');
  return {
    url,
    db,
    async stop() {
      proc.kill('SIGTERM');
      await new Promise((r) => (proc.exitCode !== null ? r() : proc.on('exit', r)));
      rmSync(tmp, { recursive: true, force: true, maxRetries: 3 });
    },
  };
}

// Another service recording into the same store: examples/c_service with
// SERVICE_NAME=name and APP_VERSION=version on a loopback port, called
// `requests` times (GET /hello, GET /users/<id>, POST /orders).  It stays
// live (it syncs every second) until stop().
export async function startService(db, { name, version = 'v2.0.0', requests = 30, build = 'build/rel' } = {}) {
  const bin = join(ROOT, build, 'examples/c_service');
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run make all`);
  const tmp = mkdtempSync(join(tmpdir(), 'evd-svc-'));
  const cfg = join(tmp, 'service.cfg');
  const dburl = db.startsWith('postgresql://') ? db : `sqlite:///${db}`;
  writeFileSync(
    cfg,
    `[dashboard]\nDATABASE=${dburl}\nSERVICE_NAME=${name}\nAPP_VERSION=${version}\n` + `[authentication]\nUSERNAME=${ADMIN[0]}\nPASSWORD=${ADMIN[1]}\n`,
  );
  const proc = spawn(bin, [cfg, '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  const url = await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('c_service did not start: ' + log)), 15000);
    proc.stderr.on('data', (d) => {
      log += d;
      const m = log.match(/listening on (http:\/\/127\.0\.0\.1:\d+\/)/);
      if (m) {
        clearTimeout(t);
        resolve(m[1]);
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`c_service exited with ${code}: ${log}`));
    });
  });
  proc.removeAllListeners('exit');
  for (let i = 0; i < requests; i++) {
    await (await fetch(url + 'hello')).text();
    await (await fetch(url + `users/${i + 1}`)).text();
    if (i % 3 === 0) await (await fetch(url + 'orders', { method: 'POST', body: '{}' })).text();
  }
  return {
    url,
    async stop() {
      proc.kill('SIGTERM');
      await new Promise((r) => (proc.exitCode !== null ? r() : proc.on('exit', r)));
      rmSync(tmp, { recursive: true, force: true, maxRetries: 3 });
    },
  };
}

// playwright-core itself gives every launch a fresh temporary
// --user-data-dir (it refuses one in args), so no profile is shared.
export async function launch() {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    browser,
    async close() {
      await browser.close();
    },
  };
}


// The app must come from the binary itself (src/assets, embedded by spa.S):
// no fallback, so a server that stops serving it fails every test.
export async function serveAppIfNeeded(context, base) {
  void context;
  const html = await (await fetch(base)).text();
  if (!html.includes('data-evodash-spa'))
    throw new Error(`${base} does not serve the embedded dashboard app`);
  return false;
}

export const SHOTS = join(ROOT, 'build', 'screenshots');
export function shotPath(name) {
  mkdirSync(SHOTS, { recursive: true });
  return join(SHOTS, name + '.png');
}

// Wait until the view finished: main is ready and nothing is loading.
export async function settled(page, timeout = 30000) {
  await page.waitForFunction(
    () => {
      const m = document.getElementById('main');
      if (!m) return false;
      if (m.dataset.state === 'error') return true;
      if (m.dataset.state !== 'ready') return false;
      return !document.querySelector('[data-state="loading"]');
    },
    null,
    { timeout },
  );
}

// Series of a chart, read from its ECharts instance.
export function chartSeries(page, name) {
  return page.evaluate((n) => {
    const el = document.querySelector(`[data-chart="${n}"] .chart`);
    const inst = el && echarts.getInstanceByDom(el);
    if (!inst) return null;
    return inst.getOption().series.map((s) => ({ type: s.type, name: s.name, n: (s.data || []).length, data: s.data }));
  }, name);
}

// GET a JSON API path with the page's session (all pages of a list).
export function apiGet(page, path) {
  return page.evaluate(async (p) => {
    const base = location.pathname.replace(/[^/]*$/, '');
    const r = await fetch(base + p, { credentials: 'same-origin' });
    return { status: r.status, body: await r.json() };
  }, path);
}

export async function login(page, base, [user, pw]) {
  await page.goto(base + '#/login');
  await page.waitForSelector('form.login');
  await page.fill('input[name=username]', user);
  await page.fill('input[name=password]', pw);
  await page.click('form.login button[type=submit]');
  await page.waitForFunction(() => location.hash !== '#/login');
  await settled(page);
}

// Layout faults of a drawn chart, read from its ECharts instance (the
// canvas has no DOM to measure): `labels` lists pairs of texts whose boxes
// overlap (turned labels as turned boxes), `parts` pairs of components
// (toolbox, zoom slider, visual map, legend, plot area) that overlap,
// `covered` texts under another component than their own (an axis name
// under the legend), and `cut` the components that run past the chart's
// edges.
export function chartLayout(page, name) {
  return page.evaluate((n) => {
    const el = document.querySelector(`[data-chart="${n}"] .chart`);
    const inst = el && echarts.getInstanceByDom(el);
    if (!inst) return null;
    const shown = (d) => {
      for (let p = d; p; p = p.parent) if (p.ignore || p.invisible) return false;
      return true;
    };
    // What a clipping ancestor (a scrolling legend) lets show, in page pixels.
    const clipOf = (d) => {
      let box = null;
      for (let p = d; p; p = p.parent) {
        const c = p.getClipPath && p.getClipPath();
        if (!c) continue;
        const r = c.getBoundingRect().clone();
        if (c.transform) r.applyTransform(c.transform);
        box = box ? intersect(box, r) : r;
      }
      return box;
    };
    const intersect = (a, b) => {
      const x = Math.max(a.x, b.x),
        y = Math.max(a.y, b.y);
      const w = Math.min(a.x + a.width, b.x + b.width) - x,
        hh = Math.min(a.y + a.height, b.y + b.height) - y;
      return w > 0 && hh > 0 ? { x, y, width: w, height: hh } : null;
    };
    const aabb = (pts) => {
      const xs = pts.map((q) => q[0]),
        ys = pts.map((q) => q[1]);
      return { x: Math.min(...xs), y: Math.min(...ys), width: Math.max(...xs) - Math.min(...xs), height: Math.max(...ys) - Math.min(...ys) };
    };
    const corners = (r, m) =>
      [
        [r.x, r.y],
        [r.x + r.width, r.y],
        [r.x + r.width, r.y + r.height],
        [r.x, r.y + r.height],
      ].map(([x, y]) => (m ? [m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5]] : [x, y]));
    // Texts: zrender draws a text as tspans under a text element.
    const texts = [];
    const seen = new Set();
    for (const s of inst.getZr().storage.getDisplayList(true)) {
      const d = s.type === 'tspan' && s.parent && s.parent.type === 'text' ? s.parent : s;
      if (seen.has(d)) continue;
      seen.add(d);
      const t = d.style && d.style.text;
      if (typeof t !== 'string' || !t.trim() || !shown(s) || !shown(d) || d.style.opacity === 0) continue;
      // A line is as tall as its font (the measured height depends on
      // which fonts the machine has).
      const r0 = d.getBoundingRect();
      const px = Number((/(\d+(?:\.\d+)?)px/.exec(d.style.font || '') || [0, 12])[1]);
      const hh = Math.max(r0.height, px * t.split('\n').length);
      let pts = corners({ x: r0.x, y: r0.y + r0.height / 2 - hh / 2, width: r0.width, height: hh }, d.transform);
      const clip = clipOf(d);
      if (clip) {
        const vis = intersect(aabb(pts), clip);
        if (!vis) continue;
        pts = corners(vis, null);
      }
      texts.push({ t, pts, el: d });
    }
    const axes = (p) =>
      [0, 1].map((i) => {
        const dx = p[i + 1][0] - p[i][0],
          dy = p[i + 1][1] - p[i][1];
        const l = Math.hypot(dx, dy) || 1;
        return [-dy / l, dx / l];
      });
    const span = (p, a) => {
      const v = p.map((q) => q[0] * a[0] + q[1] * a[1]);
      return [Math.min(...v), Math.max(...v)];
    };
    // separating axis test: labels closer than half a pixel run together
    const hit = (A, B) =>
      [...axes(A), ...axes(B)].every((a) => {
        const [a0, a1] = span(A, a),
          [b0, b1] = span(B, a);
        return Math.min(a1, b1) - Math.max(a0, b0) > -0.5;
      });
    const labels = [];
    for (let i = 0; i < texts.length; i++) for (let j = i + 1; j < texts.length; j++) if (hit(texts[i].pts, texts[j].pts)) labels.push([texts[i].t, texts[j].t]);
    // Components: the union of what each draws (no transparent backgrounds).
    const rectOf = (group) => {
      let box = null;
      group.traverse((d) => {
        if (d.isGroup || !shown(d)) return;
        const st = d.style || {};
        const clear = (c) => c == null || c === 'none' || c === 'transparent' || /rgba\([^)]*,\s*0\)$/.test(c);
        if (clear(st.fill) && (clear(st.stroke) || !st.lineWidth)) return;
        let r = d.getBoundingRect().clone();
        if (!r.width && !r.height) return;
        if (d.transform) r.applyTransform(d.transform);
        const clip = clipOf(d);
        if (clip && !(r = intersect(r, clip))) return;
        box = box ? union(box, r) : r;
      });
      return box;
    };
    const union = (a, b) => {
      const x = Math.min(a.x, b.x),
        y = Math.min(a.y, b.y);
      return { x, y, width: Math.max(a.x + a.width, b.x + b.width) - x, height: Math.max(a.y + a.height, b.y + b.height) - y };
    };
    const parts = [];
    const model = inst.getModel();
    for (const type of ['toolbox', 'dataZoom', 'visualMap', 'legend'])
      model.eachComponent(type, (m, i) => {
        const v = inst.getViewOfComponentModel(m);
        const r = v && v.group && rectOf(v.group);
        if (r) parts.push({ name: `${type}${i}`, r, group: v.group });
      });
    model.eachComponent('grid', (m, i) => parts.push({ name: `grid${i}`, r: m.coordinateSystem.getRect() }));
    const over = (a, b) => Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x) > 1 && Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y) > 1;
    const clash = [];
    for (let i = 0; i < parts.length; i++) for (let j = i + 1; j < parts.length; j++) if (over(parts[i].r, parts[j].r)) clash.push([parts[i].name, parts[j].name]);
    const inside = (el, g) => {
      for (let p = el; p; p = p.parent) if (p === g) return true;
      return false;
    };
    const covered = [];
    for (const t of texts)
      for (const p of parts)
        if (p.group && !inside(t.el, p.group) && over(aabb(t.pts), p.r)) covered.push([t.t, p.name]);
    const [w, hh] = [inst.getWidth(), inst.getHeight()];
    const cut = parts.filter(({ r }) => r.x < -1 || r.y < -1 || r.x + r.width > w + 1 || r.y + r.height > hh + 1).map((p) => p.name);
    return { texts: texts.length, labels, parts: clash, covered, cut };
  }, name);
}
