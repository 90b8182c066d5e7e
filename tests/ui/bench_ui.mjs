// bench_ui.mjs — `make bench-ui`: time from navigation until every chart
// and table is drawn, on the overview and on an endpoint page, against a
// store of 10 million requests (demo_history, cached in build/rel/bench-ui
// and keyed by its parameters), in headless chromium.  Prints the gzipped
// size of the embedded assets; the last line is `ui_worst_page: N ms`.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync, rmSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ROOT, startServer, launch, serveAppIfNeeded, login, settled, ADMIN } from './harness.mjs';

const REQUESTS = 10000000;
const NOW_S = 1793797200; // 2026-11-04T13:00:00Z: fixed, so that the cache stays valid
const PARAMS = `${REQUESTS} 60 ${NOW_S} 7`;
const KEY = `${PARAMS} schema4`; // refill when the store layout changes
const REPS = 5;

const dir = join(ROOT, 'build/rel/bench-ui');
const db = join(dir, 'store.db');
mkdirSync(dir, { recursive: true });
const pfile = join(dir, 'params');
if (!existsSync(db) || !existsSync(pfile) || readFileSync(pfile, 'utf8') !== KEY) {
  for (const f of [db, db + '-wal', db + '-shm', pfile]) rmSync(f, { force: true });
  console.error('bench-ui: filling a 10M-request store (cached for later runs)');
  execFileSync(join(ROOT, 'build/rel/examples/demo_history'), [db, ...PARAMS.split(' ')], { stdio: ['ignore', 'inherit', 'inherit'] });
  writeFileSync(pfile, KEY);
}

// Embedded assets, as gzip would send them.
function walk(d) {
  return readdirSync(d).flatMap((f) => (statSync(join(d, f)).isDirectory() ? walk(join(d, f)) : [join(d, f)]));
}
const files = [...walk(join(ROOT, 'web/src')), join(ROOT, 'web/node_modules/echarts/dist/echarts.min.js')];
let raw = 0,
  gz = 0,
  appGz = 0;
for (const f of files) {
  const b = readFileSync(f);
  const z = gzipSync(b, { level: 9 }).length;
  raw += b.length;
  gz += z;
  if (!f.endsWith('echarts.min.js')) appGz += z;
}
console.log(`ui_assets: ${files.length} files, ${(raw / 1024).toFixed(0)} KiB raw, ${(gz / 1024).toFixed(0)} KiB gzipped (app ${(appGz / 1024).toFixed(1)} KiB, ECharts ${((gz - appGz) / 1024).toFixed(0)} KiB)`);

const server = await startServer({ db });
let chrome = null;
try {
  chrome = await launch();
  const ctx = await chrome.browser.newContext({ viewport: { width: 1280, height: 800 }, timezoneId: 'UTC' });
  const intercepted = await serveAppIfNeeded(ctx, server.url);
  if (intercepted) console.log('bench-ui: NOTE the app files came from web/src through the harness (src/dash does not serve them yet)');
  const page = await ctx.newPage();
  await login(page, server.url, ADMIN);
  // The busiest endpoint: the heaviest endpoint page.
  const ov = await page.evaluate(() => fetch('api/overview?per_page=1000&to=2026-11-05&tz=UTC').then((r) => r.json()));
  const top = ov.items.reduce((a, b) => (b.hits.overall > a.hits.overall ? b : a));
  const range = 'from=2026-10-06&to=2026-11-04&tz=UTC';
  const pages = [
    ['overview', '#/overview'],
    [`endpoint(${top.name})`, `#/endpoint/${top.id}`],
  ];
  // BENCH_UI_TRACE=1: list each API call of the last run, slowest first.
  const trace = process.env.BENCH_UI_TRACE ? [] : null;
  if (trace)
    page.on('requestfinished', (rq) => {
      const t = rq.timing();
      trace.push([t.responseEnd, t.requestStart, rq.url().replace(/^.*\/dashboard\//, '')]);
    });
  let worst = 0;
  for (const [name, hash] of pages) {
    const times = [];
    // One cold run (the server builds its day cache), then REPS measured.
    for (let i = 0; i <= REPS; i++) {
      if (trace) trace.length = 0;
      await page.goto(`${server.url}?${range}&rep=${i}${hash}`);
      await settled(page, 120000);
      const ms = await page.evaluate(() => {
        const bad = document.querySelector('[data-state="error"]');
        if (bad) throw new Error('a chart failed: ' + bad.textContent);
        return performance.now();
      });
      if (i > 0) times.push(ms);
      else console.log(`ui_${name}_cold: ${ms.toFixed(0)} ms`);
    }
    if (trace)
      for (const [end, start, url] of trace.sort((a, b) => b[0] - a[0]).slice(0, 12))
        console.log(`  ${end.toFixed(0).padStart(6)} ms (sent at ${start.toFixed(0)})  ${url}`);
    times.sort((a, b) => a - b);
    const med = times[Math.floor(times.length / 2)];
    const charts = await page.$$eval('[data-chart]', (c) => c.length);
    console.log(`ui_${name}: median ${med.toFixed(0)} ms of ${REPS} (min ${times[0].toFixed(0)}, max ${times[times.length - 1].toFixed(0)}), ${charts} charts`);
    worst = Math.max(worst, med);
  }
  await ctx.close();
  console.log(`ui_worst_page: ${worst.toFixed(0)} ms`);
} finally {
  if (chrome) await chrome.close();
  await server.stop();
}
