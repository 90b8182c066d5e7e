// harness.mjs — a demo store, `evodash serve` on a loopback port and a
// headless Debian chromium driven by playwright-core, for the UI tests and
// bench-ui.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
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
