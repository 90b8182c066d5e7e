// verdicts.test.mjs — the findings panel, the comparison page with its
// differential flame graph, version marks and renames, in headless
// chromium against a store with planted faults (tests/verdicts/plant).
// Screenshots: build/screenshots/verdicts-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, startServer, launch, freshStore, openPage, settled, chartLayout, chartSeries, apiGet, shotPath, ADMIN, GUEST } from './harness.mjs';

let server, chrome, tmp;

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'evd-ui-verdicts-'));
  const db = freshStore(tmp, 'plant.db');
  const now = Math.floor(Date.now() / 3600000) * 3600;
  execFileSync(join(ROOT, 'build/rel/tests/verdicts/plant'), [db, String(now), '3'], { stdio: ['ignore', 'ignore', 'inherit'] });
  server = await startServer({ db });
  chrome = await launch();
});

after(async () => {
  if (chrome) await chrome.close();
  if (server) await server.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const open = (who, size) => openPage(chrome, server.url, who, size);

const RANK = { high: 3, medium: 2, low: 1 };

test('overview: the findings panel lists every finding, most severe first, each a link to its evidence', { timeout: 90000 }, async () => {
  const { page, close } = await open(ADMIN);
  await page.goto(server.url + '#/overview');
  await settled(page);
  const api = (await apiGet(page, 'api/findings?from=0')).body.findings;
  const shown = await page.$$eval('section.findings li', (lis) =>
    lis.map((li) => ({ kind: li.dataset.kind, sev: li.querySelector('.badge').textContent, href: li.querySelector('a.summary').getAttribute('href'), text: li.querySelector('a.summary').textContent })),
  );
  assert.equal(shown.length, api.length);
  assert.ok(api.length >= 7, 'the seven planted faults');
  assert.deepEqual(shown.map((s) => s.href), api.map((f) => f.link));
  assert.deepEqual(shown.map((s) => s.text), api.map((f) => f.summary));
  const ranks = shown.map((s) => RANK[s.sev]);
  assert.deepEqual(ranks, [...ranks].sort((a, b) => b - a), 'most severe first');
  for (const k of ['regression', 'improvement', 'error_rate', 'slow_group', 'dead_endpoint', 'rename_candidate', 'outlier_cause']) assert.ok(shown.some((s) => s.kind === k), k);
  // badges are coloured by severity, not all alike
  const colours = await page.$$eval('section.findings .badge', (bs) => [...new Set(bs.map((b) => getComputedStyle(b).backgroundColor))]);
  assert.equal(colours.length, 3);
  await page.screenshot({ path: shotPath('verdicts-overview-desktop') });
  // the regression's line opens the comparison of its versions
  await page.click('section.findings li[data-kind=regression] a.summary');
  await settled(page);
  assert.match(await page.evaluate(() => location.hash), /^#\/compare\/\d+\/\d+\/\d+$/);
  const picked = await page.$eval('table.comparetable tr.picked', (tr) => [tr.children[0].textContent, tr.querySelector('.change').textContent]);
  assert.deepEqual(picked, ['svc.slower', 'slower']);
  await close();
});

test('comparison page: every endpoint with both sides, appeared/vanished, groups, and the flame graph', { timeout: 90000 }, async () => {
  const { page, close } = await open(ADMIN);
  const vs = (await apiGet(page, 'api/versions')).body.items;
  const id = (n) => vs.find((v) => v.name === n).id;
  const slower = (await apiGet(page, 'api/rules')).body.items.find((e) => e.endpoint === 'svc.slower').id;
  await page.goto(server.url + `#/compare/${id('v4')}/${id('v5')}/${slower}`);
  await settled(page);
  const d = (await apiGet(page, `api/compare?a=${id('v4')}&b=${id('v5')}`)).body;
  const rows = await page.$$eval('table.comparetable tbody tr', (trs) => trs.map((tr) => tr.dataset.endpoint));
  assert.equal(rows.length, d.endpoints.length);
  const head = await page.textContent('.comparehead');
  assert.match(head, /appeared: svc\.new_name/);
  assert.match(head, /vanished: svc\.old_name/);
  const groups = await page.$$eval('table.groups tbody tr', (trs) => trs.length);
  assert.equal(groups, d.groups.length);
  // the flame graph: B's tree, coloured by the change of share, named
  const s = await chartSeries(page, 'profile-diff');
  assert.equal(s[0].type, 'custom');
  const p = (await apiGet(page, `api/endpoints/${slower}/profile_diff?a=${id('v4')}&b=${id('v5')}&from=0`)).body;
  assert.equal(p.grew_most === null || p.grew_most.delta <= 0.02, true, 'v4 → v5: serialize unchanged');
  await page.selectOption('[data-side=a]', String(id('v3')));
  await page.selectOption('[data-side=b]', String(id('v4')));
  await page.click('[data-compare]');
  await settled(page);
  await page.selectOption('[data-flame-endpoint]', String(slower));
  await settled(page);
  const title = await page.evaluate(() => echarts.getInstanceByDom(document.querySelector('[data-chart="profile-diff"] .chart')).getOption().title[0].text);
  assert.match(title, /^serialize grew most: 15\.0 → 55\.0 %/);
  const lay = await chartLayout(page, 'profile-diff');
  assert.deepEqual([lay.labels, lay.parts, lay.covered, lay.cut], [[], [], [], []], JSON.stringify(lay));
  // colours follow the change: serialize grew (red), query shrank (blue)
  const fills = await page.evaluate(() => {
    const inst = echarts.getInstanceByDom(document.querySelector('[data-chart="profile-diff"] .chart'));
    const out = {};
    const data = inst.getOption().series[0].data;
    data.forEach((row, i) => (out[row[4]] = inst.getModel().getSeriesByIndex(0).getData().getItemVisual(i, 'style').fill));
    return out;
  });
  assert.equal(fills.serialize, '#b2182b');
  assert.equal(fills.query, '#2166ac');
  assert.equal(fills.parse, '#e0e0e0');
  await page.screenshot({ path: shotPath('verdicts-compare-desktop'), fullPage: true });
  // two ranges
  await page.selectOption('[data-mode]', 'r');
  const day = (back) => new Date(Date.now() - back * 86400000).toISOString().slice(0, 10);
  await page.fill('[data-day="a from"]', day(13));
  await page.fill('[data-day="a to"]', day(8));
  await page.fill('[data-day="b from"]', day(6));
  await page.fill('[data-day="b to"]', day(0));
  await page.click('[data-compare]');
  await settled(page);
  assert.match(await page.evaluate(() => location.hash), /^#\/compare\/range\//);
  assert.ok((await page.$$('table.comparetable tbody tr')).length >= 40);
  await close();
});

test('endpoint page: its own findings only', { timeout: 60000 }, async () => {
  const { page, close } = await open(ADMIN);
  const e = (await apiGet(page, 'api/rules')).body.items.find((x) => x.endpoint === 'svc.errors').id;
  await page.goto(server.url + `#/endpoint/${e}`);
  await settled(page);
  const kinds = await page.$$eval('section.findings li', (lis) => lis.map((li) => [li.dataset.kind, li.dataset.endpoint]));
  assert.deepEqual(kinds, [['error_rate', String(e)]]);
  await close();
});

test('admin: confirm a rename from the panel, undo it, mark a release', { timeout: 90000 }, async () => {
  const { page, close } = await open(ADMIN);
  await page.goto(server.url + '#/overview');
  await settled(page);
  await page.click('section.findings li[data-kind=rename_candidate] [data-confirm-rename]');
  await page.waitForFunction(() => !document.querySelector('section.findings li[data-kind=rename_candidate]') && document.querySelector('section.findings[data-state=drawn]'));
  await settled(page);
  const names = (await apiGet(page, 'api/overview?per_page=1000')).body.items.map((i) => i.name);
  assert.ok(names.includes('svc.new_name') && !names.includes('svc.old_name'), 'one endpoint');
  await page.goto(server.url + '#/versions');
  await settled(page);
  await page.click('[data-undo-rename]');
  await page.waitForFunction(() => !document.querySelector('[data-undo-rename]'));
  await settled(page);
  const names2 = (await apiGet(page, 'api/overview?per_page=1000')).body.items.map((i) => i.name);
  assert.ok(names2.includes('svc.old_name'), 'undone');
  const v2 = (await apiGet(page, 'api/versions')).body.items.find((v) => v.name === 'v2').id;
  await page.click(`tr[data-version="${v2}"] [data-mark=important]`);
  await page.waitForSelector(`tr[data-version="${v2}"] [data-mark=important].on`);
  assert.equal((await apiGet(page, 'api/versions')).body.items.find((v) => v.name === 'v2').important, true);
  await page.screenshot({ path: shotPath('verdicts-versions-desktop'), fullPage: true });
  await page.click(`tr[data-version="${v2}"] [data-mark=important]`);
  await page.waitForSelector(`tr[data-version="${v2}"] [data-mark=important]:not(.on)`);
  await close();
});

test('guest: findings and comparisons, no admin control', { timeout: 60000 }, async () => {
  const { page, close } = await open(GUEST);
  await page.goto(server.url + '#/overview');
  await settled(page);
  assert.ok((await page.$$('section.findings li')).length >= 7);
  assert.equal((await page.$$('[data-confirm-rename]')).length, 0);
  await page.goto(server.url + '#/versions');
  await settled(page);
  assert.equal((await page.$$('[data-mark], [data-undo-rename], form.renameform')).length, 0);
  await close();
});

test('phone width: panel and comparison fit, the table scrolls inside its card', { timeout: 60000 }, async () => {
  const { page, close } = await open(ADMIN, { width: 390, height: 844 });
  for (const hash of ['#/overview', '#/compare']) {
    await page.goto(server.url + hash);
    await settled(page);
    const over = await page.evaluate(() => document.scrollingElement.scrollWidth - window.innerWidth);
    assert.ok(over <= 0, `${hash}: no horizontal overflow (${over} px)`);
  }
  await page.screenshot({ path: shotPath('verdicts-compare-phone'), fullPage: true });
  const lay = await chartLayout(page, 'profile-diff');
  if (lay) assert.deepEqual([lay.labels, lay.parts, lay.covered, lay.cut], [[], [], [], []], JSON.stringify(lay));
  await close();
});
