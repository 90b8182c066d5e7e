// dashboard.test.mjs — the dashboard in headless chromium against a demo
// store: every view, chart contents read back from the ECharts instances
// and compared with what the API returns, roles, level changes, time zone,
// range picker, error banner, phone width.  Screenshots: build/screenshots.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createHash } from 'node:crypto';
import { ROOT, startServer, launch, serveAppIfNeeded, login, settled, chartSeries, chartLayout, apiGet, shotPath, ADMIN, GUEST } from './harness.mjs';

let server, chrome, intercepted;
const EP = 1; // api.search: level 3, with outliers and profiles

before(async () => {
  server = await startServer({ requests: 60000 });
  chrome = await launch();
});

after(async () => {
  // Until src/dash calls assets_get() the harness serves web/src (the
  // files spa.S embeds) for the app's own paths; say so in the output.
  if (intercepted) console.log('# NOTE: /dashboard/ does not serve the embedded app yet; the harness served web/src');
  if (chrome) await chrome.close();
  if (server) await server.stop();
});

// A fresh context (cookies, storage) and page that records console errors.
async function open({ width = 1280, height = 800, allow = [] } = {}) {
  const ctx = await chrome.browser.newContext({ viewport: { width, height }, timezoneId: 'UTC' });
  intercepted = await serveAppIfNeeded(ctx, server.url);
  const page = await ctx.newPage();
  const errors = [];
  const failed = [];
  let loggedIn = false;
  page.on('response', (r) => {
    if (r.status() >= 400) failed.push(`${r.status()} ${new URL(r.url()).pathname}`);
  });
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    // Chromium logs every non-2xx fetch; before login the session probe is
    // expected to be a 401.
    if (!loggedIn && /status of 401/.test(m.text())) return;
    if (allow.some((re) => re.test(m.text()))) return;
    errors.push(`${m.text()} @ ${m.location().url}`);
  });
  page.on('pageerror', (e) => errors.push('pageerror: ' + e.message));
  return {
    ctx,
    page,
    errors,
    failed,
    async login(who) {
      await login(page, server.url, who);
      loggedIn = true;
    },
    async close() {
      await ctx.close();
      assert.deepEqual(errors, [], 'no console errors');
    },
  };
}

async function view(page, hash) {
  const target = server.url + hash;
  // goto to the very same URL would be a no-op for a hash route
  if (page.url() === target) await page.reload();
  else await page.goto(target);
  await settled(page);
}

const lengths = (series) => series.map((s) => s.n);

// No chart of the page has labels drawn over one another, nor a toolbox,
// zoom slider, legend or colour scale over another part or the plot.
async function assertLayout(page, where) {
  const names = await page.$$eval('[data-chart][data-state="drawn"]', (cs) => cs.map((c) => c.dataset.chart));
  assert.ok(names.length > 0);
  for (const n of names) {
    const l = await chartLayout(page, n);
    assert.deepEqual(l.labels, [], `${where} ${n}: overlapping labels`);
    assert.deepEqual(l.parts, [], `${where} ${n}: overlapping parts`);
    assert.deepEqual(l.covered, [], `${where} ${n}: labels under another part`);
    assert.deepEqual(l.cut, [], `${where} ${n}: parts cut off at the edges`);
  }
  return names;
}

// Colour of each data item of series 0 as drawn (after the visual map).
function itemColours(page, name) {
  return page.evaluate((n) => {
    const inst = echarts.getInstanceByDom(document.querySelector(`[data-chart="${n}"] .chart`));
    const data = inst.getModel().getSeriesByIndex(0).getData();
    const out = [];
    for (let i = 0; i < data.count(); i++) out.push({ value: data.getValues(i), colour: data.getItemVisual(i, 'style').fill, size: data.getItemVisual(i, 'symbolSize') });
    return out;
  }, name);
}

test('login page rejects a wrong password and shows why', { timeout: 60000 }, async () => {
  const s = await open({ allow: [/status of 401/] });
  await s.page.goto(server.url);
  await s.page.waitForSelector('form.login');
  await s.page.screenshot({ path: shotPath('login') });
  await s.page.fill('input[name=username]', ADMIN[0]);
  await s.page.fill('input[name=password]', 'wrong');
  await s.page.click('form.login button[type=submit]');
  await s.page.waitForSelector('.loginerr:not([hidden])');
  assert.match(await s.page.textContent('.loginerr'), /Wrong user name or password/);
  await s.close();
});

test('admin: overview table and API-wide charts match the API', { timeout: 90000 }, async () => {
  const s = await s0();
  const { page } = s;
  await view(page, '#/overview');
  await page.screenshot({ path: shotPath('overview'), fullPage: true });
  const ov = (await apiGet(page, 'api/overview?per_page=1000&tz=UTC')).body;
  assert.ok(ov.total >= 40, 'demo has 40 endpoints');
  assert.equal(await page.locator('table.overview tbody tr').count(), ov.total);
  // The colour of an endpoint is the API's, in the table and in the charts.
  const first = ov.items[0];
  const dotColour = await page.evaluate((id) => document.querySelector(`tr[data-endpoint="${id}"] .dot`).style.background, first.id);
  assert.equal(dotColour, hexToRgb(first.colour));
  assert.ok((await page.locator('table.overview .level-btn').count()) === 4 * ov.total, 'admin sees level buttons');

  const heat = (await apiGet(page, 'api/heatmap?days=30&tz=UTC')).body;
  assert.deepEqual(lengths(await chartSeries(page, 'api-heatmap')), [heat.days.length * 24]);

  const daily = (await apiGet(page, 'api/daily?per_page=1000&tz=UTC')).body;
  const ds = await chartSeries(page, 'api-daily');
  assert.equal(ds.length, daily.total);
  assert.ok(ds.every((x) => x.n === daily.days.length));
  const dailyColours = await page.evaluate(() => {
    const inst = echarts.getInstanceByDom(document.querySelector('[data-chart="api-daily"] .chart'));
    return inst.getOption().series.map((x) => [x.name, x.itemStyle.color]);
  });
  for (const [name, colour] of dailyColours) assert.equal(colour, ov.items.find((e) => e.name === name).colour);

  const perf = (await apiGet(page, 'api/performance?per_page=1000&tz=UTC')).body;
  assert.deepEqual(lengths(await chartSeries(page, 'api-performance')), [perf.items.filter((i) => i.box.count > 0).length]);

  const mx = (await apiGet(page, 'api/matrix?per_page=1000&tz=UTC')).body;
  const cells = mx.items.filter((v) => v.total > 0).reduce((n, v) => n + v.endpoints.length, 0);
  assert.deepEqual(lengths(await chartSeries(page, 'api-matrix')), [cells]);
  // Each cell is coloured by the share it shows: one colour per share class,
  // darker for a larger share, whatever its count.
  const pieces = await page.evaluate(() => echarts.getInstanceByDom(document.querySelector('[data-chart="api-matrix"] .chart')).getOption().visualMap[0].pieces);
  const classOf = (share) => pieces.findIndex((p) => share >= p.gte && share < p.lt);
  const drawn = await itemColours(page, 'api-matrix');
  for (const c of drawn) assert.equal(c.colour, pieces[classOf(c.value[2])].color, `cell ${c.value}`);
  assert.ok(new Set(drawn.map((c) => c.colour)).size >= 4, 'the shares span several colours');
  await assertLayout(page, 'overview');
  const sparks = await page.evaluate(() => [...document.querySelectorAll('svg.spark')].map((e) => Number(e.dataset.points || 0)));
  assert.equal(sparks.length, ov.total);
  assert.ok(sparks.every((n) => n === Math.min(14, daily.days.length)));

  // Sorting and filtering.
  await page.click('table.overview th[data-key="name"]');
  const names = await page.$$eval('table.overview tbody tr td:first-child', (tds) => tds.map((t) => t.textContent));
  assert.deepEqual(names, [...names].sort((a, b) => a.localeCompare(b)));
  await page.fill('.tablewrap .filter', 'checkout');
  assert.equal(await page.locator('table.overview tbody tr').count(), ov.items.filter((e) => JSON.stringify(e).includes('checkout')).length);
  await s.close();
});

test('version utilisation matrix: a cell is coloured by its share, not its count', { timeout: 60000 }, async () => {
  const s = await s0();
  const { page } = s;
  // Two versions: 100 requests of `a` are half of v1's and 1 % of v2's;
  // `b` takes half of v1 and 99 % of v2.
  const ep = (id, count, share) => ({ endpoint_id: id, name: id === 1 ? 'a' : 'b', colour: id === 1 ? '#ff0000' : '#00ff00', count, share });
  const items = [
    { version_id: 1, version: 'v1', total: 200, endpoints: [ep(1, 100, 0.5), ep(2, 100, 0.5)] },
    { version_id: 2, version: 'v2', total: 10000, endpoints: [ep(1, 100, 0.01), ep(2, 9900, 0.99)] },
  ];
  await s.ctx.route(/\/api\/matrix/, (r) => r.fulfill({ contentType: 'application/json', body: JSON.stringify({ items, page: 1, per_page: 1000, total: 2 }) }));
  await view(page, '#/overview');
  const cells = await itemColours(page, 'api-matrix');
  const at = (x, y) => cells.find((c) => c.value[0] === x && c.value[1] === y);
  assert.equal(at(0, 0).value[3], at(1, 0).value[3], 'same count');
  assert.notEqual(at(0, 0).colour, at(1, 0).colour, '50 % and 1 % differ');
  assert.equal(at(0, 0).colour, at(1, 1).colour, '50 % and 99 % are both in the top class, whatever their counts');
  assert.equal(at(0, 0).colour, at(0, 1).colour);
  // the label shows the share, and the colour follows the label
  const labels = await page.evaluate(() => {
    const o = echarts.getInstanceByDom(document.querySelector('[data-chart="api-matrix"] .chart')).getOption();
    return o.series[0].data.map((d) => o.series[0].label.formatter({ value: d }));
  });
  assert.deepEqual(labels, ['50.0', '50.0', '1.0', '99.0']);
  await s.close();
});

// Version names as a git repository gives them: 40 hex characters, and for
// some a tag beside (as the version-verdicts work adds).  The page shows
// `v1.4.0 · 3f2a9c1` or `3f2a9c1`, never the whole id: in its text, its
// charts' labels and tooltips.
test('version ids are shown as short hashes (with their tags), never 40 hex characters', { timeout: 90000 }, async () => {
  const s = await s0();
  const { page } = s;
  const hex = (v) => createHash('sha1').update(v).digest('hex');
  const tagged = new Set(['v1.4.0', 'v1.5.0']);
  await s.ctx.route(/\/api\//, async (route) => {
    const resp = await route.fetch();
    const body = (await resp.text())
      .replace(/"(version|name)":\s*"(v1\.\d\.\d)"/g, (m, k, v) => `"${k}":"${hex(v)}"${tagged.has(v) ? `,"tag":"=${v}"` : ''}`)
      .replace(/"v1\.\d\.\d"/g, (m) => `"${hex(m.slice(1, -1))}"`)
      .replace(/"=v1/g, '"v1');
    await route.fulfill({ response: resp, body });
  });
  const LONG = /[0-9a-f]{40}/i;
  // Everything a reader sees: the page's text, every chart's drawn texts,
  // and its tooltip over each of its first items.
  const seen = () =>
    page.evaluate(async () => {
      const out = [document.body.innerText];
      for (const el of document.querySelectorAll('[data-chart] .chart')) {
        const inst = echarts.getInstanceByDom(el);
        if (!inst) continue;
        for (const d of inst.getZr().storage.getDisplayList(true)) if (d.style && typeof d.style.text === 'string') out.push(d.style.text);
        const series = inst.getOption().series || [];
        for (let si = 0; si < Math.min(2, series.length); si++)
          for (let i = 0; i < Math.min(3, (series[si].data || []).length); i++) {
            inst.dispatchAction({ type: 'showTip', seriesIndex: si, dataIndex: i });
            out.push(el.innerText);
          }
      }
      return out.join('\n');
    });
  const texts = [];
  await view(page, '#/overview');
  texts.push(await seen());
  await view(page, '#/versions');
  texts.push(await seen());
  assert.ok(texts[1].includes(`v1.4.0 · ${hex('v1.4.0').slice(0, 7)}`), 'a tag with its short hash');
  assert.ok(texts[1].includes(hex('v1.0.0').slice(0, 7)), 'a short hash');
  await view(page, `#/endpoint/${EP}`);
  await page.click('tr[data-request]');
  await page.waitForSelector('[data-panel="request-profile"][data-state="drawn"]');
  texts.push(await seen());
  texts.push(await page.$$eval('select option', (os) => os.map((o) => o.textContent).join('\n')));
  for (const [i, t] of texts.entries()) assert.equal((t.match(LONG) || [null])[0], null, `page ${i} shows a whole id`);
  assert.ok(texts[2].includes(`v1.5.0 · ${hex('v1.5.0').slice(0, 7)}`));
  await s.close();
});

test('admin: every chart of an endpoint page matches the API', { timeout: 90000 }, async () => {
  // A 404 is expected only for the per-request profile of an outlier whose
  // request was not profiled; checked below.
  const s = await open({ allow: [/status of 404/] });
  await s.login(ADMIN);
  const { page } = s;
  await view(page, `#/endpoint/${EP}`);
  await page.screenshot({ path: shotPath('endpoint'), fullPage: true });
  const get = async (p) => (await apiGet(page, p)).body;
  const heat = await get(`api/endpoints/${EP}/heatmap?days=30&tz=UTC`);
  assert.deepEqual(lengths(await chartSeries(page, 'ep-heatmap')), [heat.days.length * 24]);
  const hourly = await get('api/hourly?per_page=1000&tz=UTC');
  assert.deepEqual(lengths(await chartSeries(page, 'ep-lastdays')), [hourly.hours.length, hourly.hours.length, hourly.hours.length]);
  const mine = hourly.items.find((i) => i.endpoint_id === EP);
  const ph = await chartSeries(page, 'ep-perhour');
  assert.deepEqual(ph[0].data.map((d) => (typeof d === 'object' && d !== null ? d.value : d)), mine.count);
  // every raw row of the range was read: no "newest only" caption
  assert.equal(await page.locator('[data-chart="ep-status"] .caption').isHidden(), true);
  const st = await get(`api/endpoints/${EP}/status?tz=UTC`);
  assert.deepEqual(lengths(await chartSeries(page, 'ep-status')), [
    st.codes.filter((c) => c.count > 0).length,
    Object.values(st.classes).filter((n) => n > 0).length,
  ]);
  const vs = await get(`api/endpoints/${EP}/versions?per_page=1000&tz=UTC`);
  assert.deepEqual(lengths(await chartSeries(page, 'ep-versions')), [vs.items.filter((v) => v.box.count > 0).length]);
  const groups = await get(`api/endpoints/${EP}/groups?per_page=1000&tz=UTC`);
  assert.deepEqual(lengths(await chartSeries(page, 'ep-users')), [Math.min(10, groups.total)]);
  const ips = await get(`api/endpoints/${EP}/ips?per_page=1000&tz=UTC`);
  assert.deepEqual(lengths(await chartSeries(page, 'ep-ips')), [Math.min(10, ips.total)]);
  // The picker shows more users.
  await page.selectOption('[data-top="ep-users"]', '20');
  assert.deepEqual(lengths(await chartSeries(page, 'ep-users')), [Math.min(20, groups.total)]);
  // Bubbles: the 10 busiest users (IPs) by requests, and the caption says so.
  for (const [chart, by, what] of [
    ['ep-bubbles-users', 'group', 'users'],
    ['ep-bubbles-ips', 'ip', 'IPs'],
  ]) {
    const b = (await get(`api/endpoints/${EP}/bubbles?by=${by}&per_page=1000&tz=UTC`)).items;
    const tot = new Map();
    for (const i of b) tot.set(i[by], (tot.get(i[by]) || 0) + i.count);
    const top = [...tot.keys()].sort((x, y) => tot.get(y) - tot.get(x)).slice(0, 10);
    assert.ok(tot.size > 10, 'the demo has more than 10 ' + what);
    const rows = await page.evaluate((n) => echarts.getInstanceByDom(document.querySelector(`[data-chart="${n}"] .chart`)).getOption().yAxis[0].data, chart);
    assert.deepEqual(new Set(rows), new Set(top), chart);
    assert.deepEqual(lengths(await chartSeries(page, chart)), [b.filter((i) => top.includes(i[by])).length]);
    assert.match(await page.textContent(`[data-chart="${chart}"] .sub`), new RegExp(`^Top 10 of ${tot.size} ${what} by requests · last 30 days$`));
    // sizes tell the cells apart: from the fastest (small) to the slowest (large)
    const cells = await itemColours(page, chart);
    const sizes = cells.map((c) => c.size);
    assert.ok(Math.max(...sizes) >= 4 * Math.min(...sizes), `${chart}: sizes ${Math.min(...sizes)}..${Math.max(...sizes)}`);
    const byAvg = cells.slice().sort((x, y) => x.value[2] - y.value[2]);
    assert.ok(byAvg[0].size < byAvg[byAvg.length - 1].size);
  }
  await page.selectOption('[data-top="ep-bubbles-users"]', '5');
  assert.equal((await page.evaluate(() => echarts.getInstanceByDom(document.querySelector('[data-chart="ep-bubbles-users"] .chart')).getOption().yAxis[0].data)).length, 5);
  assert.match(await page.textContent('[data-chart="ep-bubbles-users"] .sub'), /^Top 5 of /);
  // Every chart says which range it covers: the raw-row views the last 30
  // days, the per-version box plots all time.
  assert.equal(await page.textContent('[data-chart="ep-versions"] .sub'), 'All time');
  for (const n of ['ep-heatmap', 'ep-status', 'ep-users', 'ep-ips', 'ep-profile']) assert.equal(await page.textContent(`[data-chart="${n}"] .sub`), 'Last 30 days', n);
  await assertLayout(page, 'endpoint');
  // Short-lived versions are flagged in the labels.
  const labels = await page.evaluate(() => echarts.getInstanceByDom(document.querySelector('[data-chart="ep-versions"] .chart')).getOption().xAxis[0].data);
  const short = vs.items.filter((v) => v.box.count > 0 && Date.parse(v.last_seen) - Date.parse(v.first_seen) < 86400000);
  assert.ok(short.length >= 1, 'the demo has a short-lived hotfix');
  assert.equal(labels.filter((l) => l.includes('short-lived')).length, short.length);

  // Grouped profile: one sunburst root per top-level line of the version.
  const prof = await get(`api/endpoints/${EP}/profile?per_page=1000&tz=UTC`);
  const lastVer = [...new Set(prof.items.map((l) => l.version))].pop();
  const roots = prof.items.filter((l) => l.version === lastVer && l.indent === 0).length;
  assert.ok(roots > 0);
  assert.deepEqual(lengths(await chartSeries(page, 'ep-profile')), [roots]);
  // ... and as a flame graph: one bar per line of the version.
  await page.selectOption('[data-profile-kind]', 'flame');
  const flame = await chartSeries(page, 'ep-profile');
  assert.deepEqual(flame.map((x) => [x.type, x.n]), [['custom', prof.items.filter((l) => l.version === lastVer).length]]);
  await page.locator('[data-chart="ep-profile"]').screenshot({ path: shotPath('profile-flame') });
  await page.selectOption('[data-profile-kind]', 'sunburst');

  // Outliers table and detail panel.
  // Outliers: one server page of 25 at a time, newest first, with a pager
  // and a "slowest first" order.
  const outl = await get(`api/endpoints/${EP}/outliers?per_page=1000&tz=UTC`);
  assert.ok(outl.total > 25, 'the demo endpoint has more outliers than one page');
  const rowIds = () => page.$$eval('tr[data-outlier]', (rs) => rs.map((r) => Number(r.dataset.outlier)));
  assert.deepEqual(await rowIds(), outl.items.slice(0, 25).map((o) => o.id));
  assert.equal(await page.textContent('.outliers .pageinfo'), `1–25 of ${outl.total.toLocaleString('en-US')}`);
  await page.click('.outliers [data-page="next"]');
  await page.waitForSelector('.outliers[data-state="drawn"] .pageinfo:text("26–")');
  assert.deepEqual(await rowIds(), outl.items.slice(25, 50).map((o) => o.id));
  await page.selectOption('.outliers [data-sort]', 'duration');
  await page.waitForSelector('.outliers[data-state="drawn"] .pageinfo:text("1–25")');
  const slowest = Math.max(...outl.items.map((o) => o.duration_us));
  const firstId = (await rowIds())[0];
  assert.equal(outl.items.find((o) => o.id === firstId).duration_us, slowest);
  const oid = await page.getAttribute('tr[data-outlier]', 'data-outlier');
  await page.click(`tr[data-outlier="${oid}"]`);
  await page.waitForSelector('[data-panel="outlier"][data-state="drawn"]');
  // The panel opens below the table: it is brought into view.
  const top = await page.evaluate(() => document.querySelector('[data-panel="outlier"]').getBoundingClientRect().top);
  assert.ok(top >= -1 && top < 100, `the outlier panel starts ${top}px from the top of the window`);
  const o = await get(`api/outliers/${oid}?tz=UTC`);
  assert.equal(await page.locator('[data-panel="outlier"] > ol.stack li').count(), o.stack.length);
  assert.deepEqual(lengths(await chartSeries(page, 'outlier-cpu')), [o.cpu_per_core.length]);
  assert.deepEqual(lengths(await chartSeries(page, 'outlier-memory')), [2]);
  assert.equal(await page.locator('[data-panel="outlier"] table.kv').first().locator('tr').count(), Object.keys(o.headers).length);
  await page.locator('[data-panel="outlier"]').scrollIntoViewIfNeeded();
  await page.locator('[data-panel="outlier"]').screenshot({ path: shotPath('outlier-detail') });

  // Profiled requests: a click draws that request's call tree as a flame
  // graph with one bar per node.
  const pr = await get(`api/endpoints/${EP}/profiled?per_page=25&tz=UTC`);
  assert.ok(pr.total > 0);
  assert.equal(await page.locator('tr[data-request]').count(), Math.min(25, pr.total));
  const rid = pr.items[0].request_id;
  await page.click(`tr[data-request="${rid}"]`);
  await page.waitForSelector('[data-panel="request-profile"][data-state="drawn"]');
  // (the last thing on the page: at the top of the window, or the page is
  // scrolled to its end and the panel's head shows)
  const [rtop, atEnd, vh] = await page.evaluate(() => [
    document.querySelector('[data-panel="request-profile"]').getBoundingClientRect().top,
    Math.ceil(scrollY + innerHeight) >= document.documentElement.scrollHeight - 1,
    innerHeight,
  ]);
  assert.ok(rtop >= -1 && (rtop < 100 || atEnd) && rtop < vh - 60, `the request panel starts ${rtop}px from the top of the window`);
  const tree = (await get(`api/requests/${rid}/profile`)).tree;
  const count = (ns) => ns.reduce((n, x) => n + 1 + count(x.children), 0);
  assert.deepEqual(
    (await chartSeries(page, 'request-flame')).map((x) => [x.type, x.n]),
    [['custom', count(tree)]],
  );
  await page.locator('[data-panel="request-profile"]').screenshot({ path: shotPath('request-profile') });
  for (const f of s.failed.filter((x) => !x.startsWith('401 '))) assert.match(f, /^404 .*\/api\/requests\/\d+\/profile$/);
  await s.close();
});

test('a range past RAW_ROWS_MAX is drawn from its newest rows, and says so', { timeout: 90000 }, async () => {
  const capped = await startServer({ db: server.db, extra: 'RAW_ROWS_MAX=200\n' });
  const ctx = await chrome.browser.newContext({ viewport: { width: 1280, height: 800 }, timezoneId: 'UTC' });
  try {
    const page = await ctx.newPage();
    await login(page, capped.url, ADMIN);
    await page.goto(capped.url + `#/endpoint/${EP}`);
    await settled(page);
    const st = (await apiGet(page, `api/endpoints/${EP}/status?tz=UTC`)).body;
    assert.ok(st.partial && st.partial.rows >= 200 && st.partial.rows < 400);
    for (const name of ['ep-status', 'ep-users', 'ep-ips', 'ep-bubbles-users', 'ep-bubbles-ips']) {
      const cap = page.locator(`[data-chart="${name}"] .caption`);
      assert.equal(await cap.isVisible(), true, name);
      assert.match(await cap.textContent(), new RegExp(`newest ${st.partial.rows} requests`));
    }
    // the charts are drawn from those rows
    const codes = st.codes.filter((c) => c.count > 0).length;
    assert.equal((await chartSeries(page, 'ep-status'))[0].n, codes);
    assert.equal(st.codes.reduce((n, c) => n + c.count, 0), st.partial.rows);
    await page.screenshot({ path: shotPath('endpoint-capped'), fullPage: true });
  } finally {
    await ctx.close();
    await capped.stop();
  }
});

test('admin: rules, versions, counters and export views', { timeout: 90000 }, async () => {
  const s = await s0();
  const { page } = s;
  await view(page, '#/rules');
  await page.screenshot({ path: shotPath('rules'), fullPage: true });
  const rules = (await apiGet(page, 'api/rules?per_page=1000')).body;
  assert.equal(await page.locator('table.rules tbody tr').count(), rules.total);

  await view(page, '#/versions');
  await page.screenshot({ path: shotPath('versions'), fullPage: true });
  const vers = (await apiGet(page, 'api/versions?per_page=1000')).body;
  assert.ok(vers.total >= 6);
  assert.deepEqual(lengths(await chartSeries(page, 'versions-life')), [vers.total]);
  // Evolution: one line per busiest endpoint (up to 10), a point per version.
  const evo = (await apiGet(page, 'api/evolution?from=0&per_page=1000')).body;
  const eps = new Set(evo.items.flatMap((v) => v.endpoints.map((e) => e.endpoint_id)));
  const lines = await chartSeries(page, 'versions-evolution');
  assert.deepEqual(lengths(lines), Array(Math.min(10, eps.size)).fill(evo.items.length));
  const busiest = lines[0].name;
  const medians = evo.items.map((v) => (v.endpoints.find((e) => e.name === busiest) || {}).median_us ?? null);
  assert.deepEqual(lines[0].data, medians);
  await page.selectOption('[data-evolution-stat]', 'p90_us');
  const p90s = evo.items.map((v) => (v.endpoints.find((e) => e.name === busiest) || {}).p90_us ?? null);
  assert.deepEqual((await chartSeries(page, 'versions-evolution'))[0].data, p90s);

  await view(page, '#/counters');
  await page.screenshot({ path: shotPath('counters'), fullPage: true });
  const cn = (await apiGet(page, 'api/counters?per_page=1000')).body;
  assert.ok(cn.totals.dropped > 0, 'the demo dropped a few records');
  assert.equal(await page.getAttribute('.alert', 'data-dropped'), String(cn.totals.dropped));

  await view(page, '#/export');
  await page.screenshot({ path: shotPath('export') });
  const href = await page.getAttribute('#export-link', 'href');
  const r = await page.evaluate(async (u) => {
    const x = await fetch(u);
    return { status: x.status, head: (await x.text()).slice(0, 40) };
  }, href);
  assert.equal(r.status, 200);
  assert.match(r.head, /^id,endpoint,version/);
  await s.close();
});

test('admin: a level change takes effect', { timeout: 60000 }, async () => {
  const s = await s0();
  const { page } = s;
  await view(page, '#/rules');
  const before = (await apiGet(page, 'api/rules?per_page=1000')).body.items;
  const target = before.find((r) => r.level === 1);
  const btn = `tr[data-endpoint="${target.id}"] .level-btn[data-level="3"]`;
  await page.click(btn);
  await page.waitForSelector(`${btn}[aria-pressed="true"]`);
  await page.waitForFunction(async (id) => {
    const r = await fetch('api/rules?per_page=1000').then((x) => x.json());
    return r.items.find((x) => x.id === id).level === 3;
  }, target.id);
  // After a reload the page shows the stored level.
  await view(page, '#/overview');
  assert.equal(await page.getAttribute(`tr[data-endpoint="${target.id}"] .level-btn[data-level="3"]`, 'aria-pressed'), 'true');
  await page.click(`tr[data-endpoint="${target.id}"] .level-btn[data-level="1"]`);
  await page.waitForSelector(`tr[data-endpoint="${target.id}"] .level-btn[data-level="1"][aria-pressed="true"]`);
  const after1 = (await apiGet(page, 'api/rules?per_page=1000')).body.items.find((r) => r.id === target.id);
  assert.equal(after1.level, 1);
  await s.close();
});

test('guest sees every read view and no admin control', { timeout: 90000 }, async () => {
  const s = await open({ allow: [/status of 403/] });
  await s.login(GUEST);
  const { page } = s;
  assert.match(await page.textContent('#who'), /guest/);
  await view(page, '#/overview');
  await page.screenshot({ path: shotPath('guest-overview'), fullPage: true });
  assert.equal(await page.locator('.level-btn').count(), 0);
  assert.ok((await page.locator('table.overview tbody tr').count()) >= 40);
  assert.equal(await page.locator('nav a[data-view="export"]').count(), 0);
  await view(page, '#/rules');
  await page.screenshot({ path: shotPath('guest-rules'), fullPage: true });
  assert.equal(await page.locator('.level-btn').count(), 0);
  assert.ok((await page.locator('table.rules span.level').count()) >= 40);
  await view(page, `#/endpoint/${EP}`);
  assert.ok((await chartSeries(page, 'ep-versions')).length === 1);
  await page.goto(server.url + '#/export');
  await page.waitForSelector('#main p.note');
  assert.equal(await page.locator('#export-link').count(), 0);
  // The server refuses a guest's level change too.
  const st = await page.evaluate(() => fetch('api/rules/1/level', { method: 'POST', body: '{"level":0}' }).then((r) => r.status));
  assert.equal(st, 403);
  await s.close();
});

test('time-zone selector and date-range picker reach the API', { timeout: 60000 }, async () => {
  const s = await s0();
  const { page } = s;
  await view(page, '#/overview');
  const urls = [];
  page.on('request', (r) => urls.push(r.url()));
  await page.selectOption('#tz', 'Asia/Tokyo');
  await settled(page);
  assert.ok(urls.some((u) => u.includes('api/heatmap') && u.includes('tz=Asia%2FTokyo')));
  const heat = (await apiGet(page, 'api/heatmap?days=30&tz=Asia/Tokyo')).body;
  const yDays = await page.evaluate(() => echarts.getInstanceByDom(document.querySelector('[data-chart="api-heatmap"] .chart')).getOption().yAxis[0].data);
  assert.deepEqual(yDays, heat.days);
  // A 7-day range: the daily bars show exactly those days.
  const from = new Date(Date.now() - 6 * 86400000).toISOString().slice(0, 10);
  await page.selectOption('#tz', 'UTC');
  await settled(page);
  await page.evaluate((f) => {
    const el = document.getElementById('from');
    el.value = f;
    el.dispatchEvent(new Event('change'));
  }, from);
  await settled(page);
  const daily = (await apiGet(page, `api/daily?per_page=1000&tz=UTC&from=${from}`)).body;
  assert.equal(daily.days.length, 7);
  assert.ok((await chartSeries(page, 'api-daily')).every((x) => x.n === 7));
  assert.deepEqual(lengths(await chartSeries(page, 'api-heatmap')), [7 * 24]);
  // The range also comes from a link.
  await page.goto(server.url + `?from=${from}&tz=UTC#/endpoint/${EP}`);
  await settled(page);
  assert.equal(await page.inputValue('#from'), from);
  assert.deepEqual(lengths(await chartSeries(page, 'ep-heatmap')), [7 * 24]);
  // A picked range is the range of every chart, and each says so.
  for (const n of ['ep-versions', 'ep-bubbles-users', 'ep-status'])
    assert.match(await page.textContent(`[data-chart="${n}"] .sub`), new RegExp(`${from} → today \\(UTC\\)$`), n);
  await page.screenshot({ path: shotPath('overview-7days-range'), fullPage: false });
  await s.close();
});

test('days are ISO (YYYY-MM-DD) and of the chosen zone', { timeout: 60000 }, async () => {
  const s = await open({ allow: [/status of 400/] });
  const { page } = s;
  // 20:00 UTC yesterday: already tomorrow in Tokyo
  const now = new Date();
  const fake = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - 1, 20));
  await page.clock.setFixedTime(fake);
  await s.login(ADMIN);
  await view(page, '#/versions');
  // Typed days, not the browser's locale date input (mm/dd/yyyy).
  for (const id of ['from', 'to']) {
    assert.equal(await page.getAttribute('#' + id, 'type'), 'text');
    assert.equal(await page.getAttribute('#' + id, 'placeholder'), 'YYYY-MM-DD');
  }
  await page.selectOption('#tz', 'Asia/Tokyo');
  await settled(page);
  await page.selectOption('#preset', '7');
  await settled(page);
  const tokyo = new Date(fake.getTime() + 9 * 3600000);
  tokyo.setUTCDate(tokyo.getUTCDate() - 6);
  assert.equal(await page.inputValue('#from'), tokyo.toISOString().slice(0, 10), 'the last 7 days of Tokyo');
  // The deployment timeline reads in the zone: its time axis is drawn in
  // UTC over times shifted by the zone's offset.
  await page.selectOption('#preset', '');
  await settled(page);
  const vers = (await apiGet(page, 'api/versions?per_page=1000&tz=Asia/Tokyo')).body.items;
  const opt = await page.evaluate(() => {
    const o = echarts.getInstanceByDom(document.querySelector('[data-chart="versions-life"] .chart')).getOption();
    return { useUTC: o.useUTC, starts: o.series[0].data.map((d) => d[1]) };
  });
  assert.equal(opt.useUTC, true);
  const first = vers.slice().sort((a, b) => Date.parse(a.first_seen) - Date.parse(b.first_seen))[0];
  assert.equal(opt.starts[0], Date.parse(first.first_seen) + 9 * 3600000);
  // A day that is not YYYY-MM-DD is refused before any request is made.
  const urls = [];
  page.on('request', (r) => urls.push(r.url()));
  await page.fill('#from', '11/20/2026');
  await page.press('#from', 'Enter');
  await page.locator('#from').blur();
  await page.waitForSelector('#banner:not([hidden])');
  assert.match(await page.textContent('#banner'), /from: expected a day as YYYY-MM-DD/);
  assert.equal(await page.getAttribute('#from', 'aria-invalid'), 'true');
  assert.equal(urls.filter((u) => u.includes('/api/')).length, 0);
  await page.fill('#from', '2026-11-20');
  await page.locator('#from').blur();
  await settled(page);
  assert.equal(await page.getAttribute('#from', 'aria-invalid'), null);
  assert.ok(urls.some((u) => u.includes('api/evolution') && u.includes('from=2026-11-20')));
  await s.close();
});

test('a failing API call shows the error banner and the card error state', { timeout: 60000 }, async () => {
  const s = await open({ allow: [/status of 500/] });
  await s.login(ADMIN);
  const { page } = s;
  await s.ctx.route(/\/api\/heatmap/, (r) => r.fulfill({ status: 500, contentType: 'application/json', body: '{"error":"store is on fire","status":500}' }));
  await view(page, '#/overview');
  assert.equal(await page.isVisible('#banner'), true);
  assert.match(await page.textContent('#banner'), /store is on fire/);
  assert.equal(await page.getAttribute('[data-chart="api-heatmap"]', 'data-state'), 'error');
  assert.equal(await page.getAttribute('[data-chart="api-daily"]', 'data-state'), 'drawn');
  await page.screenshot({ path: shotPath('error-banner') });
  await s.close();
});

test('phone width: no horizontal overflow, charts drawn', { timeout: 60000 }, async () => {
  const s = await open({ width: 390, height: 844 });
  await s.login(ADMIN);
  const { page } = s;
  for (const [hash, shot] of [
    ['#/overview', 'phone-overview'],
    [`#/endpoint/${EP}`, 'phone-endpoint'],
  ]) {
    await view(page, hash);
    await page.screenshot({ path: shotPath(shot), fullPage: true });
    const w = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(w <= 392, `${hash}: page is ${w}px wide on a 390px screen`);
    const widths = await page.$$eval('.card', (cs) => cs.map((c) => c.getBoundingClientRect().width));
    assert.ok(widths.every((x) => x <= 390));
    await assertLayout(page, 'phone ' + hash);
  }
  // The overview table scrolls sideways inside its card, and the endpoint
  // column stays in view.
  await view(page, '#/overview');
  const t = await page.evaluate(async () => {
    const card = document.querySelector('.tablecard');
    const box = card.querySelector('.scroll');
    const cardR = card.getBoundingClientRect();
    const wide = box.scrollWidth > box.clientWidth;
    box.scrollLeft = box.scrollWidth;
    await new Promise((r) => requestAnimationFrame(r));
    const boxR = box.getBoundingClientRect();
    const name = box.querySelector('tbody tr td:first-child').getBoundingClientRect();
    const levels = box.querySelector('tbody tr td:last-child').getBoundingClientRect();
    return { cardRight: cardR.right, wide, overflow: getComputedStyle(box).overflowX, boxR: [boxR.left, boxR.right], name: [name.left, name.right], levels: [levels.left, levels.right] };
  });
  assert.ok(t.cardRight <= 390, 'the card fits the screen');
  assert.ok(t.wide && t.overflow === 'auto', 'the table scrolls inside its card');
  assert.ok(t.name[0] >= t.boxR[0] - 1 && t.name[1] <= t.boxR[1], `endpoint names stay in view when scrolled: ${JSON.stringify(t)}`);
  assert.ok(t.levels[1] <= t.boxR[1] + 1 && t.levels[0] >= t.name[1] - 1, `the last column can be reached: ${JSON.stringify(t)}`);
  await page.screenshot({ path: shotPath('phone-overview-scrolled') });
  await s.close();
});

// A logged-in admin session.
async function s0() {
  const s = await open();
  await s.login(ADMIN);
  return s;
}

function hexToRgb(hex) {
  const n = parseInt(hex.slice(1), 16);
  return `rgb(${n >> 16}, ${(n >> 8) & 255}, ${n & 255})`;
}

test('the binary serves exactly the files of web/src', { timeout: 30000 }, async (t) => {
  const html = await (await fetch(server.url)).text();
  assert.ok(html.includes('data-evodash-spa'), 'the binary serves the embedded app');
  void t;
  const dir = join(ROOT, 'web', 'src');
  const walk = (d) => readdirSync(d).flatMap((f) => (statSync(join(d, f)).isDirectory() ? walk(join(d, f)) : [join(d, f)]));
  for (const f of walk(dir)) {
    const rel = relative(dir, f);
    const r = await fetch(server.url + (rel === 'index.html' ? '' : 'static/' + rel));
    assert.equal(r.status, 200, rel);
    assert.ok(Buffer.from(await r.arrayBuffer()).equals(readFileSync(f)), `${rel} is served as committed`);
  }
  const e = await fetch(server.url + 'static/echarts.min.js');
  assert.ok(Buffer.from(await e.arrayBuffer()).equals(readFileSync(join(ROOT, 'web/node_modules/echarts/dist/echarts.min.js'))));
  assert.equal((await fetch(server.url + 'static/nope.js')).status, 404);
});
