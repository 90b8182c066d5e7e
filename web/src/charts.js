// charts.js — chart cards (loading / empty / error states) and the ECharts
// options every view shares. ECharts is the global from static/echarts.min.js.
import { h, fmtUs, fmtInt, fmtTime, showError } from './ui.js';

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
  const c = h('section.card', { 'data-chart': name, 'data-state': 'loading' }, h('h3', null, title, tools), cap, note, body);
  if (opts.wide) c.classList.add('wide');
  parent.append(c);
  return {
    el: c,
    body,
    tools,
    // A line under the title (null hides it).
    caption(text) {
      cap.textContent = text || '';
      cap.hidden = !text;
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
      }
      inst.off('finished');
      inst.on('finished', () => {
        c.dataset.state = 'drawn';
      });
      const cartesian = option.xAxis && option.yAxis;
      inst.setOption(
        {
          animation: false,
          tooltip: { confine: true },
          toolbox: cartesian ? { right: 8, top: 0, itemSize: 12, feature: { dataZoom: {}, restore: {}, saveAsImage: {} } } : { right: 8, top: 0, itemSize: 12, feature: { saveAsImage: {} } },
          ...option,
        },
        true,
      );
      return inst;
    },
  };
}

// Load data into a card: a failure shows in the card and the banner.
export async function fill(cardObj, load, toOption) {
  cardObj.loading();
  try {
    const data = await load();
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
  { type: 'slider', xAxisIndex: 0, height: 18, bottom: 4 },
];
export const zoomY = [
  { type: 'inside', yAxisIndex: 0 },
  { type: 'slider', yAxisIndex: 0, width: 14, right: 4 },
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
    grid: { left: 90, right: 70, top: 10, bottom: 40 },
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
export function boxOption(items, label, colour) {
  if (!items.length) return null;
  const names = items.map(label);
  // room for the zoom slider under labels of two lines
  const extra = names.some((n) => String(n).includes('\n')) ? 22 : 0;
  return {
    grid: { left: 60, right: 20, top: 30, bottom: (names.length > 8 ? 110 : 60) + extra },
    tooltip: {
      trigger: 'item',
      formatter: (p) => {
        const it = items[p.dataIndex];
        const b = it.box;
        return `<b>${names[p.dataIndex]}</b><br>n = ${b.count}<br>min ${fmtUs(b.min_us)}<br>q1 ${fmtUs(b.q1_us)}<br>median ${fmtUs(
          b.median_us,
        )}<br>q3 ${fmtUs(b.q3_us)}<br>max ${fmtUs(b.max_us)}<br>mean ${fmtUs(b.mean_us)}`;
      },
    },
    xAxis: { type: 'category', data: names, axisLabel: { rotate: names.length > 8 ? 40 : 0, interval: 0, lineHeight: 15, margin: 10 } },
    yAxis: { ...durAxis(), type: 'log' },
    dataZoom: zoomX,
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

// Bubbles: rows × versions, area proportional to the average duration.
export function bubbleOption(items, key) {
  if (!items.length) return null;
  // rows by traffic, busiest first; the zoom window starts on the top 25
  const tot = new Map();
  for (const i of items) tot.set(i[key], (tot.get(i[key]) || 0) + i.count);
  const rows = [...tot.keys()].sort((a, b) => tot.get(b) - tot.get(a)).reverse();
  const vers = [...new Set(items.map((i) => i.version))];
  const maxAvg = Math.max(...items.map((i) => i.avg_us));
  return {
    grid: { left: 110, right: 20, top: 20, bottom: 50 },
    tooltip: {
      formatter: (p) => `${rows[p.value[1]]} on ${vers[p.value[0]]}<br>avg ${fmtUs(p.value[2])}<br>${p.value[3]} requests`,
    },
    xAxis: { type: 'category', data: vers, name: 'version' },
    yAxis: { type: 'category', data: rows },
    dataZoom: zoomY.map((z) => ({ ...z, startValue: Math.max(0, rows.length - 25), endValue: rows.length - 1 })),
    series: [
      {
        name: 'average duration',
        type: 'scatter',
        // diameter ∝ sqrt(avg), so that the area is ∝ avg (bubbles under
        // 3 px are drawn at 3 px, to stay visible and hoverable)
        symbolSize: (v) => Math.max(3, 40 * Math.sqrt(v[2] / maxAvg)),
        data: items.map((i) => [vers.indexOf(i.version), rows.indexOf(i[key]), i.avg_us, i.count]),
        itemStyle: { color: '#5470c6', opacity: 0.7 },
      },
    ],
  };
}

export { durAxis };
