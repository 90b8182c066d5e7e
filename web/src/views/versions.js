// versions.js — versions (with a life-time chart) and instances.
import { all } from '../api.js';
import { card, fill, zoomX } from '../charts.js';
import { h, state, fmtInt, fmtTime, fmtSpan, table } from '../ui.js';

export async function render(root) {
  root.append(h('h2', null, 'Versions and instances'));
  const grid = h('div.grid');
  root.append(grid);
  const life = card(grid, 'versions-life', 'Versions: requests and time live', { wide: true, height: 300 });
  const vbox = h('div.tablecard.wide', { 'data-state': 'loading' }, h('div.note', null, 'Loading versions…'));
  const ibox = h('div.tablecard.wide', { 'data-state': 'loading' }, h('div.note', null, 'Loading instances…'));
  root.append(h('h3', null, 'Versions'), vbox, h('h3', null, 'Instances'), ibox);
  const vP = all('api/versions', { tz: state.tz });
  const tables = (async () => {
    const [v, i] = await Promise.all([vP, all('api/instances', { tz: state.tz })]);
    vbox.replaceChildren(
      table(
        [
          { key: 'name', label: 'Version' },
          { key: 'first_seen', label: 'First deployed', render: (r) => fmtTime(r.first_seen) },
          { key: 'last_seen', label: 'Last seen', render: (r) => fmtTime(r.last_seen) },
          { key: 'live', label: 'Live for', value: (r) => Date.parse(r.last_seen) - Date.parse(r.first_seen), render: (r) => fmtSpan(r.first_seen, r.last_seen) },
          { key: 'requests', label: 'Requests', num: true, render: (r) => fmtInt(r.requests) },
        ],
        v.items,
        { sort: 'first_seen', desc: false },
      ),
    );
    vbox.dataset.state = 'drawn';
    ibox.replaceChildren(
      table(
        [
          { key: 'name', label: 'Instance' },
          { key: 'host', label: 'Host' },
          { key: 'pid', label: 'PID', num: true },
          { key: 'started', label: 'Started', render: (r) => fmtTime(r.started) },
          { key: 'last_seen', label: 'Last seen', render: (r) => fmtTime(r.last_seen) },
          { key: 'recorded', label: 'Recorded', num: true, render: (r) => fmtInt(r.recorded) },
          { key: 'dropped', label: 'Dropped', num: true, render: (r) => h('span', { class: r.dropped ? 'bad' : null }, fmtInt(r.dropped)) },
        ],
        i.items,
        { sort: 'last_seen' },
      ),
    );
    ibox.dataset.state = 'drawn';
  })().catch((e) => {
    for (const b of [vbox, ibox])
      if (b.dataset.state === 'loading') {
        b.dataset.state = 'error';
        b.replaceChildren(h('p.note', null, 'Could not load: ' + e.message));
      }
    throw e;
  });
  await Promise.all([
    tables,
    fill(
      life,
      () => vP,
      (v) =>
        v.items.length
          ? {
              grid: { left: 70, right: 20, top: 20, bottom: 50 },
              tooltip: { trigger: 'axis' },
              xAxis: { type: 'category', data: v.items.map((x) => x.name) },
              yAxis: { type: 'value', name: 'requests' },
              dataZoom: zoomX,
              series: [{ name: 'requests', type: 'bar', data: v.items.map((x) => x.requests), itemStyle: { color: '#5470c6' } }],
            }
          : null,
    ),
  ]);
}
