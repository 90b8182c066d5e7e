// ci.js — CI test timings beside live timings: box plots of the durations
// of every test and of every endpoint the tests called, the last builds
// side by side (the paper's Fig. 12); one endpoint's live and CI medians per
// version, with Pearson's r across the versions that have both (Fig. 13,
// Table I); CI regressions; the builds.
import { api } from '../api.js';
import { card, fill, esc } from '../charts.js';
import { h, state, fmtInt, fmtUs, fmtTime, fmtVersion, table } from '../ui.js';

// Builds in order, oldest lightest: the newest build is the darkest box,
// on one blue ramp however many builds are shown.
const mix = (a, b, t) => {
  const c = (x, k) => parseInt(x.slice(1 + 2 * k, 3 + 2 * k), 16);
  return '#' + [0, 1, 2].map((k) => Math.round(c(a, k) + (c(b, k) - c(a, k)) * t).toString(16).padStart(2, '0')).join('');
};
const ramp = (i, n) => (n <= 1 ? 1 : i / (n - 1));
const buildColour = (i, n) => mix('#c6dbef', '#2171b5', ramp(i, n));
const buildBorder = (i, n) => mix('#6b8fb3', '#08306b', ramp(i, n)); // the legend shows the border
const LIVE = '#e6550d'; // live medians: orange; CI medians: the newest build's blue
const CI = '#08519c';

const buildName = (b) => `#${b.build} · ${fmtVersion(b)}`;
const keyName = (k) => (k.suite ? `${k.suite}::${k.name}` : k.name);
const narrowAt = 600;

// Horizontal box plots: one row per test (or endpoint), one box per build.
function boxesOption(doc, width) {
  if (!doc.keys.length) return null;
  const n = doc.builds.length;
  const narrow = width < narrowAt;
  // on a phone the test's own name (its suite is in the tooltip)
  const names = doc.keys.map(narrow ? (k) => k.name : keyName);
  const full = doc.keys.map(keyName);
  // the names' column: as wide as the longest, within a third of the chart
  const left = Math.min(Math.max(...names.map((s) => s.length)) * 6.5 + 16, (width || 800) * (narrow ? 0.4 : 0.34));
  return {
    grid: { left, right: 24, top: 56, bottom: 40 },
    legend: { type: 'scroll', top: 0, left: 0, width: Math.max(120, (width || 800) - 110), data: doc.builds.map(buildName) },
    tooltip: {
      trigger: 'item',
      formatter: (p) => {
        const b = doc.keys[p.dataIndex].boxes[p.seriesIndex];
        if (!b) return '';
        return `<b>${esc(full[p.dataIndex])}</b><br>${esc(buildName(doc.builds[p.seriesIndex]))}<br>n = ${fmtInt(b.count)}<br>min ${fmtUs(b.min_us)}<br>q1 ${fmtUs(b.q1_us)}<br>median ${fmtUs(
          b.median_us,
        )}<br>q3 ${fmtUs(b.q3_us)}<br>max ${fmtUs(b.max_us)}`;
      },
    },
    yAxis: {
      type: 'category',
      data: names,
      inverse: true,
      axisLabel: { width: left - 12, overflow: 'truncate', interval: 0 },
      splitArea: { show: true },
    },
    xAxis: { type: 'log', name: 'duration', nameLocation: 'middle', nameGap: 24, axisLabel: { formatter: (v) => fmtUs(v), hideOverlap: true } },
    dataZoom: doc.keys.length > 14 ? [{ type: 'inside', yAxisIndex: 0 }] : [],
    series: doc.builds.map((b, i) => ({
      name: buildName(b),
      type: 'boxplot',
      boxWidth: [4, Math.max(6, Math.floor(36 / n))],
      itemStyle: { color: buildColour(i, n), borderColor: buildBorder(i, n) },
      data: doc.keys.map((k) => (k.boxes[i] ? [k.boxes[i].min_us, k.boxes[i].q1_us, k.boxes[i].median_us, k.boxes[i].q3_us, k.boxes[i].max_us].map((v) => Math.max(v, 1)) : '-')),
    })),
  };
}

const boxesHeight = (doc) => Math.max(200, 96 + doc.keys.length * Math.max(26, doc.builds.length * 9 + 8));

// Live and CI medians per version on one chart.
function corrOption(doc, width) {
  const vs = doc.versions;
  if (!vs.length) return null;
  const names = vs.map(fmtVersion);
  const rotate = Math.max(...names.map((s) => s.length)) * 7 > ((width || 800) - 120) / names.length ? 30 : 0;
  return {
    grid: { left: 64, right: 64, top: 60, bottom: rotate ? 90 : 50 },
    legend: { top: 0, left: 0, data: ['live median', 'CI median'] },
    tooltip: {
      trigger: 'axis',
      formatter: (ps) => {
        const v = vs[ps[0].dataIndex];
        return `<b>${esc(names[ps[0].dataIndex])}</b><br>live median ${v.live_median_ms === null ? '–' : fmtUs(v.live_median_ms * 1000)}<br>CI median ${
          v.ci_median_ms === null ? '–' : fmtUs(v.ci_median_ms * 1000)
        } (${fmtInt(v.ci_samples)} calls)`;
      },
    },
    xAxis: { type: 'category', data: names, name: 'version', nameLocation: 'middle', nameGap: rotate ? 70 : 30, axisLabel: { interval: 0, rotate } },
    // each median on an axis of its own: CI runs on other machines under
    // another load, so the shapes are compared, not the levels (Fig. 13)
    yAxis: [
      { type: 'value', name: 'live', nameTextStyle: { color: LIVE }, axisLine: { show: true, lineStyle: { color: LIVE } }, axisLabel: { formatter: (v) => fmtUs(v * 1000) } },
      { type: 'value', name: 'CI', nameTextStyle: { color: CI }, axisLine: { show: true, lineStyle: { color: CI } }, splitLine: { show: false }, axisLabel: { formatter: (v) => fmtUs(v * 1000) } },
    ],
    series: [
      { name: 'live median', type: 'line', yAxisIndex: 0, symbolSize: 8, connectNulls: false, itemStyle: { color: LIVE }, data: vs.map((v) => v.live_median_ms) },
      { name: 'CI median', type: 'line', yAxisIndex: 1, symbolSize: 8, connectNulls: false, lineStyle: { type: 'dashed' }, itemStyle: { color: CI }, data: vs.map((v) => v.ci_median_ms) },
    ],
  };
}

function corrText(doc) {
  if (doc.pearson_r === null)
    return `Pearson's r needs three versions with both live and CI medians (${doc.paired} so far)`;
  const p = doc.p_value < 0.001 ? 'p < 0.001' : `p = ${doc.p_value.toFixed(3)}`;
  return `Pearson r(${doc.paired - 2}) = ${doc.pearson_r.toFixed(3)}, ${p}, over ${doc.paired} versions with both`;
}

export async function render(root) {
  root.append(h('h2', null, 'CI test timings'));
  const builds = await api('api/ci/builds', { tz: state.tz, builds: 20 });
  if (!builds.builds.length) {
    root.append(
      h('p.note', { 'data-ci-empty': '' }, 'No CI build stored yet. Add `evodash collect` or the pytest plugin (-p evodash.pytest) to a CI job: see docs/ci.md.'),
    );
    return;
  }
  const pick = h(
    'select',
    { 'aria-label': 'builds shown', 'data-ci-builds': '' },
    ...[3, 5, 10].map((n) => h('option', { value: n, selected: n === 5 }, `last ${n} builds`)),
  );
  root.append(h('div.controls', null, pick));
  const grid = h('div.grid');
  root.append(grid);
  const tests = card(grid, 'ci-tests', 'Test durations per build', { wide: true });
  const eps = card(grid, 'ci-endpoints', 'Endpoint durations in tests, per build', { wide: true });
  const corr = card(grid, 'ci-correlation', 'Live vs CI median per version', { wide: true, height: 340 });
  const epPick = h('select', { 'aria-label': 'endpoint', 'data-ci-endpoint': '' });
  corr.tools.append(epPick);
  const regBox = h('div.tablecard.wide', { 'data-state': 'loading', 'data-ci-regressions': '' }, h('div.note', null, 'Loading regressions…'));
  const buildBox = h('div.tablecard.wide', { 'data-state': 'loading' });
  root.append(h('h3', null, 'CI regressions'), regBox, h('h3', null, 'Builds'), buildBox);

  const drawBoxes = (c, by) =>
    fill(
      c,
      async () => {
        const d = await api('api/ci/boxes', { by, builds: pick.value, tz: state.tz });
        c.body.style.height = boxesHeight(d) + 'px';
        c.what(`${fmtInt(d.keys.length)} ${by === 'test' ? 'tests' : 'endpoints'} · builds ${d.builds.map((b) => '#' + b.build).join(', ')}`);
        return d;
      },
      (d) => boxesOption(d, c.body.clientWidth),
    );
  const drawCorr = () =>
    fill(
      corr,
      async () => {
        const d = await api('api/ci/correlation', { endpoint: epPick.value });
        corr.what(corrText(d));
        return d;
      },
      (d) => corrOption(d, corr.body.clientWidth),
    );

  // the endpoints the tests called, the busiest in the newest build first
  const epDoc = await api('api/ci/boxes', { by: 'endpoint', builds: 1 });
  const epNames = epDoc.keys.sort((a, b) => (b.boxes[0]?.count || 0) - (a.boxes[0]?.count || 0) || a.name.localeCompare(b.name)).map((k) => k.name);
  epPick.replaceChildren(...epNames.map((n) => h('option', { value: n }, n)));
  epPick.addEventListener('change', drawCorr);
  pick.addEventListener('change', () => Promise.all([drawBoxes(tests, 'test'), drawBoxes(eps, 'endpoint')]));

  const narrow = root.clientWidth < narrowAt;
  const wideOnly = (cols) => cols.filter((c) => !narrow || !c.wideOnly);
  const regs = (async () => {
    const r = await api('api/ci/regressions', { tz: state.tz });
    regBox.replaceChildren(
      h(
        'p.sub',
        null,
        `${fmtInt(r.compared)} comparisons of a test or endpoint with the same one in the previous build (Mann–Whitney U, Benjamini–Hochberg, α = ${r.rule.alpha}; flagged when at least ${r.rule.min_ratio}× slower with the ratio's 95% interval above 1; ${r.rule.min_runs}+ runs or calls per side).`,
      ),
      r.items.length
        ? table(
            wideOnly([
              { key: 'kind', label: 'What', wideOnly: true },
              { key: 'name', label: 'Name', value: (x) => keyName(x), render: (x) => (narrow ? x.name : keyName(x)) },
              {
                key: 'build',
                label: 'Build',
                value: (x) => x.build.created,
                render: (x) => (narrow ? `#${x.build.build}` : `${buildName(x.build)} (after #${x.previous.build})`),
              },
              { key: 'median_ms', label: 'Median', num: true, wideOnly: true, render: (x) => `${fmtUs(x.prev_median_ms * 1000)} → ${fmtUs(x.median_ms * 1000)}` },
              { key: 'ratio', label: 'Slower', num: true, render: (x) => h('span.bad', null, `${x.ratio.toFixed(2)}× [${x.ratio_lo.toFixed(2)}, ${x.ratio_hi.toFixed(2)}]`) },
              { key: 'p_adjusted', label: 'p (adj.)', num: true, wideOnly: true, render: (x) => (x.p_adjusted < 0.001 ? '< 0.001' : x.p_adjusted.toFixed(3)) },
            ]),
            r.items,
            { sort: 'build' },
          )
        : h('p.note', { 'data-ci-no-regression': '' }, 'No test or endpoint got slower than in its previous build beyond its own noise.'),
    );
    regBox.dataset.state = 'drawn';
  })();
  buildBox.replaceChildren(
    table(
      wideOnly([
        { key: 'build', label: 'Build', value: (b) => b.created, render: (b) => '#' + b.build },
        { key: 'version', label: 'Version', value: (b) => fmtVersion(b), render: (b) => fmtVersion(b) },
        { key: 'service', label: 'Service', wideOnly: true },
        { key: 'created', label: 'Stored', wideOnly: true, render: (b) => fmtTime(b.created) },
        { key: 'tests', label: narrow ? 'Runs' : 'Test runs', num: true, render: (b) => fmtInt(b.tests) },
        { key: 'failed', label: 'Failed', num: true, render: (b) => h('span', { class: b.failed ? 'bad' : null }, fmtInt(b.failed)) },
        { key: 'calls', label: narrow ? 'Calls' : 'Endpoint calls', num: true, render: (b) => fmtInt(b.calls) },
      ]),
      builds.builds,
      { sort: 'build' },
    ),
  );
  buildBox.dataset.state = 'drawn';
  await Promise.all([drawBoxes(tests, 'test'), drawBoxes(eps, 'endpoint'), epNames.length ? drawCorr() : corr.empty('No endpoint was called by a test.'), regs]);
}
