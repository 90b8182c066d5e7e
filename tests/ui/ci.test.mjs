// ci.test.mjs — the CI page in headless chromium: a demo store with five CI
// builds uploaded with the bearer token (one of them slower on api.search,
// as the demo's live v1.3.0 is), the box plots per test and per endpoint
// with the builds side by side, the live-vs-CI chart with Pearson's r as
// the API computes it, the flagged regression, desktop and phone widths.
// Screenshots: build/screenshots/ci-*.png (and EVODASH_SHOTS, if set).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, launch, login, settled, chartLayout, apiGet, shotPath, ADMIN } from './harness.mjs';

const TOKEN = 'ui-ci-token-0123456789';
// demo versions, and how much slower CI finds the code of each
const BUILDS = [
  ['v1.1.0', 1.0],
  ['v1.2.0', 1.05],
  ['v1.3.0', 2.5],
  ['v1.4.0', 1.0],
  ['v1.5.0', 0.9],
];
const TESTS = [
  ['tests.test_search', 'test_search', { 'api.search': 2 }],
  ['tests.test_search', 'test_search_empty', { 'api.search': 1 }],
  ['tests.test_cart', 'test_add_and_checkout', { 'api.cart_add': 2, 'api.checkout': 1 }],
  ['tests.test_catalog', 'test_product_page_with_reviews', { 'api.product': 1, 'api.reviews': 1 }],
  ['tests.test_catalog', 'test_prices', {}],
];
const BASE_US = { 'api.search': 9000, 'api.cart_add': 2500, 'api.checkout': 30000, 'api.product': 1500, 'api.reviews': 2200 };

let server, chrome;

// Deterministic jitter: CI runs are noisy too.
let seed = 7;
const jitter = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return 0.9 + 0.2 * (seed / 2147483648);
};

async function uploadBuilds(base) {
  for (const [i, [version, slow]] of BUILDS.entries()) {
    const tests = [];
    for (let it = 1; it <= 6; it++)
      for (const [suite, name, eps] of TESTS) {
        const calls = [];
        for (const [ep, n] of Object.entries(eps))
          for (let k = 0; k < n; k++) calls.push({ endpoint: ep, duration_us: Math.round(BASE_US[ep] * (ep === 'api.search' ? slow : 1) * jitter()) });
        const total = calls.reduce((a, c) => a + c.duration_us, 0) + Math.round(800 * jitter());
        tests.push({ suite, name, iteration: it, duration_us: total, outcome: name === 'test_prices' && i === 1 ? 'failed' : 'passed', calls });
      }
    const r = await fetch(base + 'api/ci/builds', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ' + TOKEN },
      body: JSON.stringify({ build: String(8800 + i), version, created_us: 1700000000000000 + i * 3600e6, tests }),
    });
    assert.equal(r.status, 201, await r.text());
  }
}

before(async () => {
  server = await startServer({ requests: 40000, extra: `SECURITY_TOKEN=${TOKEN}\n` });
  await uploadBuilds(server.url);
  chrome = await launch();
});

after(async () => {
  if (chrome) await chrome.close();
  if (server) await server.stop();
});

function shot(name) {
  const p = shotPath(name);
  if (process.env.EVODASH_SHOTS) {
    mkdirSync(process.env.EVODASH_SHOTS, { recursive: true });
    return { path: p, copy: () => copyFileSync(p, join(process.env.EVODASH_SHOTS, name + '.png')) };
  }
  return { path: p, copy: () => {} };
}

async function openCi(width, height) {
  const ctx = await chrome.browser.newContext({ viewport: { width, height }, timezoneId: 'UTC' });
  const page = await ctx.newPage();
  const errors = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of 401/.test(m.text())) errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push('pageerror: ' + e.message));
  await login(page, server.url, ADMIN);
  await page.goto(server.url + '#/ci');
  await settled(page);
  return { ctx, page, errors };
}

async function assertLayout(page, where) {
  for (const n of ['ci-tests', 'ci-endpoints', 'ci-correlation']) {
    assert.equal(await page.getAttribute(`[data-chart="${n}"]`, 'data-state'), 'drawn', `${where}: ${n} drawn`);
    const l = await chartLayout(page, n);
    assert.deepEqual(l.labels, [], `${where} ${n}: overlapping labels`);
    assert.deepEqual(l.parts, [], `${where} ${n}: overlapping parts`);
    assert.deepEqual(l.covered, [], `${where} ${n}: labels under another part`);
    assert.deepEqual(l.cut, [], `${where} ${n}: parts cut off at the edges`);
  }
}

test('CI page: builds side by side, live vs CI with Pearson r, the regression', { timeout: 120000 }, async () => {
  const { ctx, page, errors } = await openCi(1440, 900);
  await assertLayout(page, 'desktop');
  // Fig. 12: one row per test, one box per build (the last five)
  const boxes = await page.evaluate(() => {
    const inst = echarts.getInstanceByDom(document.querySelector('[data-chart="ci-tests"] .chart'));
    const o = inst.getOption();
    return { rows: o.yAxis[0].data, series: o.series.map((s) => s.name), colours: o.series.map((s) => s.itemStyle.color) };
  });
  assert.equal(boxes.rows.length, TESTS.length);
  assert.ok(boxes.rows.includes('tests.test_cart::test_add_and_checkout'));
  assert.deepEqual(
    boxes.series,
    BUILDS.map(([v], i) => `#${8800 + i} · ${v}`),
  );
  assert.equal(new Set(boxes.colours).size, BUILDS.length, 'each build its own shade');
  const epRows = await page.evaluate(() => echarts.getInstanceByDom(document.querySelector('[data-chart="ci-endpoints"] .chart')).getOption().yAxis[0].data);
  assert.deepEqual([...epRows].sort(), Object.keys(BASE_US).sort());
  // Fig. 13 / Table I: the chart's medians and r are the API's
  const endpoint = await page.$eval('[data-ci-endpoint]', (s) => s.value);
  assert.equal(endpoint, 'api.search', 'the busiest endpoint of the newest build first');
  const corr = (await apiGet(page, 'api/ci/correlation?endpoint=api.search')).body;
  assert.ok(corr.versions.length >= 5);
  assert.equal(typeof corr.pearson_r, 'number');
  const drawn = await page.evaluate(() => {
    const o = echarts.getInstanceByDom(document.querySelector('[data-chart="ci-correlation"] .chart')).getOption();
    return o.series.map((s) => s.data);
  });
  assert.deepEqual(
    drawn[1],
    corr.versions.map((v) => v.ci_median_ms),
  );
  const sub = await page.textContent('[data-chart="ci-correlation"] .sub');
  assert.match(sub, new RegExp(`Pearson r\\(${corr.paired - 2}\\) = ${corr.pearson_r.toFixed(3)}`));
  // the slower build of api.search is flagged, and the table shows it
  const regs = (await apiGet(page, 'api/ci/regressions')).body;
  assert.ok(regs.items.some((x) => x.kind === 'endpoint' && x.name === 'api.search' && x.build.build === '8802'));
  assert.ok(!regs.items.some((x) => x.name === 'api.product'), 'a steady endpoint is not flagged');
  assert.match(await page.textContent('[data-ci-regressions]'), /api\.search/);
  const s = shot('ci-1440x900');
  await page.screenshot({ path: s.path, fullPage: true });
  s.copy();
  // fewer builds: the boxes follow
  await page.selectOption('[data-ci-builds]', '3');
  await page.waitForFunction(() => echarts.getInstanceByDom(document.querySelector('[data-chart="ci-tests"] .chart')).getOption().series.length === 3);
  await ctx.close();
  assert.deepEqual(errors, []);
});

test('CI page at phone width', { timeout: 120000 }, async () => {
  const { ctx, page, errors } = await openCi(390, 844);
  await assertLayout(page, 'phone');
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(wide <= 390 + 1, `no sideways scrolling (${wide} px)`);
  const s = shot('ci-390x844');
  await page.screenshot({ path: s.path, fullPage: true });
  s.copy();
  await ctx.close();
  assert.deepEqual(errors, []);
});
