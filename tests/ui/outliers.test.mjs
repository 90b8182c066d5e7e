// outliers.test.mjs — the outlier panel's other threads: one collapsed
// block per thread of /api/outliers/{id}'s `threads`, opened by a click,
// the frames in a monospace list that scrolls when long and is never cut
// off at the side, on a desktop and a phone.  Screenshots: build/screenshots.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, login, settled, apiGet, shotPath, ADMIN } from './harness.mjs';

let server, chrome;
const EP = 1; // api.search: level 3, with outliers

before(async () => {
  server = await startServer({ requests: 20000 });
  chrome = await launch();
});

after(async () => {
  if (chrome) await chrome.close();
  if (server) await server.stop();
});

async function open(width, height) {
  const ctx = await chrome.browser.newContext({ viewport: { width, height }, timezoneId: 'UTC' });
  const page = await ctx.newPage();
  const errors = [];
  // Chromium logs every failed fetch; the responses say which were
  // expected: a 401 before login, a 404 for the profile of an outlier's
  // request when the profiler took none.
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of (401|404)/.test(m.text())) errors.push(m.text());
  });
  page.on('response', (r) => {
    const path = new URL(r.url()).pathname;
    if (r.status() >= 400 && r.status() !== 401 && !(r.status() === 404 && /\/api\/requests\/\d+\/profile$/.test(path)))
      errors.push(`${r.status()} ${path}`);
  });
  page.on('pageerror', (e) => errors.push('pageerror: ' + e.message));
  await login(page, server.url, ADMIN);
  return {
    page,
    async close() {
      await ctx.close();
      assert.deepEqual(errors, [], 'no console errors');
    },
  };
}

// An outlier of the first table page (newest first) whose details hold a
// long stack (demo_history: every third) and a thread without frames.
async function pickOutlier(page) {
  const list = (await apiGet(page, `api/endpoints/${EP}/outliers?per_page=25&tz=UTC`)).body;
  for (const it of list.items) {
    const o = (await apiGet(page, `api/outliers/${it.id}?tz=UTC`)).body;
    if (o.threads && o.threads.some((t) => t.stack.length > 30) && o.threads.some((t) => !t.stack.length)) return o;
  }
  throw new Error('no outlier with a long and an empty thread stack on the first page');
}

async function showOutlier(page) {
  await page.goto(server.url + `#/endpoint/${EP}`);
  await settled(page);
  const o = await pickOutlier(page);
  await page.click(`tr[data-outlier="${o.id}"]`);
  await page.waitForSelector('[data-panel="outlier"][data-state="drawn"]');
  return o;
}

// Open every thread's block; check the frames and that nothing is cut off.
async function checkThreads(page, o, where) {
  const panel = page.locator('[data-panel="outlier"]');
  // the request's own stack is still there, once
  assert.equal(await panel.locator(':scope > ol.stack li').count(), o.stack.length, where);
  const box = panel.locator('.threads');
  assert.equal(await box.locator('h4').textContent(), `Other threads (${o.threads.length})`, where);
  const blocks = box.locator('details.thread');
  assert.equal(await blocks.count(), o.threads.length, where);
  // collapsed at first: the summaries only
  assert.equal(await box.locator('details.thread[open]').count(), 0, where);
  assert.equal(await box.locator('ol.stack').first().isVisible(), false, where);
  for (let i = 0; i < o.threads.length; i++) {
    const t = o.threads[i];
    const b = blocks.nth(i);
    assert.equal(await b.getAttribute('data-thread'), t.thread, where);
    const sum = await b.locator('summary').textContent();
    assert.ok(sum.includes(`thread ${t.thread}`), `${where}: ${sum}`);
    if (t.stack.length) assert.ok(sum.includes(`${t.stack.length} frame`) && sum.endsWith(t.stack[t.stack.length - 1].function), `${where}: ${sum}`);
    else assert.ok(sum.includes('no frames'), `${where}: ${sum}`);
    await b.locator('summary').click();
    assert.equal(await b.getAttribute('open'), '', `${where}: thread ${t.thread} opens`);
    if (!t.stack.length) {
      assert.ok(await b.locator('p.threadnote').isVisible(), where);
      continue;
    }
    const ol = b.locator('ol.stack');
    assert.ok(await ol.isVisible(), where);
    const items = await ol.locator('li').allTextContents();
    assert.deepEqual(
      items,
      t.stack.map((f) => `${f.function} ${f.file}:${f.line}`),
      `${where}: thread ${t.thread}'s frames`,
    );
    const m = await ol.evaluate((e) => ({
      font: getComputedStyle(e).fontFamily,
      sw: e.scrollWidth,
      cw: e.clientWidth,
      sh: e.scrollHeight,
      ch: e.clientHeight,
      right: e.getBoundingClientRect().right,
    }));
    assert.match(m.font, /mono/i, where);
    assert.ok(m.sw <= m.cw, `${where}: thread ${t.thread}'s frames are cut off at the side (${m.sw} > ${m.cw})`);
    assert.ok(m.right <= (await page.evaluate(() => innerWidth)), `${where}: the stack runs past the window`);
    if (t.stack.length > 30) {
      // a long stack scrolls in its own box, and its last frame can be reached
      assert.ok(m.ch <= 340 && m.sh > m.ch, `${where}: the long stack scrolls (${m.sh} in ${m.ch})`);
      const last = ol.locator('li').last();
      await last.scrollIntoViewIfNeeded();
      assert.ok(await last.isVisible(), where);
      const [lt, lb, ot, ob] = await last.evaluate((e) => {
        const a = e.getBoundingClientRect();
        const p = e.parentElement.getBoundingClientRect();
        return [a.top, a.bottom, p.top, p.bottom];
      });
      assert.ok(lt >= ot - 1 && lb <= ob + 1, `${where}: the last frame shows inside the box once scrolled`);
      await ol.evaluate((e) => (e.scrollTop = 0));
    }
  }
}

for (const [where, width, height] of [
  ['desktop', 1440, 900],
  ['phone', 390, 844],
]) {
  test(`outlier panel: the other threads, ${where}`, { timeout: 60000 }, async () => {
    const s = await open(width, height);
    const o = await showOutlier(s.page);
    const box = s.page.locator('[data-panel="outlier"] .threads');
    await box.screenshot({ path: shotPath(`outlier-threads-collapsed-${where}`) });
    await checkThreads(s.page, o, where);
    const w = await s.page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(w <= width + 2, `${where}: the page is ${w}px wide on a ${width}px screen`);
    await box.scrollIntoViewIfNeeded();
    await s.page.screenshot({ path: shotPath(`outlier-threads-${where}`) });
    await s.close();
  });
}

test('outlier panel: an outlier without other threads shows no such section', { timeout: 60000 }, async () => {
  const s = await open(1280, 800);
  await s.page.goto(server.url + `#/endpoint/${EP}`);
  await settled(s.page);
  // the API's null (an outlier captured without them) is drawn as nothing
  await s.page.route('**/api/outliers/*', async (route) => {
    const r = await route.fetch();
    const body = await r.json();
    body.threads = null;
    await route.fulfill({ response: r, json: body });
  });
  await s.page.click('tr[data-outlier]');
  await s.page.waitForSelector('[data-panel="outlier"][data-state="drawn"]');
  assert.equal(await s.page.locator('[data-panel="outlier"] .threads').count(), 0);
  await s.close();
});
