// groupings.test.mjs — a service that names several groupings
// ("user=u;plan=p", tests/integration/fill GROUPS=multi): the per-group box
// plots, the group × version bubbles and the comparison's groups table get
// a picker of the grouping, shown only when there is more than one, and
// draw the grouping picked.  Screenshots: build/screenshots/groupings-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, startServer, launch, freshStore, openPage, settled, chartLayout, apiGet, shotPath, ADMIN } from './harness.mjs';

let server, chrome, tmp;
const EP = 1;

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'evd-ui-groupings-'));
  const db = freshStore(tmp, 'multi.db');
  const now = Math.floor(Date.now() / 3600000) * 3600;
  execFileSync(join(ROOT, 'build/rel/tests/integration/fill'), [db, String(now), '8000', '3', '3', '60', '10', '5', 'multi'], { stdio: ['ignore', 'ignore', 'inherit'] });
  server = await startServer({ db });
  chrome = await launch();
});

after(async () => {
  if (chrome) await chrome.close();
  if (server) await server.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const open = (base, size) => openPage(chrome, base, ADMIN, size);

// The categories of a chart's axis: x for box plots, y for bubbles.
const categories = (page, name, axis) =>
  page.evaluate(
    ([n, a]) => {
      const inst = echarts.getInstanceByDom(document.querySelector(`[data-chart="${n}"] .chart`));
      return inst ? inst.getOption()[a][0].data : null;
    },
    [name, axis],
  );

const title = (page, name) => page.$eval(`[data-chart="${name}"] h3 .title`, (e) => e.textContent);

async function pick(page, sel, value) {
  await page.selectOption(sel, value);
  await settled(page);
}

async function noOverlap(page, names) {
  for (const n of names) {
    const l = await chartLayout(page, n);
    assert.ok(l, n + ' is drawn');
    assert.deepEqual(l.labels, [], `${n}: labels overlap`);
    assert.deepEqual(l.parts, [], `${n}: parts overlap`);
  }
}

test('endpoint: the grouping picker switches the box plots and bubbles between groupings', { timeout: 120000 }, async () => {
  for (const [w, hgt, tag] of [
    [1440, 900, 'desktop'],
    [390, 844, 'phone'],
  ]) {
    const { page, close } = await open(server.url, { width: w, height: hgt });
    await page.goto(server.url + `#/endpoint/${EP}`);
    await settled(page);
    const api = (await apiGet(page, `api/endpoints/${EP}/groups?per_page=1000`)).body;
    assert.equal(api.groupings.length, 3, 'the store names three groupings: ' + api.groupings);
    for (const card of ['ep-users', 'ep-bubbles-users']) {
      const sel = `select[data-grouping="${card}"]`;
      assert.ok(await page.isVisible(sel), card + ': the picker shows');
      assert.deepEqual(await page.$$eval(sel + ' option', (os) => os.map((o) => o.value)), api.groupings);
      assert.equal(await page.$eval(sel, (s) => s.value), api.grouping, card + ': the default grouping picked');
    }
    // the IPs are no grouping
    assert.equal(await page.$('select[data-grouping="ep-ips"]'), null);
    const users = api.items.slice().sort((a, b) => b.box.count - a.box.count).slice(0, 10).map((i) => i.group || '(none)');
    assert.deepEqual(await categories(page, 'ep-users', 'xAxis'), users, 'the default grouping drawn');

    await pick(page, 'select[data-grouping="ep-users"]', 'plan');
    assert.equal(await title(page, 'ep-users'), 'Duration per plan');
    const plans = (await apiGet(page, `api/endpoints/${EP}/groups?grouping=plan`)).body.items;
    const want = plans
      .slice()
      .sort((a, b) => b.box.count - a.box.count)
      .map((i) => i.group || '(none)');
    assert.deepEqual(await categories(page, 'ep-users', 'xAxis'), want, 'the plans drawn, not user × plan');
    assert.deepEqual([...want].sort(), ['(none)', 'free', 'pro', 'team']);

    await pick(page, 'select[data-grouping="ep-bubbles-users"]', 'plan');
    assert.equal(await title(page, 'ep-bubbles-users'), 'Plan × versions (size and colour: average duration)');
    assert.deepEqual((await categories(page, 'ep-bubbles-users', 'yAxis')).slice().sort(), ['(none)', 'free', 'pro', 'team']);
    assert.match(await page.$eval('[data-chart="ep-bubbles-users"] .sub', (e) => e.textContent), /of 4 plan values by requests/);
    await noOverlap(page, ['ep-users', 'ep-bubbles-users']);
    await page.$eval('[data-chart="ep-users"]', (e) => e.scrollIntoView());
    await page.screenshot({ path: shotPath(`groupings-endpoint-${tag}`) });
    await page.$eval('[data-chart="ep-bubbles-users"]', (e) => e.scrollIntoView());
    await page.screenshot({ path: shotPath(`groupings-bubbles-${tag}`) });

    // and back to the users
    await pick(page, 'select[data-grouping="ep-users"]', 'user');
    assert.equal(await title(page, 'ep-users'), 'Duration per user');
    assert.equal((await categories(page, 'ep-users', 'xAxis')).length, 10);
    await close();
  }
});

test('compare: the groups table per grouping', { timeout: 90000 }, async () => {
  const { page, close } = await open(server.url);
  await page.goto(server.url + '#/compare/1/2');
  await settled(page);
  const sel = 'select[data-grouping="compare"]';
  assert.ok(await page.isVisible(sel), 'the picker shows');
  await pick(page, sel, 'plan');
  await page.waitForFunction(() => document.querySelector('.groupsbox').dataset.state === 'drawn');
  const rows = await page.$$eval('.groupsbox table.groups tbody tr td:first-child', (ts) => ts.map((t) => t.textContent).sort());
  assert.deepEqual(rows, ['free', 'pro', 'team'], 'one row per plan');
  assert.equal(await page.$eval('h3.groupshead span', (e) => e.textContent), 'Per plan');
  await page.$eval('h3.groupshead', (e) => e.scrollIntoView());
  await page.screenshot({ path: shotPath('groupings-compare-desktop') });
  await close();
});

test('one grouping: no picker, the views as before', { timeout: 90000 }, async () => {
  const single = await startServer({ requests: 4000 });
  try {
    const { page, close } = await open(single.url);
    await page.goto(single.url + `#/endpoint/${EP}`);
    await settled(page);
    const api = (await apiGet(page, `api/endpoints/${EP}/groups`)).body;
    assert.deepEqual(api.groupings, ['group']);
    for (const card of ['ep-users', 'ep-bubbles-users']) assert.equal(await page.isVisible(`select[data-grouping="${card}"]`), false, card + ': no picker');
    assert.equal(await title(page, 'ep-users'), 'Duration per user');
    assert.equal(await title(page, 'ep-bubbles-users'), 'Users × versions (size and colour: average duration)');
    await close();
  } finally {
    await single.stop();
  }
});
