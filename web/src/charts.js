// charts.js — chart cards (loading / empty / error states) and the ECharts
// options every view shares. ECharts is the global from static/echarts.min.js.
import { h, fmtUs, fmtInt, fmtTime, fmtVersion, spanText, showError } from './ui.js';

// ECharts takes the height of a line of text to be the width of '国'.  On a
// machine with no font that has the glyph (Debian without CJK fonts) that
// is ~4 px, so it thinks every axis label fits and draws them on top of one
// another, and pie labels are not moved apart.  A line is at least as tall
// as the font is big.
{
  const ctx = document.createElement('canvas').getContext('2d');
  let cur = null;
  echarts.setPlatformAPI({
    measureText(text, font) {
      font = font || '12px sans-serif';
      if (cur !== font) cur = ctx.font = font;
      const m = ctx.measureText(text);
      if (text !== '国') return m;
      const px = /(\d+(?:\.\d+)?)px/.exec(font);
      return { width: Math.max(m.width, px ? +px[1] : 12) };
    },
  });
}

// Tooltips are HTML: names that come from requests (users, IPs) are escaped.
export const esc = (s) => echarts.format.encodeHTML(String(s));

const live = new Set();
window.addEventListener('resize', () => live.forEach((c) => c.resize()));

// Dispose of the charts of the previous view before a new one is drawn.
export function disposeAll() {
  live.forEach((c) => c.dispose());
  live.clear();
}

// A card holding one chart. data-state tells tests and the benchmark where
// it is: loading -> drawn | empty | error.
export function card(parent, name, title, opts = {}) {
  const body = h('div.chart', { style: { height: (opts.height || 320) + 'px' } });
  const note = h('div.note', null, 'Loading…');
  const tools = h('div.tools');
  const cap = h('div.caption', { hidden: true });
  // What the chart covers (its range, "top N of M"), in muted type.
  const sub = h('div.sub', { hidden: true });
  const subParts = { what: '', span: '' };
  const head = h('span.title', null, title);
  const c = h('section.card', { 'data-chart': name, 'data-state': 'loading' }, h('h3', null, head, tools), sub, cap, note, body);
  if (opts.wide) c.classList.add('wide');
  parent.append(c);
  const paintSub = () => {
    const t = [subParts.what, subParts.span].filter(Boolean).join(' · ');
    sub.textContent = t ? t.charAt(0).toUpperCase() + t.slice(1) : '';
    sub.hidden = !t;
  };
  return {
    el: c,
    body,
    tools,
    // A new title (what the chart groups by changed).
    title(text) {
      head.textContent = text;
    },
    // A warning line under the title (null hides it).
    caption(text) {
      cap.textContent = text || '';
      cap.hidden = !text;
    },
    // The range the chart covers, and what part of the data it shows.
    span(text) {
      subParts.span = text || '';
      paintSub();
    },
    what(text) {
      subParts.what = text || '';
      paintSub();
    },
    loading() {
      c.dataset.state = 'loading';
      note.textContent = 'Loading…';
      note.hidden = false;
    },
    empty(msg) {
      c.dataset.state = 'empty';
      note.textContent = msg || 'No data in this range.';
      note.hidden = false;
      body.hidden = true;
      const inst = echarts.getInstanceByDom(body);
      if (inst) inst.clear();
    },
    fail(err) {
      c.dataset.state = 'error';
      note.textContent = 'Could not load: ' + err.message;
      note.hidden = false;
      body.hidden = true;
      showError(err.message);
    },
    draw(option) {
      note.hidden = true;
      body.hidden = false;
      let inst = echarts.getInstanceByDom(body);
      if (!inst) {
        inst = echarts.init(body, null, { renderer: 'canvas' });
        live.add(inst);
      } else if (inst.getHeight() !== body.clientHeight || inst.getWidth() !== body.clientWidth) inst.resize();
      inst.off('finished');
      inst.on('finished', () => {
        c.dataset.state = 'drawn';
      });
      const cartesian = option.xAxis && option.yAxis;
      inst.setOption(
        {
          animation: false,
          tooltip: { confine: true },
          toolbox: { right: 8, top: 0, padding: 2, itemSize: 12, itemGap: 10, feature: cartesian ? { dataZoom: {}, restore: {}, saveAsImage: {} } : { saveAsImage: {} } },
          ...option,
        },
        true,
      );
      return inst;
    },
  };
}

// Load data into a card: a failure shows in the card and the banner.
// `span` is the view default of the range the API reads (see spanText).
export async function fill(cardObj, load, toOption, span) {
  cardObj.loading();
  if (span !== undefined) cardObj.span(spanText(span));
  try {
    const data = await load();
    if (span !== undefined && data && data.range) cardObj.span(spanText(span, data.range));
    // Raw-row views of a very busy range read only its newest rows.
    const p = data && data.partial;
    cardObj.caption(p ? `From the newest ${fmtInt(p.rows)} requests only (since ${fmtTime(p.from)}); RAW_ROWS_MAX sets the limit.` : null);
    const opt = toOption(data);
    if (!opt) cardObj.empty();
    else cardObj.draw(opt);
  } catch (e) {
    cardObj.fail(e);
  }
}

export const zoomX = [
  { type: 'inside', xAxisIndex: 0 },
  { type: 'slider', xAxisIndex: 0, height: 18, bottom: 10 },
];

const durAxis = (name) => ({
  type: 'value',
  name: name || 'duration',
  axisLabel: { formatter: (v) => fmtUs(v) },
});

// Hours × days heat map on a blue → white → red scale.
export function heatmapOption(doc) {
  const data = [];
  let max = 0;
  doc.counts.forEach((row, d) =>
    row.forEach((n, hr) => {
      data.push([hr, d, n]);
      if (n > max) max = n;
    }),
  );
  if (!max) return null;
  return {
    // top: room for the toolbox above the cells
    grid: { left: 90, right: 100, top: 30, bottom: 40 },
    tooltip: {
      formatter: (p) => `${doc.days[p.value[1]]} ${String(p.value[0]).padStart(2, '0')}:00<br>${p.value[2]} requests`,
    },
    xAxis: { type: 'category', data: [...Array(24).keys()].map((x) => String(x).padStart(2, '0')), splitArea: { show: true } },
    yAxis: { type: 'category', data: doc.days, splitArea: { show: true } },
    visualMap: {
      min: 0,
      max,
      calculable: true,
      orient: 'vertical',
      right: 0,
      top: 'center',
      inRange: { color: ['#2166ac', '#f7f7f7', '#b2182b'] },
    },
    dataZoom: [{ type: 'inside', yAxisIndex: 0 }],
    series: [{ name: 'requests', type: 'heatmap', data, progressive: 0 }],
  };
}

// Box plots: items carry a `box` {min_us, q1_us, median_us, q3_us, max_us}.
// `width`: the chart's width in pixels, to turn labels that do not fit.
export function boxOption(items, label, colour, width) {
  if (!items.length) return null;
  const names = items.map(label);
  const per = width ? (0.95 * (width - 80)) / names.length : Infinity;
  const widest0 = Math.max(...names.flatMap((n) => String(n).split('\n').map((l) => l.length)));
  const rotate = names.length > 8 || widest0 * 6.5 > per ? 40 : 0;
  // turned labels of two lines need two lines' room each: else the first only
  const firstOnly = rotate && per < 48;
  const shown = firstOnly ? names.map((n) => String(n).split('\n')[0]) : names;
  const lines = Math.max(...shown.map((n) => String(n).split('\n').length));
  const widest = Math.max(...shown.flatMap((n) => String(n).split('\n').map((l) => l.length)));
  // room for the zoom slider under the labels
  const bottom = rotate ? Math.min(220, Math.max(90, widest * 4.2 + lines * 10 + 40)) : 60 + (lines > 1 ? 22 : 0);
  // A turned label needs ~16 px: where not all fit, the zoom window starts
  // on the first that do, and labels that would still overlap are hidden.
  const fit = width ? Math.max(3, Math.floor((width - 80) / 16)) : Infinity;
  const zoom = names.length > fit ? zoomX.map((z) => ({ ...z, startValue: 0, endValue: fit - 1 })) : zoomX;
  return {
    grid: { left: 60, right: 20, top: 30, bottom },
    tooltip: {
      trigger: 'item',
      formatter: (p) => {
        const it = items[p.dataIndex];
        const b = it.box;
        return `<b>${esc(names[p.dataIndex]).replace('\n', '<br>')}</b><br>n = ${fmtInt(b.count)}<br>min ${fmtUs(b.min_us)}<br>q1 ${fmtUs(b.q1_us)}<br>median ${fmtUs(
          b.median_us,
        )}<br>q3 ${fmtUs(b.q3_us)}<br>max ${fmtUs(b.max_us)}<br>mean ${fmtUs(b.mean_us)}`;
      },
    },
    xAxis: { type: 'category', data: shown, axisLabel: { rotate, interval: 0, hideOverlap: true, lineHeight: 15, margin: 10 } },
    yAxis: { ...durAxis(), type: 'log' },
    dataZoom: zoom,
    series: [
      {
        name: 'duration',
        type: 'boxplot',
        data: items.map((it, i) => ({
          value: [it.box.min_us, it.box.q1_us, it.box.median_us, it.box.q3_us, it.box.max_us].map((v) => Math.max(v, 1)),
          itemStyle: { color: '#fff', borderColor: colour ? colour(it, i) : '#5470c6' },
        })),
      },
    ],
  };
}

// Bubbles: the `top` busiest rows (users, IPs) × versions.  Size and colour
// both follow the average duration, from the fastest cell shown (small,
// blue) to the slowest (large, red), so that cells of similar durations
// are still told apart; no bubble is wider than its cell.  `order` lists
// the versions in deployment order; `box` is the chart's size in pixels.
export function bubbleOption(items, key, { top = 10, order = [], box = { width: 600, height: 400 } } = {}) {
  if (!items.length) return null;
  const tot = new Map();
  for (const i of items) tot.set(i[key], (tot.get(i[key]) || 0) + i.count);
  const ranked = [...tot.keys()].sort((a, b) => tot.get(b) - tot.get(a) || String(a).localeCompare(String(b)));
  const keep = new Set(ranked.slice(0, top));
  const rows = ranked.slice(0, top).reverse(); // the busiest at the top
  const its = items.filter((i) => keep.has(i[key]));
  const seen = [...new Set(its.map((i) => i.version))];
  const vers = [...order.filter((v) => seen.includes(v)), ...seen.filter((v) => !order.includes(v))];
  const narrow = box.width < 500;
  const names = vers.map((v) => fmtVersion(its.find((i) => i.version === v))); // with its tag, if any
  const grid = { left: narrow ? 70 : 110, right: narrow ? 74 : 100, top: 36, bottom: 40 };
  let cellW = (box.width - grid.left - grid.right) / vers.length;
  // every version is labelled: turned when the labels are wider than a column
  const rotate = Math.max(...names.map((n) => n.length)) * 7 > cellW ? 35 : 0;
  if (rotate) grid.bottom += Math.min(70, Math.max(...names.map((n) => n.length)) * 4);
  const cellH = (box.height - grid.top - grid.bottom) / rows.length;
  cellW = (box.width - grid.left - grid.right) / vers.length;
  const maxD = Math.max(8, Math.min(44, 0.9 * cellH, 0.9 * cellW));
  const avgs = its.map((i) => i.avg_us);
  const lo = Math.min(...avgs);
  const hi = Math.max(...avgs, lo + 1);
  return {
    grid,
    tooltip: {
      formatter: (p) => `${esc(rows[p.value[1]])} on ${esc(names[p.value[0]])}<br>avg ${fmtUs(p.value[2])}<br>${fmtInt(p.value[3])} requests`,
    },
    xAxis: { type: 'category', data: names, name: 'version', nameLocation: 'middle', nameGap: grid.bottom - 14, splitLine: { show: true }, axisLabel: { interval: 0, rotate } },
    yAxis: { type: 'category', data: rows, splitLine: { show: true } },
    visualMap: {
      type: 'continuous',
      dimension: 2,
      min: lo,
      max: hi,
      right: 4,
      top: 'middle',
      itemWidth: narrow ? 14 : 20,
      itemHeight: Math.min(140, box.height - 120),
      text: [fmtUs(hi), fmtUs(lo)],
      inRange: { symbolSize: [Math.min(6, maxD), maxD], color: ['#4575b4', '#fee090', '#d73027'] },
    },
    series: [
      {
        name: 'average duration',
        type: 'scatter',
        data: its.map((i) => [vers.indexOf(i.version), rows.indexOf(i[key]), i.avg_us, i.count]),
        itemStyle: { opacity: 0.85, borderColor: '#333', borderWidth: 0.5 },
      },
    ],
  };
}

export { durAxis };
