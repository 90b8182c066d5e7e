// counters.js — recording counters; dropped records are shown prominently.
import { all } from '../api.js';
import { h, state, fmtInt, fmtTime, table } from '../ui.js';

export async function render(root) {
  root.append(h('h2', null, 'Counters'));
  const box = h('div.tablecard', { 'data-state': 'loading' }, h('div.note', null, 'Loading counters…'));
  root.append(box);
  let d;
  try {
    d = await all('api/counters', { tz: state.tz });
  } catch (e) {
    box.dataset.state = 'error';
    box.replaceChildren(h('p.note', null, 'Could not load: ' + e.message));
    throw e;
  }
  const t = d.totals;
  const kids = [];
  if (t.dropped || t.endpoint_dropped)
    kids.push(
      h(
        'div.alert',
        { role: 'alert', 'data-dropped': t.dropped },
        `${fmtInt(t.dropped)} records were dropped`,
        t.endpoint_dropped ? ` (${fmtInt(t.endpoint_dropped)} counted per endpoint)` : '',
        ' — the agents could not keep up with the traffic or the store.',
      ),
    );
  kids.push(
    h(
      'div.totals',
      null,
      ['recorded', 'written', 'dropped', 'write_errors', 'truncated', 'outliers'].map((k) =>
        h('div.total', { class: (k === 'dropped' || k === 'write_errors') && t[k] ? 'total bad' : 'total' }, h('b', null, fmtInt(t[k])), h('span', null, k.replace('_', ' '))),
      ),
    ),
  );
  kids.push(
    table(
      [
        { key: 'name', label: 'Instance' },
        { key: 'host', label: 'Host' },
        { key: 'last_seen', label: 'Last seen', render: (r) => fmtTime(r.last_seen) },
        ...['recorded', 'written', 'dropped', 'write_errors', 'truncated', 'outliers'].map((k) => ({
          key: k,
          label: k.replace('_', ' '),
          num: true,
          render: (r) => h('span', { class: (k === 'dropped' || k === 'write_errors') && r[k] ? 'bad' : null }, fmtInt(r[k])),
        })),
      ],
      d.items,
      { sort: 'last_seen' },
    ),
  );
  box.replaceChildren(...kids);
  box.dataset.state = 'drawn';
}
