// services.test.mjs — services and instances in the dashboard: the service
// picker (hidden with one service), service= and instance= on every request
// the page sends, instance tables with live / stale markers, narrowing to
// some instances and back, the store's size and retention on Counters.
// One demo store ("shop", two instances); a second service ("billing",
// examples/c_service) joins it half-way.  Screenshots: build/screenshots.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, startService, launch, login, settled, apiGet, chartLayout, shotPath, ADMIN } from './harness.mjs';

let server, chrome, billing;

before(async () => {
  server = await startServer({ requests: 20000 });
  chrome = await launch();
});

after(async () => {
  if (billing) await billing.stop();
  if (chrome) await chrome.close();
  if (server) await server.stop();
});

// A logged-in page that records the API requests it sends and console errors.
async function open({ width = 1280, height = 800, ctx = null } = {}) {
  ctx = ctx || (await chrome.browser.newContext({ viewport: { width, height }, timezoneId: 'UTC' }));
  const page = await ctx.newPage();
  const sent = [];
  const errors = [];
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.pathname.includes('/api/')) sent.push(u);
  });
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of 401/.test(m.text())) errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push('pageerror: ' + e.message));
  await login(page, server.url, ADMIN);
  return {
    ctx,
    page,
    sent,
    // the API paths of the views, sent since `from` (not the session or the list of services)
    views: (from = 0) => sent.slice(from).filter((u) => !/\/api\/(session|services)$/.test(u.pathname)),
    async close() {
      await ctx.close();
      assert.deepEqual(errors, [], 'no console errors');
    },
  };
}

async function view(page, hash) {
  const target = server.url + hash;
  if (page.url() === target) await page.reload();
  else await page.goto(target);
  await settled(page);
}

// Wait for the page's URL to satisfy `ok` after a picker or box changed it,
// then for the view it re-drew.
async function changed(page, ok, arg = null) {
  await page.waitForFunction(ok, arg, { timeout: 10000 });
  await settled(page);
}

// The text of a row's cell under the column `key`.
const cell = (page, row, key) =>
  page.$eval(row, (tr, k) => tr.cells[[...tr.closest('table').querySelectorAll('th')].findIndex((th) => th.dataset.key === k)].textContent.trim(), key);

const rows = (page, table) => page.$$eval(`table.${table} tbody tr`, (trs) => trs.map((tr) => [...tr.cells].map((td) => td.textContent.trim())));

async function assertCharts(page, where) {
  const names = await page.$$eval('[data-chart][data-state="drawn"]', (cs) => cs.map((c) => c.dataset.chart));
  assert.ok(names.length > 0, `${where}: charts drawn`);
  for (const n of names) {
    const l = await chartLayout(page, n);
    assert.deepEqual([l.labels, l.parts, l.covered, l.cut], [[], [], [], []], `${where} ${n}: layout ${JSON.stringify(l)}`);
  }
}

test('one service: no picker, and no request carries service= or instance=', { timeout: 60000 }, async () => {
  const s = await open();
  const { page } = s;
  for (const hash of ['#/overview', '#/versions', '#/counters']) {
    await view(page, hash);
    assert.equal(await page.locator('#svc-pick[hidden] select#service').count(), 1, `${hash}: the service picker is there, hidden`);
    assert.equal(await page.isVisible('#svc-pick'), false, `${hash}: no service picker`);
    assert.equal(await page.isVisible('#scope'), false, `${hash}: not narrowed`);
  }
  assert.ok(s.views().length > 5);
  assert.deepEqual(
    s.views().filter((u) => u.searchParams.has('service') || u.searchParams.has('instance')).map((u) => u.pathname),
    [],
    'nothing narrowed',
  );
  assert.equal(new URL(page.url()).search, '', 'the URL is left alone');
  // and no service column
  assert.equal(await page.locator('table.instances th[data-key="service"]').count(), 0);
  await view(page, '#/overview');
  assert.equal(await page.locator('table.overview th[data-key="service"]').count(), 0);
  await s.close();
});

test('Counters shows the store: backend, size, oldest raw row, retention', { timeout: 60000 }, async () => {
  const s = await open();
  const { page } = s;
  await view(page, '#/counters');
  const st = (await apiGet(page, 'api/counters')).body.store;
  const fact = (k) => page.textContent(`[data-store="${k}"] b`);
  assert.equal(await fact('backend'), st.backend);
  assert.ok(st.bytes > 0);
  assert.match(await fact('bytes'), /^\d+(\.\d+)? (KiB|MiB|GiB)$/, 'size in human units');
  const [num, unit] = (await fact('bytes')).split(' ');
  const k = { KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 }[unit];
  assert.ok(Math.abs(Number(num) * k - st.bytes) / st.bytes < 0.01, `${num} ${unit} is ${st.bytes} bytes`);
  assert.equal(await page.getAttribute('[data-store="bytes"]', 'title'), `${st.bytes.toLocaleString('en-US')} bytes`);
  assert.ok(st.oldest_raw);
  assert.ok((await fact('oldest_raw')).startsWith(st.oldest_raw.slice(0, 10) + ' ' + st.oldest_raw.slice(11, 19)), 'the oldest raw row');
  assert.equal(await fact('retention'), 'keep everything');
  await page.screenshot({ path: shotPath('counters-store'), fullPage: true });
  await s.close();

  // A dashboard configured with RETENTION_DAYS says how long raw rows stay.
  const kept = await startServer({ db: server.db, extra: 'RETENTION_DAYS=400\n' });
  try {
    const ctx = await chrome.browser.newContext({ viewport: { width: 1280, height: 800 }, timezoneId: 'UTC' });
    const p = await ctx.newPage();
    await login(p, kept.url, ADMIN);
    await p.goto(kept.url + '#/counters');
    await settled(p);
    assert.equal((await apiGet(p, 'api/counters')).body.store.retention_days, 400);
    assert.equal(await p.textContent('[data-store="retention"] b'), '400 days');
    await ctx.close();
  } finally {
    await kept.stop();
  }
});

test('two services: the picker lists both; picking one narrows every request and the overview', { timeout: 120000 }, async () => {
  billing = await startService(server.db, { name: 'billing', requests: 20 });
  const s = await open();
  const { page } = s;
  // the agent registers the service, its instance and endpoints within a second or two
  let svcs;
  for (let i = 0; i < 60; i++) {
    svcs = (await apiGet(page, 'api/services')).body.items;
    const b = svcs.find((x) => x.name === 'billing');
    if (b && b.endpoints === 3 && (await apiGet(page, 'api/overview?service=billing')).body.items.every((e) => e.hits.overall > 0)) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.deepEqual(svcs.map((x) => x.name).sort(), ['billing', 'shop']);
  await view(page, '#/overview');
  assert.ok(await page.isVisible('#svc-pick'), 'the picker shows with two services');
  const opts = await page.$$eval('#service option', (os) => os.map((o) => ({ value: o.value, text: o.textContent, live: o.dataset.live || null, selected: o.selected })));
  assert.deepEqual(opts[0], { value: '', text: 'All services', live: null, selected: true });
  assert.deepEqual(
    opts.slice(1).sort((a, b) => a.value.localeCompare(b.value)),
    svcs
      .map((x) => ({ value: x.name, text: `${x.live ? '●' : '○'} ${x.name} (${x.live ? 'live' : 'stale'})`, live: x.live ? 'live' : 'stale', selected: false }))
      .sort((a, b) => a.value.localeCompare(b.value)),
    'each service with a live / stale marker that is not colour alone',
  );
  assert.ok(svcs.find((x) => x.name === 'billing').live, 'the running service is live');
  // All services: every endpoint, with a column saying whose
  const all = (await apiGet(page, 'api/overview?per_page=1000')).body;
  assert.equal(await page.locator('table.overview tbody tr').count(), all.total);
  assert.ok(await page.isVisible('table.overview th[data-key="service"]'));
  await page.screenshot({ path: shotPath('services-picker') });

  // Pick billing: the URL, localStorage and every request say so, and the
  // table holds billing's endpoints only.
  const from = s.sent.length;
  await page.selectOption('#service', 'billing');
  await changed(page, () => new URL(location.href).searchParams.get('service') === 'billing');
  const after = s.views(from);
  assert.ok(after.some((u) => u.pathname.endsWith('/api/overview')), 'the overview was read again');
  assert.deepEqual(after.filter((u) => u.searchParams.get('service') !== 'billing').map((u) => u.pathname), [], 'every request carries service=billing');
  const mine = (await apiGet(page, 'api/overview?service=billing&per_page=1000')).body.items;
  assert.deepEqual(mine.map((e) => e.service), ['billing', 'billing', 'billing']);
  const names = (await rows(page, 'overview')).map((r) => r[0]).sort();
  assert.deepEqual(names, mine.map((e) => e.name).sort(), 'only billing’s endpoints');
  assert.deepEqual(names, ['GET /hello', 'GET /users/<id>', 'POST /orders']);
  assert.equal(await page.isVisible('table.overview th[data-key="service"]'), false, 'no service column for one service');
  assert.equal(await page.evaluate(() => localStorage.getItem('evd.service')), 'billing');
  await assertCharts(page, 'billing overview');
  await page.screenshot({ path: shotPath('services-billing'), fullPage: true });

  // Other views carry it too.
  const f2 = s.sent.length;
  await view(page, new URL(page.url()).search + '#/versions');
  await view(page, new URL(page.url()).search + '#/endpoint/' + mine[0].id);
  assert.ok(s.views(f2).length > 5);
  assert.deepEqual(s.views(f2).filter((u) => u.searchParams.get('service') !== 'billing').map((u) => u.pathname), []);
  // another service has not this endpoint: the picker goes to its overview
  await page.selectOption('#service', 'shop');
  await changed(page, () => location.hash === '#/overview' && new URL(location.href).searchParams.get('service') === 'shop');
  assert.ok((await page.locator('table.overview tbody tr').count()) >= 40);
  // the export is of the service picked
  await view(page, new URL(page.url()).search + '#/export');
  assert.equal(new URL(await page.getAttribute('#export-link', 'href'), server.url).searchParams.get('service'), 'shop');
  assert.match(await page.textContent('main'), /service shop/);
  await page.selectOption('#service', 'billing');
  await changed(page, () => new URL(location.href).searchParams.get('service') === 'billing');

  // The choice is kept: a page opened later without ?service= shows billing.
  const again = await s.ctx.newPage();
  await again.goto(server.url + '#/overview');
  await settled(again);
  assert.equal(await again.inputValue('#service'), 'billing');
  assert.equal((await again.$$('table.overview tbody tr')).length, 3);
  await again.close();
  await s.close();

  // A link shows what it says, whatever the reader picked last; a service
  // the store does not hold falls back to all services, and says so.
  const r = await open();
  await r.page.evaluate(() => localStorage.setItem('evd.service', 'billing'));
  await view(r.page, '?service=shop#/overview');
  assert.equal(await r.page.inputValue('#service'), 'shop');
  const shop = (await apiGet(r.page, 'api/overview?service=shop&per_page=1000')).body;
  assert.equal(await r.page.locator('table.overview tbody tr').count(), shop.total);
  assert.ok(shop.total >= 40);
  await view(r.page, '?service=#/overview');
  assert.equal(await r.page.inputValue('#service'), '', 'an empty service= is all services');
  assert.equal(await r.page.locator('table.overview tbody tr').count(), all.total);
  const f3 = r.sent.length;
  await view(r.page, '?service=nope#/overview');
  assert.match(await r.page.textContent('#banner .msg'), /no service 'nope'/);
  assert.equal(await r.page.inputValue('#service'), '');
  assert.deepEqual(r.views(f3).filter((u) => u.searchParams.has('service')).map((u) => u.pathname), [], 'the unknown name is not sent');
  assert.equal(new URL(r.page.url()).searchParams.get('service'), '', 'and the URL is corrected');
  await r.close();
});

test('instances: live / stale markers; narrowing to some reaches every view, shows, and clears', { timeout: 120000 }, async () => {
  assert.ok(billing, 'runs after the two-service test');
  const s = await open();
  const { page } = s;
  await view(page, '?service=#/counters');
  const inst = (await apiGet(page, 'api/instances')).body.items;
  assert.equal(inst.length, 3);
  const table = await rows(page, 'instances');
  assert.equal(table.length, 3);
  const head = await page.$$eval('table.instances th', (ths) => ths.map((t) => t.dataset.key));
  assert.deepEqual(head.slice(0, 10), ['pick', 'live', 'name', 'service', 'host', 'version', 'pid', 'started', 'last_seen', 'recorded']);
  for (const i of inst) {
    const r = await page.$eval(`tr[data-instance-row="${i.id}"]`, (tr) => [...tr.cells].map((td) => td.textContent.trim()));
    assert.deepEqual(r.slice(1, 7), [i.live ? 'live' : 'stale', i.name, i.service, i.host, i.version ? i.version : '–', String(i.pid)]);
    assert.equal(await page.getAttribute(`tr[data-instance-row="${i.id}"] [data-live]`, 'data-live'), i.live ? 'live' : 'stale');
  }
  const svc = inst.find((i) => i.service === 'billing');
  assert.ok(svc.live && svc.version === 'v2.0.0' && svc.host && svc.host !== svc.name, 'the running instance: live, its version, the real host name');
  assert.match(await page.textContent('.picknote'), /all 3 instances/);

  // Tick one shop instance and the billing one.
  const web1 = inst.find((i) => i.name.startsWith('web-1'));
  let from = s.sent.length;
  await page.click(`input[data-instance="${web1.id}"]`);
  await changed(page, (id) => new URL(location.href).searchParams.get('instance') === String(id), web1.id);
  assert.ok(await page.isChecked(`input[data-instance="${web1.id}"]`));
  await page.click(`input[data-instance="${svc.id}"]`);
  const pair = [web1.id, svc.id].sort((a, b) => a - b).join(',');
  await page.waitForFunction((p) => location.search.includes('instance=' + p), pair);
  await settled(page);
  assert.ok(await page.isVisible('#scope'));
  assert.match(await page.textContent('#scope'), /narrowed to 2 of 3 instances/);
  assert.match(await page.textContent('.picknote'), /2 of 3 instances/);
  assert.equal(await page.getAttribute('[data-counters-of]', 'data-counters-of'), '2');
  const cn = (await apiGet(page, `api/counters?instance=${pair}`)).body.totals;
  assert.equal(await page.textContent('[data-total="recorded"] b'), cn.recorded.toLocaleString('en-US'));
  assert.equal(cn.recorded, web1.recorded + svc.recorded);
  const list = (u) => u.pathname.endsWith('/api/instances');
  assert.ok(s.views(from).filter((u) => !list(u)).every((u) => u.searchParams.get('instance') !== null));
  await page.screenshot({ path: shotPath('instances-narrowed'), fullPage: true });

  // The overview, narrowed: the server's numbers for those two instances.
  from = s.sent.length;
  await view(page, new URL(page.url()).search + '#/overview');
  assert.ok(await page.isVisible('#scope'), 'the bar says every view is narrowed');
  const narrowed = s.views(from).filter((u) => !list(u));
  assert.ok(narrowed.length >= 5);
  assert.deepEqual(narrowed.filter((u) => u.searchParams.get('instance') !== pair).map((u) => u.pathname + u.search), [], `every request carries instance=${pair}`);
  const ov = (await apiGet(page, `api/overview?instance=${pair}&per_page=1000`)).body.items;
  const wide = (await apiGet(page, 'api/overview?per_page=1000')).body.items;
  const search = (xs) => xs.find((e) => e.name === 'api.search').hits.overall;
  assert.ok(search(ov) < search(wide), 'fewer requests than all instances made');
  const shown = await cell(page, `tr[data-endpoint="${ov.find((e) => e.name === 'api.search').id}"]`, 'overall');
  assert.equal(shown, search(ov).toLocaleString('en-US'));
  await assertCharts(page, 'narrowed overview');

  // Clear it from the bar.
  from = s.sent.length;
  await page.click('#scope button');
  await changed(page, () => !new URL(location.href).searchParams.has('instance'));
  assert.equal(await page.isVisible('#scope'), false);
  assert.deepEqual(s.views(from).filter((u) => u.searchParams.has('instance')).map((u) => u.pathname), []);

  // Instances of another service are dropped when the service changes.
  await view(page, '?service=#/counters');
  await page.click(`input[data-instance="${web1.id}"]`);
  await changed(page, (id) => new URL(location.href).searchParams.get('instance') === String(id), web1.id);
  await page.selectOption('#service', 'billing');
  await changed(page, () => new URL(location.href).searchParams.get('service') === 'billing');
  assert.equal(new URL(page.url()).searchParams.has('instance'), false);
  assert.deepEqual((await rows(page, 'instances')).map((r) => r[2]), [svc.name], 'billing’s instance only');
  assert.equal(await page.isVisible('#scope'), false);
  await s.close();
});

test('phone width: picker, narrowing bar and instance table fit', { timeout: 60000 }, async () => {
  const s = await open({ width: 390, height: 844 });
  const { page } = s;
  const ids = (await apiGet(page, 'api/instances')).body.items.map((i) => i.id);
  for (const [hash, shot] of [
    ['?service=billing#/overview', 'phone-services-overview'],
    [`?service=&instance=${ids.slice(0, 2).join(',')}#/counters`, 'phone-instances'],
  ]) {
    await view(page, hash);
    await page.screenshot({ path: shotPath(shot), fullPage: true });
    if (hash.endsWith('overview')) await assertCharts(page, 'phone ' + hash);
    const w = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(w <= 392, `${hash}: page is ${w}px wide on a 390px screen`);
    const pick = await page.$eval('#service', (e) => e.getBoundingClientRect().toJSON());
    assert.ok(pick.width > 80 && pick.right <= 390, `the picker fits: ${JSON.stringify(pick)}`);
  }
  const bar = await page.$eval('#scope', (e) => e.getBoundingClientRect().toJSON());
  assert.ok(bar.right <= 390 && bar.height > 0);
  const card = await page.$eval('.tablecard', (e) => e.getBoundingClientRect().right);
  assert.ok(card <= 390, 'the instance table scrolls inside its card');
  await s.close();
});
